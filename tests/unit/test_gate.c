/* Unit tests for gate.c: the one decision (rate, observe, on_error). */
#include "helpers.h"

#include "config.h"
#include "gate.h"
#include "state.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1000) * SEC)

struct fixture {
    char *dir;
    int nconfigs;
    struct enact_config *cfgs[8];
    struct state_map m;
    char msg[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = th_mkdtemp();
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "enact.state");
    if (state_open(path, NULL, &f->m, f->msg, sizeof f->msg) != STATE_OPENED)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < f->nconfigs; i++)
        config_free(f->cfgs[i]);
    state_close(&f->m);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* Loads an INI given as text; freed at teardown. */
static const struct enact_config *cfg_from(struct fixture *f, const char *text)
{
    char path[PATH_MAX], name[32];
    snprintf(name, sizeof name, "c%d.ini", f->nconfigs);
    th_path(path, sizeof path, f->dir, name);
    th_write_file(path, text);
    struct config_diag diag;
    struct enact_config *cfg = config_load(path, &diag);
    if (!cfg) {
        for (size_t i = 0; i < diag.n; i++)
            print_message("  %s\n", diag.lines[i]);
        config_diag_free(&diag);
        fail_msg("config did not load");
    }
    assert_true(f->nconfigs < 8);
    f->cfgs[f->nconfigs++] = cfg;
    return cfg;
}

/* One call of agent_id at now (both clocks), no agent quota. */
static struct gate_result decide(const struct enact_config *c, struct state_map *m,
                                 const struct tool *t, uint64_t agent_id, uint64_t now)
{
    struct gate_call call = {.tool = t, .agent_id = agent_id, .owner = gettid(),
                             .mono_ns = now, .real_ns = now};
    return gate_decide(c, m, &call);
}

static const struct tool *tool_named(const struct enact_config *c, const char *name)
{
    for (size_t i = 0; i < c->ntools; i++)
        if (strcmp(c->tools[i].name, name) == 0)
            return &c->tools[i];
    fail_msg("no tool %s", name);
    return NULL;
}

static void assert_allow(struct gate_result g, bool audit)
{
    assert_true(g .action == GATE_PROCEED);
    assert_int_equal(g.audit, audit);
    assert_non_null(g.verdict);
    assert_string_equal(g.verdict, "allow");
    assert_null(g.reason);
    assert_int_equal(g.retry_after_ns, 0);
}

static void assert_refused(struct gate_result g, bool admit, const char *verdict,
                           const char *reason, uint64_t retry)
{
    assert_int_equal(g.action == GATE_PROCEED, admit);
    assert_true(g.audit);
    assert_non_null(g.verdict);
    assert_string_equal(g.verdict, verdict);
    assert_non_null(g.reason);
    assert_string_equal(g.reason, reason);
    assert_int_equal(g.retry_after_ns, retry);
}

static const char *RATED = "[tool.db]\nconnect = 127.0.0.1:5432\n"
                           "rate.max_calls_per_minute = 60\nrate.burst_size = 3\n"
                           "[tool.free]\nexec = ls\n";

static void test_agent_id(void **state)
{
    (void)state;
    assert_int_equal(gate_agent_id("alpha"), gate_agent_id("alpha"));
    assert_int_not_equal(gate_agent_id("alpha"), gate_agent_id("beta"));
    assert_int_not_equal(gate_agent_id(""), gate_agent_id("a"));
    /* FNV-1a 64 over the bytes and the NUL: stable across builds. */
    assert_int_equal(gate_agent_id(""), UINT64_C(0xaf63bd4c8601b7df));
}

static void test_tool_without_rate_admits_silently(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, RATED);
    const struct tool *t = tool_named(c, "free");
    for (int i = 0; i < 1000; i++)
        assert_allow(decide(c, &f->m, t, gate_agent_id("a"), T0), false);
    /* Needs no state at all. */
    assert_allow(decide(c, NULL, t, gate_agent_id("a"), T0), false);
    struct state_map none = {0};
    assert_allow(decide(c, &none, t, gate_agent_id("a"), T0), false);
}

static void test_rate_limit_burst_then_deny(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, RATED);
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("a");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0), false);
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "rate_limited", SEC);
    assert_refused(decide(c, &f->m, t, a, T0 + SEC / 4), false, "deny", "rate_limited",
                   SEC - SEC / 4);
    /* One interval later: exactly one more. */
    assert_allow(decide(c, &f->m, t, a, T0 + SEC), false);
    assert_refused(decide(c, &f->m, t, a, T0 + SEC), false, "deny", "rate_limited", SEC);
    /* Long idle: the full burst again. */
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0 + 100 * SEC), false);
    assert_refused(decide(c, &f->m, t, a, T0 + 100 * SEC), false, "deny", "rate_limited",
                   SEC);
}

static void test_observe_mode(void **state)
{
    struct fixture *f = *state;
    char text[512];
    snprintf(text, sizeof text, "[enact]\nmode = observe\n%s", RATED);
    const struct enact_config *c = cfg_from(f, text);
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("a");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0), false);
    for (int i = 0; i < 5; i++)
        assert_refused(decide(c, &f->m, t, a, T0), true, "would_deny", "rate_limited", SEC);
    /* The state moved exactly as enforcement would: a would-deny consumed
     * nothing, so one interval later there is exactly one token. */
    assert_allow(decide(c, &f->m, t, a, T0 + SEC), false);
    assert_refused(decide(c, &f->m, t, a, T0 + SEC), true, "would_deny", "rate_limited",
                   SEC);
}

