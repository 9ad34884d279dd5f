/* Unit tests for gate.c: the one decision (dry-run, breaker, rate,
 * quotas; observe, on_error, on_limit = wait; programs the preload cannot
 * follow, strict mode's system calls) and its use of the store interface. The guide's examples are in test_guide.c,
 * random sequences in test_properties.c. */
#include "helpers.h"

#include "config.h"
#include "config_match.h"
#include "gate.h"
#include "local_store.h"
#include "pidlock.h"
#include "state.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1000) * SEC)

struct fixture {
    char *dir;
    int nconfigs;
    struct enact_config *cfgs[16];
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

/* Makes f's state file again, one that may not grow: its tables fill up
 * as every file's do once it has grown by its grow_max. */
static void without_growth(struct fixture *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", f->m.path);
    state_close(&f->m);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(state_open(path, &(struct state_sizes){.grow_max = 1}, &f->m, f->msg,
                                sizeof f->msg),
                     STATE_OPENED);
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
    config_diag_free(&diag); /* warnings */
    assert_true(f->nconfigs < 16);
    f->cfgs[f->nconfigs++] = cfg;
    return cfg;
}

/* One call of agent_id at now (both clocks), no agent quota. */
static struct gate_result decide(const struct enact_config *c, struct state_map *m,
                                 const struct tool *t, uint64_t agent_id, uint64_t now)
{
    struct gate_call call = {.tool = t, .agent_id = agent_id, .owner = gettid(),
                             .mono_ns = now, .real_ns = now};
    return gate_decide(c, local_store(m), &call);
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
    without_growth(f);
    const struct enact_config *deny = cfg_from(f, RATED);
    char text[512];
    snprintf(text, sizeof text, "[enact]\non_error = allow\n%s", RATED);
    const struct enact_config *allow = cfg_from(f, text);
    /* Fill every slot with keys no gate would use, each just used (a
     * bucket in use is never taken over). */
    for (uint64_t i = 0; i < f->m.nbuckets; i++)
        *state_bucket(&f->m, 2 * i + 1) = T0 + SEC;
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

/* ---- quotas, breakers, dry-run ------------------------------------------ */

/* One call by agent, with its [agent] quota, at now (both clocks). */
static struct gate_result decide_as(const struct enact_config *c, struct state_map *m,
                                    const struct tool *t, const char *agent, uint64_t now)
{
    struct gate_call call = {.tool = t, .agent_quota = config_agent_quota(c, agent),
                             .agent_id = gate_agent_id(agent), .owner = gettid(),
                             .mono_ns = now, .real_ns = now};
    return gate_decide(c, local_store(m), &call);
}

/* A one-minute quota (60 slots of 1 s; T0 is a slot boundary): an action
 * is forgotten 61 s after the start of its slot. */
static const char *QUOTA_TOOL = "[tool.api]\nconnect = 10.0.0.1:443\n"
                                "quota.max_actions = 3\nquota.window_hours = 0.016666666666666666\n"
                                "[tool.free]\nexec = ls\n";

static void test_tool_quota(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, QUOTA_TOOL);
    const struct tool *t = tool_named(c, "api");
    uint64_t a = gate_agent_id("a"), b = gate_agent_id("b");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0 + (uint64_t)i * SEC / 2), false);
    assert_refused(decide(c, &f->m, t, a, T0 + 2 * SEC), false, "deny", "quota_exceeded",
                   59 * SEC);
    /* Per (agent, tool). */
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, b, T0), false);
    assert_refused(decide(c, &f->m, t, b, T0), false, "deny", "quota_exceeded", 61 * SEC);
    /* Refusals took nothing: the ring still counts exactly 3. */
    struct quota_slot *q = state_find_quota(&f->m, gate_tool_quota_key(a, t));
    assert_non_null(q);
    assert_int_equal(q->ring.used, 3);
    assert_int_equal(q->lock, 0);
    /* The two actions of the first slot leave at T0 + 61 s, the third at
     * T0 + 62 s. */
    assert_refused(decide(c, &f->m, t, a, T0 + 61 * SEC - 1), false, "deny", "quota_exceeded", 1);
    assert_allow(decide(c, &f->m, t, a, T0 + 61 * SEC), false);
    assert_allow(decide(c, &f->m, t, a, T0 + 61 * SEC), false);
    assert_refused(decide(c, &f->m, t, a, T0 + 61 * SEC), false, "deny", "quota_exceeded", SEC);
    assert_allow(decide(c, &f->m, t, a, T0 + 62 * SEC), false);
    /* Unlimited tools pass. */
    for (int i = 0; i < 10; i++)
        assert_allow(decide(c, &f->m, tool_named(c, "free"), a, T0), false);
}

static void test_agent_quota(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.one]\nexec = a\n[tool.two]\nexec = b\n"
                    "[agent]\nquota.max_actions = 4\nquota.window_hours = 0.016666666666666666\n"
                    "[agent.vip]\nquota.max_actions = 6\nquota.window_hours = 0.016666666666666666\n");
    const struct tool *one = tool_named(c, "one"), *two = tool_named(c, "two");
    /* Shared by every tool of the agent. */
    for (int i = 0; i < 4; i++)
        assert_allow(decide_as(c, &f->m, i % 2 ? one : two, "joe", T0), false);
    assert_refused(decide_as(c, &f->m, one, "joe", T0), false, "deny", "quota_exceeded", 61 * SEC);
    assert_refused(decide_as(c, &f->m, two, "joe", T0), false, "deny", "quota_exceeded", 61 * SEC);
    for (int i = 0; i < 6; i++)
        assert_allow(decide_as(c, &f->m, one, "vip", T0), false);
    assert_refused(decide_as(c, &f->m, two, "vip", T0), false, "deny", "quota_exceeded", 61 * SEC);
    /* Without the spec in the call, only the tool's own limits apply. */
    for (int i = 0; i < 10; i++)
        assert_allow(decide(c, &f->m, one, gate_agent_id("joe"), T0), false);
    const struct quota_spec *spec = config_agent_quota(c, "joe");
    struct quota_slot *q = state_find_quota(&f->m, gate_agent_quota_key(gate_agent_id("joe"), spec));
    assert_non_null(q);
    assert_int_equal(q->ring.used, 4);
}

