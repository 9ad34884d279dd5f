/* Unit tests for config_image.c: every config of the corpus (and the
 * reference config, the tool maps and the examples) flattened into an
 * image, its source freed (ASan sees any pointer the image kept into it),
 * opened again and asked the same questions with the same answers; the
 * image of the opened config is the same bytes. Damaged images (another
 * key, cut short, bytes flipped) are refused or, when a flip leaves them
 * readable, stay inside their block. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_image.h"
#include "config_match.h"

static const struct config_image_key KEY = {.dev = 1, .ino = 2, .size = 3, .mtime_ns = 4,
                                            .ctime_ns = 5};

static struct config_image_key key(void)
{
    struct config_image_key k = KEY;
    k.layout = config_image_layout();
    return k;
}

/* What a config answers, as text: the tool each probe maps to, and each
 * tool's name, rules and limits. */
static void answers(const struct enact_config *c, char *out, size_t cap)
{
    size_t n = 0;
#define ADD(...) (n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__))
    static const uint16_t ports[] = {1, 80, 443, 5432, 6379, 8080, 18080, 18090, 65535};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        struct net_target t = {.kind = TARGET_INET, .port = ports[i],
                               .addr = {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1}};
        const struct tool *v4 = config_match_connect(c, &t);
        t.host = "api.example.com";
        const struct tool *named = config_match_connect(c, &t);
        ADD("%u:%s,%s ", ports[i], v4 ? v4->name : "-", named ? named->name : "-");
    }
    struct net_target u = {.kind = TARGET_UNIX};
    snprintf(u.path, sizeof u.path, "/run/postgresql/.s.PGSQL.5432");
    const struct tool *ut = config_match_connect(c, &u);
    ADD("unix:%s ", ut ? ut->name : "-");
    static char *const rm[] = {"rm", "-rf", "/tmp/x", NULL}, *const git[] = {"git", "push", NULL};
    const struct tool *e1 = config_match_exec(c, "/usr/bin/rm", rm);
    const struct tool *e2 = config_match_exec(c, "/usr/bin/git", git);
    ADD("exec:%s,%s\n", e1 ? e1->name : "-", e2 ? e2->name : "-");
    ADD("%s|%s|%s|%s\n", c->path, c->state_path, c->audit_path, c->agent ? c->agent : "-");
    for (size_t i = 0; i < c->ntools; i++) {
        const struct tool *t = &c->tools[i];
        ADD("%s %zu/%zu rate %llu/%llu quota %u warn %s resp %zu body %zu approve %s\n", t->name,
            t->nconnect, t->nexec, (unsigned long long)t->rate.interval_ns,
            (unsigned long long)t->rate.tolerance_ns, (unsigned)t->quota.policy.max_actions,
            t->quota.warn_remaining ? t->quota.warn_remaining : "-", t->dry_run_response.len,
            t->dry_run_http_body.len, t->approve_command ? t->approve_command : "-");
        for (size_t j = 0; j < t->nexec; j++)
            for (size_t w = 0; t->exec[j].words[w]; w++)
                ADD(" %s", t->exec[j].words[w]);
        for (size_t j = 0; j < t->nconnect; j++)
            ADD(" %s%s", t->connect[j].host_glob ? t->connect[j].host_glob : "",
                t->connect[j].unix_glob ? t->connect[j].unix_glob : "");
        ADD("\n");
    }
    for (size_t i = 0; i < c->nagents; i++)
        ADD("agent %s %u\n", c->agents[i].name, (unsigned)c->agents[i].quota.policy.max_actions);
    for (size_t i = 0; i < c->impact.nexec; i++)
        ADD("impact %s\n", c->impact.exec[i].rule.words[0]);
    ADD("backend %s %s\n", c->backend.url ? c->backend.url : "-",
        c->backend.key_prefix ? c->backend.key_prefix : "-");
#undef ADD
}

static size_t tried, imaged;

