/* Unit tests for config.c: INI loading, defaults, diagnostics, matching. */
#include "helpers.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>

#include "config.h"
#include "config_errno.h"
#include "config_match.h"
#include "config_keys.h"
#include "state.h"
#include "hash.h"

struct fixture {
    char *dir;
    char path[PATH_MAX];
    struct config_diag diag;
    struct enact_config *cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = th_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(f->cfg);
    config_diag_free(&f->diag);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* Writes text to <dir>/name and loads it; the previous result is freed. */
static struct enact_config *load_bytes(struct fixture *f, const char *name, const char *text,
                                       size_t len)
{
    config_free(f->cfg);
    config_diag_free(&f->diag);
    th_path(f->path, sizeof f->path, f->dir, name);
    th_write_bytes(f->path, text, len);
    f->cfg = config_load(f->path, &f->diag);
    return f->cfg;
}

static struct enact_config *load(struct fixture *f, const char *text)
{
    return load_bytes(f, "enact.ini", text, strlen(text));
}

static void print_diag(const struct fixture *f)
{
    for (size_t i = 0; i < f->diag.n; i++)
        print_message("  diag[%zu]: %s\n", i, f->diag.lines[i]);
}

static const struct enact_config *load_ok(struct fixture *f, const char *text)
{
    if (!load(f, text)) {
        print_diag(f);
        fail_msg("config did not load");
    }
    assert_int_equal(f->diag.n, 0);
    return f->cfg;
}

/* Asserts diagnostic i is "<path>:<line>: ..." (or "<path>: ..." for line 0)
 * and contains want. */
static void assert_diag(const struct fixture *f, size_t i, unsigned line, const char *want)
{
    if (i >= f->diag.n) {
        print_diag(f);
        fail_msg("expected a diagnostic #%zu (line %u, '%s'), got %zu", i, line, want, f->diag.n);
    }
    char prefix[PATH_MAX + 32];
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%u: ", f->path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", f->path);
    const char *d = f->diag.lines[i];
    if (!th_starts_with(d, prefix) || !strstr(d + strlen(prefix), want)) {
        print_diag(f);
        fail_msg("diag[%zu] = '%s'; expected prefix '%s' and '%s'", i, d, prefix, want);
    }
    assert_int_equal(f->diag.at[i], line);
}

/* Loads text that must fail with exactly one diagnostic. */
static void expect_one_error(struct fixture *f, const char *text, unsigned line, const char *want)
{
    assert_null(load(f, text));
    assert_diag(f, 0, line, want);
    if (f->diag.n != 1) {
        print_diag(f);
        fail_msg("expected exactly one diagnostic, got %zu", f->diag.n);
    }
}

static const char *FULL =
    "; a complete configuration\n"                   /* 1 */
    "[enact]\n"                                      /* 2 */
    "agent = test-agent\n"                           /* 3 */
    "state = %s/abs/enact.state\n"                   /* 4 */
    "audit_log = logs/audit.jsonl\n"                 /* 5 */
    "mode = observe\n"                               /* 6 */
    "on_error = allow\n"                             /* 7 */
    "log_allowed = yes\n"                            /* 8 */
    "\n"                                             /* 9 */
    "[tool.database]\n"                              /* 10 */
    "connect = 127.0.0.1:5432\n"                     /* 11 */
    "connect = localhost:6432 ; pgbouncer\n"         /* 12 */
    "connect = unix:/run/postgresql/.s.PGSQL.5432\n" /* 13 */
    "rate.max_calls_per_minute = 60\n"               /* 14 */
    "rate.burst_size = 10\n"                         /* 15 */
    "\n"                                             /* 16 */
    "# shell commands\n"                             /* 17 */
    "[tool.shell]\n"                                 /* 18 */
    "exec = rm\n"                                    /* 19 */
    "exec = kubectl delete *\n"                      /* 20 */
    "rate.max_calls_per_minute = 2.5\n"              /* 21 */
    "\n"                                             /* 22 */
    "[tool.web]\n"                                   /* 23 */
    "connect = *:443\n";                             /* 24 */

static void test_full_valid_file(void **state)
{
    struct fixture *f = *state;
    char text[2048];
    snprintf(text, sizeof text, FULL, f->dir);
    const struct enact_config *c = load_ok(f, text);

    assert_string_equal(c->path, f->path);
    assert_string_equal(c->agent, "test-agent");
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/abs/enact.state", f->dir);
    assert_string_equal(c->state_path, want);
    snprintf(want, sizeof want, "%s/logs/audit.jsonl", f->dir);
    assert_string_equal(c->audit_path, want);
    assert_int_equal(c->mode, MODE_OBSERVE);
    assert_int_equal(c->on_error, ON_ERROR_ALLOW);
    assert_true(c->log_allowed);
    assert_int_equal(c->ntools, 3);

    const struct tool *db = &c->tools[0];
    assert_string_equal(db->name, "database");
    assert_int_equal(db->src.line, 10);
    assert_int_equal(db->nconnect, 4); /* localhost counts twice */
    assert_int_equal(db->nexec, 0);
    assert_int_equal(db->connect[0].port_lo, 5432);
    assert_int_equal(db->connect[1].port_lo, 6432);
    assert_int_equal(db->connect[2].port_lo, 6432);
    assert_int_equal(db->connect[3].kind, TARGET_UNIX);
    assert_string_equal(db->connect[3].unix_glob, "/run/postgresql/.s.PGSQL.5432");
    assert_true(db->rate_limited);
    assert_true(db->written.max_calls_per_minute == 60.0);
    assert_int_equal(db->written.burst_size, 10);
    assert_int_equal(db->rate.interval_ns, UINT64_C(1000000000));
    assert_int_equal(db->rate.tolerance_ns, UINT64_C(9000000000));
    assert_int_equal(db->src.key_line[TK_RATE_PER_MINUTE], 14);
    assert_int_equal(db->src.key_line[TK_RATE_BURST], 15);

    const struct tool *sh = &c->tools[1];
    assert_string_equal(sh->name, "shell");
    assert_int_equal(sh->src.line, 18);
    assert_int_equal(sh->nconnect, 0);
    assert_int_equal(sh->nexec, 2);
    assert_string_equal(sh->exec[0].words[0], "rm");
    assert_int_equal(sh->exec[1].nargs, 2);
    assert_string_equal(sh->exec[1].words[2], "*");
    assert_true(sh->rate_limited);
    assert_true(sh->written.max_calls_per_minute == 2.5);
    assert_int_equal(sh->written.burst_size, 3); /* default: ceil(rate) */
    assert_int_equal(sh->rate.interval_ns, UINT64_C(24000000000));
    assert_int_equal(sh->rate.tolerance_ns, UINT64_C(48000000000));
    assert_int_equal(sh->src.key_line[TK_RATE_BURST], 0);

    const struct tool *web = &c->tools[2];
    assert_string_equal(web->name, "web");
    assert_int_equal(web->src.line, 23);
    assert_false(web->rate_limited);
    assert_int_equal(web->rate.interval_ns, 0);
    assert_int_equal(web->nconnect, 1);
    assert_true(web->connect[0].any_host);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.a]\nconnect = 127.0.0.1\n");
    assert_null(c->agent);
    assert_int_equal(c->mode, MODE_ENFORCE);
    assert_int_equal(c->on_error, ON_ERROR_DENY);
    assert_false(c->log_allowed);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/enact-audit.jsonl", f->dir);
    assert_string_equal(c->audit_path, want);
    assert_non_null(c->state_path);
    assert_int_equal(c->state_path[0], '/');
    assert_int_equal(c->ntools, 1);
    assert_false(c->tools[0].rate_limited);
}

static void test_default_burst_is_ceil_rate(void **state)
{
    struct fixture *f = *state;
    const struct {
        const char *rate;
        uint64_t burst;
    } cases[] = {{"60", 60}, {"0.5", 1}, {"1", 1}, {"2.01", 3}, {"100.0", 100}, {"1e3", 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[tool.a]\nconnect = *\nrate.max_calls_per_minute = %s\n",
                 cases[i].rate);
        const struct enact_config *c = load_ok(f, text);
        assert_int_equal(c->tools[0].written.burst_size, cases[i].burst);
        assert_int_equal(c->tools[0].rate.tolerance_ns,
                         (cases[i].burst - 1) * c->tools[0].rate.interval_ns);
    }
}

static void test_relative_paths_resolve_against_ini_folder(void **state)
{
    struct fixture *f = *state;
    char sub[PATH_MAX];
    th_path(sub, sizeof sub, f->dir, "conf");
    assert_int_equal(mkdir(sub, 0700), 0);
    config_free(f->cfg);
    config_diag_free(&f->diag);
    th_path(f->path, sizeof f->path, f->dir, "conf/agent.ini");
    th_write_file(f->path, "[enact]\nstate = run/x.state\naudit_log = audit.jsonl\n"
                           "[tool.a]\nconnect = *\n");
    /* Loaded through a relative, non-canonical name from another cwd. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    f->cfg = config_load("./conf/../conf/agent.ini", &f->diag);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(f->cfg);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/conf/agent.ini", f->dir);
    assert_string_equal(f->cfg->path, want);
    snprintf(want, sizeof want, "%s/conf/run/x.state", f->dir);
    assert_string_equal(f->cfg->state_path, want);
    snprintf(want, sizeof want, "%s/conf/audit.jsonl", f->dir);
    assert_string_equal(f->cfg->audit_path, want);
}

static void test_default_state_path(void **state)
{
    struct fixture *f = *state;
    const char *old = getenv("XDG_RUNTIME_DIR");
    char *saved = old ? strdup(old) : NULL;

    assert_int_equal(setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1), 0);
    const struct enact_config *c = load_ok(f, "[tool.a]\nconnect = *\n");
    uint32_t h = (uint32_t)fnv64_str(FNV64_OFFSET, c->path);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "/run/user/4242/enact/enact-%08x.v%u.state", h, STATE_VERSION);
    assert_string_equal(c->state_path, want);

    /* The stem drops only the last extension. */
    load_bytes(f, "my.agent.conf", "[tool.a]\nconnect = *\n", strlen("[tool.a]\nconnect = *\n"));
    assert_non_null(f->cfg);
    h = (uint32_t)fnv64_str(FNV64_OFFSET, f->cfg->path);
    snprintf(want, sizeof want, "/run/user/4242/enact/my.agent-%08x.v%u.state", h, STATE_VERSION);
    assert_string_equal(f->cfg->state_path, want);

    /* Unset, or not absolute: /var/tmp/enact-UID. */
    assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
    c = load_ok(f, "[tool.a]\nconnect = *\n");
    h = (uint32_t)fnv64_str(FNV64_OFFSET, c->path);
    snprintf(want, sizeof want, "/var/tmp/enact-%u/enact-%08x.v%u.state", (unsigned)getuid(), h,
             STATE_VERSION);
    assert_string_equal(c->state_path, want);
    assert_int_equal(setenv("XDG_RUNTIME_DIR", "relative/dir", 1), 0);
    c = load_ok(f, "[tool.a]\nconnect = *\n");
    assert_string_equal(c->state_path, want);

    /* Different configs get different files. */
    char a[PATH_MAX], b[PATH_MAX];
    assert_true(config_default_state_path("/etc/enact/one.ini", a, sizeof a));
    assert_true(config_default_state_path("/srv/enact/one.ini", b, sizeof b));
    assert_string_not_equal(a, b);
    /* Too small a buffer is refused. */
    assert_false(config_default_state_path("/etc/enact/one.ini", a, 10));
    /* The name is what stdio and basename() formed before (the CLI and
     * older shims find the same files): every kind of last component. */
    static const char *const paths[] = {
        "/etc/enact/one.ini", "/etc/enact/noext", "/etc/enact/.enactrc", "/etc/enact/a.b.c.ini",
        "/etc/enact/trailing.ini/", "/one.ini", "/", "",
        "/etc/enact/a-stem-longer-than-sixty-four-bytes-is-cut-at-sixty-four-bytes-exactly.ini",
        "/etc/enact/a-stem-longer-than-sixty-four-bytes-is-cut-at-sixty-four-bytes-exactly"
        "-and-beyond.ini"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        for (int xdg = 0; xdg < 2; xdg++) {
            if (xdg)
                assert_int_equal(setenv("XDG_RUNTIME_DIR", "/run/user/77", 1), 0);
            else
                assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
            char dir[PATH_MAX], copy[PATH_MAX], ref[PATH_MAX], got[PATH_MAX];
            if (xdg)
                snprintf(dir, sizeof dir, "%s/enact", getenv("XDG_RUNTIME_DIR"));
            else
                snprintf(dir, sizeof dir, "/var/tmp/enact-%u", (unsigned)getuid());
            snprintf(copy, sizeof copy, "%s", paths[i]);
            char *stem = basename(copy), *dot = strrchr(stem, '.');
            if (dot && dot != stem)
                *dot = '\0';
            int n = snprintf(ref, sizeof ref, "%s/%.64s-%08x%s", dir, stem,
                             (uint32_t)fnv64_str(FNV64_OFFSET, paths[i]), ".policy");
            assert_true(n > 0 && (size_t)n < sizeof ref);
            assert_true(config_default_file(paths[i], ".policy", got, sizeof got));
            assert_string_equal(got, ref);
            /* One byte short of the name and its NUL is refused. */
            assert_false(config_default_file(paths[i], ".policy", got, strlen(ref)));
            assert_true(config_default_file(paths[i], ".policy", got, strlen(ref) + 1));
        }
    }

    if (saved) {
        setenv("XDG_RUNTIME_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("XDG_RUNTIME_DIR");
    }
}

static void test_value_spellings(void **state)
{
    struct fixture *f = *state;
    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    const char *no[] = {"false", "no", "off", "0", "FALSE"};
    char text[256];
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(text, sizeof text, "[enact]\nlog_allowed = %s\n[tool.a]\nconnect = *\n", yes[i]);
        assert_true(load_ok(f, text)->log_allowed);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(text, sizeof text, "[enact]\nlog_allowed = %s\n[tool.a]\nconnect = *\n", no[i]);
        assert_false(load_ok(f, text)->log_allowed);
    }
    const struct enact_config *c =
        load_ok(f, "[enact]\nmode = enforce\non_error = deny\n[tool.a]\nexec = rm\n");
    assert_int_equal(c->mode, MODE_ENFORCE);
    assert_int_equal(c->on_error, ON_ERROR_DENY);
}

static void test_crlf_file(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(
        f, "[enact]\r\nagent = win\r\n[tool.a]\r\nconnect = 127.0.0.1:80\r\n"
           "rate.max_calls_per_minute = 6\r\n");
    assert_string_equal(c->agent, "win");
    assert_int_equal(c->tools[0].connect[0].port_lo, 80);
    assert_int_equal(c->tools[0].written.burst_size, 6);
}

