/* config_reload: when a running process looks at its INI again (an
 * injected CLOCK_MONOTONIC), one look per period for one thread of many,
 * what a changed INI gives (the new rules, the process's own fields
 * kept), a broken edit reported once, the bound on configs kept, and the
 * look that takes only an image another process wrote. */
#include "helpers.h"

#include "config_cache.h"
#include "config_reload.h"

#include <pthread.h>

#define SEC 1000000000ull
#define T0 (5 * SEC)

static char *dir;
static char ini[PATH_MAX];
static unsigned version; /* each edit's length differs: another identity */

static int setup(void **state)
{
    (void)state;
    dir = th_mkdtemp();
    th_path(ini, sizeof ini, dir, "enact.ini");
    char run[PATH_MAX];
    th_path(run, sizeof run, dir, "run");
    assert_int_equal(mkdir(run, 0700), 0);
    setenv("XDG_RUNTIME_DIR", run, 1); /* the images of build != 0 go there */
    version = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_rmtree(dir);
    dir = NULL;
    return 0;
}

/* Writes the INI as an editor that renames does: [enact] keys, then the
 * tool's lines, padded so that every version has another size. */
static void edit(const char *enact, const char *tool)
{
    char text[2048], tmp[PATH_MAX];
    version++;
    snprintf(text, sizeof text, "[enact]\n%s\n[tool.api]\nconnect = 127.0.0.1:9\n%s\n# %*s\n",
             enact, tool, (int)version, "");
    th_path(tmp, sizeof tmp, dir, "enact.ini.tmp");
    th_write_file(tmp, text);
    assert_int_equal(rename(tmp, ini), 0);
}

/* A config the look gave: its borrowed fields are the first config's. */
static void drop(struct enact_config *next)
{
    if (!next->image) {
        next->agent = next->state_path = next->audit_path = NULL;
        next->backend = (struct backend_spec){0};
    }
    config_free(next);
}

static struct enact_config *first(struct config_reload *r, uint64_t build)
{
    struct config_diag diag;
    struct enact_config *cfg = config_reload_first(r, ini, build, &diag, T0);
    assert_non_null(cfg);
    config_diag_free(&diag);
    return cfg;
}

static void test_one_look_per_period(void **state)
{
    (void)state;
    struct config_reload never = {.next_ns = UINT64_MAX};
    assert_false(config_reload_due(&never, UINT64_MAX - 1));

    edit("", "");
    struct config_reload r;
    struct enact_config *cfg = first(&r, 0);
    assert_false(config_reload_due(&r, T0));
    assert_false(config_reload_due(&r, T0 + SEC - 1));
    assert_false(config_reload_claim(&r, T0 + SEC - 1));
    assert_true(config_reload_due(&r, T0 + SEC));

    /* One thread looks; another at the same moment keeps its config. */
    assert_true(config_reload_claim(&r, T0 + SEC));
    assert_false(config_reload_claim(&r, T0 + SEC));
    assert_false(config_reload_due(&r, T0 + SEC + 1));
    config_reload_release(&r);
    assert_false(config_reload_claim(&r, T0 + 2 * SEC - 1));

    /* Late, the claim holder's time may be behind: the next is a period
     * after the look, not after the one due. */
    assert_true(config_reload_claim(&r, T0 + 10 * SEC));
    /* A fork's child: the holder is not in it. */
    config_reload_forked(&r);
    assert_true(config_reload_claim(&r, T0 + 11 * SEC));
    config_reload_release(&r);
    config_free(cfg);
}

/* Eight threads find the same look due: one of them has it. */
static struct config_reload *race;
static int wins;
static pthread_barrier_t start;

static void *contender(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    if (config_reload_claim(race, T0 + SEC)) {
        __atomic_add_fetch(&wins, 1, __ATOMIC_RELAXED);
        config_reload_release(race);
    }
    return NULL;
}

static void test_one_thread_looks(void **state)
{
    (void)state;
    edit("", "");
    struct config_reload r;
    struct enact_config *cfg = first(&r, 0);
    race = &r;
    wins = 0;
    pthread_t t[8];
    pthread_barrier_init(&start, NULL, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, contender, NULL), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(wins, 1);
    config_free(cfg);
}

/* Not loaded at all: never due. */
static void test_no_config_no_look(void **state)
{
    (void)state;
    struct config_reload r;
    struct config_diag diag;
    th_write_file(ini, "[tool.api]\nconnect = 127.0.0.1:\n");
    assert_null(config_reload_first(&r, ini, 0, &diag, T0));
    assert_true(diag.n > 0);
    config_diag_free(&diag);
    assert_false(config_reload_due(&r, T0 + 100 * SEC));
}

static void test_unchanged_is_not_read(void **state)
{
    (void)state;
    edit("", "");
    struct config_reload r;
    struct enact_config *cfg = first(&r, 0);
    struct enact_config *next = (void *)1;
    struct config_diag diag;
    assert_int_equal(config_reload_look(&r, cfg, false, true, &next, &diag), RELOAD_SAME);
    assert_null(next);
    /* Removed (or an editor's rename under way): kept meanwhile. */
    assert_int_equal(unlink(ini), 0);
    assert_int_equal(config_reload_look(&r, cfg, false, true, &next, &diag), RELOAD_SAME);
    config_free(cfg);
}