static void test_observe_quota_consumes_as_enforcement(void **state)
{
    struct fixture *f = *state;
    char text[512];
    snprintf(text, sizeof text, "[enact]\nmode = observe\n%s", QUOTA_TOOL);
    const struct enact_config *obs = cfg_from(f, text);
    const struct enact_config *enf = cfg_from(f, QUOTA_TOOL);
    const struct tool *to = tool_named(obs, "api"), *te = tool_named(enf, "api");
    uint64_t a = gate_agent_id("a");
    for (int i = 0; i < 3; i++)
        assert_allow(decide(obs, &f->m, to, a, T0), false);
    for (int i = 0; i < 10; i++)
        assert_refused(decide(obs, &f->m, to, a, T0), true, "would_deny", "quota_exceeded",
                       61 * SEC);
    /* The ring counts the 3 admitted calls, not the would-be-refused ones. */
    struct quota_slot *q = state_find_quota(&f->m, gate_tool_quota_key(a, to));
    assert_non_null(q);
    assert_int_equal(q->ring.used, 3);
    /* Enforcing now: refused at once, and free again when enforcement's own
     * count would be. */
    assert_refused(decide(enf, &f->m, te, a, T0), false, "deny", "quota_exceeded", 61 * SEC);
    assert_allow(decide(enf, &f->m, te, a, T0 + 61 * SEC), false);
}

/* quota.warn_remaining: a 1-hour quota of 10 (60 slots of 60 s), warned
 * of at 3 left. */
#define HOUR (3600 * SEC)
static const char *WARN_TOOL = "[tool.api]\nconnect = 10.0.0.1:443\n"
                               "quota.max_actions = 10\nquota.window_hours = 1\n"
                               "quota.warn_remaining = 3\n";

/* max + 2 calls of agent at now, into a quota of max with nothing used:
 * the first max are admitted, the i-th leaving max - i, and report low
 * exactly on the low_at-th; the 2 after are refused and report nothing.
 * agent_quota: the [agent] quota's fields, else the tool's (the other
 * quota never reports low). */
static void calls_warning_at(const struct enact_config *c, struct state_map *m,
                             const struct tool *t, const char *agent, uint64_t now, int max,
                             int low_at, bool agent_quota)
{
    for (int i = 1; i <= max + 2; i++) {
        struct gate_result g = decide_as(c, m, t, agent, now);
        bool low = agent_quota ? g.agent_quota_low : g.tool_quota_low;
        uint32_t left = agent_quota ? g.agent_quota_left : g.tool_quota_left;
        bool other = agent_quota ? g.tool_quota_low : g.agent_quota_low;
        assert_false(other);
        if (i > max) {
            assert_refused(g, false, "deny", "quota_exceeded", g.retry_after_ns);
            assert_false(low);
            continue;
        }
        assert_allow(g, false);
        if (low != (i == low_at))
            fail_msg("call %d of %s: quota_low %d, expected on call %d only", i, agent, low,
                     low_at);
        assert_int_equal(left, (uint32_t)(max - i));
    }
}

/* Exactly the call that leaves 3 reports low, once: not the ones after,
 * not the refusals; once the window has passed, the quota is full again
 * and falling to 3 warns once more. */
static void test_quota_low_once_per_window(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, WARN_TOOL);
    const struct tool *t = tool_named(c, "api");
    calls_warning_at(c, &f->m, t, "a", T0, 10, 7, false);
    /* Later in the same window, still spent: refused, no warning. */
    struct gate_result g = decide_as(c, &f->m, t, "a", T0 + HOUR / 2);
    assert_refused(g, false, "deny", "quota_exceeded", g.retry_after_ns);
    assert_false(g.tool_quota_low);
    /* The window and a slot later: every action forgotten. */
    calls_warning_at(c, &f->m, t, "a", T0 + HOUR + 60 * SEC, 10, 7, false);
}

/* Once per window counts from the warning: actions leave one slot at a
 * time, and a quota that climbs back above 3 and falls to it again within
 * an hour of its warning says nothing. */
static void test_quota_low_not_twice_in_a_window(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, WARN_TOOL);
    const struct tool *t = tool_named(c, "api");
    uint64_t t0 = T0 - T0 % (60 * SEC); /* a slot boundary */
    for (int i = 1; i <= 7; i++) {
        struct gate_result g = decide_as(c, &f->m, t, "a", t0 + (uint64_t)i * 60 * SEC);
        assert_allow(g, false);
        assert_int_equal(g.tool_quota_low, i == 7);
        assert_int_equal(g.tool_quota_left, 10 - i);
    }
    /* The first action (slot 1) leaves at slot 62: 4 left, then 3 again,
     * 55 minutes after the warning. */
    struct gate_result g = decide_as(c, &f->m, t, "a", t0 + 62 * 60 * SEC);
    assert_allow(g, false);
    assert_int_equal(g.tool_quota_left, 3);
    assert_false(g.tool_quota_low);
}

/* 20% of 10: warned of at 2 left, on the 8th call. */
static void test_quota_low_percent(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.api]\nconnect = 10.0.0.1:443\n"
                    "quota.max_actions = 10\nquota.window_hours = 1\n"
                    "quota.warn_remaining = 20%\n");
    const struct tool *t = tool_named(c, "api");
    assert_int_equal(t->quota.warn_at, 2);
    calls_warning_at(c, &f->m, t, "a", T0, 10, 8, false);
}