/* Indenting keys under a section header is common INI style; each indented
 * line is its own key, not a continuation of the previous value. */
static void test_indented_keys(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load(f, "[enact]\n"
                                           "  agent = x\n"
                                           "  mode = observe\n"
                                           "[tool.db]\n"
                                           "    connect = 127.0.0.1:5432\n"
                                           "    rate.max_calls_per_minute = 60\n");
    if (!c) {
        print_diag(f);
        fail_msg("indented keys were not read as keys");
    }
    assert_string_equal(c->agent, "x");
    assert_int_equal(c->mode, MODE_OBSERVE);
    assert_int_equal(c->tools[0].nconnect, 1);
    assert_true(c->tools[0].rate_limited);
}

/* ---- diagnostics --------------------------------------------------------- */

static void test_misspelt_keys(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[enact]\nagnet = x\n[tool.a]\nconnect = *\n", 2,
                     "unknown key 'agnet' in [enact]; did you mean 'agent'?");
    expect_one_error(f, "[tool.a]\nconnect = *\nrate.max_calls_per_minut = 5\n", 3,
                     "unknown key 'rate.max_calls_per_minut' in [tool.a]; did you mean "
                     "'rate.max_calls_per_minute'?");
    expect_one_error(f, "[tool.a]\nconect = *\nexec = rm\n", 2,
                     "unknown key 'conect' in [tool.a]; did you mean 'connect'?");
    /* Far from every key: no suggestion. */
    expect_one_error(f, "[enact]\ncompletely_different = 1\n[tool.a]\nconnect = *\n", 2,
                     "unknown key 'completely_different' in [enact]");
    assert_null(strstr(f->diag.lines[0], "did you mean"));
}

/* Every key of the design loads without a word (strict too, now that it is
 * enforced), and a key outside the design is an error. */
static void test_design_keys_load_unknown_key_fails(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load(f, "[enact]\nstrict = true\n[tool.a]\nconnect = *\n");
    if (!c) {
        print_diag(f);
        fail_msg("a key of the design must load");
    }
    assert_int_equal(f->diag.n, 0);
    assert_true(c->strict);

    /* io_timeout_seconds is enforced for connections: it loads without a word. */
    c = load_ok(f, "[tool.a]\nconnect = *\nio_timeout_seconds = 30\n");
    assert_true(c->tools[0].io_timeout_seconds == 30.0);
    assert_int_equal(c->tools[0].src.key_line[TK_IO_TIMEOUT], 3);

    /* timeout_seconds is enforced for connections: it loads without a word. */
    c = load_ok(f, "[tool.a]\nconnect = *\ntimeout_seconds = 30\n");
    assert_true(c->tools[0].timeout_seconds == 30.0);
    assert_int_equal(c->tools[0].src.key_line[TK_TIMEOUT], 3);

    /* The keys that used to be refused are accepted now. */
    load_ok(f, "[tool.a]\nconnect = *\nquota.max_actions = 1000\n");
    assert_true(f->cfg->tools[0].quota.enabled);

    expect_one_error(f, "[tool.a]\nconnect = *\npriority = 5\n", 3,
                     "unknown key 'priority' in [tool.a]");
    assert_null(strstr(f->diag.lines[0], "did you mean"));
    assert_int_equal(f->diag.warnings, 0);
}

static void test_unknown_section(void **state)
{
    struct fixture *f = *state;
    /* Reported once for the section, at its header. */
    expect_one_error(f,
                     "[tool.a]\nconnect = *\n[tools.b]\nconnect = *\nexec = rm\n", 3,
                     "unknown section [tools.b] (expected [enact], [tool.NAME], [agent], [agent.NAME] or "
                     "[impact])");
}

static void test_unknown_empty_section(void **state)
{
    struct fixture *f = *state;
    /* A misspelt section with nothing in it (yet) is still an unknown section. */
    expect_one_error(f, "[tool.a]\nconnect = *\n[enatc]\n", 3, "unknown section [enatc]");
}

/* The design's [agent] and [impact] sections are no longer refused. */
static void test_design_sections_supported(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.a]\nconnect = *\n[agent]\nquota.max_actions = 1\n"
                                              "quota.window_hours = 24\n[impact]\nverb.high = purge\n");
    assert_true(c->agent_quota.enabled);
    assert_int_equal(c->agent_quota.max_actions, 1);
    assert_int_equal(c->impact.nverbs, 1);
    /* Empty ones are fine: they set nothing. */
    c = load_ok(f, "[agent]\n[impact]\n[tool.a]\nconnect = *\n");
    assert_false(c->agent_quota.enabled);
    assert_int_equal(c->impact.nverbs + c->impact.nexec, 0);
}

static void test_key_outside_section(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "; comment\nagent = x\n[tool.a]\nconnect = *\n", 2,
                     "'agent' is outside any section; put it under [enact] or [tool.NAME]");
}

static void test_duplicate_keys(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[enact]\nagent = a\nmode = observe\nagent = b\n[tool.a]\nconnect = *\n",
                     4, "'agent' is set twice (first on line 2)");
    expect_one_error(f, "[enact]\nmode = observe\n[tool.a]\nconnect = *\n[enact]\nmode = enforce\n",
                     6, "'mode' is set twice (first on line 2)");
    expect_one_error(f,
                     "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 5\n"
                     "rate.max_calls_per_minute = 6\n",
                     4, "'rate.max_calls_per_minute' is set twice (first on line 3)");
    /* Repeated rules are not duplicates. */
    const struct enact_config *c =
        load_ok(f, "[tool.a]\nconnect = 10.0.0.1\nconnect = 10.0.0.2\nexec = rm\nexec = rmdir\n");
    assert_int_equal(c->tools[0].nconnect, 2);
    assert_int_equal(c->tools[0].nexec, 2);
    /* A tool split over two sections of the same name is one tool. */
    c = load_ok(f, "[tool.a]\nconnect = 10.0.0.1\n[tool.b]\nexec = x\n[tool.a]\nexec = rm\n");
    assert_int_equal(c->ntools, 2);
    assert_int_equal(c->tools[0].nconnect, 1);
    assert_int_equal(c->tools[0].nexec, 1);
}

static void test_bad_numbers(void **state)
{
    struct fixture *f = *state;
    const char *bad_rates[] = {"abc", "0", "-1", "nan", "inf", "1e999", "5/min", "", " 5x"};
    char text[256];
    for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
        snprintf(text, sizeof text, "[tool.a]\nconnect = *\nrate.max_calls_per_minute = %s\n",
                 bad_rates[i]);
        expect_one_error(f, text, 3, "rate.max_calls_per_minute must be a number of calls above 0");
    }
    const char *bad_bursts[] = {"0", "-3", "1.5", "abc", "1000000001", "99999999999999999999",
                                "+5", ""};
    for (size_t i = 0; i < sizeof bad_bursts / sizeof bad_bursts[0]; i++) {
        snprintf(text, sizeof text,
                 "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 5\nrate.burst_size = %s\n",
                 bad_bursts[i]);
        expect_one_error(f, text, 4, "rate.burst_size must be a whole number from 1 to 1000000000");
    }
    /* A rate too fast or a span too long for the bucket. */
    expect_one_error(f, "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 1e12\n", 3,
                     "is out of range");
    expect_one_error(f,
                     "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 0.0001\n"
                     "rate.burst_size = 1000000000\n",
                     3, "is out of range");
}

static void test_other_bad_values(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[enact]\nmode = block\n[tool.a]\nconnect = *\n", 2,
                     "mode must be 'enforce' or 'observe', not 'block'");
    expect_one_error(f, "[enact]\non_error = ignore\n[tool.a]\nconnect = *\n", 2,
                     "on_error must be 'deny' or 'allow', not 'ignore'");
    expect_one_error(f, "[enact]\nlog_allowed = maybe\n[tool.a]\nconnect = *\n", 2,
                     "log_allowed must be true or false, not 'maybe'");
    char text[256];
    snprintf(text, sizeof text, "[enact]\nagent = %065d\n[tool.a]\nconnect = *\n", 0);
    expect_one_error(f, text, 2, "agent name must be 1 to 64 characters");
    expect_one_error(f, "[enact]\nstate =\n[tool.a]\nconnect = *\n", 2, "'state' is empty");
    expect_one_error(f, "[tool.a]\nconnect = db_internal:5432\n", 2, "bad host 'db_internal'");
    expect_one_error(f, "[tool.a]\nconnect = 127.0.0.1:70000\n", 2, "bad port '70000'");
    expect_one_error(f, "[tool.a]\nexec = rm \"oops\n", 2, "unterminated \"");
}

static void test_burst_without_rate(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\n\nrate.burst_size = 5\n", 4,
                     "tool 'a' sets rate.burst_size without rate.max_calls_per_minute");
}

static void test_tool_without_rules(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\n\n[tool.lazy]\nrate.max_calls_per_minute = 5\n", 4,
                     "tool 'lazy' has no 'connect =' or 'exec =' rule");
    /* A rule that failed to parse is reported once, not twice. */
    expect_one_error(f, "[tool.a]\nconnect = nope_example\n", 2, "bad host 'nope_example'");
}

static void test_empty_tool_section(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\n\n[tool.empty]\n", 4,
                     "tool 'empty' has no 'connect =' or 'exec =' rule");
}

static void test_bad_tool_name(void **state)
{
    struct fixture *f = *state;
    /* A section-level problem: reported once, at the section header. */
    expect_one_error(f, "[tool.a]\nconnect = *\n[tool.bad/name]\nconnect = *\nexec = rm\n", 3,
                     "bad tool name 'bad/name'");
    expect_one_error(f, "[tool.]\nexec = x\n", 1, "bad tool name ''");
    /* The allowed alphabet. */
    const struct enact_config *c = load_ok(f, "[tool.Ab_9-x.y]\nexec = x\n");
    assert_string_equal(c->tools[0].name, "Ab_9-x.y");
}

/* inih keeps at most 49 characters of a section name. A longer tool name
 * must never be cut silently: two tools that differ only after the cut
 * would become one. */
static void test_long_tool_names_not_merged(void **state)
{
    struct fixture *f = *state;
    char a[51], b[51], text[512];
    memset(a, 'a', 50);
    a[50] = '\0';
    memcpy(b, a, sizeof b);
    b[49] = 'b';
    snprintf(text, sizeof text, "[tool.%s]\nexec = x\n[tool.%s]\nexec = y\n", a, b);
    const struct enact_config *c = load(f, text);
    if (c) {
        assert_int_equal(c->ntools, 2);
        assert_string_equal(c->tools[0].name, a);
        assert_string_equal(c->tools[1].name, b);
    } else {
        assert_true(f->diag.n >= 1);
        assert_non_null(strstr(f->diag.lines[0], "tool name"));
    }
    /* 65 characters is over the documented limit: refused, never cut. */
    snprintf(text, sizeof text, "[tool.%065d]\nexec = x\n", 0);
    assert_null(load(f, text));
    assert_int_equal(f->diag.n, 1);
    char at1[PATH_MAX + 8], at2[PATH_MAX + 8];
    snprintf(at1, sizeof at1, "%s:1: ", f->path);
    snprintf(at2, sizeof at2, "%s:2: ", f->path);
    assert_true(th_starts_with(f->diag.lines[0], at1) || th_starts_with(f->diag.lines[0], at2));
    assert_non_null(strstr(f->diag.lines[0], "tool name"));
}

static void test_syntax_error(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\nthis line is not ini\n", 3,
                     "syntax error: expected '[section]', 'key = value' or a comment");
    /* A broken header: the syntax error, said once; its keys are skipped,
     * not given to the section before it nor reported again. */
    assert_null(load(f, "[tool.a\nconnect = *\n"));
    assert_int_equal(f->diag.n, 1);
    assert_diag(f, 0, 1, "syntax error");
    assert_null(load(f, "[tool.b]\nconnect = *\n[tool.a\nexec = rm\nbogus = 1\n"));
    assert_int_equal(f->diag.n, 1);
    assert_diag(f, 0, 3, "syntax error");
}

/* inih stops at its first syntax error; every one is reported all the
 * same, each at its line, and the keys around them are still read. */
static void test_every_syntax_error_reported(void **state)
{
    struct fixture *f = *state;
    assert_null(load(f, "[tool.a]\n"        /* 1 */
                        "connect = *\n"     /* 2 */
                        "oops\n"            /* 3 */
                        "mode = loud\n"     /* 4: unknown key in [tool.a] */
                        "[tool.b\n"         /* 5 */
                        "also wrong\n"      /* 6 */
                        "[enact]\n"         /* 7 */
                        "agnet = x\n"));    /* 8 */
    if (f->diag.n != 5)
        print_diag(f);
    assert_int_equal(f->diag.n, 5);
    assert_diag(f, 0, 3, "syntax error: expected '[section]', 'key = value' or a comment");
    assert_diag(f, 1, 4, "unknown key 'mode' in [tool.a]");
    assert_diag(f, 2, 5, "syntax error");
    assert_diag(f, 3, 6, "syntax error");
    assert_diag(f, 4, 8, "did you mean 'agent'?");
}

static void test_overlong_line(void **state)
{
    struct fixture *f = *state;
    /* 198 characters is fine. */
    char text[1024];
    int n = snprintf(text, sizeof text, "[tool.a]\nconnect = *\n; ");
    memset(text + n, 'x', 196);
    strcpy(text + n + 196, "\nexec = rm\n");
    load_ok(f, text);
    /* 199 is not: refused with its line. */
    n = snprintf(text, sizeof text, "[tool.a]\nconnect = *\n\nexec = ");
    memset(text + n, 'x', 199 - 7);
    strcpy(text + n + 199 - 7, "\n");
    expect_one_error(f, text, 4, "line longer than 198 characters");
}

static void test_nul_byte(void **state)
{
    struct fixture *f = *state;
    const char text[] = "[tool.a]\nconnect = *\nexec = r\0m\n";
    assert_null(load_bytes(f, "enact.ini", text, sizeof text - 1));
    assert_int_equal(f->diag.n, 1);
    assert_diag(f, 0, 3, "NUL byte in the file");
}

static void test_missing_and_empty_files(void **state)
{
    struct fixture *f = *state;
    config_free(f->cfg);
    config_diag_free(&f->diag);
    th_path(f->path, sizeof f->path, f->dir, "nope.ini");
    f->cfg = config_load(f->path, &f->diag);
    assert_null(f->cfg);
    assert_int_equal(f->diag.n, 1);
    assert_diag(f, 0, 0, "cannot open: No such file or directory");

    expect_one_error(f, "", 0, "no [tool.NAME] section: nothing would be governed");
    expect_one_error(f, "; only comments\n\n[enact]\nagent = x\n", 0, "no [tool.NAME] section");

    /* A folder is not a config. */
    config_free(f->cfg);
    config_diag_free(&f->diag);
    snprintf(f->path, sizeof f->path, "%s", f->dir);
    f->cfg = config_load(f->path, &f->diag);
    assert_null(f->cfg);
    assert_true(f->diag.n >= 1);
    assert_true(th_starts_with(f->diag.lines[0], f->path));

    /* diag may be NULL. */
    assert_null(config_load("/nonexistent/enact.ini", NULL));
}

