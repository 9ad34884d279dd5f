/* fuzz_impact: impact estimation (shim/pure/impact.h) of what a connection
 * sends (HTTP, Redis RESP and inline, PostgreSQL, MySQL, bare SQL) and of
 * an argv (rm, git, kubectl, wrappers, sh -c scripts), with and without an
 * [impact] table.
 *
 * Properties beyond "no crash" (reads stay inside the payload, checked by
 * ASan on an exact copy):
 *  - every result has a level in range and a NUL-terminated reason;
 *  - impact_level_parse takes exactly the level names, in any case;
 *  - the same SQL gives the same level whether it arrives as a PostgreSQL
 *    simple query, after a whole PostgreSQL opening (SSL request, start-up
 *    message, password), or as a MySQL COM_QUERY; the opening alone is
 *    "no query sent";
 *  - a Redis command known by its RESP form is judged the same inline;
 *  - a command run as `sh -c "WORDS"` is judged as high as the command run
 *    directly, with or without the [impact] table (when it is plain words
 *    and no wrapper or shell, whose nesting depth would differ).
 *
 * Input: byte 0 picks which [impact] table applies (none or one from a
 * config); the rest is the payload, and also, split at NUL and blanks, an
 * argv. */
#include "fuzz.h"
#include "impact.h"
#include "rule.h"

#include <strings.h>

static struct impact_table table;

static void init_table(void)
{
    static struct impact_exec_entry exec[3];
    static struct impact_verb_entry verbs[3] = {
        {IMPACT_HIGH, "TRUNCATE"}, {IMPACT_MEDIUM, "PATCH"}, {IMPACT_LOW, "PING"}};
    static const char *const rules[] = {"terraform destroy *", "make", "/opt/tools/*"};
    char err[128];
    for (int i = 0; i < 3; i++) {
        if (!exec_rule_parse(rules[i], &exec[i].rule, err, sizeof err))
            abort();
        exec[i].level = (enum impact_level)(IMPACT_HIGH - i);
    }
    table = (struct impact_table){exec, 3, verbs, 3};
}

static void check_result(struct impact im, const char *what)
{
    FUZZ_CHECK(im.level >= IMPACT_UNKNOWN && im.level <= IMPACT_HIGH, "%s: level %d", what,
               im.level);
    FUZZ_CHECK(memchr(im.reason, 0, sizeof im.reason), "%s: reason not terminated", what);
    FUZZ_CHECK(strcmp(impact_level_name(im.level), "UNKNOWN") != 0 || im.level == IMPACT_UNKNOWN,
               "%s: level %d has no name", what, im.level);
}

static struct impact payload(const void *p, size_t n, const struct impact_table *extra)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact: ASan sees a read past it */
    if (n)
        memcpy(copy, p, n);
    struct impact im = impact_of_payload(copy, n, extra);
    free(copy);
    check_result(im, "payload");
    return im;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The same SQL in every wire form. */