/* The [agent] quota warns the same way, over all the agent's tools; each
 * agent has its own warning. */
static void test_agent_quota_low(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.one]\nexec = a\n[tool.two]\nexec = b\n"
                    "[agent]\nquota.max_actions = 10\nquota.window_hours = 1\n"
                    "quota.warn_remaining = 3\n");
    const struct tool *one = tool_named(c, "one"), *two = tool_named(c, "two");
    for (int i = 1; i <= 10; i++) {
        struct gate_result g = decide_as(c, &f->m, i % 2 ? one : two, "joe", T0);
        assert_allow(g, false);
        assert_int_equal(g.agent_quota_low, i == 7);
        assert_int_equal(g.agent_quota_left, 10 - i);
        assert_false(g.tool_quota_low);
    }
    struct gate_result g = decide_as(c, &f->m, one, "joe", T0);
    assert_refused(g, false, "deny", "quota_exceeded", g.retry_after_ns);
    assert_false(g.agent_quota_low);
    /* Another agent: its own quota, its own warning. */
    calls_warning_at(c, &f->m, two, "ann", T0, 10, 7, true);
    /* A window later, joe is warned again. */
    calls_warning_at(c, &f->m, one, "joe", T0 + HOUR + 60 * SEC, 10, 7, true);
}

/* A tool's and the agent's quota falling to their levels on the same call
 * both report it. */
static void test_tool_and_agent_quota_low_together(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.api]\nconnect = 10.0.0.1:443\n"
                    "quota.max_actions = 10\nquota.window_hours = 1\nquota.warn_remaining = 3\n"
                    "[agent]\nquota.max_actions = 20\nquota.window_hours = 1\n"
                    "quota.warn_remaining = 13\n");
    const struct tool *t = tool_named(c, "api");
    for (int i = 1; i <= 7; i++) {
        struct gate_result g = decide_as(c, &f->m, t, "joe", T0);
        assert_allow(g, false);
        assert_int_equal(g.tool_quota_low, i == 7);
        assert_int_equal(g.agent_quota_low, i == 7);
        assert_int_equal(g.tool_quota_left, 10 - i);
        assert_int_equal(g.agent_quota_left, 20 - i);
    }
}

/* Without quota.warn_remaining a quota never reports low. */
static void test_quota_without_warn_never_low(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.api]\nconnect = 10.0.0.1:443\n"
                    "quota.max_actions = 10\nquota.window_hours = 1\n"
                    "[agent]\nquota.max_actions = 10\nquota.window_hours = 1\n");
    const struct tool *t = tool_named(c, "api");
    assert_int_equal(t->quota.warn_at, -1);
    for (int i = 1; i <= 12; i++) {
        struct gate_result g = decide_as(c, &f->m, t, "a", T0);
        assert_false(g.tool_quota_low);
        assert_false(g.agent_quota_low);
        if (i <= 10)
            assert_allow(g, false);
    }
}

static const char *BREAKER_TOOL = "[tool.api]\nconnect = 10.0.0.2:443\n"
                                  "breaker.failure_threshold = 2\nbreaker.success_threshold = 1\n"
                                  "breaker.timeout_seconds = 10\n"
                                  "[tool.free]\nconnect = 10.0.0.3:443\n";

static struct gate_result decide_owner(const struct enact_config *c, struct state_map *m,
                                       const struct tool *t, int32_t owner, uint64_t now)
{
    struct gate_call call = {.tool = t, .agent_id = gate_agent_id("a"), .owner = owner,
                             .mono_ns = now, .real_ns = now};
    return gate_decide(c, local_store(m), &call);
}

/* Opens the breaker of t at now: two failures. */
static void open_it(struct fixture *f, const struct enact_config *c, const struct tool *t,
                    uint64_t now)
{
    struct breaker_event ev;
    for (int i = 0; i < 2; i++) {
        assert_allow(decide(c, &f->m, t, gate_agent_id("a"), now), false);
        gate_report(local_store(&f->m), t, gettid(), now, OUTCOME_FAILURE, &ev);
    }
    assert_true(ev.changed);
    assert_int_equal(ev.from, BREAKER_CLOSED);
    assert_int_equal(ev.to, BREAKER_OPEN);
}

/* A pid that existed and does not any more. */
static int32_t dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        th_child_exit(0);
    assert_int_equal(waitpid(p, NULL, 0), p);
    return (int32_t)p;
}