static void test_several_errors_all_reported(void **state)
{
    struct fixture *f = *state;
    const char *text = "[enact]\n"                              /* 1 */
                       "agnet = x\n"                            /* 2: misspelt */
                       "mode = loud\n"                          /* 3: bad value */
                       "[tool.db]\n"                            /* 4 */
                       "connect = db_example:5432\n"            /* 5: bad host */
                       "rate.max_calls_per_minute = fast\n"     /* 6: bad number */
                       "quota.window_hours = 24\n"              /* 7: no quota.max_actions */
                       "garbage line\n"                         /* 8: syntax */
                       "[tool.b]\n"                             /* 9 */
                       "rate.burst_size = 3\n"                  /* 10: no rate; no rules (9) */
                       "[enact]\n"                              /* 11 */
                       "mode = observe\n"                       /* 12: twice */
                       "[tool.c]\n"                             /* 13 */
                       "exec = x\n"                             /* 14 */
                       "io_timeout_seconds = 5\n";              /* 15: a warning */
    assert_null(load(f, text));
    if (f->diag.n != 10)
        print_diag(f);
    assert_int_equal(f->diag.n, 10);
    assert_int_equal(f->diag.warnings, 1);
    assert_diag(f, 0, 2, "did you mean 'agent'?");
    assert_diag(f, 1, 3, "mode must be");
    assert_diag(f, 2, 5, "bad host 'db_example'");
    assert_diag(f, 3, 6, "rate.max_calls_per_minute must be a number");
    assert_diag(f, 4, 7, "tool 'db' sets quota.window_hours without quota.max_actions");
    assert_diag(f, 5, 8, "syntax error");
    assert_diag(f, 6, 9, "tool 'b' has no 'connect =' or 'exec =' rule");
    assert_diag(f, 7, 10, "tool 'b' sets rate.burst_size without rate.max_calls_per_minute");
    assert_diag(f, 8, 12, "'mode' is set twice (first on line 3)");
    assert_diag(f, 9, 15, "warning: tool 'c': 'io_timeout_seconds' applies to connections");
}

/* ---- policy ids and matching --------------------------------------------- */

static void load_two_ids(struct fixture *f, const char *rate_a, const char *rate_b,
                         const char *burst_b, uint64_t ids[2])
{
    char text[512];
    snprintf(text, sizeof text,
             "[tool.a]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = %s\n"
             "[tool.b]\nconnect = 10.0.0.2\nrate.max_calls_per_minute = %s\n%s\n",
             rate_a, rate_b, burst_b);
    const struct enact_config *c = load_ok(f, text);
    ids[0] = c->tools[0].rate_id;
    ids[1] = c->tools[1].rate_id;
}

static void test_rate_id(void **state)
{
    struct fixture *f = *state;
    uint64_t base[2], again[2], b_rate[2], a_rate[2], b_burst[2];
    load_two_ids(f, "60", "10", "", base);
    load_two_ids(f, "60", "10", "", again);
    load_two_ids(f, "60", "20", "", b_rate);
    load_two_ids(f, "30", "10", "", a_rate);
    load_two_ids(f, "60", "10", "rate.burst_size = 4", b_burst);
    assert_int_not_equal(base[0], base[1]); /* names differ */
    assert_int_equal(base[0], again[0]);    /* stable */
    assert_int_equal(base[1], again[1]);
    assert_int_equal(b_rate[0], base[0]); /* b's change leaves a alone */
    assert_int_not_equal(b_rate[1], base[1]);
    assert_int_not_equal(a_rate[0], base[0]);
    assert_int_equal(a_rate[1], base[1]);
    assert_int_equal(b_burst[0], base[0]);
    assert_int_not_equal(b_burst[1], base[1]);
    /* Moving a tool in the file or adding rules does not change its id. */
    const struct enact_config *c =
        load_ok(f, "[tool.b]\nconnect = 10.0.0.9\nconnect = 10.0.0.2\nrate.max_calls_per_minute = 10\n"
                   "[tool.a]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = 60\n");
    assert_int_equal(c->tools[0].rate_id, base[1]);
    assert_int_equal(c->tools[1].rate_id, base[0]);
}

static struct net_target v4_target(const char *dotted, uint16_t port)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    assert_int_equal(inet_pton(AF_INET, dotted, &in.sin_addr), 1);
    struct net_target t;
    assert_true(net_target_from_sockaddr((struct sockaddr *)&in, sizeof in, &t));
    return t;
}

static void test_match_first_tool_in_file_order(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.exact]\n"
                                              "connect = 127.0.0.1:5432\n"
                                              "exec = kubectl delete *\n"
                                              "[tool.broad]\n"
                                              "connect = 127.0.0.0/8\n"
                                              "exec = kubectl\n"
                                              "exec = /usr/bin/*\n");
    struct net_target t = v4_target("127.0.0.1", 5432);
    const struct tool *hit = config_match_connect(c, &t);
    assert_non_null(hit);
    assert_string_equal(hit->name, "exact");
    t = v4_target("127.0.0.1", 80);
    hit = config_match_connect(c, &t);
    assert_non_null(hit);
    assert_string_equal(hit->name, "broad");
    t = v4_target("10.0.0.1", 5432);
    assert_null(config_match_connect(c, &t));

    char *del[] = {"kubectl", "delete", "pod", NULL};
    char *get[] = {"kubectl", "get", "pod", NULL};
    char *ls[] = {"ls", NULL};
    hit = config_match_exec(c, "/usr/local/bin/kubectl", del);
    assert_non_null(hit);
    assert_string_equal(hit->name, "exact");
    hit = config_match_exec(c, "/usr/local/bin/kubectl", get);
    assert_non_null(hit);
    assert_string_equal(hit->name, "broad");
    hit = config_match_exec(c, "/usr/bin/ls", ls);
    assert_non_null(hit);
    assert_string_equal(hit->name, "broad");
    assert_null(config_match_exec(c, "/bin/ls", ls));

    /* Reversed order: the broad tool wins everything it matches. */
    c = load_ok(f, "[tool.broad]\nconnect = 127.0.0.0/8\nexec = kubectl\n"
                   "[tool.exact]\nconnect = 127.0.0.1:5432\nexec = kubectl delete *\n");
    t = v4_target("127.0.0.1", 5432);
    assert_string_equal(config_match_connect(c, &t)->name, "broad");
    assert_string_equal(config_match_exec(c, "/usr/local/bin/kubectl", del)->name, "broad");
}

/* ==== every key of the design ============================================ */

/* Loads text that must load with exactly nwarn warnings and nothing else. */
static const struct enact_config *load_warn(struct fixture *f, const char *text, size_t nwarn)
{
    if (!load(f, text)) {
        print_diag(f);
        fail_msg("config did not load");
    }
    if (f->diag.n != nwarn || f->diag.warnings != nwarn) {
        print_diag(f);
        fail_msg("expected %zu warnings and nothing else, got %zu diagnostics (%zu warnings)",
                 nwarn, f->diag.n, f->diag.warnings);
    }
    return f->cfg;
}

/* Loads text that must fail with exactly one error, at line, containing
 * want, beside exactly nwarn warnings. */
static void expect_error_w(struct fixture *f, const char *text, unsigned line, const char *want,
                           size_t nwarn)
{
    assert_null(load(f, text));
    if (f->diag.n != nwarn + 1 || f->diag.warnings != nwarn) {
        print_diag(f);
        fail_msg("expected one error and %zu warnings, got %zu diagnostics (%zu warnings)", nwarn,
                 f->diag.n, f->diag.warnings);
    }
    for (size_t i = 0; i < f->diag.n; i++) {
        if (strstr(f->diag.lines[i], ": warning: "))
            continue;
        assert_diag(f, i, line, want);
        return;
    }
    fail_msg("no error among the diagnostics");
}

/* The warning a tool with exec rules gets for a retry key without
 * retry.on_exit_nonzero, written into buf. */
static const char *connections_only(char *buf, size_t cap, const char *tool, const char *key)
{
    snprintf(buf, cap,
             "warning: tool '%s': '%s' retries connections; programs are retried only through "
             "system(), with retry.on_exit_nonzero = true",
             tool, key);
    return buf;
}

static const char *on_limit_wait_exec(char *buf, size_t cap, const char *tool)
{
    snprintf(buf, cap,
             "warning: tool '%s': on_limit = wait governs connections (blocking sockets) only; "
             "a refused program start fails at once",
             tool);
    return buf;
}

/* Asserts diag i is exactly "<path>:<line>: want", nothing before or after. */
static void assert_diag_is(const struct fixture *f, size_t i, unsigned line, const char *want)
{
    assert_diag(f, i, line, want);
    char full[PATH_MAX + 1024];
    snprintf(full, sizeof full, "%s:%u: %s", f->path, line, want);
    assert_string_equal(f->diag.lines[i], full);
}

/* An INI that sets every key of the first design, comments and all. */
static const char *FULL_EXAMPLE =
    "[enact]\n"                                                                          /* 1 */
    "agent     = my-agent          ; default: $ENACT_AGENT, else the first governed program's name\n"
    "state     = /var/tmp/enact/my-agent.state\n"                                         /* 3 */
    "audit_log = enact-audit.jsonl ; relative paths are relative to this file\n"          /* 4 */
    "mode      = enforce           ; enforce | observe (log what would be blocked, block nothing)\n"
    "dry_run   = false             ; true: every mapped tool is simulated\n"              /* 6 */
    "on_error  = deny              ; deny | allow: mapped calls when enact itself cannot decide\n"
    "log_allowed = false\n"                                                               /* 8 */
    "static_binaries = audit       ; allow | audit | deny: exec of a program the preload cannot follow\n"
    "strict    = false             ; true: close what user space can (static/setuid targets, io_uring, raw syscall())\n"
    "\n"                                                                                  /* 11 */
    "[tool.database]               ; first tool (in file order) whose rule matches wins\n" /* 12 */
    "connect = 127.0.0.1:5432      ; HOST[:PORT]; HOST: DNS name, IPv4, [IPv6], CIDR; PORT: n, n-m, *\n"
    "connect = unix:/run/postgresql/.s.PGSQL.5432\n"                                      /* 14 */
    "rate.max_calls_per_minute = 60\n"                                                    /* 15 */
    "rate.burst_size = 10\n"                                                              /* 16 */
    "quota.max_actions = 1000      ; per agent, for this tool\n"                          /* 17 */
    "quota.window_hours = 24\n"                                                           /* 18 */
    "breaker.failure_threshold = 5\n"                                                     /* 19 */
    "breaker.success_threshold = 2\n"                                                     /* 20 */
    "breaker.timeout_seconds = 60\n"                                                      /* 21 */
    "timeout_seconds = 30\n"                                                              /* 22 */
    "retry.max_attempts = 3        ; includes the first attempt\n"                        /* 23 */
    "retry.initial_delay = 1.0\n"                                                         /* 24 */
    "retry.max_delay = 60\n"                                                              /* 25 */
    "retry.exponential_base = 2.0\n"                                                      /* 26 */
    "retry.jitter = true\n"                                                               /* 27 */
    "dry_run = false\n"                                                                   /* 28 */
    "action = connection           ; connection | request (a send after a receive starts a new request)\n"
    "on_limit = fail               ; fail | wait (blocking sockets only, at most max_wait seconds)\n"
    "errno = EPERM                 ; what a denied call returns\n"                        /* 31 */
    "dry_run.response = HTTP/1.1 204 No Content\\r\\n\\r\\n   ; what a simulated connection answers (or @file)\n"
    "\n"                                                                                  /* 33 */
    "[tool.destructive-shell]\n"                                                          /* 34 */
    "exec = rm                     ; program glob (basename or full path) [argument globs...]\n"
    "exec = kubectl delete *\n"                                                           /* 36 */
    "dry_run = true\n"                                                                    /* 37 */
    "\n"                                                                                  /* 38 */
    "[agent]                       ; defaults for every agent: the guide's QuotaManager\n"
    "quota.max_actions = 1000\n"                                                          /* 40 */
    "quota.window_hours = 24\n"                                                           /* 41 */
    "\n"                                                                                  /* 42 */
    "[agent.premium_agent]         ; the guide's set_quota(\"premium_agent\", ...)\n"     /* 43 */
    "quota.max_actions = 10000\n";                                                        /* 44 */