static void test_edit_gives_new_rules_and_keeps_the_process(void **state)
{
    (void)state;
    edit("agent = first\nstate = one.state\naudit_log = one.jsonl",
         "rate.max_calls_per_minute = 60");
    struct config_reload r;
    struct enact_config *cur = first(&r, 0);
    edit("agent = second\nstate = two.state\naudit_log = two.jsonl\nlog_allowed = true",
         "dry_run = true");
    struct enact_config *next = NULL;
    struct config_diag diag;
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_NEW);
    assert_int_equal(diag.n, 0);
    assert_non_null(next);
    assert_true(next->tools[0].dry_run);
    assert_false(next->tools[0].rate_limited);
    assert_true(next->log_allowed);
    assert_string_equal(next->agent, "first");
    assert_ptr_equal(next->state_path, cur->state_path);
    assert_ptr_equal(next->audit_path, cur->audit_path);
    assert_int_equal(next->mode, MODE_ENFORCE);
    /* Looked at: the same file is not read again. */
    struct enact_config *again = NULL;
    assert_int_equal(config_reload_look(&r, next, false, true, &again, &diag), RELOAD_SAME);

    /* Started in observe mode (ENACT_MODE): every later config observes. */
    edit("agent = first\nmode = enforce", "");
    assert_int_equal(config_reload_look(&r, next, true, true, &again, &diag), RELOAD_NEW);
    assert_int_equal(again->mode, MODE_OBSERVE);
    drop(again);
    drop(next);
    config_free(cur);
}

static void test_broken_edit_said_once(void **state)
{
    (void)state;
    edit("", "");
    struct config_reload r;
    struct enact_config *cur = first(&r, 0);
    edit("", "rate.max_calls_per_minute = lots");
    struct enact_config *next = (void *)1;
    struct config_diag diag;
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_BROKEN);
    assert_null(next);
    assert_true(diag.n > 0);
    assert_non_null(strstr(diag.lines[0], "enact.ini:"));
    config_diag_free(&diag);
    /* The same broken file: not read, not said again. */
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_SAME);
    assert_int_equal(diag.n, 0);
    /* Broken another way: said again, once. */
    edit("", "rate.max_calls_per_minute = many");
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_BROKEN);
    config_diag_free(&diag);
    /* Mended: loaded. */
    edit("", "dry_run = true");
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_NEW);
    assert_true(next->tools[0].dry_run);
    drop(next);
    config_free(cur);
}

static void test_bounded(void **state)
{
    (void)state;
    edit("", "");
    struct config_reload r;
    struct enact_config *cur = first(&r, 0);
    struct enact_config *kept[CONFIG_RELOAD_MAX];
    struct config_diag diag;
    const struct enact_config *now = cur;
    for (unsigned i = 0; i < CONFIG_RELOAD_MAX; i++) {
        edit("", "");
        assert_int_equal(config_reload_look(&r, now, false, true, &kept[i], &diag), RELOAD_NEW);
        now = kept[i];
    }
    struct enact_config *next = NULL;
    edit("", "dry_run = true");
    assert_int_equal(config_reload_look(&r, now, false, true, &next, &diag), RELOAD_FULL);
    assert_null(next);
    edit("", "");
    assert_int_equal(config_reload_look(&r, now, false, true, &next, &diag), RELOAD_SAME);
    for (unsigned i = 0; i < CONFIG_RELOAD_MAX; i++)
        drop(kept[i]);
    config_free(cur);
}

/* From a hook that may be in a signal handler: only an image will do. */
static void test_image_only(void **state)
{
    (void)state;
    const uint64_t build = 0x5eed;
    edit("", "");
    struct config_reload r;
    struct enact_config *cur = first(&r, build);
    edit("", "dry_run = true");
    struct enact_config *next = NULL;
    struct config_diag diag;
    assert_int_equal(config_reload_look(&r, cur, false, false, &next, &diag), RELOAD_SAME);
    assert_null(next);
    /* Another process starts: it reads the INI and writes the image. */
    struct enact_config *other = config_cache_load(ini, build, NULL, NULL);
    assert_non_null(other);
    config_free(other);
    assert_int_equal(config_reload_look(&r, cur, false, false, &next, &diag), RELOAD_NEW);
    assert_non_null(next->image);
    assert_true(next->tools[0].dry_run);
    assert_ptr_equal(next->state_path, cur->state_path);
    drop(next);
    /* A broken edit has no image: not said from there, but by a look
     * that may read the INI. */
    edit("", "dry_run = perhaps");
    assert_int_equal(config_reload_look(&r, cur, false, false, &next, &diag), RELOAD_SAME);
    assert_int_equal(config_reload_look(&r, cur, false, true, &next, &diag), RELOAD_BROKEN);
    config_diag_free(&diag);
    config_free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_look_per_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_thread_looks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_config_no_look, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_is_not_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_gives_new_rules_and_keeps_the_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_edit_said_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