static void test_log_allowed(void **state)
{
    struct fixture *f = *state;
    char text[512];
    snprintf(text, sizeof text, "[enact]\nlog_allowed = true\n%s", RATED);
    const struct enact_config *c = cfg_from(f, text);
    uint64_t a = gate_agent_id("a");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, tool_named(c, "db"), a, T0), true);
    assert_refused(decide(c, &f->m, tool_named(c, "db"), a, T0), false, "deny",
                   "rate_limited", SEC);
    assert_allow(decide(c, &f->m, tool_named(c, "free"), a, T0), true);
}

static void test_state_unavailable(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *deny = cfg_from(f, RATED);
    char text[512];
    snprintf(text, sizeof text, "[enact]\non_error = allow\n%s", RATED);
    const struct enact_config *allow = cfg_from(f, text);
    snprintf(text, sizeof text, "[enact]\non_error = deny\nmode = observe\n%s", RATED);
    const struct enact_config *observe = cfg_from(f, text);
    struct state_map unmapped = {0};
    uint64_t a = gate_agent_id("a");
    struct state_map *broken[] = {NULL, &unmapped};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 5; i++) {
            assert_refused(decide(deny, broken[k], tool_named(deny, "db"), a, T0), false,
                           "deny", "state_error", 0);
            assert_refused(decide(allow, broken[k], tool_named(allow, "db"), a, T0), true,
                           "error", "state_error", 0);
            assert_refused(decide(observe, broken[k], tool_named(observe, "db"), a, T0), true,
                           "would_deny", "state_error", 0);
        }
    }
}

static void test_state_full(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *deny = cfg_from(f, RATED);
    char text[512];
    snprintf(text, sizeof text, "[enact]\non_error = allow\n%s", RATED);
    const struct enact_config *allow = cfg_from(f, text);
    /* Fill every slot with keys no gate would use. */
    for (uint64_t i = 0; i < f->m.nbuckets; i++)
        assert_non_null(state_bucket(&f->m, 2 * i + 1));
    uint64_t a = gate_agent_id("a");
    assert_refused(decide(deny, &f->m, tool_named(deny, "db"), a, T0), false, "deny",
                   "state_full", 0);
    assert_refused(decide(allow, &f->m, tool_named(allow, "db"), a, T0), true, "error",
                   "state_full", 0);
    /* Unrated tools do not need a slot. */
    assert_allow(decide(deny, &f->m, tool_named(deny, "free"), a, T0), false);
}

static void test_agents_have_separate_buckets(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, RATED);
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("agent-a"), b = gate_agent_id("agent-b");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0), false);
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "rate_limited", SEC);
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, b, T0), false);
    assert_refused(decide(c, &f->m, t, b, T0), false, "deny", "rate_limited", SEC);
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "rate_limited", SEC);
}

static void test_tools_have_separate_buckets(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.one]\nexec = a\nrate.max_calls_per_minute = 60\nrate.burst_size = 2\n"
                    "[tool.two]\nexec = b\nrate.max_calls_per_minute = 60\nrate.burst_size = 2\n");
    uint64_t a = gate_agent_id("a");
    for (int i = 0; i < 2; i++)
        assert_allow(decide(c, &f->m, tool_named(c, "one"), a, T0), false);
    assert_false(decide(c, &f->m, tool_named(c, "one"), a, T0) .action == GATE_PROCEED);
    for (int i = 0; i < 2; i++)
        assert_allow(decide(c, &f->m, tool_named(c, "two"), a, T0), false);
    assert_false(decide(c, &f->m, tool_named(c, "two"), a, T0) .action == GATE_PROCEED);
}

static void test_state_shared_across_loads_and_maps(void **state)
{
    struct fixture *f = *state;
    /* Two processes with the same config: same buckets. */
    const struct enact_config *c1 = cfg_from(f, RATED);
    const struct enact_config *c2 = cfg_from(f, RATED);
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "enact.state");
    struct state_map m2;
    assert_int_equal(state_open(path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    uint64_t a = gate_agent_id("a");
    assert_allow(decide(c1, &f->m, tool_named(c1, "db"), a, T0), false);
    assert_allow(decide(c2, &m2, tool_named(c2, "db"), a, T0), false);
    assert_allow(decide(c1, &f->m, tool_named(c1, "db"), a, T0), false);
    assert_refused(decide(c2, &m2, tool_named(c2, "db"), a, T0), false, "deny",
                   "rate_limited", SEC);
    state_close(&m2);

    /* Editing the tool's limit gives it a fresh bucket. */
    const struct enact_config *c3 =
        cfg_from(f, "[tool.db]\nconnect = 127.0.0.1:5432\n"
                    "rate.max_calls_per_minute = 30\nrate.burst_size = 3\n");
    assert_allow(decide(c3, &f->m, tool_named(c3, "db"), a, T0), false);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_agent_id),
        T(test_tool_without_rate_admits_silently),
        T(test_rate_limit_burst_then_deny),
        T(test_observe_mode),
        T(test_log_allowed),
        T(test_state_unavailable),
        T(test_state_full),
        T(test_agents_have_separate_buckets),
        T(test_tools_have_separate_buckets),
        T(test_state_shared_across_loads_and_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