static void test_design_example_loads(void **state)
{
    struct fixture *f = *state;
    /* Every key is enforced: timeout_seconds and retry.* (22-27) for
     * connections, dry_run.response (32) for simulated ones. */
    const struct enact_config *c = load_ok(f, FULL_EXAMPLE);

    /* [enact] */
    assert_string_equal(c->agent, "my-agent");
    assert_string_equal(c->state_path, "/var/tmp/enact/my-agent.state");
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/enact-audit.jsonl", f->dir);
    assert_string_equal(c->audit_path, want);
    assert_int_equal(c->mode, MODE_ENFORCE);
    assert_false(c->dry_run);
    assert_int_equal(c->on_error, ON_ERROR_DENY);
    assert_false(c->log_allowed);
    assert_int_equal(c->static_binaries, STATIC_AUDIT);
    assert_false(c->strict);
    const unsigned enact_lines[CONFIG_KEY_COUNT] = {
        [EK_AGENT] = 2, [EK_STATE] = 3, [EK_AUDIT_LOG] = 4, [EK_MODE] = 5, [EK_DRY_RUN] = 6,
        [EK_ON_ERROR] = 7, [EK_LOG_ALLOWED] = 8, [EK_STATIC_BINARIES] = 9, [EK_STRICT] = 10};
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        assert_int_equal(c->enact_src.key_line[k], enact_lines[k]);

    /* [tool.database]: every tool key, each on its line. */
    assert_int_equal(c->ntools, 2);
    const struct tool *db = &c->tools[0];
    assert_string_equal(db->name, "database");
    assert_int_equal(db->src.line, 12);
    assert_int_equal(db->src.rule_lines, 2);
    assert_int_equal(db->nconnect, 2);
    assert_int_equal(db->nexec, 0);
    const unsigned tool_lines[CONFIG_KEY_COUNT] = {
        [TK_RATE_PER_MINUTE] = 15, [TK_RATE_BURST] = 16,      [TK_QUOTA_MAX] = 17,
        [TK_QUOTA_WINDOW] = 18,    [TK_BREAKER_FAILURES] = 19, [TK_BREAKER_SUCCESSES] = 20,
        [TK_BREAKER_TIMEOUT] = 21, [TK_TIMEOUT] = 22,          [TK_IO_TIMEOUT] = 0,
        [TK_RETRY_ATTEMPTS] = 23,  [TK_RETRY_INITIAL] = 24,    [TK_RETRY_MAX] = 25,
        [TK_RETRY_BASE] = 26,      [TK_RETRY_JITTER] = 27,     [TK_RETRY_ON_EXIT] = 0,
        [TK_DRY_RUN] = 28,         [TK_ACTION] = 29,           [TK_ON_LIMIT] = 30,
        [TK_MAX_WAIT] = 0,         [TK_ERRNO] = 31,            [TK_DRY_RUN_RESPONSE] = 32};
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        if (db->src.key_line[k] != tool_lines[k])
            fail_msg("key %d: line %u, expected %u", k, db->src.key_line[k], tool_lines[k]);
    assert_true(db->rate_limited);
    assert_true(db->written.max_calls_per_minute == 60.0);
    assert_int_equal(db->written.burst_size, 10);
    assert_int_equal(db->rate.interval_ns, UINT64_C(1000000000));
    assert_int_equal(db->rate.tolerance_ns, UINT64_C(9000000000));
    assert_true(db->quota.enabled);
    assert_int_equal(db->quota.max_actions, 1000);
    assert_true(db->quota.window_hours == 24.0);
    assert_int_equal(db->quota.policy.max_actions, 1000);
    assert_int_equal(db->quota.policy.slot_ns, UINT64_C(1440000000000)); /* 24 h / 60 */
    assert_true(db->has_breaker);
    assert_int_equal(db->written.failure_threshold, 5);
    assert_int_equal(db->written.success_threshold, 2);
    assert_true(db->written.breaker_timeout_seconds == 60.0);
    assert_int_equal(db->breaker.failure_threshold, 5);
    assert_int_equal(db->breaker.success_threshold, 2);
    assert_int_equal(db->breaker.open_ns, UINT64_C(60000000000));
    assert_int_equal(db->breaker.probe_ns, UINT64_C(30000000000)); /* timeout_seconds */
    assert_true(db->timeout_seconds == 30.0);
    assert_true(db->io_timeout_seconds == 0.0);
    assert_int_equal(db->retry.max_attempts, 3);
    assert_true(db->retry.initial_delay_s == 1.0);
    assert_true(db->retry.max_delay_s == 60.0);
    assert_true(db->retry.base == 2.0);
    assert_true(db->retry.jitter);
    assert_true(retry_policy_valid(&db->retry));
    assert_false(db->retry_on_exit_nonzero);
    assert_false(db->dry_run);
    assert_false(config_simulates(c, db));
    assert_int_equal(db->action, ACTION_CONNECTION);
    assert_int_equal(db->on_limit, ON_LIMIT_FAIL);
    assert_true(db->max_wait == 0.0);
    assert_int_equal(db->deny_errno, EPERM);
    assert_int_equal(db->dry_run_response.len, 27);
    assert_memory_equal(db->dry_run_response.data, "HTTP/1.1 204 No Content\r\n\r\n", 28);

    const struct tool *sh = &c->tools[1];
    assert_string_equal(sh->name, "destructive-shell");
    assert_int_equal(sh->src.line, 34);
    assert_int_equal(sh->nexec, 2);
    assert_string_equal(sh->exec[1].words[0], "kubectl");
    assert_true(sh->dry_run);
    assert_true(config_simulates(c, sh));
    assert_int_equal(sh->src.key_line[TK_DRY_RUN], 37);
    assert_false(sh->rate_limited);
    assert_false(sh->quota.enabled);
    assert_false(sh->has_breaker);
    assert_int_equal(sh->deny_errno, EPERM);

    /* [agent] and [agent.premium_agent] */
    assert_true(c->agent_quota.enabled);
    assert_int_equal(c->agent_quota.max_actions, 1000);
    assert_true(c->agent_quota.window_hours == 24.0);
    assert_int_equal(c->agent_src.key_line[AK_QUOTA_MAX], 40);
    assert_int_equal(c->agent_src.key_line[AK_QUOTA_WINDOW], 41);
    assert_int_equal(c->nagents, 1);
    assert_string_equal(c->agents[0].name, "premium_agent");
    assert_int_equal(c->agents[0].src.line, 43);
    assert_int_equal(c->agents[0].src.key_line[AK_QUOTA_MAX], 44);
    assert_int_equal(c->agents[0].src.key_line[AK_QUOTA_WINDOW], 0);
    assert_true(c->agents[0].quota.enabled);
    assert_int_equal(c->agents[0].quota.max_actions, 10000);
    assert_true(c->agents[0].quota.window_hours == 24.0); /* default */
    assert_int_equal(c->agents[0].quota.policy.slot_ns, UINT64_C(1440000000000));
    assert_ptr_equal(config_agent_quota(c, "premium_agent"), &c->agents[0].quota);
    assert_ptr_equal(config_agent_quota(c, "my-agent"), &c->agent_quota);
    assert_int_equal(c->impact.nexec + c->impact.nverbs, 0);
}

/* ---- each key: valid values, bad values ---------------------------------- */

struct key_case {
    const char *key;
    const char *rule;   /* the tool's rule line (default connect = *) */
    const char *prefix; /* lines the key needs beside it */
    size_t prefix_warnings;
    bool later; /* accepted but not enforced: warns */
    const char *good[8];
    double good_value[8];
    const char *bad[12];
    const char *expected; /* "KEY must be <expected>, not 'VALUE'" */
    double (*get)(const struct tool *);
};

static double get_rate(const struct tool *t) { return t->written.max_calls_per_minute; }
static double get_burst(const struct tool *t) { return (double)t->written.burst_size; }
static double get_qmax(const struct tool *t) { return (double)t->quota.max_actions; }
static double get_qwin(const struct tool *t) { return t->quota.window_hours; }
static double get_bfail(const struct tool *t) { return (double)t->written.failure_threshold; }
static double get_bsucc(const struct tool *t) { return (double)t->written.success_threshold; }
static double get_btime(const struct tool *t) { return t->written.breaker_timeout_seconds; }
static double get_timeout(const struct tool *t) { return t->timeout_seconds; }
static double get_io_timeout(const struct tool *t) { return t->io_timeout_seconds; }
static double get_max_wait(const struct tool *t) { return t->max_wait; }
static double get_attempts(const struct tool *t) { return t->retry.max_attempts; }
static double get_initial(const struct tool *t) { return t->retry.initial_delay_s; }
static double get_max_delay(const struct tool *t) { return t->retry.max_delay_s; }
static double get_base(const struct tool *t) { return t->retry.base; }
static double get_jitter(const struct tool *t) { return t->retry.jitter; }
static double get_on_exit(const struct tool *t) { return t->retry_on_exit_nonzero; }
static double get_dry_run(const struct tool *t) { return t->dry_run; }
static double get_action(const struct tool *t) { return t->action; }
static double get_on_limit(const struct tool *t) { return t->on_limit; }
static double get_protocol(const struct tool *t) { return t->dry_run_protocol; }
static double get_http_status(const struct tool *t) { return t->dry_run_http_status; }
static double get_errno(const struct tool *t) { return t->deny_errno; }
static double get_exit_code(const struct tool *t) { return t->dry_run_exit_code; }

#define SECONDS_GOOD {"0.001", "30", "2.5", "10000000"}, {0.001, 30, 2.5, 1e7}
#define SECONDS_BAD {"0", "0.0009", "10000001", "-5", "abc", "nan", "inf", "", "5s"}
#define SECONDS_MSG "a number of seconds from 0.001 to 10000000"
#define BOOL_GOOD {"true", "false", "yes", "no", "on", "off", "1", "0"}, {1, 0, 1, 0, 1, 0, 1, 0}
#define BOOL_BAD {"maybe", "2", "", "truee", "y"}

static const struct key_case KEY_CASES[] = {
    {"rate.max_calls_per_minute", NULL, NULL, 0, false,
     {"60", "0.5", "2.5", "1e6"}, {60, 0.5, 2.5, 1e6},
     {"abc", "0", "-1", "nan", "inf", "1e999", "5/min", "", "0x10", "60 calls"},
     "a number of calls above 0 (e.g. 60 or 0.5)", get_rate},
    {"rate.burst_size", NULL, "rate.max_calls_per_minute = 60", 0, false,
     {"1", "10", "1000000"}, {1, 10, 1e6},
     {"0", "-3", "1.5", "abc", "1000000001", "99999999999999999999", "+5", ""},
     "a whole number from 1 to 1000000000", get_burst},
    {"quota.max_actions", NULL, NULL, 0, false,
     {"1", "1000", "4294967295"}, {1, 1000, 4294967295.0},
     {"0", "-1", "4294967296", "1.5", "abc", "1e3", "", "+7"},
     "a whole number from 1 to 4294967295", get_qmax},
    {"quota.window_hours", NULL, "quota.max_actions = 10", 0, false,
     {"24", "0.5", "1e-6", "87840"}, {24, 0.5, 1e-6, 87840},
     {NULL}, /* bad windows: test_bad_window_reported_once */
     "a number of hours above 0, at most ten years", get_qwin},
    {"breaker.failure_threshold", NULL, NULL, 0, false,
     {"1", "5", "1000000000"}, {1, 5, 1e9},
     {"0", "1000000001", "2.5", "-1", "abc", ""},
     "a whole number from 1 to 1000000000", get_bfail},
    {"breaker.success_threshold", NULL, NULL, 0, false,
     {"1", "2", "16"}, {1, 2, 16},
     {"0", "17", "1.5", "abc", ""},
     "a whole number from 1 to 16", get_bsucc},
    {"breaker.timeout_seconds", NULL, NULL, 0, false, SECONDS_GOOD, SECONDS_BAD, SECONDS_MSG,
     get_btime},
    {"timeout_seconds", NULL, NULL, 0, false, SECONDS_GOOD, SECONDS_BAD, SECONDS_MSG,
     get_timeout},
    {"io_timeout_seconds", NULL, NULL, 0, false, SECONDS_GOOD, SECONDS_BAD, SECONDS_MSG,
     get_io_timeout},
    {"max_wait", NULL, "on_limit = wait", 0, false, SECONDS_GOOD, SECONDS_BAD, SECONDS_MSG,
     get_max_wait},
    {"retry.max_attempts", NULL, NULL, 0, false,
     {"1", "3", "100"}, {1, 3, 100},
     {"0", "101", "2.5", "-1", "abc", ""},
     "a whole number from 1 to 100 (it counts the first attempt)", get_attempts},
    {"retry.initial_delay", NULL, "retry.max_delay = 10000000", 0, false,
     {"0", "1.0", "0.25", "10000000"}, {0, 1, 0.25, 1e7},
     {"-1", "10000001", "abc", "nan", ""},
     "a number of seconds from 0 to 10000000", get_initial},
    {"retry.max_delay", NULL, "retry.initial_delay = 0", 0, false,
     {"0", "60", "10000000"}, {0, 60, 1e7},
     {"-0.5", "10000001", "x", "inf"},
     "a number of seconds from 0 to 10000000", get_max_delay},
    {"retry.exponential_base", NULL, NULL, 0, false,
     {"1", "2.0", "100"}, {1, 2, 100},
     {"0.5", "0", "100.5", "abc", ""},
     "a number from 1 to 100", get_base},
    {"retry.jitter", NULL, NULL, 0, false, BOOL_GOOD, BOOL_BAD, "true or false", get_jitter},
    {"retry.on_exit_nonzero", "exec = make", NULL, 0, false, BOOL_GOOD, BOOL_BAD, "true or false",
     get_on_exit},
    {"dry_run", "exec = rm", NULL, 0, false, BOOL_GOOD, BOOL_BAD, "true or false", get_dry_run},
    {"dry_run.exit_code", "exec = rm", NULL, 0, false, {"0", "3", "255"}, {0, 3, 255},
     {"-1", "256", "x", "", "1.5", "00x"}, "a whole number from 0 to 255", get_exit_code},
    {"action", NULL, NULL, 0, false,
     {"auto", "connection", "request"}, {ACTION_AUTO, ACTION_CONNECTION, ACTION_REQUEST},
     {"packet", "Connection", "", "requests"},
     "'auto', 'connection' or 'request'", get_action},
    {"dry_run.protocol", NULL, NULL, 0, false,
     {"auto", "http", "redis", "postgresql", "raw"},
     {PEER_AUTO, PEER_HTTP, PEER_REDIS, PEER_POSTGRESQL, PEER_RAW},
     {"mysql", "HTTP", "", "tls"},
     "'auto', 'http', 'redis', 'postgresql' or 'raw'", get_protocol},
    {"dry_run.http_status", NULL, NULL, 0, false, {"200", "404", "599"}, {200, 404, 599},
     {"199", "600", "x", "", "2e2"}, "an HTTP status from 200 to 599", get_http_status},
    {"on_limit", NULL, NULL, 0, false,
     {"fail", "wait"}, {ON_LIMIT_FAIL, ON_LIMIT_WAIT},
     {"block", "Wait", "", "deny"},
     "'fail' or 'wait'", get_on_limit},
    {"errno", NULL, NULL, 0, false,
     {"EPERM", "EACCES", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH", "EHOSTUNREACH", "ETIMEDOUT"},
     {EPERM, EACCES, ECONNREFUSED, ECONNRESET, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT},
     {"EINVAL", "eperm", "1", "", "EFAULT"},
     "one of EPERM, EACCES, ECONNREFUSED, ECONNRESET, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT",
     get_errno},
};

/* "[tool.a]\nRULE\n[PREFIX\n]KEY = VALUE\n"; the key's line into *line. */
static void key_text(char *out, size_t cap, const struct key_case *k, const char *value,
                     unsigned *line)
{
    int n = snprintf(out, cap, "[tool.a]\n%s\n%s%s%s = %s\n", k->rule ? k->rule : "connect = *",
                     k->prefix ? k->prefix : "", k->prefix ? "\n" : "", k->key, value);
    assert_true(n > 0 && (size_t)n < cap);
    *line = k->prefix ? 4 : 3;
}

/* Like expect_error_w, but says what is wrong instead of failing, so that
 * one table test reports every case that fails. */
static bool check_error_w(struct fixture *f, const char *text, unsigned line, const char *want,
                          size_t nwarn)
{
    bool ok = !load(f, text) && f->diag.n == nwarn + 1 && f->diag.warnings == nwarn;
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s:%u: ", f->path, line); /* the path load wrote */
    bool found = false;
    for (size_t i = 0; ok && i < f->diag.n; i++)
        if (!strstr(f->diag.lines[i], ": warning: "))
            found = th_starts_with(f->diag.lines[i], prefix) &&
                    strstr(f->diag.lines[i] + strlen(prefix), want) && f->diag.at[i] == line;
    if (ok && found)
        return true;
    print_message("FAILED CASE: expected only '%s' at line %u (and %zu warnings) for:\n%s", want,
                  line, nwarn, text);
    if (f->cfg)
        print_message("  it loaded\n");
    print_diag(f);
    return false;
}

static void test_tool_key_values(void **state)
{
    struct fixture *f = *state;
    unsigned failed = 0;
    for (size_t i = 0; i < sizeof KEY_CASES / sizeof KEY_CASES[0]; i++) {
        const struct key_case *k = &KEY_CASES[i];
        char text[512], want[512];
        unsigned line;
        for (size_t g = 0; g < 8 && k->good[g]; g++) {
            key_text(text, sizeof text, k, k->good[g], &line);
            const struct enact_config *c = load_warn(f, text, k->prefix_warnings + k->later);
            const struct tool *t = &c->tools[0];
            if (k->get(t) != k->good_value[g])
                fail_msg("%s = %s read as %.17g, expected %.17g", k->key, k->good[g], k->get(t),
                         k->good_value[g]);
            /* The key's line is recorded. */
            bool found = false;
            for (int j = 0; j < CONFIG_KEY_COUNT; j++)
                found |= t->src.key_line[j] == line;
            assert_true(found);
            if (k->later) {
                /* The warning is at the key's own line. */
                bool at_line = false;
                for (size_t d = 0; d < f->diag.n; d++)
                    at_line |= f->diag.at[d] == line;
                assert_true(at_line);
            }
        }
        for (size_t b = 0; b < 12 && k->bad[b]; b++) {
            key_text(text, sizeof text, k, k->bad[b], &line);
            snprintf(want, sizeof want, "%s must be %s, not '%s'", k->key, k->expected, k->bad[b]);
            failed += !check_error_w(f, text, line, want, k->prefix_warnings + k->later);
        }
    }
    if (failed)
        fail_msg("%u bad values were not reported as exactly one error at their line", failed);
}

/* One bad window, one message: not also "quota of N per 0 h is out of
 * range" at the quota.max_actions line for the value that was refused. */
static void test_bad_window_reported_once(void **state)
{
    struct fixture *f = *state;
    unsigned failed = 0;
    const char *sections[] = {"[tool.a]\nconnect = *\n", "[tool.a]\nconnect = *\n[agent]\n",
                              "[tool.a]\nconnect = *\n[agent.bob]\n"};
    const char *bad[] = {"0", "-2", "87841", "nan", "inf", "abc", "", "24h"};
    for (size_t s = 0; s < 3; s++) {
        for (size_t b = 0; b < 8; b++) {
            char text[256], want[256];
            snprintf(text, sizeof text, "%squota.max_actions = 5\nquota.window_hours = %s\n",
                     sections[s], bad[b]);
            unsigned line = s == 0 ? 4 : 5;
            snprintf(want, sizeof want,
                     "quota.window_hours must be a number of hours above 0, at most ten years, "
                     "not '%s'", bad[b]);
            failed += !check_error_w(f, text, line, want, 0);
        }
    }
    if (failed)
        fail_msg("%u bad windows gave more than their one error", failed);
}

/* A bad errno on a tool with exec rules is one mistake: one message, not a
 * second "can only fail with EPERM or EACCES" about the refused value. */
static void test_bad_errno_on_exec_tool_one_error(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nexec = rm\nerrno = EINVAL\n", 3,
                     "errno must be one of EPERM, EACCES, ECONNREFUSED, ECONNRESET, ENETUNREACH, "
                     "EHOSTUNREACH, ETIMEDOUT, not 'EINVAL'");
}

