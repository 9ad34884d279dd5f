/* Unit tests for config.c: INI loading, defaults, diagnostics, matching. */
#include "helpers.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>

#include "config.h"
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
    assert_int_equal(db->line, 10);
    assert_int_equal(db->nconnect, 4); /* localhost counts twice */
    assert_int_equal(db->nexec, 0);
    assert_int_equal(db->connect[0].port_lo, 5432);
    assert_int_equal(db->connect[1].port_lo, 6432);
    assert_int_equal(db->connect[2].port_lo, 6432);
    assert_int_equal(db->connect[3].kind, TARGET_UNIX);
    assert_string_equal(db->connect[3].unix_glob, "/run/postgresql/.s.PGSQL.5432");
    assert_true(db->rate_limited);
    assert_true(db->max_calls_per_minute == 60.0);
    assert_int_equal(db->burst_size, 10);
    assert_int_equal(db->rate.interval_ns, UINT64_C(1000000000));
    assert_int_equal(db->rate.tolerance_ns, UINT64_C(9000000000));
    assert_int_equal(db->key_line[TK_RATE_PER_MINUTE], 14);
    assert_int_equal(db->key_line[TK_RATE_BURST], 15);

    const struct tool *sh = &c->tools[1];
    assert_string_equal(sh->name, "shell");
    assert_int_equal(sh->line, 18);
    assert_int_equal(sh->nconnect, 0);
    assert_int_equal(sh->nexec, 2);
    assert_string_equal(sh->exec[0].words[0], "rm");
    assert_int_equal(sh->exec[1].nargs, 2);
    assert_string_equal(sh->exec[1].words[2], "*");
    assert_true(sh->rate_limited);
    assert_true(sh->max_calls_per_minute == 2.5);
    assert_int_equal(sh->burst_size, 3); /* default: ceil(rate) */
    assert_int_equal(sh->rate.interval_ns, UINT64_C(24000000000));
    assert_int_equal(sh->rate.tolerance_ns, UINT64_C(48000000000));
    assert_int_equal(sh->key_line[TK_RATE_BURST], 0);

    const struct tool *web = &c->tools[2];
    assert_string_equal(web->name, "web");
    assert_int_equal(web->line, 23);
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
        assert_int_equal(c->tools[0].burst_size, cases[i].burst);
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
    snprintf(want, sizeof want, "/run/user/4242/enact/enact-%08x.state", h);
    assert_string_equal(c->state_path, want);

    /* The stem drops only the last extension. */
    load_bytes(f, "my.agent.conf", "[tool.a]\nconnect = *\n", strlen("[tool.a]\nconnect = *\n"));
    assert_non_null(f->cfg);
    h = (uint32_t)fnv64_str(FNV64_OFFSET, f->cfg->path);
    snprintf(want, sizeof want, "/run/user/4242/enact/my.agent-%08x.state", h);
    assert_string_equal(f->cfg->state_path, want);

    /* Unset, or not absolute: /var/tmp/enact-UID. */
    assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
    c = load_ok(f, "[tool.a]\nconnect = *\n");
    h = (uint32_t)fnv64_str(FNV64_OFFSET, c->path);
    snprintf(want, sizeof want, "/var/tmp/enact-%u/enact-%08x.state", (unsigned)getuid(), h);
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
    assert_int_equal(c->tools[0].burst_size, 6);
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

static void test_future_key_not_supported(void **state)
{
    struct fixture *f = *state;
    expect_one_error(f, "[tool.a]\nconnect = *\nquota.max_actions = 1000\n", 3,
                     "'quota.max_actions' is not supported by this version of enact yet");
}

static void test_unknown_section(void **state)
{
    struct fixture *f = *state;
    /* Reported once for the section, at its header. */
    expect_one_error(f,
                     "[tool.a]\nconnect = *\n[tools.b]\nconnect = *\nexec = rm\n", 3,
                     "unknown section [tools.b] (expected [enact] or [tool.NAME])");
}

static void test_unknown_empty_section(void **state)
{
    struct fixture *f = *state;
    /* A misspelt section with nothing in it (yet) is still an unknown section. */
    expect_one_error(f, "[tool.a]\nconnect = *\n[enatc]\n", 3, "unknown section [enatc]");
}

static void test_unsupported_design_section(void **state)
{
    struct fixture *f = *state;
    assert_null(load(f, "[tool.a]\nconnect = *\n[agent]\nquota.max_actions = 1\n"
                        "quota.window_hours = 24\n"));
    assert_int_equal(f->diag.n, 1);
    assert_non_null(strstr(f->diag.lines[0], "section [agent] is not supported"));
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
                     4, "'rate.max_calls_per_minute' is set twice for tool 'a' (first on line 3)");
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
        expect_one_error(f, text, 3, "rate.max_calls_per_minute must be a number above 0");
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
    expect_one_error(f, "[tool.a]\nconnect = db.internal:5432\n", 2,
                     "host names are not supported yet");
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
    expect_one_error(f, "[tool.a]\nconnect = nope.example\n", 2, "host names are not supported");
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
                       "connect = db.example:5432\n"            /* 5: host name */
                       "rate.max_calls_per_minute = fast\n"     /* 6: bad number */
                       "quota.window_hours = 24\n"              /* 7: future key */
                       "garbage line\n"                         /* 8: syntax */
                       "[tool.b]\n"                             /* 9 */
                       "rate.burst_size = 3\n"                  /* 10: no rate; no rules (9) */
                       "[enact]\n"                              /* 11 */
                       "mode = observe\n";                      /* 12: twice */
    assert_null(load(f, text));
    if (f->diag.n != 9)
        print_diag(f);
    assert_int_equal(f->diag.n, 9);
    assert_diag(f, 0, 2, "did you mean 'agent'?");
    assert_diag(f, 1, 3, "mode must be");
    assert_diag(f, 2, 5, "host names are not supported yet");
    assert_diag(f, 3, 6, "rate.max_calls_per_minute must be a number");
    assert_diag(f, 4, 7, "'quota.window_hours' is not supported");
    assert_diag(f, 5, 8, "syntax error");
    assert_diag(f, 6, 9, "tool 'b' has no 'connect =' or 'exec =' rule");
    assert_diag(f, 7, 10, "tool 'b' sets rate.burst_size without rate.max_calls_per_minute");
    assert_diag(f, 8, 12, "'mode' is set twice (first on line 3)");
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
        T(test_future_key_not_supported),
        T(test_unknown_section),
        T(test_unknown_empty_section),
        T(test_unsupported_design_section),
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
        T(test_overlong_line),
        T(test_nul_byte),
        T(test_missing_and_empty_files),
        T(test_several_errors_all_reported),
        T(test_rate_id),
        T(test_match_first_tool_in_file_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