static void check_sql_forms(const uint8_t *sql, size_t n, const struct impact_table *extra)
{
    static const uint8_t ssl[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    static const uint8_t startup_params[] = "user\0agent\0database\0db\0";
    size_t sp = sizeof startup_params; /* with the final NUL */
    uint8_t *buf = malloc(64 + sp + 2 * n);
    size_t k = 0;
    /* PostgreSQL simple query: 'Q', length, SQL, NUL */
    buf[k++] = 'Q';
    put32(buf + k, (uint32_t)(4 + n + 1));
    k += 4;
    memcpy(buf + k, sql, n);
    k += n;
    buf[k++] = 0;
    struct impact q = payload(buf, k, extra);

    /* After an SSL request, a start-up message and a password message. */
    size_t o = 0;
    uint8_t *full = malloc(64 + sp + k);
    memcpy(full, ssl, 8);
    o = 8;
    put32(full + o, (uint32_t)(8 + sp));
    put32(full + o + 4, 196608u);
    memcpy(full + o + 8, startup_params, sp);
    o += 8 + sp;
    full[o++] = 'p';
    put32(full + o, 4 + 7);
    memcpy(full + o + 4, "secret", 7);
    o += 4 + 7;
    struct impact opening = payload(full, o, extra);
    FUZZ_CHECK(strcmp(opening.reason, "PostgreSQL start-up, no query sent") == 0,
               "a PostgreSQL opening alone read as '%s'", opening.reason);
    memcpy(full + o, buf, k);
    struct impact after = payload(full, o + k, extra);
    FUZZ_CHECK(after.level == q.level && strcmp(after.reason, q.reason) == 0,
               "after the opening '%s' (%d), alone '%s' (%d)", after.reason, after.level,
               q.reason, q.level);

    /* MySQL COM_QUERY: 3-byte length, sequence 0, 0x03, SQL. */
    if (n >= 1 && n < 0xfffff0) {
        k = 0;
        size_t len = n + 1;
        buf[k++] = (uint8_t)len;
        buf[k++] = (uint8_t)(len >> 8);
        buf[k++] = (uint8_t)(len >> 16);
        buf[k++] = 0;
        buf[k++] = 0x03;
        memcpy(buf + k, sql, n);
        k += n;
        struct impact my = payload(buf, k, extra);
        FUZZ_CHECK(my.level == q.level, "MySQL '%s' (%d), PostgreSQL '%s' (%d)", my.reason,
                   my.level, q.reason, q.level);
    }
    free(buf);
    free(full);
}

/* A Redis command in RESP and inline. */
static void check_redis_forms(const uint8_t *data, size_t n, const struct impact_table *extra)
{
    size_t w = 0;
    while (w < n && w < 32 && ((data[w] | 0x20) >= 'a' && (data[w] | 0x20) <= 'z'))
        w++;
    if (w == 0)
        return;
    char resp[96], inl[48];
    int rn = snprintf(resp, sizeof resp, "*1\r\n$%zu\r\n%.*s\r\n", w, (int)w, (const char *)data);
    int in = snprintf(inl, sizeof inl, "%.*s\r\n", (int)w, (const char *)data);
    struct impact a = payload(resp, (size_t)rn, extra), b = payload(inl, (size_t)in, extra);
    if (a.level != IMPACT_UNKNOWN)
        FUZZ_CHECK(a.level == b.level && strcmp(a.reason, b.reason) == 0,
                   "RESP '%s' (%d), inline '%s' (%d)", a.reason, a.level, b.reason, b.level);
}

static bool plain_word(const char *w)
{
    static const char *const nested[] = {"sudo", "doas", "env", "nice", "nohup", "time",
                                         "command", "exec", "sh", "bash", "dash", "zsh", NULL};
    const char *base = strrchr(w, '/');
    base = base ? base + 1 : w;
    for (int i = 0; nested[i]; i++)
        if (strcmp(base, nested[i]) == 0)
            return false;
    for (; *w; w++)
        if (strchr(";&|\n()\t ", *w))
            return false;
    return true;
}

static void check_exec(const uint8_t *data, size_t n, const struct impact_table *extra)
{
    /* argv: the bytes split at NUL and blanks */
    char *text = dup_cstr(data, n), *argv[300], *save = NULL;
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\0')
            text[i] = ' ';
    size_t argc = 0;
    for (char *w = strtok_r(text, " ", &save); w && argc < 299; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    if (argc == 0) {
        check_result(impact_of_exec("/bin/true", NULL, extra), "exec without argv");
        free(text);
        return;
    }
    struct impact direct = impact_of_exec(argv[0], argv, extra);
    check_result(direct, "exec");

    /* The same words as a one-command script. */
    bool plain = argc <= 16;
    size_t total = 0;
    for (size_t i = 0; plain && i < argc; i++) {
        plain = plain_word(argv[i]);
        total += strlen(argv[i]) + 1;
    }
    if (plain && total < 500) {
        char script[512];
        size_t k = 0;
        for (size_t i = 0; i < argc; i++) {
            size_t l = strlen(argv[i]);
            memcpy(script + k, argv[i], l);
            k += l;
            script[k++] = i + 1 < argc ? ' ' : '\0';
        }
        char *sh[] = {"sh", "-c", script, NULL};
        struct impact via = impact_of_exec("/bin/sh", sh, extra);
        check_result(via, "sh -c");
        FUZZ_CHECK(via.level == direct.level, "sh -c \"%s\": %s (%s), directly %s (%s)", script,
                   impact_level_name(via.level), via.reason, impact_level_name(direct.level),
                   direct.reason);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!table.exec)
        init_table();
    struct cursor c = {data, size};
    const struct impact_table *extra = take_u8(&c) & 1 ? &table : NULL;
    payload(c.p, c.n, extra);
    char word[16];
    size_t w = 0;
    while (w < c.n && w < sizeof word - 1 && c.p[w] != ' ' && c.p[w] != 0)
        word[w] = (char)c.p[w], w++;
    word[w] = '\0';
    enum impact_level level;
    if (impact_level_parse(word, &level))
        FUZZ_CHECK(strcasecmp(impact_level_name(level), word) == 0, "'%s' parsed as %s", word,
                   impact_level_name(level));
    else
        for (int l = IMPACT_UNKNOWN; l <= IMPACT_HIGH; l++)
            FUZZ_CHECK(strcasecmp(impact_level_name((enum impact_level)l), word) != 0,
                       "'%s' not parsed", word);
    check_sql_forms(c.p, c.n, extra);
    check_redis_forms(c.p, c.n, extra);
    check_exec(c.p, c.n, extra);
    return 0;
}