static void test_action_and_on_limit_values(void **state)
{
    struct fixture *f = *state;
    /* The enforced values warn about nothing. */
    const struct enact_config *c =
        load_ok(f, "[tool.a]\nconnect = *\naction = connection\non_limit = fail\n");
    assert_int_equal(c->tools[0].action, ACTION_CONNECTION);
    assert_int_equal(c->tools[0].on_limit, ON_LIMIT_FAIL);
    c = load_ok(f, "[tool.a]\nconnect = *\naction = request\n");
    assert_int_equal(c->tools[0].action, ACTION_REQUEST);
    /* On a tool with no connect rule, action says nothing: a warning. */
    c = load_warn(f, "[tool.a]\nexec = rm\naction = request\n", 1);
    assert_diag_is(f, 0, 3,
                   "warning: tool 'a': 'action' applies to connections, and this tool has no "
                   "'connect =' rule");
    /* on_limit = wait is enforced for connections: no warning, max_wait
     * 30 s unless set. */
    c = load_ok(f, "[tool.a]\nconnect = *\non_limit = wait\n");
    assert_int_equal(c->tools[0].on_limit, ON_LIMIT_WAIT);
    assert_true(c->tools[0].max_wait == 30.0);
    c = load_ok(f, "[tool.a]\nconnect = *\non_limit = wait\nmax_wait = 2.5\n");
    assert_true(c->tools[0].max_wait == 2.5);
    /* A tool of programs cannot wait: said at the on_limit line. */
    c = load_warn(f, "[tool.a]\nexec = rm\non_limit = wait\n", 1);
    assert_diag(f, 0, 3, "warning: tool 'a': on_limit = wait governs connections "
                         "(blocking sockets) only");
    char want[256];
    assert_diag_is(f, 0, 3, on_limit_wait_exec(want, sizeof want, "a"));
    assert_int_equal(c->tools[0].on_limit, ON_LIMIT_WAIT);
    assert_true(c->tools[0].max_wait == 30.0);
}

static void test_enact_key_values(void **state)
{
    struct fixture *f = *state;
    const char *tool = "[tool.a]\nexec = rm\n";
    char text[512];
    /* dry_run */
    snprintf(text, sizeof text, "[enact]\ndry_run = yes\n%s", tool);
    const struct enact_config *c = load_ok(f, text);
    assert_true(c->dry_run);
    assert_false(c->tools[0].dry_run);
    assert_true(config_simulates(c, &c->tools[0]));
    snprintf(text, sizeof text, "[enact]\ndry_run = off\n%s", tool);
    assert_false(load_ok(f, text)->dry_run);
    snprintf(text, sizeof text, "[enact]\ndry_run = sometimes\n%s", tool);
    expect_one_error(f, text, 2, "dry_run must be true or false, not 'sometimes'");
    /* static_binaries: each value, enforced */
    const char *statics[] = {"allow", "audit", "deny"};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "[enact]\nstatic_binaries = %s\n%s", statics[i], tool);
        c = load_ok(f, text);
        assert_int_equal(c->static_binaries, (enum static_binaries_policy)i);
    }
    assert_int_equal(load_ok(f, tool)->static_binaries, STATIC_AUDIT);
    snprintf(text, sizeof text, "[enact]\nstatic_binaries = block\n%s", tool);
    expect_one_error(f, text, 2, "static_binaries must be 'allow', 'audit' or 'deny', not 'block'");
    /* strict */
    snprintf(text, sizeof text, "[enact]\nstrict = true\n%s", tool);
    c = load_ok(f, text);
    assert_true(c->strict);
    snprintf(text, sizeof text, "[enact]\nstrict = very\n%s", tool);
    expect_one_error(f, text, 2, "strict must be true or false, not 'very'");
    /* audit_log, agent */
    snprintf(text, sizeof text, "[enact]\naudit_log =\n%s", tool);
    expect_one_error(f, text, 2, "'audit_log' is empty");
    snprintf(text, sizeof text, "[enact]\naudit_log = /var/log/enact.jsonl\n%s", tool);
    assert_string_equal(load_ok(f, text)->audit_path, "/var/log/enact.jsonl");
    snprintf(text, sizeof text, "[enact]\nagent = %064d\n%s", 0, tool);
    assert_int_equal(strlen(load_ok(f, text)->agent), 64);
    snprintf(text, sizeof text, "[enact]\nagent =\n%s", tool);
    expect_one_error(f, text, 2, "agent name must be 1 to 64 characters");
    /* Unknown [enact] keys, with a hint when one is close. */
    snprintf(text, sizeof text, "[enact]\nstatic_binaris = deny\n%s", tool);
    expect_one_error(f, text, 2,
                     "unknown key 'static_binaris' in [enact]; did you mean 'static_binaries'?");
    snprintf(text, sizeof text, "[enact]\ndryrun = true\n%s", tool);
    expect_one_error(f, text, 2, "unknown key 'dryrun' in [enact]; did you mean 'dry_run'?");
}

static void test_new_key_defaults(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.a]\nconnect = *\n");
    const struct tool *t = &c->tools[0];
    assert_false(c->dry_run);
    assert_false(c->strict);
    assert_false(t->rate_limited);
    assert_false(t->quota.enabled);
    assert_false(t->has_breaker);
    assert_int_equal(t->written.failure_threshold, 0);
    /* The guide's RetryConfig, with one attempt: no retry unless asked. */
    assert_int_equal(t->retry.max_attempts, 1);
    assert_true(t->retry.initial_delay_s == 1.0);
    assert_true(t->retry.max_delay_s == 60.0);
    assert_true(t->retry.base == 2.0);
    assert_true(t->retry.jitter);
    assert_true(retry_policy_valid(&t->retry));
    assert_false(backoff_should_retry(&t->retry, 1));
    assert_false(t->retry_on_exit_nonzero);
    assert_int_equal(t->deny_errno, EPERM);
    assert_string_equal(config_errno_name(t->deny_errno), "EPERM");
    assert_false(t->dry_run);
    assert_int_equal(t->action, ACTION_AUTO);
    assert_int_equal(t->on_limit, ON_LIMIT_FAIL);
    assert_true(t->timeout_seconds == 0 && t->io_timeout_seconds == 0 && t->max_wait == 0);
    assert_null(t->dry_run_response.data);
    assert_int_equal(t->dry_run_response.len, 0);
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        assert_int_equal(t->src.key_line[k], 0);
    assert_false(c->agent_quota.enabled);
    assert_int_equal(c->nagents, 0);
    assert_null(config_agent_quota(c, "anyone"));

    /* quota: the window defaults to 24 hours. */
    c = load_ok(f, "[tool.a]\nconnect = *\nquota.max_actions = 7\n");
    t = &c->tools[0];
    assert_true(t->quota.enabled);
    assert_int_equal(t->quota.max_actions, 7);
    assert_true(t->quota.window_hours == 24.0);
    assert_int_equal(t->quota.policy.max_actions, 7);
    assert_int_equal(t->quota.policy.slot_ns, UINT64_C(1440000000000));
    assert_int_equal(t->src.key_line[TK_QUOTA_WINDOW], 0);

    /* breaker: any one key sets the guide's 5 / 2 / 60 s for the others. */
    const struct {
        const char *line;
        uint32_t failures, successes;
        uint64_t open_ns;
    } breakers[] = {
        {"breaker.failure_threshold = 3", 3, 2, UINT64_C(60000000000)},
        {"breaker.success_threshold = 1", 5, 1, UINT64_C(60000000000)},
        {"breaker.timeout_seconds = 0.5", 5, 2, UINT64_C(500000000)},
    };
    for (size_t i = 0; i < 3; i++) {
        char text[256];
        snprintf(text, sizeof text, "[tool.a]\nconnect = *\n%s\n", breakers[i].line);
        t = &load_ok(f, text)->tools[0];
        assert_true(t->has_breaker);
        assert_int_equal(t->breaker.failure_threshold, breakers[i].failures);
        assert_int_equal(t->breaker.success_threshold, breakers[i].successes);
        assert_int_equal(t->breaker.open_ns, breakers[i].open_ns);
        /* A probe's lease lasts timeout_seconds, else 30 s. */
        assert_int_equal(t->breaker.probe_ns, UINT64_C(30000000000));
    }
    t = &load_ok(f, "[tool.a]\nconnect = *\nbreaker.failure_threshold = 2\ntimeout_seconds = 7\n")
             ->tools[0];
    assert_int_equal(t->breaker.probe_ns, UINT64_C(7000000000));

    /* rate: the burst defaults to the rate rounded up (test_default_burst_is_ceil_rate). */
    t = &load_ok(f, "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 0.5\n")->tools[0];
    assert_int_equal(t->written.burst_size, 1);
    assert_int_equal(t->rate.interval_ns, UINT64_C(120000000000));

    /* errno names */
    assert_string_equal(config_errno_name(EPERM), "EPERM");
    assert_string_equal(config_errno_name(EACCES), "EACCES");
    assert_string_equal(config_errno_name(ECONNREFUSED), "ECONNREFUSED");
    assert_string_equal(config_errno_name(ECONNRESET), "ECONNRESET");
    assert_string_equal(config_errno_name(ENETUNREACH), "ENETUNREACH");
    assert_string_equal(config_errno_name(EHOSTUNREACH), "EHOSTUNREACH");
    assert_string_equal(config_errno_name(ETIMEDOUT), "ETIMEDOUT");
    assert_string_equal(config_errno_name(EINVAL), "EPERM");
    /* ... and a chosen errno is kept. */
    t = &load_ok(f, "[tool.a]\nconnect = *\nerrno = ECONNREFUSED\n")->tools[0];
    assert_int_equal(t->deny_errno, ECONNREFUSED);
    t = &load_ok(f, "[tool.a]\nexec = rm\nerrno = EACCES\n")->tools[0];
    assert_int_equal(t->deny_errno, EACCES);
}

/* The reference config (config/enact.ini: "static_binaries = allow | audit
 * | deny (default audit)") and README give audit as the default: a config
 * that does not set it must not silently allow what the docs say is
 * audited. */
static void test_static_binaries_default_is_audit(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.a]\nexec = rm\n");
    assert_int_equal(c->static_binaries, STATIC_AUDIT);
    assert_int_equal(c->enact_src.key_line[EK_STATIC_BINARIES], 0);
}

/* ---- warnings ------------------------------------------------------------ */