static void test_breaker_leases(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, BREAKER_TOOL);
    const struct tool *t = tool_named(c, "api");
    open_it(f, c, t, T0);
    assert_refused(decide(c, &f->m, t, gate_agent_id("b"), T0 + SEC), false, "deny",
                   "circuit_open", 9 * SEC);
    /* One probe at a time (success_threshold = 1). */
    struct gate_result g = decide(c, &f->m, t, gate_agent_id("a"), T0 + 10 * SEC);
    assert_true(g.probe);
    assert_true(g.breaker.changed);
    assert_refused(decide(c, &f->m, t, gate_agent_id("a"), T0 + 10 * SEC), false, "deny",
                   "circuit_open", 0);
    /* A neutral outcome gives the lease back without a verdict. */
    struct breaker_event ev;
    gate_report(local_store(&f->m), t, gettid(), T0 + 11 * SEC, OUTCOME_NEUTRAL, &ev);
    assert_false(ev.changed);
    g = decide(c, &f->m, t, gate_agent_id("a"), T0 + 11 * SEC);
    assert_true(g.probe);
    assert_false(g.breaker.changed);
    /* A probe whose owner died frees its lease at once ... */
    gate_report(local_store(&f->m), t, gettid(), T0 + 11 * SEC, OUTCOME_NEUTRAL, &ev);
    int32_t gone = dead_pid();
    assert_true(decide_owner(c, &f->m, t, gone, T0 + 12 * SEC).probe);
    g = decide(c, &f->m, t, gate_agent_id("a"), T0 + 12 * SEC);
    assert_true(g.probe);
    /* ... and one that never reports frees it at its deadline (the probe
     * lease lasts 30 s without timeout_seconds). */
    assert_refused(decide(c, &f->m, t, gate_agent_id("a"), T0 + 42 * SEC - 1), false, "deny",
                   "circuit_open", 0);
    assert_true(decide(c, &f->m, t, gate_agent_id("a"), T0 + 42 * SEC).probe);
    /* Its success closes the breaker. */
    gate_report(local_store(&f->m), t, gettid(), T0 + 43 * SEC, OUTCOME_SUCCESS, &ev);
    assert_true(ev.changed);
    assert_int_equal(ev.from, BREAKER_HALF_OPEN);
    assert_int_equal(ev.to, BREAKER_CLOSED);
    assert_allow(decide(c, &f->m, t, gate_agent_id("a"), T0 + 43 * SEC), false);
    /* Every lock was given back. */
    assert_int_equal(state_find_breaker(&f->m, t->breaker_id)->lock, 0);

    /* Tools without a breaker: reports are no-ops and claim nothing. */
    const struct tool *free_tool = tool_named(c, "free");
    gate_report(local_store(&f->m), free_tool, gettid(), T0, OUTCOME_FAILURE, &ev);
    assert_false(ev.changed);
    assert_null(state_find_breaker(&f->m, free_tool->breaker_id));
    /* No state: nothing to report to. */
    gate_report(local_store(NULL), t, gettid(), T0, OUTCOME_FAILURE, &ev);
    assert_false(ev.changed);
}

static void test_dry_run_simulates(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.rm]\nexec = rm\ndry_run = true\nrate.max_calls_per_minute = 1\n"
                    "quota.max_actions = 1\n[tool.ls]\nexec = ls\nrate.max_calls_per_minute = 1\n");
    const struct tool *rm = tool_named(c, "rm");
    for (int i = 0; i < 20; i++) {
        struct gate_result g = decide(c, &f->m, rm, gate_agent_id("a"), T0);
        assert_int_equal(g.action, GATE_SIMULATE);
        assert_true(g.audit);
        assert_string_equal(g.verdict, "dry_run");
        assert_null(g.reason);
        g = decide(c, NULL, rm, gate_agent_id("a"), T0); /* needs no state */
        assert_int_equal(g.action, GATE_SIMULATE);
    }
    assert_null(state_find_bucket(&f->m, gate_bucket_key(gate_agent_id("a"), rm)));
    assert_null(state_find_quota(&f->m, gate_tool_quota_key(gate_agent_id("a"), rm)));
    /* The other tool is enforced. */
    assert_allow(decide(c, &f->m, tool_named(c, "ls"), gate_agent_id("a"), T0), false);
    assert_refused(decide(c, &f->m, tool_named(c, "ls"), gate_agent_id("a"), T0), false, "deny",
                   "rate_limited", 60 * SEC);
}

/* A full table gives way to a new key only where an entry has been idle:
 * a bucket full for BUCKET_IDLE_NS, a quota ring with nothing left in its
 * window. The newcomer starts fresh. */
static void test_idle_entries_taken_over_when_full(void **state)
{
    struct fixture *f = *state;
    without_growth(f);
    const struct enact_config *c = cfg_from(f, RATED);
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("a");
    for (uint64_t i = 0; i < f->m.nbuckets; i++)
        *state_bucket(&f->m, 2 * i + 1) = T0 - BUCKET_IDLE_NS + 1; /* idle, not long enough */
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "state_full", 0);
    for (uint64_t i = 0; i < f->m.nbuckets; i++)
        *state_bucket(&f->m, 2 * i + 1) = T0 - BUCKET_IDLE_NS; /* full for the idle time */
    for (int i = 0; i < 3; i++)
        assert_allow(decide(c, &f->m, t, a, T0), false);
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "rate_limited", SEC);
    assert_non_null(state_find_bucket(&f->m, gate_bucket_key(a, t)));

    const struct enact_config *qc = cfg_from(f, QUOTA_TOOL);
    const struct tool *qt = tool_named(qc, "api");
    struct quota_policy old = {.max_actions = 10, .slot_ns = SEC};
    for (uint64_t i = 0; i < f->m.nquotas; i++) {
        struct quota_slot *q = state_quota(&f->m, 2 * i + 1);
        quota_consume(&q->ring, &old, T0 - 61 * SEC); /* left its window a second ago */
        q->slot_ns = old.slot_ns;
    }
    assert_allow(decide(qc, &f->m, qt, a, T0), false);
    struct quota_slot *mine = state_find_quota(&f->m, gate_tool_quota_key(a, qt));
    assert_non_null(mine);
    assert_int_equal(quota_remaining(&mine->ring, &qt->quota.policy, T0),
                     qt->quota.policy.max_actions - 1);
}