/* One config: flattened, freed, opened, asked. */
static void round_trip(const char *path)
{
    struct enact_config *cfg = config_load(path, NULL);
    if (!cfg)
        return; /* a bad one: nothing to image */
    tried++;
    struct config_image_key k = key();
    size_t len = 0;
    char *block = config_image_build(cfg, &k, &len);
    if (cfg->read_other_files) {
        assert_null(block);
        config_free(cfg);
        return;
    }
    if (!block)
        fail_msg("%s: no image", path);
    imaged++;
    static char before[1 << 16], after[1 << 16];
    answers(cfg, before, sizeof before);
    /* copy is opened in place; pristine keeps the image as built. */
    char *copy = malloc(len), *pristine = malloc(len);
    memcpy(copy, block, len);
    memcpy(pristine, block, len);
    free(block);
    config_free(cfg);

    struct enact_config *opened = config_image_open(copy, len, &k);
    if (!opened)
        fail_msg("%s: its image does not open", path);
    answers(opened, after, sizeof after);
    if (strcmp(before, after) != 0)
        fail_msg("%s: answers differ:\n%s\n---\n%s", path, before, after);
    size_t len2 = 0;
    char *again = config_image_build(opened, &k, &len2);
    assert_non_null(again);
    assert_int_equal(len2, len);
    for (size_t i = 0; i < len; i++)
        if (again[i] != pristine[i])
            fail_msg("%s: the opened config's image differs at byte %zu of %zu", path, i, len);

    /* Another key, a cut block, a wrong magic: refused. */
    struct config_image_key other = k;
    other.mtime_ns++;
    memcpy(copy, again, len);
    assert_null(config_image_open(copy, len, &other));
    memcpy(copy, again, len);
    assert_null(config_image_open(copy, len - 1, &k));
    memcpy(copy, again, len);
    copy[0] ^= 1;
    assert_null(config_image_open(copy, len, &k));
    free(again);
    free(copy);
    free(pristine);
}

static void walk_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        round_trip(path);
    }
    closedir(d);
}

static void test_corpus_round_trips(void **state)
{
    (void)state;
    walk_dir("tests/config/good");
    walk_dir("tests/config/bad");
    walk_dir("config/tools");
    round_trip("config/enact.ini");
    static const char *const examples[] = {"examples/quickstart/enact.ini",
                                           "examples/python-agent/enact.ini",
                                           "examples/shell-agent/enact.ini",
                                           "examples/node-agent/enact.ini"};
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        round_trip(examples[i]);
    print_message("%zu configs loaded, %zu imaged\n", tried, imaged);
    assert_true(tried >= 25);
    assert_true(imaged >= 20);
}

/* The image of the reference config (it has tools), its source freed. */
static char *reference_image(const struct config_image_key *k, size_t *len)
{
    struct enact_config *cfg = config_load("config/enact.ini", NULL);
    assert_non_null(cfg);
    assert_true(cfg->ntools > 0);
    char *block = config_image_build(cfg, k, len);
    assert_non_null(block);
    config_free(cfg);
    return block;
}

/* Bytes flipped anywhere: the checksum, which covers the header too,
 * refuses the image. */
static void test_flipped_bytes(void **state)
{
    (void)state;
    struct config_image_key k = key();
    size_t len;
    char *block = reference_image(&k, &len);
    char *copy = malloc(len);
    uint64_t seed = 88172645463325252u;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, block, len);
        for (int flips = 1 + round % 3; flips > 0; flips--) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            copy[seed % len] ^= (char)(1u << (seed >> 32) % 8);
        }
        if (memcmp(copy, block, len) != 0)
            assert_null(config_image_open(copy, len, &k));
    }
    /* Every bit of the header, whatever length the image has here. */
    for (size_t bit = 0; bit < 8 * sizeof(struct config_image_header); bit++) {
        memcpy(copy, block, len);
        copy[bit / 8] ^= (char)(1u << bit % 8);
        assert_null(config_image_open(copy, len, &k));
    }
    free(copy);
    free(block);
}

/* An offset that leads outside the block, or a string without its end
 * inside it, refuses the image even when the checksum is made to fit:
 * what its owner may write is still never read past the block. */
static void test_offsets_checked(void **state)
{
    (void)state;
    struct config_image_key k = key();
    size_t len;
    char *block = reference_image(&k, &len);
    const struct config_image_header *h = (const void *)block;
    size_t fields[] = {offsetof(struct enact_config, path), offsetof(struct enact_config, tools),
                       offsetof(struct enact_config, state_path)};
    uint64_t bad[] = {len, len + 4096, 8, UINT64_MAX - 7, len - 1};
    char *copy = malloc(len);
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            memcpy(copy, block, len);
            memcpy(copy + h->root + fields[f], &bad[b], 8);
            struct config_image_header *ch = (void *)copy;
            ch->check = config_image_check(copy, len);
            assert_null(config_image_open(copy, len, &k));
        }
    /* The last string's end cut off: its NUL is past the block. */
    memcpy(copy, block, len);
    copy[len - 1] = 'x';
    struct config_image_header *ch = (void *)copy;
    ch->check = config_image_check(copy, len);
    struct enact_config *c = config_image_open(copy, len, &k);
    (void)c; /* refused when that byte ended a string; else a byte of a number */
    free(copy);
    free(block);
}

/* A config that reads a file beside its INI has no image. */
static void test_no_image_of_other_files(void **state)
{
    (void)state;
    struct enact_config cfg = {.read_other_files = true};
    struct config_image_key k = key();
    size_t len = 0;
    assert_null(config_image_build(&cfg, &k, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_round_trips),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_offsets_checked),
        cmocka_unit_test(test_no_image_of_other_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