static void test_not_enforced_warnings(void **state)
{
    struct fixture *f = *state;
    const char *text = "[enact]\n"                       /* 1 */
                       "static_binaries = deny\n"        /* 2 */
                       "strict = true\n"                 /* 3 */
                       "mode = observe\n"                /* 4: enforced */
                       "[tool.net]\n"                    /* 5 */
                       "connect = 10.0.0.0/8\n"          /* 6 */
                       "timeout_seconds = 5\n"           /* 7: enforced */
                       "io_timeout_seconds = 2\n"        /* 8 */
                       "retry.max_attempts = 4\n"        /* 9: enforced */
                       "retry.initial_delay = 0.5\n"     /* 10: enforced */
                       "retry.max_delay = 30\n"          /* 11: enforced */
                       "retry.exponential_base = 3\n"    /* 12: enforced */
                       "retry.jitter = false\n"          /* 13: enforced */
                       "action = request\n"              /* 14 */
                       "on_limit = wait\n"               /* 15: enforced */
                       "max_wait = 1.5\n"                /* 16: enforced */
                       "dry_run.response = +OK\\r\\n\n"  /* 17 */
                       "rate.max_calls_per_minute = 60\n"/* 18: enforced */
                       "[tool.cmd]\n"                    /* 19 */
                       "exec = make\n"                   /* 20 */
                       "retry.on_exit_nonzero = true\n"  /* 21 */
                       "breaker.success_threshold = 3\n" /* 22 */
                       "breaker.failure_threshold = 4\n";/* 23 */
    /* Every key of this file is enforced, for the kind of calls its tool
     * has rules for. */
    const struct enact_config *c = load_ok(f, text);
    /* Loaded all the same, every value kept. */
    const struct tool *net = &c->tools[0];
    assert_true(net->timeout_seconds == 5 && net->io_timeout_seconds == 2);
    assert_int_equal(net->retry.max_attempts, 4);
    assert_true(net->retry.initial_delay_s == 0.5 && net->retry.max_delay_s == 30);
    assert_true(net->retry.base == 3);
    assert_false(net->retry.jitter);
    assert_int_equal(net->action, ACTION_REQUEST);
    assert_int_equal(net->on_limit, ON_LIMIT_WAIT);
    assert_true(net->max_wait == 1.5);
    assert_int_equal(net->dry_run_response.len, 5);
    assert_memory_equal(net->dry_run_response.data, "+OK\r\n", 5);
    assert_true(net->rate_limited);
    assert_true(c->tools[1].has_breaker);
    assert_true(c->tools[1].retry_on_exit_nonzero);
    assert_int_equal(c->mode, MODE_OBSERVE);

    /* Warnings never fail a load, however many; errors still do. */
    char big[4096];
    int n = snprintf(big, sizeof big, "[tool.a]\nconnect = *\n");
    for (int i = 0; i < 20; i++)
        n += snprintf(big + n, sizeof big - (size_t)n,
                      "[tool.t%d]\nexec = prog%d\nio_timeout_seconds = %d\n", i, i, i + 1);
    load_warn(f, big, 20);
    snprintf(big + n, sizeof big - (size_t)n, "[tool.z]\nconnect = *\nbogus = 1\n");
    assert_null(load(f, big));
    assert_int_equal(f->diag.n, 21);
    assert_int_equal(f->diag.warnings, 20);
}

/* timeout_seconds, retry.* and on_limit = wait are enforced for
 * connections. A tool with exec rules that sets one is told so at that
 * key's line: its programs are not governed by it yet. A tool with only
 * connect rules is told nothing (test_not_enforced_warnings). */
static void test_connection_only_keys_on_exec_tools(void **state)
{
    struct fixture *f = *state;
    /* timeout_seconds (line 3) applies to programs too: no warning. */
    static const char *const keys[] = {"retry.max_attempts", "retry.initial_delay",
                                       "retry.max_delay", "retry.exponential_base",
                                       "retry.jitter"};
    const char *body = "timeout_seconds = 5\n"        /* 3 */
                       "retry.max_attempts = 4\n"     /* 4 */
                       "retry.initial_delay = 0.5\n"  /* 5 */
                       "retry.max_delay = 30\n"       /* 6 */
                       "retry.exponential_base = 3\n" /* 7 */
                       "retry.jitter = false\n"       /* 8 */
                       "on_limit = wait\n";           /* 9 */
    char text[1024], want[512];

    /* Connect rules only: enforced, no warning; max_wait defaults to 30 s. */
    snprintf(text, sizeof text, "[tool.net]\nconnect = 10.0.0.0/8\n%s", body);
    const struct tool *t = &load_ok(f, text)->tools[0];
    assert_int_equal(t->on_limit, ON_LIMIT_WAIT);
    assert_true(t->max_wait == 30.0);
    assert_int_equal(t->src.key_line[TK_MAX_WAIT], 0);

    /* Exec rules only, or exec and connect rules: one warning per retry
     * key, at its line, in line order; every value kept all the same. */
    const struct {
        const char *name, *head, *tail;
    } tools[] = {
        {"cmd", "exec = make\n", ""},
        {"mixed", "exec = curl\n", "connect = 127.0.0.1:8080\n"}, /* 10 */
    };
    for (size_t i = 0; i < 2; i++) {
        snprintf(text, sizeof text, "[tool.%s]\n%s%s%s", tools[i].name, tools[i].head, body,
                 tools[i].tail);
        t = &load_warn(f, text, 6)->tools[0];
        for (unsigned k = 0; k < 5; k++)
            assert_diag_is(f, k, 4 + k,
                           connections_only(want, sizeof want, tools[i].name, keys[k]));
        assert_diag_is(f, 5, 9, on_limit_wait_exec(want, sizeof want, tools[i].name));
        assert_true(t->timeout_seconds == 5);
        assert_int_equal(t->retry.max_attempts, 4);
        assert_true(t->retry.initial_delay_s == 0.5 && t->retry.max_delay_s == 30);
        assert_true(t->retry.base == 3);
        assert_false(t->retry.jitter);
        assert_int_equal(t->on_limit, ON_LIMIT_WAIT);
        assert_true(t->max_wait == 30.0); /* the default, with or without exec rules */
        assert_int_equal(t->src.key_line[TK_MAX_WAIT], 0);
    }

    /* Keys in another order: the warnings still follow the lines. */
    load_warn(f,
              "[tool.cmd]\nexec = make\non_limit = wait\nretry.jitter = true\n"
              "timeout_seconds = 1\n",
              2);
    assert_diag_is(f, 0, 3, on_limit_wait_exec(want, sizeof want, "cmd"));
    assert_diag_is(f, 1, 4, connections_only(want, sizeof want, "cmd", "retry.jitter"));

    /* max_wait set: kept, and only on_limit warns (max_wait applies to
     * what on_limit = wait does). */
    t = &load_warn(f, "[tool.cmd]\nexec = make\non_limit = wait\nmax_wait = 2.5\n", 1)->tools[0];
    assert_diag_is(f, 0, 3, on_limit_wait_exec(want, sizeof want, "cmd"));
    assert_true(t->max_wait == 2.5);
    /* on_limit = fail on a tool of programs says nothing; no max_wait. */
    t = &load_ok(f, "[tool.cmd]\nexec = make\non_limit = fail\n")->tools[0];
    assert_int_equal(t->on_limit, ON_LIMIT_FAIL);
    assert_true(t->max_wait == 0.0);

    /* Keys for connections on a tool of programs, and keys for programs on
     * a tool of connections, each warn at their line. */
    load_warn(f, "[tool.cmd]\nexec = make\nio_timeout_seconds = 2\nretry.on_exit_nonzero = true\n",
              1);
    assert_diag_is(f, 0, 3,
                   "warning: tool 'cmd': 'io_timeout_seconds' applies to connections, and this "
                   "tool has no 'connect =' rule");
    load_warn(f, "[tool.net]\nconnect = *\nretry.on_exit_nonzero = true\ndry_run.exit_code = 2\n",
              2);
    assert_diag_is(f, 0, 3,
                   "warning: tool 'net': 'retry.on_exit_nonzero' applies to programs, and this "
                   "tool has no 'exec =' rule");
    assert_diag_is(f, 1, 4,
                   "warning: tool 'net': 'dry_run.exit_code' applies to programs, and this tool "
                   "has no 'exec =' rule");
    /* With retry.on_exit_nonzero, the retry keys of a tool of programs are
     * what its system() retries follow: no warning. */
    t = &load_ok(f, "[tool.cmd]\nexec = make\nretry.on_exit_nonzero = true\n"
                    "retry.max_attempts = 3\n")->tools[0];
    assert_true(t->retry_on_exit_nonzero);
    assert_int_equal(t->retry.max_attempts, 3);

    /* timeout_seconds and a breaker apply to programs: no warning; the
     * probe's lease still follows timeout_seconds. */
    t = &load_ok(f, "[tool.cmd]\nexec = make\ntimeout_seconds = 7\n"
                    "breaker.failure_threshold = 2\n")->tools[0];
    assert_true(t->has_breaker);
    assert_int_equal(t->breaker.probe_ns, UINT64_C(7000000000));

    /* Each tool is judged by its own rules and named in its warnings. */
    load_warn(f, "[tool.a]\nexec = rm\nretry.max_attempts = 2\n"   /* 1-3 */
                 "[tool.b]\nconnect = *\nretry.max_attempts = 2\n" /* 4-6 */
                 "[tool.c]\nexec = ls\nretry.max_delay = 1\n",     /* 7-9 */
              2);
    assert_diag_is(f, 0, 3, connections_only(want, sizeof want, "a", "retry.max_attempts"));
    assert_diag_is(f, 1, 9, connections_only(want, sizeof want, "c", "retry.max_delay"));

    /* Errors still fail the load beside these warnings. */
    expect_error_w(f, "[tool.a]\nexec = rm\nretry.max_delay = 2\nretry.initial_delay = 5\n", 4,
                   "tool 'a': retry.initial_delay (5 s) is above retry.max_delay (2 s)", 2);
    expect_error_w(f, "[tool.a]\nexec = rm\nmax_wait = 5\n", 3,
                   "tool 'a' sets max_wait without on_limit = wait", 0);
}

/* ---- errors that need more than one key ---------------------------------- */

static void test_cross_key_errors(void **state)
{
    struct fixture *f = *state;
    /* dry_run on a tool with connect rules simulates its connections. */
    const struct enact_config *c = load_ok(f, "[tool.api]\nconnect = 127.0.0.1:8080\n\ndry_run = true\n");
    assert_true(config_simulates(c, &c->tools[0]));
    c = load_ok(f, "[enact]\ndry_run = true\n[tool.rm]\nexec = rm\n[tool.api]\n"
                   "connect = 127.0.0.1:8080\n");
    assert_true(config_simulates(c, &c->tools[1]));
    load_ok(f, "[tool.api]\nconnect = 127.0.0.1:8080\ndry_run = false\n");

    /* errno that a refused program start cannot return. */
    expect_one_error(f, "[tool.rm]\nexec = rm\nerrno = ECONNREFUSED\n", 3,
                     "tool 'rm' has exec rules: a refused program start can only fail with EPERM "
                     "or EACCES");
    expect_one_error(f, "[tool.mixed]\nexec = curl\nconnect = 127.0.0.1:8080\nerrno = ETIMEDOUT\n",
                     4, "tool 'mixed' has exec rules");
    load_ok(f, "[tool.rm]\nexec = rm\nerrno = EACCES\n");
    load_ok(f, "[tool.api]\nconnect = *\nerrno = ETIMEDOUT\n");

    /* quota.window_hours without quota.max_actions: at the window line. */
    expect_one_error(f, "[tool.a]\nconnect = *\n\nquota.window_hours = 12\n", 4,
                     "tool 'a' sets quota.window_hours without quota.max_actions");
    expect_one_error(f, "[tool.a]\nconnect = *\n[agent]\nquota.window_hours = 12\n", 4,
                     "[agent] sets quota.window_hours without quota.max_actions");
    expect_one_error(f, "[tool.a]\nconnect = *\n[agent.bob]\nquota.window_hours = 12\n", 4,
                     "[agent.bob] sets quota.window_hours without quota.max_actions");

    /* rate.burst_size without a rate (test_burst_without_rate) and an agent
     * section that sets nothing: at its header. */
    expect_one_error(f, "[tool.a]\nconnect = *\n\n[agent.idle]\n; nothing\n", 4,
                     "[agent.idle] sets nothing; give it quota.max_actions");

    /* max_wait without on_limit = wait: at the max_wait line. */
    expect_error_w(f, "[tool.a]\nconnect = *\nmax_wait = 5\n", 3,
                   "tool 'a' sets max_wait without on_limit = wait", 0);
    expect_error_w(f, "[tool.a]\nconnect = *\non_limit = fail\nmax_wait = 5\n", 4,
                   "tool 'a' sets max_wait without on_limit = wait", 0);

    /* retry.initial_delay above retry.max_delay: at initial_delay, or at
     * max_delay when only that one is written (the default initial is 1 s). */
    expect_error_w(f, "[tool.a]\nconnect = *\nretry.max_delay = 2\nretry.initial_delay = 5\n", 4,
                   "tool 'a': retry.initial_delay (5 s) is above retry.max_delay (2 s)", 0);
    /* A max_delay below the default initial delay of 1 s, alone: the
     * default follows it down rather than refusing a key not written. */
    const struct retry_policy *r =
        &load_ok(f, "[tool.a]\nconnect = *\nretry.max_delay = 0.5\n")->tools[0].retry;
    assert_true(r->initial_delay_s == 0.5 && r->max_delay_s == 0.5);
    assert_true(retry_policy_valid(r));
    expect_error_w(f, "[tool.a]\nconnect = *\nretry.initial_delay = 61\n", 3,
                   "tool 'a': retry.initial_delay (61 s) is above retry.max_delay (60 s)", 0);
    /* Equal is fine. */
    load_ok(f, "[tool.a]\nconnect = *\nretry.initial_delay = 2\nretry.max_delay = 2\n");
}

/* A window too short for 60 slots of at least 1 ns is the window's fault:
 * the error is at quota.window_hours, not at a quota.max_actions that is
 * fine. */
static void test_tiny_window_reported_at_its_line(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\nquota.max_actions = 5\nquota.window_hours = 1e-12\n",
                     4, "out of range");
    expect_one_error(f, "[tool.a]\nconnect = *\n[agent]\nquota.window_hours = 1e-13\n"
                        "quota.max_actions = 2\n",
                     4, "out of range");
    expect_one_error(f, "[tool.a]\nconnect = *\n[agent.bob]\nquota.max_actions = 2\n"
                        "quota.window_hours = 0.00000000000001\n",
                     5, "out of range");
    /* A short window that works: 60 slots of 1.2 ns, rounded up to 2. */
    const struct enact_config *c =
        load_ok(f, "[tool.a]\nconnect = *\nquota.max_actions = 5\nquota.window_hours = 0.00000000002\n");
    assert_int_equal(c->tools[0].quota.policy.slot_ns, 2);
}

/* A tool's own 'dry_run = false' cannot opt out of [enact] dry_run = true
 * (config_simulates); the error belongs to the line that asks for the
 * simulation, not to a line that says false. */
static void test_global_dry_run_covers_every_tool(void **state)
{
    struct fixture *f = *state;
    /* [enact] dry_run simulates every tool, even one that says false. */
    const struct enact_config *c = load_ok(f, "[enact]\ndry_run = true\n[tool.api]\n"
                                              "connect = 127.0.0.1:8080\ndry_run = false\n");
    assert_true(config_simulates(c, &c->tools[0]));
}

/* ---- [agent] and [agent.NAME] -------------------------------------------- */