static void test_quota_and_breaker_tables_full(void **state)
{
    struct fixture *f = *state;
    without_growth(f);
    const struct enact_config *deny = cfg_from(f, QUOTA_TOOL);
    char text[512];
    snprintf(text, sizeof text, "[enact]\non_error = allow\n%s", QUOTA_TOOL);
    const struct enact_config *allow = cfg_from(f, text);
    /* Every slot holds an action in its window: none may be taken over. */
    struct quota_policy busy = {.max_actions = 10, .slot_ns = 1440 * SEC};
    for (uint64_t i = 0; i < f->m.nquotas; i++) {
        struct quota_slot *q = state_quota(&f->m, 2 * i + 1);
        assert_non_null(q);
        quota_consume(&q->ring, &busy, T0);
        q->slot_ns = busy.slot_ns;
    }
    uint64_t a = gate_agent_id("a");
    assert_refused(decide(deny, &f->m, tool_named(deny, "api"), a, T0), false, "deny",
                   "state_full", 0);
    assert_refused(decide(allow, &f->m, tool_named(allow, "api"), a, T0), true, "error",
                   "state_full", 0);
    /* An agent quota needs a slot too. */
    const struct enact_config *aq = cfg_from(f, "[tool.x]\nexec = x\n[agent]\nquota.max_actions = 5\n");
    assert_refused(decide_as(aq, &f->m, tool_named(aq, "x"), "a", T0), false, "deny",
                   "state_full", 0);
    /* And a breaker. */
    const struct enact_config *br = cfg_from(f, BREAKER_TOOL);
    for (uint64_t i = 0; i < f->m.nbreakers; i++)
        assert_non_null(state_breaker(&f->m, 2 * i + 1));
    assert_refused(decide(br, &f->m, tool_named(br, "api"), a, T0), false, "deny", "state_full",
                   0);
    assert_allow(decide(br, &f->m, tool_named(br, "free"), a, T0), false);
}

/* A lock whose holder died is taken over at once; one held by a live
 * holder past the wait is on_error's to decide (state_error). */
static void test_quota_lock_holders(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, QUOTA_TOOL);
    const struct tool *t = tool_named(c, "api");
    uint64_t a = gate_agent_id("a");
    assert_allow(decide(c, &f->m, t, a, T0), false);
    struct quota_slot *q = state_find_quota(&f->m, gate_tool_quota_key(a, t));
    assert_non_null(q);
    uint32_t far = pidlock_clock_ms() + 3600 * 1000;
    q->lock = (uint64_t)(uint32_t)dead_pid() << 32 | far;
    assert_allow(decide(c, &f->m, t, a, T0), false);
    assert_int_equal(q->lock, 0);
    assert_int_equal(q->ring.used, 2);
    /* A live holder (our parent) that keeps it: refused after the wait,
     * nothing counted. */
    q->lock = (uint64_t)(uint32_t)getppid() << 32 | far;
    assert_refused(decide(c, &f->m, t, a, T0), false, "deny", "state_error", 0);
    assert_int_equal(q->ring.used, 2);
    assert_int_equal(q->lock >> 32, (uint64_t)(uint32_t)getppid()); /* not ours to free */
    q->lock = 0;
}

/* ---- verdicts that need no store ------------------------------------------ */

struct unfollowable_case {
    const char *enact; /* the [enact] section's keys */
    const char *reason;
    enum gate_action action;
    bool audit;
    const char *verdict;
    int err;
};

static void test_unfollowable_verdicts(void **state)
{
    struct fixture *f = *state;
    static const struct unfollowable_case cases[] = {
        /* static_binaries = audit, the default */
        {"", "static_binary", GATE_PROCEED, true, "allow", 0},
        {"static_binaries = allow\n", "static_binary", GATE_PROCEED, false, "allow", 0},
        {"static_binaries = allow\n", "unreadable_program", GATE_PROCEED, false, "allow", 0},
        {"static_binaries = audit\n", "static_binary", GATE_PROCEED, true, "allow", 0},
        {"static_binaries = audit\n", "setuid", GATE_PROCEED, true, "allow", 0},
        {"static_binaries = audit\n", "unreadable_program", GATE_PROCEED, true, "allow", 0},
        {"static_binaries = deny\n", "static_binary", GATE_REFUSE, true, "deny", EPERM},
        {"static_binaries = deny\n", "setuid", GATE_REFUSE, true, "deny", EPERM},
        /* Whether an unreadable program is static is not known: on_error. */
        {"static_binaries = deny\n", "unreadable_program", GATE_REFUSE, true, "deny", EPERM},
        {"static_binaries = deny\non_error = allow\n", "unreadable_program", GATE_PROCEED, true,
         "error", 0},
        {"static_binaries = deny\non_error = allow\n", "static_binary", GATE_REFUSE, true,
         "deny", EPERM},
        {"static_binaries = deny\nmode = observe\n", "static_binary", GATE_PROCEED, true,
         "would_deny", 0},
        /* strict refuses whatever it cannot follow, on_error or not */
        {"strict = true\n", "static_binary", GATE_REFUSE, true, "deny", EPERM},
        {"strict = true\non_error = allow\n", "unreadable_program", GATE_REFUSE, true, "deny",
         EPERM},
        {"strict = true\nstatic_binaries = audit\n", "setuid", GATE_REFUSE, true, "deny",
         EPERM},
        {"strict = true\nmode = observe\n", "setuid", GATE_PROCEED, true, "would_deny", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct unfollowable_case *k = &cases[i];
        char text[512];
        snprintf(text, sizeof text, "[enact]\n%s%s", k->enact, RATED);
        struct gate_result g = gate_unfollowable(cfg_from(f, text), k->reason);
        print_message("case %zu: %s%s\n", i, k->enact, k->reason);
        assert_int_equal(g.action, k->action);
        assert_int_equal(g.audit, k->audit);
        assert_string_equal(g.verdict, k->verdict);
        assert_int_equal(g.err, k->err);
        if (k->audit) {
            assert_string_equal(g.reason, k->reason);
            assert_non_null(g.detail);
        }
        f->nconfigs--; /* the fixture holds 16: reuse the slot */
        config_free(f->cfgs[f->nconfigs]);
    }
    /* No config, nothing to follow. */
    assert_int_equal(gate_unfollowable(NULL, "static_binary").action, GATE_PROCEED);
}

static void test_strict_syscall(void **state)
{
    struct fixture *f = *state;
    char text[512];
    snprintf(text, sizeof text, "[enact]\nstrict = true\n%s", RATED);
    struct gate_result g = gate_strict_syscall(cfg_from(f, text));
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, ENOSYS);
    assert_true(g.audit);
    assert_string_equal(g.verdict, "deny");
    assert_string_equal(g.reason, "strict");
    snprintf(text, sizeof text, "[enact]\nstrict = true\nmode = observe\n%s", RATED);
    g = gate_strict_syscall(cfg_from(f, text));
    assert_int_equal(g.action, GATE_PROCEED);
    assert_int_equal(g.err, 0);
    assert_string_equal(g.verdict, "would_deny");
}

static void test_without_config(void **state)
{
    (void)state;
    struct gate_result g = gate_without_config();
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, EPERM);
    assert_false(g.audit); /* said once on stderr at start */
}

static void test_trusts_state(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX], text[PATH_MAX + 256], why[512];
    th_path(path, sizeof path, f->dir, "shared.state");
    th_write_file(path, "");
    snprintf(text, sizeof text, "[enact]\nstate = %s\n%s", path, RATED);
    const struct enact_config *lax = cfg_from(f, text);
    snprintf(text, sizeof text, "[enact]\nstrict = true\nstate = %s\n%s", path, RATED);
    const struct enact_config *strict = cfg_from(f, text);
    assert_int_equal(chmod(path, 0600), 0);
    assert_true(gate_trusts_state(strict, why, sizeof why));
    /* Others may write it: only strict mode refuses it, and says why. */
    assert_int_equal(chmod(path, 0666), 0);
    assert_true(gate_trusts_state(lax, why, sizeof why));
    why[0] = '\0';
    assert_false(gate_trusts_state(strict, why, sizeof why));
    assert_non_null(strstr(why, path));
}

/* ---- what the caller sees ------------------------------------------------- */

static void test_refusal_errno(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[tool.db]\nconnect = 127.0.0.1:5432\nerrno = ECONNREFUSED\n"
                    "rate.max_calls_per_minute = 60\nrate.burst_size = 1\n");
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("a");
    assert_int_equal(decide(c, &f->m, t, a, T0).err, 0);
    struct gate_result g = decide(c, &f->m, t, a, T0);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, ECONNREFUSED);
    /* on_error = deny refuses with the tool's errno too */
    g = decide(c, NULL, t, a, T0);
    assert_string_equal(g.reason, "state_error");
    assert_int_equal(g.err, ECONNREFUSED);
}

static void test_on_limit_wait(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, RATED);
    const struct tool *t = tool_named(c, "db");
    uint64_t a = gate_agent_id("a");
    struct gate_call call = {.tool = t, .agent_id = a, .owner = gettid(), .mono_ns = T0,
                             .real_ns = T0, .may_wait_ns = 2 * SEC};
    for (int i = 0; i < 3; i++)
        assert_int_equal(gate_decide(c, local_store(&f->m), &call).action, GATE_PROCEED);
    /* One token a second: within the caller's patience, waited out, no record. */
    struct gate_result g = gate_decide(c, local_store(&f->m), &call);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.wait_ns, SEC);
    assert_false(g.audit);
    /* Beyond it: refused and recorded. */
    call.may_wait_ns = SEC / 2;
    g = gate_decide(c, local_store(&f->m), &call);
    assert_int_equal(g.wait_ns, 0);
    assert_refused(g, false, "deny", "rate_limited", SEC);
    /* What Enact cannot decide is never waited for. */
    call.may_wait_ns = 1000 * SEC;
    g = gate_decide(c, local_store(NULL), &call);
    assert_int_equal(g.wait_ns, 0);
    assert_refused(g, false, "deny", "state_error", 0);
}

/* ---- the gate over another store ------------------------------------------ */

/* A store that answers what it is told and remembers what it was asked: the
 * gate must work through the interface alone. */
struct scripted_store {
    struct store_admission answer;
    struct store_limits asked;
    struct store_now asked_at;
    int admits, reports;
    enum call_outcome outcome;
};

static struct store_admission scripted_admit(void *impl, const struct store_limits *l,
                                             const struct store_now *now)
{
    struct scripted_store *s = impl;
    s->asked = *l;
    s->asked_at = *now;
    s->admits++;
    return s->answer;
}

static void scripted_report(void *impl, const struct breaker_policy *p, uint64_t key,
                            const struct store_now *now, enum call_outcome outcome,
                            struct breaker_event *ev)
{
    struct scripted_store *s = impl;
    (void)p, (void)key, (void)now;
    s->reports++;
    s->outcome = outcome;
    *ev = (struct breaker_event){.changed = true, .from = BREAKER_HALF_OPEN,
                                 .to = BREAKER_CLOSED};
}