static const char *QUOTAS =
    "[tool.api_call]\n"            /* 1 */
    "connect = 10.0.0.1:443\n"     /* 2 */
    "[agent]\n"                    /* 3 */
    "quota.max_actions = 1000\n"   /* 4 */
    "quota.window_hours = 24\n"    /* 5 */
    "[agent.premium_agent]\n"      /* 6 */
    "quota.max_actions = 10000\n"  /* 7 */
    "quota.window_hours = 24\n"    /* 8 */
    "[agent.free_agent]\n"         /* 9 */
    "quota.max_actions = 100\n"    /* 10 */
    "quota.window_hours = 0.5\n";  /* 11 */

static void test_agent_sections(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, QUOTAS);
    assert_true(c->agent_quota.enabled);
    assert_int_equal(c->agent_quota.max_actions, 1000);
    assert_int_equal(c->agent_src.key_line[AK_QUOTA_MAX], 4);
    assert_int_equal(c->agent_src.key_line[AK_QUOTA_WINDOW], 5);
    assert_int_equal(c->nagents, 2);
    const struct agent_override *p = &c->agents[0], *fr = &c->agents[1];
    assert_string_equal(p->name, "premium_agent");
    assert_int_equal(p->src.line, 6);
    assert_int_equal(p->src.key_line[AK_QUOTA_MAX], 7);
    assert_int_equal(p->src.key_line[AK_QUOTA_WINDOW], 8);
    assert_int_equal(p->quota.max_actions, 10000);
    assert_int_equal(p->quota.policy.max_actions, 10000);
    assert_int_equal(p->quota.policy.slot_ns, UINT64_C(1440000000000));
    assert_string_equal(fr->name, "free_agent");
    assert_int_equal(fr->src.line, 9);
    assert_int_equal(fr->quota.max_actions, 100);
    assert_true(fr->quota.window_hours == 0.5);
    assert_int_equal(fr->quota.policy.slot_ns, UINT64_C(30000000000)); /* 30 min / 60 */

    /* config_agent_quota: the override wins; others get [agent]. */
    assert_ptr_equal(config_agent_quota(c, "premium_agent"), &p->quota);
    assert_ptr_equal(config_agent_quota(c, "free_agent"), &fr->quota);
    assert_ptr_equal(config_agent_quota(c, "agent1"), &c->agent_quota);
    assert_ptr_equal(config_agent_quota(c, ""), &c->agent_quota);
    assert_ptr_equal(config_agent_quota(c, "premium_agent2"), &c->agent_quota);
    assert_ptr_equal(config_agent_quota(c, "premium"), &c->agent_quota);

    /* Only overrides: an agent without one has no agent quota. */
    c = load_ok(f, "[tool.a]\nconnect = *\n[agent.vip]\nquota.max_actions = 5\n");
    assert_false(c->agent_quota.enabled);
    assert_ptr_equal(config_agent_quota(c, "vip"), &c->agents[0].quota);
    assert_true(c->agents[0].quota.window_hours == 24.0);
    assert_null(config_agent_quota(c, "other"));
    /* Neither: NULL for everyone. */
    c = load_ok(f, "[tool.a]\nconnect = *\n");
    assert_null(config_agent_quota(c, "vip"));
    /* [agent] alone: window 24 h by default. */
    c = load_ok(f, "[agent]\nquota.max_actions = 3\n[tool.a]\nconnect = *\n");
    assert_ptr_equal(config_agent_quota(c, "x"), &c->agent_quota);
    assert_true(c->agent_quota.window_hours == 24.0);
    assert_int_equal(c->agent_quota.policy.slot_ns, UINT64_C(1440000000000));

    /* A split [agent.NAME] is one override. */
    c = load_ok(f, "[agent.x]\nquota.max_actions = 3\n[tool.a]\nconnect = *\n"
                   "[agent.x]\nquota.window_hours = 2\n");
    assert_int_equal(c->nagents, 1);
    assert_int_equal(c->agents[0].quota.max_actions, 3);
    assert_true(c->agents[0].quota.window_hours == 2.0);
    assert_int_equal(c->agents[0].src.key_line[AK_QUOTA_WINDOW], 6);
}

static void test_agent_section_errors(void **state)
{
    struct fixture *f = *state;
    const char *tool = "[tool.a]\nconnect = *\n";
    char text[512];
    /* Values */
    snprintf(text, sizeof text, "%s[agent]\nquota.max_actions = 0\n", tool);
    expect_one_error(f, text, 4,
                     "quota.max_actions must be a whole number from 1 to 4294967295, not '0'");
    snprintf(text, sizeof text, "%s[agent.bob]\nquota.max_actions = lots\n", tool);
    expect_one_error(f, text, 4,
                     "quota.max_actions must be a whole number from 1 to 4294967295, not 'lots'");
    /* (bad windows: test_bad_window_reported_once) */
    /* Keys */
    snprintf(text, sizeof text, "%s[agent]\nquota.max_action = 5\n", tool);
    expect_one_error(f, text, 4,
                     "unknown key 'quota.max_action' in [agent]; did you mean 'quota.max_actions'?");
    snprintf(text, sizeof text, "%s[agent.bob]\nquota.max_actions = 5\nrate.max_calls_per_minute = 5\n",
             tool);
    expect_one_error(f, text, 5, "unknown key 'rate.max_calls_per_minute' in [agent.bob]");
    /* A section with nothing valid in it also sets nothing. */
    snprintf(text, sizeof text, "%s[agent.bob]\nrate.max_calls_per_minute = 5\n", tool);
    assert_null(load(f, text));
    assert_int_equal(f->diag.n, 2);
    assert_diag(f, 0, 3, "[agent.bob] sets nothing; give it quota.max_actions");
    assert_diag(f, 1, 4, "unknown key 'rate.max_calls_per_minute' in [agent.bob]");
    snprintf(text, sizeof text, "%s[agent]\nquota.max_actions = 5\nquota.max_actions = 6\n", tool);
    expect_one_error(f, text, 5, "'quota.max_actions' is set twice (first on line 4)");
    /* Names: judged at the header, like tool names. */
    snprintf(text, sizeof text, "%s[agent.bad/name]\nquota.max_actions = 5\n", tool);
    expect_one_error(f, text, 3,
                     "bad agent name 'bad/name' (use letters, digits, '_', '-', '.'; at most 44)");
    snprintf(text, sizeof text, "%s[agent.]\nquota.max_actions = 5\n", tool);
    expect_one_error(f, text, 3, "bad agent name ''");
    char name[46];
    memset(name, 'n', 45);
    name[45] = '\0';
    snprintf(text, sizeof text, "%s[agent.%s]\nquota.max_actions = 5\n", tool, name);
    expect_one_error(f, text, 3, "bad agent name");
    name[44] = '\0';
    snprintf(text, sizeof text, "%s[agent.%s]\nquota.max_actions = 5\n", tool, name);
    const struct enact_config *c = load_ok(f, text);
    assert_string_equal(c->agents[0].name, name);
    assert_ptr_equal(config_agent_quota(c, name), &c->agents[0].quota);
}

/* A message about a key of an [agent.NAME] section names the section as
 * written, even when NAME is as long as allowed (inih keeps only 49
 * characters of a section name; "agent." + 44 is 50). */
static void test_agent_key_message_names_whole_section(void **state)
{
    struct fixture *f = *state;
    const char *tool = "[tool.a]\nconnect = *\n";
    char name[45], text[512];
    memset(name, 'n', 44);
    name[44] = '\0';
    snprintf(text, sizeof text, "%s[agent.%s]\nquota.max_actions = 5\nquota.maxactions = 1\n", tool,
             name);
    char want[256];
    snprintf(want, sizeof want, "unknown key 'quota.maxactions' in [agent.%s]", name);
    expect_one_error(f, text, 5, want);
}

/* ---- section headers ----------------------------------------------------- */

static void test_section_headers(void **state)
{
    struct fixture *f = *state;
    const char *expected = "(expected [enact], [tool.NAME], [agent], [agent.NAME] or [impact])";
    char want[256];
    const char *unknown[] = {"agents", "tool", "Tool.a", "enact.x", "impacts", "agent_x"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[tool.a]\nconnect = *\n\n[%s]\nquota.max_actions = 5\n",
                 unknown[i]);
        snprintf(want, sizeof want, "unknown section [%s] %s", unknown[i], expected);
        expect_one_error(f, text, 4, want);
    }
    /* A tool name of 44 characters is the most; 45 is refused at its
     * header, and its keys are not reported again. */
    char name[46], text[512];
    memset(name, 't', 45);
    name[45] = '\0';
    snprintf(text, sizeof text, "[tool.a]\nconnect = *\n[tool.%s]\nbogus = 1\nexec = x\n", name);
    snprintf(want, sizeof want,
             "bad tool name '%s' (use letters, digits, '_', '-', '.'; at most 44)", name);
    expect_one_error(f, text, 3, want);
    name[44] = '\0';
    snprintf(text, sizeof text, "[tool.%s]\nexec = x\n", name);
    assert_string_equal(load_ok(f, text)->tools[0].name, name);
}

/* ---- [impact] ------------------------------------------------------------ */

static void test_impact_section(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = load_ok(f, "[tool.tf]\n"                         /* 1 */
                                              "exec = terraform\n"                  /* 2 */
                                              "[impact]\n"                          /* 3 */
                                              "exec.high = terraform destroy*\n"    /* 4 */
                                              "exec.medium = terraform apply\n"     /* 5 */
                                              "exec.low = terraform plan\n"         /* 6 */
                                              "exec.high = /opt/bin/wipe*\n"        /* 7 */
                                              "verb.high = remove\n"                /* 8 */
                                              "verb.medium = Upsert\n"              /* 9 */
                                              "verb.low = FETCH\n");                /* 10 */
    const struct impact_table *im = &c->impact;
    assert_int_equal(im->nexec, 4);
    assert_int_equal(im->exec[0].level, IMPACT_HIGH);
    assert_string_equal(im->exec[0].rule.words[0], "terraform");
    assert_string_equal(im->exec[0].rule.words[1], "destroy*");
    assert_int_equal(im->exec[0].rule.nargs, 1);
    assert_int_equal(im->exec[1].level, IMPACT_MEDIUM);
    assert_int_equal(im->exec[2].level, IMPACT_LOW);
    assert_int_equal(im->exec[3].level, IMPACT_HIGH);
    assert_true(im->exec[3].rule.by_path);
    assert_int_equal(im->nverbs, 3);
    assert_int_equal(im->verbs[0].level, IMPACT_HIGH);
    assert_string_equal(im->verbs[0].verb, "REMOVE");
    assert_int_equal(im->verbs[1].level, IMPACT_MEDIUM);
    assert_string_equal(im->verbs[1].verb, "UPSERT");
    assert_int_equal(im->verbs[2].level, IMPACT_LOW);
    assert_string_equal(im->verbs[2].verb, "FETCH");

    /* The table reaches the estimator. */
    char *destroy[] = {"terraform", "destroy", "-auto-approve", NULL};
    char *apply[] = {"terraform", "apply", NULL};
    char *plan[] = {"terraform", "plan", NULL};
    char *other[] = {"terraform", "fmt", NULL};
    struct impact i = impact_of_exec("/usr/bin/terraform", destroy, im);
    assert_int_equal(i.level, IMPACT_HIGH);
    assert_string_equal(i.reason, "[impact] rule for terraform");
    assert_int_equal(impact_of_exec("/usr/bin/terraform", apply, im).level, IMPACT_MEDIUM);
    assert_int_equal(impact_of_exec("/usr/bin/terraform", plan, im).level, IMPACT_LOW);
    assert_int_equal(impact_of_exec("/usr/bin/terraform", other, im).level, IMPACT_UNKNOWN);
    assert_int_equal(impact_of_exec("/usr/bin/terraform", destroy, NULL).level, IMPACT_UNKNOWN);
    char *wipe[] = {"wipe-all", NULL};
    assert_int_equal(impact_of_exec("/opt/bin/wipe-all", wipe, im).level, IMPACT_HIGH);
    assert_int_equal(impact_of_payload("REMOVE key\r\n", 12, im).level, IMPACT_HIGH);
    assert_int_equal(impact_of_payload("FETCH key\r\n", 11, im).level, IMPACT_LOW);

    /* Errors, each at its line. */
    const char *tool = "[tool.a]\nconnect = *\n[impact]\n";
    char text[512];
    snprintf(text, sizeof text, "%sexec.high = \"rm\n", tool);
    expect_one_error(f, text, 4, "unterminated \"");
    snprintf(text, sizeof text, "%sexec.critical = rm\n", tool);
    expect_one_error(f, text, 4, "unknown key 'exec.critical' in [impact]");
    snprintf(text, sizeof text, "%sverb.hihg = DROP\n", tool);
    expect_one_error(f, text, 4, "unknown key 'verb.hihg' in [impact]; did you mean 'verb.high'?");
    snprintf(text, sizeof text, "%sverb.high =\n", tool);
    expect_one_error(f, text, 4, "verb.high must be one word of 1 to 31 letters, not ''");
    snprintf(text, sizeof text, "%sverb.low = %032d\n", tool, 0);
    expect_one_error(f, text, 4, "verb.low must be one word of 1 to 31 letters");
    snprintf(text, sizeof text, "%sverb.medium = ABCDEFGHIJKLMNOPQRSTUVWXYZABCDE\n", tool);
    assert_int_equal(load_ok(f, text)->impact.nverbs, 1); /* 31 letters */
}

/* Verbs are matched as runs of letters: anything else could never match,
 * so it is a mistake to report, not a rule to keep silently. */
static void test_impact_verb_must_be_a_word(void **state)
{
    struct fixture *f = *state;
    const char *tool = "[tool.a]\nconnect = *\n[impact]\n";
    char text[512];
    snprintf(text, sizeof text, "%sverb.high = DROP TABLE\n", tool);
    expect_one_error(f, text, 4, "verb.high must be one word of 1 to 31 letters, not 'DROP TABLE'");
    snprintf(text, sizeof text, "%sverb.low = GET2\n", tool);
    expect_one_error(f, text, 4, "verb.low must be one word of 1 to 31 letters, not 'GET2'");
}

/* ---- dry_run.response ---------------------------------------------------- */

/* The simulated peer's keys fit its protocol: a response is a raw peer's
 * (an error elsewhere), a status and a body an HTTP peer's (a warning). */