static void test_gate_over_any_store(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c =
        cfg_from(f, "[agent]\nquota.max_actions = 10\n"
                    "[tool.db]\nconnect = 127.0.0.1:5432\nrate.max_calls_per_minute = 60\n"
                    "quota.max_actions = 5\nbreaker.failure_threshold = 2\n");
    const struct tool *t = tool_named(c, "db");
    static const struct store_ops ops = {.admit = scripted_admit, .report = scripted_report};
    struct scripted_store s = {.answer = {.answer = STORE_ADMITTED, .probe = true}};
    struct store st = {.ops = &ops, .impl = &s};
    uint64_t a = gate_agent_id("a");
    struct gate_call call = {.tool = t, .agent_quota = config_agent_quota(c, "a"),
                             .agent_id = a, .owner = 7, .mono_ns = T0, .real_ns = T0 + 1};
    struct gate_result g = gate_decide(c, st, &call);
    assert_int_equal(g.action, GATE_PROCEED);
    assert_true(g.probe);
    /* Every limit, with the keys enact status reads. */
    assert_ptr_equal(s.asked.rate, &t->rate);
    assert_int_equal(s.asked.bucket_key, gate_bucket_key(a, t));
    assert_ptr_equal(s.asked.tool_quota, &t->quota.policy);
    assert_int_equal(s.asked.tool_quota_key, gate_tool_quota_key(a, t));
    assert_ptr_equal(s.asked.agent_quota, &c->agent_quota.policy);
    assert_int_equal(s.asked.agent_quota_key, gate_agent_quota_key(a, &c->agent_quota));
    assert_ptr_equal(s.asked.breaker, &t->breaker);
    assert_int_equal(s.asked.breaker_key, t->breaker_id);
    assert_int_equal(s.asked_at.owner, 7);
    assert_int_equal(s.asked_at.real_ns, T0 + 1);

    s.answer = (struct store_admission){.answer = STORE_REFUSED, .reason = "quota_exceeded",
                                        .retry_after_ns = 5 * SEC};
    assert_refused(gate_decide(c, st, &call), false, "deny", "quota_exceeded", 5 * SEC);
    s.answer = (struct store_admission){.answer = STORE_UNAVAILABLE, .reason = "state_full"};
    assert_refused(gate_decide(c, st, &call), false, "deny", "state_full", 0);

    struct breaker_event ev;
    gate_report(st, t, 7, T0, OUTCOME_FAILURE, &ev);
    assert_int_equal(s.reports, 1);
    assert_int_equal(s.outcome, OUTCOME_FAILURE);
    assert_true(ev.changed);

    /* A tool with no limit, or simulated, never asks the store. */
    int before = s.admits;
    const struct enact_config *d =
        cfg_from(f, "[tool.free]\nexec = ls\n[tool.sim]\nexec = rm\ndry_run = true\n"
                    "rate.max_calls_per_minute = 1\n");
    call.agent_quota = NULL;
    call.tool = tool_named(d, "free");
    assert_allow(gate_decide(d, st, &call), false);
    call.tool = tool_named(d, "sim");
    assert_int_equal(gate_decide(d, st, &call).action, GATE_SIMULATE);
    assert_int_equal(s.admits, before);
    gate_report(st, tool_named(d, "free"), 7, T0, OUTCOME_FAILURE, &ev);
    assert_int_equal(s.reports, 1);
}

/* ---- approval -------------------------------------------------------------- */

static const char *APPROVING = "[tool.high]\nexec = rm\nerrno = EACCES\napprove = high\n"
                               "[tool.medium]\nexec = git\napprove = medium\n"
                               "[tool.always]\nexec = kubectl\napprove = always\n"
                               "[tool.never]\nexec = ls\napprove = never\n"
                               "[tool.plain]\nexec = cat\n"
                               "[tool.lenient]\nexec = curl\napprove = high\n"
                               "approve.on_timeout = allow\napprove.timeout_seconds = 10\n";

static void test_needs_approval_by_level(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    static const enum impact_level levels[] = {IMPACT_UNKNOWN, IMPACT_LOW, IMPACT_MEDIUM,
                                               IMPACT_HIGH};
    static const struct {
        const char *tool;
        bool wants[4]; /* UNKNOWN, LOW, MEDIUM, HIGH */
    } cases[] = {
        {"high", {false, false, false, true}},
        {"medium", {false, false, true, true}},
        {"always", {true, true, true, true}},
        {"never", {false, false, false, false}},
        {"plain", {false, false, false, false}}, /* never is the default */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tool *t = tool_named(c, cases[i].tool);
        for (size_t k = 0; k < 4; k++)
            if (gate_needs_approval(t, levels[k]) != cases[i].wants[k])
                fail_msg("tool %s, impact %s: needs approval %d, want %d", cases[i].tool,
                         impact_level_name(levels[k]), !cases[i].wants[k], cases[i].wants[k]);
    }
    assert_int_equal(tool_named(c, "plain")->approve, APPROVE_NEVER);
}

/* The approve.* keys as loaded: given, or their defaults. */
static void test_approval_config_values(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    const struct tool *high = tool_named(c, "high"), *lenient = tool_named(c, "lenient");
    assert_int_equal(high->approve, APPROVE_HIGH);
    assert_true(high->approve_timeout_seconds == 300);
    assert_int_equal(high->approve_on_timeout, APPROVE_TIMEOUT_DENY);
    assert_null(high->approve_command);
    assert_int_equal(high->deny_errno, EACCES);
    assert_true(lenient->approve_timeout_seconds == 10);
    assert_int_equal(lenient->approve_on_timeout, APPROVE_TIMEOUT_ALLOW);
    const struct enact_config *cmd =
        cfg_from(f, "[tool.x]\nexec = rm\napprove = always\napprove.command = /bin/true\n");
    assert_non_null(tool_named(cmd, "x")->approve_command);
    assert_string_equal(tool_named(cmd, "x")->approve_command, "/bin/true");
}

static void test_approval_granted_proceeds(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    struct gate_result g = gate_approval(c, tool_named(c, "high"), APPROVAL_GRANTED);
    assert_int_equal(g.action, GATE_PROCEED);
    assert_int_equal(g.err, 0);
    assert_string_equal(g.verdict, "allow");
    assert_null(g.reason);
    assert_int_equal(g.wait_ns, 0);
}

static void test_approval_refused_denies(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    struct gate_result g = gate_approval(c, tool_named(c, "high"), APPROVAL_REFUSED);
    assert_refused(g, false, "deny", "approval_denied", 0);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, EACCES);
    assert_non_null(g.detail);
    /* Without an errno of its own: EPERM, the default. */
    g = gate_approval(c, tool_named(c, "medium"), APPROVAL_REFUSED);
    assert_refused(g, false, "deny", "approval_denied", 0);
    assert_int_equal(g.err, EPERM);
}

static void test_approval_timed_out(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    /* on_timeout = deny (the default): refused. */
    struct gate_result g = gate_approval(c, tool_named(c, "high"), APPROVAL_TIMED_OUT);
    assert_refused(g, false, "deny", "approval_expired", 0);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, EACCES);
    /* on_timeout = allow: proceeds, with a record that says why. */
    g = gate_approval(c, tool_named(c, "lenient"), APPROVAL_TIMED_OUT);
    assert_refused(g, true, "allow", "approval_expired", 0);
    assert_int_equal(g.err, 0);
    assert_non_null(g.detail);
}

/* A non-blocking caller: refused for now, with no record (the request's
 * own record said so). */
static void test_approval_waiting(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *c = cfg_from(f, APPROVING);
    struct gate_result g = gate_approval(c, tool_named(c, "high"), APPROVAL_WAITING);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, EACCES);
    assert_false(g.audit);
    assert_string_equal(g.verdict, "deny");
    assert_non_null(g.reason);
    assert_string_equal(g.reason, "approval_pending");
}

static void test_approval_observed(void **state)
{
    struct fixture *f = *state;
    char text[1024];
    snprintf(text, sizeof text, "[enact]\nmode = observe\n%s", APPROVING);
    const struct enact_config *c = cfg_from(f, text);
    struct gate_result g = gate_approval(c, tool_named(c, "high"), APPROVAL_OBSERVED);
    assert_refused(g, true, "would_deny", "approval_pending", 0);
    assert_int_equal(g.err, 0);
    assert_non_null(g.detail);
}

/* No request could be held: on_error decides. */
static void test_approval_no_room(void **state)
{
    struct fixture *f = *state;
    const struct enact_config *deny = cfg_from(f, APPROVING);
    struct gate_result g = gate_approval(deny, tool_named(deny, "high"), APPROVAL_NO_ROOM);
    assert_refused(g, false, "deny", "state_error", 0);
    assert_int_equal(g.action, GATE_REFUSE);
    assert_int_equal(g.err, EACCES);
    char text[1024];
    snprintf(text, sizeof text, "[enact]\non_error = allow\n%s", APPROVING);
    const struct enact_config *allow = cfg_from(f, text);
    g = gate_approval(allow, tool_named(allow, "high"), APPROVAL_NO_ROOM);
    assert_refused(g, true, "error", "state_error", 0);
    assert_int_equal(g.err, 0);
}

/* Loads text that must fail; its first diagnostic is at line and names key. */
static void expect_load_error(struct fixture *f, const char *text, unsigned line, const char *key)
{
    static int nbad;
    char path[PATH_MAX], name[32];
    snprintf(name, sizeof name, "bad%d.ini", nbad++);
    th_path(path, sizeof path, f->dir, name);
    th_write_file(path, text);
    struct config_diag diag = {0};
    struct enact_config *cfg = config_load(path, &diag);
    if (cfg) {
        config_free(cfg);
        fail_msg("loaded with %s and no approve:\n%s", key, text);
    }
    assert_true(diag.n >= 1);
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
    bool found = false;
    for (size_t i = 0; i < diag.n; i++)
        if (th_starts_with(diag.lines[i], prefix) && strstr(diag.lines[i], key) &&
            diag.at[i] == line)
            found = true;
    if (!found) {
        for (size_t i = 0; i < diag.n; i++)
            print_message("  %s\n", diag.lines[i]);
        config_diag_free(&diag);
        fail_msg("no diagnostic at line %u naming %s", line, key);
    }
    config_diag_free(&diag);
}

static void test_approval_keys_need_approve(void **state)
{
    struct fixture *f = *state;
    static const char *const keys[] = {"approve.timeout_seconds = 10",
                                       "approve.on_timeout = allow",
                                       "approve.command = /bin/true"};
    static const char *const names[] = {"approve.timeout_seconds", "approve.on_timeout",
                                        "approve.command"};
    char text[512];
    for (size_t i = 0; i < 3; i++) {
        /* No approve at all. */
        snprintf(text, sizeof text, "[tool.x]\nexec = rm\n%s\n", keys[i]);
        expect_load_error(f, text, 3, names[i]);
        /* approve = never, before or after. */
        snprintf(text, sizeof text, "[tool.x]\nexec = rm\napprove = never\n%s\n", keys[i]);
        expect_load_error(f, text, 4, names[i]);
        snprintf(text, sizeof text, "[tool.x]\n%s\nexec = rm\napprove = never\n", keys[i]);
        expect_load_error(f, text, 2, names[i]);
        /* With approve, it loads. */
        snprintf(text, sizeof text, "[tool.x]\nexec = rm\napprove = medium\n%s\n", keys[i]);
        cfg_from(f, text);
    }
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
        T(test_tool_quota),
        T(test_agent_quota),
        T(test_observe_quota_consumes_as_enforcement),
        T(test_quota_low_once_per_window),
        T(test_quota_low_not_twice_in_a_window),
        T(test_quota_low_percent),
        T(test_agent_quota_low),
        T(test_tool_and_agent_quota_low_together),
        T(test_quota_without_warn_never_low),
        T(test_breaker_leases),
        T(test_dry_run_simulates),
        T(test_idle_entries_taken_over_when_full),
        T(test_quota_and_breaker_tables_full),
        T(test_quota_lock_holders),
        T(test_unfollowable_verdicts),
        T(test_strict_syscall),
        T(test_without_config),
        T(test_trusts_state),
        T(test_refusal_errno),
        T(test_on_limit_wait),
        T(test_gate_over_any_store),
        T(test_needs_approval_by_level),
        T(test_approval_config_values),
        T(test_approval_granted_proceeds),
        T(test_approval_refused_denies),
        T(test_approval_timed_out),
        T(test_approval_waiting),
        T(test_approval_observed),
        T(test_approval_no_room),
        T(test_approval_keys_need_approve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