static void test_dry_run_peer_keys(void **state)
{
    struct fixture *f = *state;
    const struct tool *t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run = true\n")->tools[0];
    assert_int_equal(config_peer_protocol(t), PEER_AUTO);
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.protocol = http\ndry_run.http_status = 201\n"
                    "dry_run.http_body = {\"id\": 7}\n")->tools[0];
    assert_int_equal(t->dry_run_http_status, 201);
    assert_int_equal(t->dry_run_http_body.len, 9);
    expect_error_w(f, "[tool.a]\nconnect = *\ndry_run.protocol = redis\ndry_run.response = +OK\n",
                   4,
                   "tool 'a': dry_run.response is what a raw peer answers, and dry_run.protocol "
                   "= redis; an HTTP peer answers with dry_run.http_status and dry_run.http_body",
                   0);
    load_warn(f, "[tool.a]\nconnect = *\ndry_run.protocol = postgresql\ndry_run.http_body = x\n",
              1);
    assert_diag(f, 0, 4, "warning: tool 'a': 'dry_run.http_body' is for an HTTP peer, and "
                         "dry_run.protocol = postgresql");
}

static void test_dry_run_response(void **state)
{
    struct fixture *f = *state;
    const struct tool *t =
        &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response = HTTP/1.1 204 No Content\\r\\n\\r\\n\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, 27);
    assert_memory_equal(t->dry_run_response.data, "HTTP/1.1 204 No Content\r\n\r\n", 28);
    /* \r \n \t \\ are escapes; any other backslash is itself. */
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response = a\\tb\\\\c\\x\\\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, 8);
    assert_memory_equal(t->dry_run_response.data, "a\tb\\c\\x\\", 9);
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response =\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, 0);
    /* \0 and \xHH give any byte, NUL included; a response makes auto raw. */
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response = N\\0\\x01\\x7F!\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, 5);
    assert_memory_equal(t->dry_run_response.data, "N\0\x01\x7f!", 5);
    assert_int_equal(config_peer_protocol(t), PEER_RAW);
    char shown[64];
    config_key_format(TK_DRY_RUN_RESPONSE, t, shown, sizeof shown);
    assert_string_equal(shown, "N\\x00\\x01\\x7f!");

    /* @file: relative to the config's folder, read whole, any bytes. */
    char path[PATH_MAX];
    const char bin[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b";
    th_write_bytes(th_path(path, sizeof path, f->dir, "resp.bin"), bin, sizeof bin - 1);
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response = @resp.bin\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, sizeof bin - 1);
    assert_memory_equal(t->dry_run_response.data, bin, sizeof bin - 1);
    char text[PATH_MAX + 128];
    snprintf(text, sizeof text, "[tool.a]\nconnect = *\ndry_run.response = @%s\n", path);
    t = &load_ok(f, text)->tools[0];
    assert_int_equal(t->dry_run_response.len, sizeof bin - 1);

    /* 64 KiB is the most. */
    static char big[65537];
    memset(big, 'z', sizeof big);
    th_write_bytes(th_path(path, sizeof path, f->dir, "big.txt"), big, 65536);
    t = &load_ok(f, "[tool.a]\nconnect = *\ndry_run.response = @big.txt\n")->tools[0];
    assert_int_equal(t->dry_run_response.len, 65536);
    th_write_bytes(path, big, 65537);
    snprintf(text, sizeof text, "dry_run.response: cannot read %s: larger than 64 KiB", path);
    expect_error_w(f, "[tool.a]\nconnect = *\ndry_run.response = @big.txt\n", 3, text, 0);
    /* A file that is not there. */
    th_path(path, sizeof path, f->dir, "missing.txt");
    snprintf(text, sizeof text, "dry_run.response: cannot read %s: No such file or directory", path);
    expect_error_w(f, "[tool.a]\nconnect = *\n\ndry_run.response = @missing.txt\n", 4, text, 0);
}

/* @file names a file to read whole at load time: a folder is an error,
 * and so is anything that is not a regular file. Reading a FIFO would
 * block the load (every governed process, at start) until some writer
 * comes, and @/dev/stdin would swallow the agent's own input. */
static void test_dry_run_response_not_a_regular_file(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX], text[PATH_MAX + 128];
    th_path(path, sizeof path, f->dir, "sub");
    assert_int_equal(mkdir(path, 0700), 0);
    expect_error_w(f, "[tool.a]\nconnect = *\ndry_run.response = @sub\n", 3,
                   "dry_run.response: cannot read", 0);

    th_path(path, sizeof path, f->dir, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(text, sizeof text, "[tool.a]\nconnect = *\ndry_run.response = @%s\n", path);
    char ini[PATH_MAX];
    th_write_file(th_path(ini, sizeof ini, f->dir, "fifo.ini"), text);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(3); /* a load that blocks is killed, and the test fails */
        struct config_diag diag;
        struct enact_config *c = config_load(ini, &diag);
        bool at_line = false;
        for (size_t i = 0; i < diag.n; i++)
            at_line |= diag.at[i] == 3 && !strstr(diag.lines[i], ": warning: ") &&
                       strstr(diag.lines[i], "dry_run.response") != NULL;
        th_child_exit(c == NULL && at_line ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (WIFSIGNALED(status))
        fail_msg("loading a config whose dry_run.response names a FIFO blocked (killed by signal "
                 "%d after 3 s)", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("a FIFO as dry_run.response was not refused at its line");
}

/* ---- state identities ---------------------------------------------------- */

struct ids {
    uint64_t rate, quota, breaker;
};

static struct ids ids_of(struct fixture *f, const char *text, size_t nwarn)
{
    const struct tool *t = &load_warn(f, text, nwarn)->tools[0];
    return (struct ids){t->rate_id, t->quota_id, t->breaker_id};
}

#define ID_BASE_FMT                                                                                \
    "[tool.%s]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = %s\nrate.burst_size = %s\n"       \
    "quota.max_actions = %s\nquota.window_hours = %s\nbreaker.failure_threshold = %s\n"            \
    "breaker.success_threshold = %s\nbreaker.timeout_seconds = %s\n%s"

static struct ids ids_with(struct fixture *f, const char *name, const char *rate,
                           const char *burst, const char *qmax, const char *qwin,
                           const char *bfail, const char *bsucc, const char *btime,
                           const char *extra, size_t nwarn)
{
    char text[1024];
    snprintf(text, sizeof text, ID_BASE_FMT, name, rate, burst, qmax, qwin, bfail, bsucc, btime,
             extra);
    return ids_of(f, text, nwarn);
}

static void assert_ids(struct ids got, struct ids base, bool rate_same, bool quota_same,
                       bool breaker_same, const char *what)
{
    if ((got.rate == base.rate) != rate_same || (got.quota == base.quota) != quota_same ||
        (got.breaker == base.breaker) != breaker_same)
        fail_msg("%s: rate id %s, quota id %s, breaker id %s", what,
                 got.rate == base.rate ? "kept" : "changed",
                 got.quota == base.quota ? "kept" : "changed",
                 got.breaker == base.breaker ? "kept" : "changed");
}

static void test_mechanism_ids(void **state)
{
    struct fixture *f = *state;
    struct ids base = ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60", "", 0);
    assert_int_not_equal(base.rate, base.quota);
    assert_int_not_equal(base.quota, base.breaker);
    assert_int_not_equal(base.rate, base.breaker);
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60", "", 0), base, true, true,
               true, "same file");
    /* Each mechanism's numbers name only that mechanism's state. */
    assert_ids(ids_with(f, "a", "30", "10", "100", "24", "5", "2", "60", "", 0), base, false, true,
               true, "rate edited");
    assert_ids(ids_with(f, "a", "60", "11", "100", "24", "5", "2", "60", "", 0), base, false, true,
               true, "burst edited");
    assert_ids(ids_with(f, "a", "60", "10", "101", "24", "5", "2", "60", "", 0), base, true, false,
               true, "quota edited");
    assert_ids(ids_with(f, "a", "60", "10", "100", "12", "5", "2", "60", "", 0), base, true, false,
               true, "quota window edited");
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "6", "2", "60", "", 0), base, true, true,
               false, "failure threshold edited");
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "3", "60", "", 0), base, true, true,
               false, "success threshold edited");
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "61", "", 0), base, true, true,
               false, "breaker timeout edited");
    /* Another tool name: all fresh. */
    assert_ids(ids_with(f, "b", "60", "10", "100", "24", "5", "2", "60", "", 0), base, false, false,
               false, "tool renamed");
    /* Keys of no mechanism with state leave every id alone. */
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60",
                        "errno = ECONNREFUSED\nconnect = 10.0.0.2\naction = connection\n", 0),
               base, true, true, true, "errno, rules, action");
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60",
                        "retry.max_attempts = 3\nretry.max_delay = 10\n", 0),
               base, true, true, true, "retry edited");
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60",
                        "[agent]\nquota.max_actions = 5\n", 0),
               base, true, true, true, "[agent] added");

    /* Same numbers written another way, keys in another order: same ids. */
    struct ids moved = ids_of(f,
                              "[tool.a]\nbreaker.timeout_seconds = 60.0\nquota.window_hours = 24\n"
                              "connect = 10.0.0.1\nbreaker.success_threshold = 2\n"
                              "rate.burst_size = 10\nquota.max_actions = 100\n"
                              "breaker.failure_threshold = 5\nrate.max_calls_per_minute = 6e1\n",
                              0);
    assert_ids(moved, base, true, true, true, "reordered");
    /* Defaults written out or left out: the same policy, the same ids. */
    struct ids dflt = ids_of(f, "[tool.a]\nconnect = *\nquota.max_actions = 100\nbreaker.failure_threshold = 5\n", 0);
    struct ids full = ids_of(f, "[tool.a]\nconnect = *\nquota.max_actions = 100\nquota.window_hours = 24\n"
                                "breaker.failure_threshold = 5\nbreaker.success_threshold = 2\n"
                                "breaker.timeout_seconds = 60\n", 0);
    assert_int_equal(dflt.quota, full.quota);
    assert_int_equal(dflt.breaker, full.breaker);
    assert_int_equal(dflt.quota, base.quota);
    assert_int_equal(dflt.breaker, base.breaker);
    /* Adding a mechanism changes only its id. */
    struct ids bare = ids_of(f, "[tool.a]\nconnect = *\n", 0);
    struct ids rated = ids_of(f, "[tool.a]\nconnect = *\nrate.max_calls_per_minute = 60\nrate.burst_size = 10\n", 0);
    assert_ids(rated, bare, false, true, true, "rate added");
    assert_int_equal(rated.rate, base.rate);
}

/* The call timeout is not the breaker's: tuning timeout_seconds must not
 * give the breaker fresh state (an OPEN breaker would silently close). */
static void test_breaker_id_ignores_call_timeout(void **state)
{
    struct fixture *f = *state;
    struct ids base = ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60", "", 0);
    assert_ids(ids_with(f, "a", "60", "10", "100", "24", "5", "2", "60", "timeout_seconds = 5\n", 0),
               base, true, true, true, "timeout_seconds edited");
}

/* Whether text, a char array of the table, holds its NUL. */
#define TERMINATED(text) (strnlen((text), sizeof(text)) < sizeof(text))

/* Every entry of the key table is whole: a name unique in its section, a
 * parser, a help line, every text ended within its array; a value a parser
 * may refuse has the words for it; a default sits within the key's own
 * bounds. */
static void test_key_table_complete(void **state)
{
    (void)state;
    for (int i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct key_def *k = &CONFIG_KEYS[i];
        if (!TERMINATED(k->name) || !TERMINATED(k->help) || !TERMINATED(k->expected))
            fail_msg("key %d: a text fills its whole array, with no NUL", i);
        for (int c = 0; c < KEY_CHOICES_MAX; c++)
            if (!TERMINATED(k->choices[c]))
                fail_msg("'%s': choice %d fills its whole array, with no NUL", k->name, c);
        if (k->choices[0][0] && k->choices[KEY_CHOICES_MAX - 1][0])
            fail_msg("'%s': its choices leave no \"\" to end them", k->name);
        if (!k->name[0] || k->parse == KEY_PARSE_NONE || k->parse >= KEY_PARSE_KINDS ||
            !k->help[0] || k->section >= SECTION_COUNT)
            fail_msg("key %d (%s) is incomplete", i, k->name);
        for (int j = 0; j < i; j++)
            if (CONFIG_KEYS[j].section == k->section && strcmp(CONFIG_KEYS[j].name, k->name) == 0)
                fail_msg("'%s' twice in %s", k->name, config_section_title(k->section));
        if (!k->repeatable && k->field != FIELD_STRING && k->field != FIELD_BYTES &&
            !k->expected[0])
            fail_msg("'%s' says nothing of the values it refuses", k->name);
        if (k->max > 0 && k->dflt != 0 && (k->dflt > k->max || k->dflt < k->min))
            fail_msg("'%s': default %g outside %g..%g", k->name, k->dflt, k->min, k->max);
    }
    assert_string_equal(config_key_name(TK_RATE_BURST), "rate.burst_size");
    assert_string_equal(config_section_title(SECTION_TOOL), "[tool.NAME]");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_valid_file),
        T(test_defaults),
        T(test_default_burst_is_ceil_rate),
        T(test_relative_paths_resolve_against_ini_folder),
        T(test_default_state_path),
        T(test_value_spellings),
        T(test_crlf_file),
        T(test_indented_keys),
        T(test_misspelt_keys),
        T(test_design_keys_load_unknown_key_fails),
        T(test_unknown_section),
        T(test_unknown_empty_section),
        T(test_design_sections_supported),
        T(test_key_outside_section),
        T(test_duplicate_keys),
        T(test_bad_numbers),
        T(test_other_bad_values),
        T(test_burst_without_rate),
        T(test_tool_without_rules),
        T(test_empty_tool_section),
        T(test_bad_tool_name),
        T(test_long_tool_names_not_merged),
        T(test_syntax_error),
        T(test_every_syntax_error_reported),
        T(test_overlong_line),
        T(test_nul_byte),
        T(test_missing_and_empty_files),
        T(test_several_errors_all_reported),
        T(test_rate_id),
        T(test_match_first_tool_in_file_order),
        T(test_design_example_loads),
        T(test_tool_key_values),
        T(test_bad_errno_on_exec_tool_one_error),
        T(test_action_and_on_limit_values),
        T(test_enact_key_values),
        T(test_new_key_defaults),
        T(test_static_binaries_default_is_audit),
        T(test_not_enforced_warnings),
        T(test_connection_only_keys_on_exec_tools),
        T(test_cross_key_errors),
        T(test_agent_sections),
        T(test_agent_section_errors),
        T(test_section_headers),
        T(test_impact_section),
        T(test_impact_verb_must_be_a_word),
        T(test_bad_window_reported_once),
        T(test_global_dry_run_covers_every_tool),
        T(test_tiny_window_reported_at_its_line),
        T(test_agent_key_message_names_whole_section),
        T(test_breaker_id_ignores_call_timeout),
        T(test_dry_run_peer_keys),
        T(test_dry_run_response),
        T(test_dry_run_response_not_a_regular_file),
        T(test_mechanism_ids),
        T(test_key_table_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
