/* The examples of the safety guide (shared/reference/enact-safety-guide.md),
 * section by section, through the real gate: a state file in a temporary
 * folder, the guide's objects written as INI, clocks injected. Where the
 * guide calls a Python method, the comment names it. */
#include "gate_fixture.h"

#include "backoff.h"
#include "bucket.h"
#include "impact.h"
#include "quota.h"

/* ==== Rate Limiting ======================================================= */

/* RateLimiter(max_calls_per_minute=60, burst_size=10) */
static const char *RATE_LIMITER = "[tool.database]\n"
                                  "connect = 127.0.0.1:5432\n"
                                  "rate.max_calls_per_minute = 60\n"
                                  "rate.burst_size = 10\n";

/* limiter.check_limit("agent1", "database"): 10 immediate passes, the 11th
 * refused; one more exactly one second later. */
static void test_rate_basic_usage(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, RATE_LIMITER);
    const struct tool *db = gf_tool(c, "database");
    for (int i = 0; i < 10; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", 0), "rate_limited", SEC);
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", SEC - 1), "rate_limited", 1);
    gf_assert_allow(gf_decide(c, &f->m, db, "agent1", SEC));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", SEC), "rate_limited", SEC);
}

/* "Tokens refill at a steady rate (1 per second for 60/min); burst size
 * allows temporary spikes; each request consumes one token." */
static void test_rate_how_it_works(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, RATE_LIMITER);
    const struct tool *db = gf_tool(c, "database");
    for (int i = 0; i < 10; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 0));
    /* Steady: one call per second, for a minute, every one admitted; a
     * second call in the same second never. */
    for (uint64_t s = 1; s <= 60; s++) {
        gf_assert_refused(gf_decide(c, &f->m, db, "agent1", s * SEC - SEC / 2), "rate_limited",
                          SEC / 2);
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", s * SEC));
        gf_assert_refused(gf_decide(c, &f->m, db, "agent1", s * SEC), "rate_limited", SEC);
    }
    /* Idle for 4 s: exactly 4 tokens. */
    for (int i = 0; i < 4; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 64 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", 64 * SEC), "rate_limited", SEC);
    /* Idle far longer than the burst takes to refill: still only 10. */
    for (int i = 0; i < 10; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 3600 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", 3600 * SEC), "rate_limited", SEC);
}

/* limiter.get_remaining("agent1", "database"), limiter.reset(...): the
 * bucket word in the state file, read with bucket_remaining and cleared
 * with bucket_reset. Limits are per (agent, tool). */
static void test_rate_advanced_usage(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, RATE_LIMITER);
    const struct tool *db = gf_tool(c, "database");
    const struct rate_policy *p = &db->rate;
    assert_int_equal(bucket_remaining(0, p, MONO0), 10); /* a bucket starts full */
    for (int i = 0; i < 3; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 0));
    uint64_t *word = gf_only_bucket(&f->m);
    assert_int_equal(bucket_remaining(*word, p, MONO0), 7);
    for (int i = 0; i < 7; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 0));
    assert_int_equal(bucket_remaining(*word, p, MONO0), 0);
    assert_int_equal(bucket_remaining(*word, p, MONO0 + SEC - 1), 0);
    assert_int_equal(bucket_remaining(*word, p, MONO0 + SEC), 1);
    assert_int_equal(bucket_remaining(*word, p, MONO0 + 5 * SEC / 2), 2);
    assert_int_equal(bucket_remaining(*word, p, MONO0 + 10 * SEC), 10);
    assert_int_equal(bucket_remaining(*word, p, MONO0 + 1000 * SEC), 10);
    /* Reading changes nothing. */
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", 0), "rate_limited", SEC);

    /* Another agent has its own bucket, full. */
    for (int i = 0; i < 10; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent2", 0));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent2", 0), "rate_limited", SEC);
    assert_int_equal(gf_claimed_buckets(&f->m), 2);

    /* limiter.reset("agent1", "database") */
    bucket_reset(word);
    assert_int_equal(bucket_remaining(*word, p, MONO0), 10);
    for (int i = 0; i < 10; i++)
        gf_assert_allow(gf_decide(c, &f->m, db, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, db, "agent1", 0), "rate_limited", SEC);
    /* agent2 was not reset. */
    gf_assert_refused(gf_decide(c, &f->m, db, "agent2", 0), "rate_limited", SEC);
}

/* RateLimiter(max_calls_per_minute=60) without burst_size: the burst is
 * the rate; and different limits for different tools (read vs. write). */
static void test_rate_best_practices(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.db-read]\n"
                                                "connect = 10.0.0.1:5432\n"
                                                "rate.max_calls_per_minute = 60\n"
                                                "[tool.db-write]\n"
                                                "connect = 10.0.0.2:5432\n"
                                                "rate.max_calls_per_minute = 6\n"
                                                "rate.burst_size = 2\n");
    const struct tool *rd = gf_tool(c, "db-read"), *wr = gf_tool(c, "db-write");
    assert_int_equal(rd->written.burst_size, 60);
    for (int i = 0; i < 60; i++)
        gf_assert_allow(gf_decide(c, &f->m, rd, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, rd, "agent1", 0), "rate_limited", SEC);
    for (int i = 0; i < 2; i++)
        gf_assert_allow(gf_decide(c, &f->m, wr, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, wr, "agent1", 0), "rate_limited", 10 * SEC);
    gf_assert_allow(gf_decide(c, &f->m, wr, "agent1", 10 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, wr, "agent1", 10 * SEC), "rate_limited", 10 * SEC);
}

/* ==== Action Quotas ======================================================= */

/* QuotaManager(QuotaConfig(max_actions=1000, window_hours=24)), then
 * set_quota("premium_agent", 10000 / 24 h) and set_quota("free_agent",
 * 100 / 24 h). */
static const char *QUOTA_MANAGER = "[tool.api]\n"
                                   "connect = 10.0.0.1:443\n"
                                   "[agent]\n"
                                   "quota.max_actions = 1000\n"
                                   "quota.window_hours = 24\n"
                                   "[agent.premium_agent]\n"
                                   "quota.max_actions = 10000\n"
                                   "quota.window_hours = 24\n"
                                   "[agent.free_agent]\n"
                                   "quota.max_actions = 100\n"
                                   "quota.window_hours = 24\n";

/* 24 h in 60 slots of 1440 s; an action is forgotten when the ring has
 * passed its slot: 61 slots after the start of the slot it fell in. */
#define DAY_SLOT (UINT64_C(1440) * SEC)
#define DAY_FORGET (61 * DAY_SLOT)

/* Calls agent until refused, one every `step` of both clocks; returns how
 * many were admitted and checks the refusal's exact retry_after (the
 * first call at REAL0, a slot boundary, is the oldest). */
static unsigned consume_until_refused(struct gfix *f, const struct enact_config *c,
                                      const struct tool *t, const char *agent, uint64_t step,
                                      unsigned limit)
{
    unsigned admitted = 0;
    for (unsigned i = 0; i <= limit + 1; i++) {
        struct gate_result g = gf_decide(c, &f->m, t, agent, (uint64_t)i * step);
        if (g.action == GATE_PROCEED) {
            gf_assert_allow(g);
            admitted++;
            continue;
        }
        gf_assert_refused(g, "quota_exceeded", DAY_FORGET - (uint64_t)i * step);
        return admitted;
    }
    fail_msg("%s was never refused", agent);
    return admitted;
}

/* manager.consume("agent1", "api_call") */
static void test_quota_basic_usage(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, QUOTA_MANAGER);
    const struct tool *api = gf_tool(c, "api");
    /* 1000 admitted over the first hour (one every 3 s), then refused. */
    assert_int_equal(consume_until_refused(f, c, api, "agent1", 3 * SEC, 1000), 1000);
    for (int i = 0; i < 10; i++)
        gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 7200 * SEC), "quota_exceeded",
                          DAY_FORGET - 7200 * SEC);
}

/* Per-agent quotas: premium_agent 10000, free_agent 100, the rest 1000. */
static void test_quota_per_agent(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, QUOTA_MANAGER);
    const struct tool *api = gf_tool(c, "api");
    assert_int_equal(config_agent_quota(c, "premium_agent")->max_actions, 10000);
    assert_int_equal(config_agent_quota(c, "free_agent")->max_actions, 100);
    assert_int_equal(config_agent_quota(c, "agent1")->max_actions, 1000);
    assert_int_equal(consume_until_refused(f, c, api, "free_agent", SEC, 100), 100);
    assert_int_equal(consume_until_refused(f, c, api, "premium_agent", MS, 10000), 10000);
    assert_int_equal(consume_until_refused(f, c, api, "agent1", SEC, 1000), 1000);
    assert_int_equal(consume_until_refused(f, c, api, "agent2", SEC, 1000), 1000);
    /* Each agent counts alone. */
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", 0), "quota_exceeded", DAY_FORGET);
    assert_int_equal(gf_claimed_quotas(&f->m), 4);
}

/* The quota is per agent, whatever tool it calls. */
static void test_quota_agent_quota_spans_tools(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.api]\nconnect = 10.0.0.1:443\n"
                                                "[tool.shell]\nexec = sh\n"
                                                "[agent.free_agent]\nquota.max_actions = 100\n");
    const struct tool *api = gf_tool(c, "api"), *sh = gf_tool(c, "shell");
    for (int i = 0; i < 100; i++)
        gf_assert_allow(gf_decide(c, &f->m, i % 2 ? api : sh, "free_agent", (uint64_t)i * SEC));
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", 100 * SEC), "quota_exceeded",
                      DAY_FORGET - 100 * SEC);
    gf_assert_refused(gf_decide(c, &f->m, sh, "free_agent", 100 * SEC), "quota_exceeded",
                      DAY_FORGET - 100 * SEC);
    /* Agents without an override, with no [agent]: no quota at all. */
    for (int i = 0; i < 500; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 0));
}

/* manager.get_remaining("agent1"), manager.reset("agent1"): the agent's
 * ring in the state file, read with quota_remaining, cleared with
 * quota_reset. */
static void test_quota_monitoring(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, QUOTA_MANAGER);
    const struct tool *api = gf_tool(c, "api");
    const struct quota_spec *spec = config_agent_quota(c, "agent1");
    for (int i = 0; i < 250; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", (uint64_t)i * SEC));
    struct quota_slot *slot = gf_only_quota(&f->m);
    assert_int_equal(quota_remaining(&slot->ring, &spec->policy, REAL0 + 250 * SEC), 750);
    for (int i = 0; i < 740; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 300 * SEC));
    /* "if quota_manager.get_remaining("agent") < 10: send_warning" */
    assert_int_equal(quota_remaining(&slot->ring, &spec->policy, REAL0 + 300 * SEC), 10);
    /* manager.reset("agent1") */
    quota_reset(&slot->ring);
    assert_int_equal(quota_remaining(&slot->ring, &spec->policy, REAL0 + 300 * SEC), 1000);
    for (int i = 0; i < 1000; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 400 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 400 * SEC), "quota_exceeded",
                      DAY_FORGET - 400 * SEC);
    assert_int_equal(quota_remaining(&slot->ring, &spec->policy, REAL0 + 400 * SEC), 0);
}

/* "Limits total actions within a rolling time window": actions come back
 * as their slots leave the window, not all at once at a reset time. */
static void test_quota_rolling_window(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, QUOTA_MANAGER);
    const struct tool *api = gf_tool(c, "api");
    /* 100 for free_agent: 60 in the first slot, 40 in the third. */
    for (int i = 0; i < 60; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "free_agent", 0));
    for (int i = 0; i < 40; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "free_agent", 2 * DAY_SLOT + 5 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", 12 * 3600 * SEC), "quota_exceeded",
                      DAY_FORGET - 12 * 3600 * SEC);
    /* One ns before the first slot leaves: still refused. */
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", DAY_FORGET - 1), "quota_exceeded", 1);
    /* Then exactly the 60 of the first slot come back; the 40 wait for
     * their own slot to leave. */
    for (int i = 0; i < 60; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "free_agent", DAY_FORGET));
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", DAY_FORGET), "quota_exceeded",
                      2 * DAY_SLOT);
    for (int i = 0; i < 40; i++)
        gf_assert_allow(gf_decide(c, &f->m, api, "free_agent", DAY_FORGET + 2 * DAY_SLOT));
    gf_assert_refused(gf_decide(c, &f->m, api, "free_agent", DAY_FORGET + 2 * DAY_SLOT),
                      "quota_exceeded", DAY_FORGET - 2 * DAY_SLOT);
}

/* manager.consume("agent1", "api_call") with the quota on the action: a
 * tool's quota is per (agent, tool). */
static void test_quota_per_agent_and_tool(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.api_call]\nconnect = 10.0.0.1:443\n"
                                                "quota.max_actions = 5\nquota.window_hours = 24\n"
                                                "[tool.other]\nconnect = 10.0.0.2:443\n"
                                                "quota.max_actions = 5\n");
    const struct tool *api = gf_tool(c, "api_call"), *other = gf_tool(c, "other");
    for (int i = 0; i < 5; i++) {
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 0));
        gf_assert_allow(gf_decide(c, &f->m, api, "agent2", 0));
        gf_assert_allow(gf_decide(c, &f->m, other, "agent1", 0));
    }
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 0), "quota_exceeded", DAY_FORGET);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent2", 0), "quota_exceeded", DAY_FORGET);
    gf_assert_refused(gf_decide(c, &f->m, other, "agent1", 0), "quota_exceeded", DAY_FORGET);
    assert_int_equal(gf_claimed_quotas(&f->m), 3);
}

/* ==== Circuit Breakers ==================================================== */

/* CircuitBreaker(CircuitBreakerConfig(failure_threshold=5,
 * success_threshold=2, timeout_seconds=60)) */
static const char *CIRCUIT_BREAKER = "[tool.external_api]\n"
                                     "connect = 10.0.0.2:443\n"
                                     "breaker.failure_threshold = 5\n"
                                     "breaker.success_threshold = 2\n"
                                     "breaker.timeout_seconds = 60\n";

static void assert_event(struct breaker_event ev, enum breaker_state from, enum breaker_state to)
{
    if (!ev.changed || ev.from != from || ev.to != to)
        fail_msg("expected breaker event %s -> %s, got %s%s -> %s", breaker_state_name(from),
                 breaker_state_name(to), ev.changed ? "" : "(no change) ",
                 breaker_state_name(ev.from), breaker_state_name(ev.to));
}

/* Calls and fails n times at `since` (the guide's record_failure). */
static void fail_calls(struct gfix *f, const struct enact_config *c, const struct tool *t,
                       int n, uint64_t since)
{
    for (int i = 0; i < n; i++) {
        struct gate_result g = gf_decide(c, &f->m, t, "agent1", since);
        gf_assert_allow(g);
        assert_false(g.probe);
        assert_false(g.breaker.changed);
        struct breaker_event ev;
        gf_report(&f->m, t, since, OUTCOME_FAILURE, &ev);
        assert_false(ev.changed);
    }
}

/* The failure that reaches the threshold: CLOSED -> OPEN. */
static void fail_call_opens(struct gfix *f, const struct enact_config *c, const struct tool *t,
                            uint64_t since)
{
    struct gate_result g = gf_decide(c, &f->m, t, "agent1", since);
    gf_assert_allow(g);
    assert_false(g.probe);
    struct breaker_event ev;
    gf_report(&f->m, t, since, OUTCOME_FAILURE, &ev);
    assert_event(ev, BREAKER_CLOSED, BREAKER_OPEN);
}

/* Opens a breaker that has counted no failure with 5 failures at `since`. */
static void open_breaker(struct gfix *f, const struct enact_config *c, const struct tool *t,
                         uint64_t since)
{
    fail_calls(f, c, t, 4, since);
    fail_call_opens(f, c, t, since);
}

/* Basic usage and States: CLOSED passes and counts failures; OPEN blocks
 * every call after 5 failures, for every agent. */
static void test_breaker_opens_after_threshold(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, CIRCUIT_BREAKER);
    const struct tool *api = gf_tool(c, "external_api");
    fail_calls(f, c, api, 4, 0);
    struct breaker *b = gf_breaker(&f->m, api);
    assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
    assert_int_equal(b->failures, 4);
    gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 0));
    struct breaker_event ev;
    gf_report(&f->m, api, 0, OUTCOME_FAILURE, &ev);
    assert_event(ev, BREAKER_CLOSED, BREAKER_OPEN);
    /* breaker.is_open("external_api"), breaker.get_state(...) */
    assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
    assert_true(breaker_is_open(b, &api->breaker, MONO0));
    /* Every call refused until timeout_seconds have passed, with when. */
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 0), "circuit_open", 60 * SEC);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent2", 30 * SEC), "circuit_open", 30 * SEC);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 60 * SEC - 1), "circuit_open", 1);
    assert_true(breaker_is_open(b, &api->breaker, MONO0 + 60 * SEC - 1));
    assert_false(breaker_is_open(b, &api->breaker, MONO0 + 60 * SEC));
    /* Refused calls changed nothing: still OPEN, since the 5th failure. */
    assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
    assert_int_equal(b->since_ns, MONO0);
}

/* "Failures are counted" consecutively: a success in CLOSED resets the count. */
static void test_breaker_success_resets_count(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, CIRCUIT_BREAKER);
    const struct tool *api = gf_tool(c, "external_api");
    fail_calls(f, c, api, 4, 0);
    gf_assert_allow(gf_decide(c, &f->m, api, "agent1", SEC));
    struct breaker_event ev;
    gf_report(&f->m, api, SEC, OUTCOME_SUCCESS, &ev);
    assert_false(ev.changed);
    fail_calls(f, c, api, 4, 2 * SEC);
    assert_int_equal(breaker_get_state(gf_breaker(&f->m, api)), BREAKER_CLOSED);
    /* Enact's own denials and neutral outcomes count for nothing. */
    for (int i = 0; i < 10; i++) {
        gf_assert_allow(gf_decide(c, &f->m, api, "agent1", 3 * SEC));
        gf_report(&f->m, api, 3 * SEC, OUTCOME_NEUTRAL, &ev);
        assert_false(ev.changed);
    }
    assert_int_equal(gf_breaker(&f->m, api)->failures, 4);
    fail_call_opens(f, c, api, 4 * SEC);
}

/* OPEN -> HALF_OPEN on the first call after 60 s; 2 successes close. */
static void test_breaker_half_open_closes(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, CIRCUIT_BREAKER);
    const struct tool *api = gf_tool(c, "external_api");
    open_breaker(f, c, api, 0);
    struct breaker *b = gf_breaker(&f->m, api);
    /* get_state stays OPEN until a call comes: there is no timer. */
    assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
    struct gate_result g = gf_decide(c, &f->m, api, "agent1", 60 * SEC);
    gf_assert_allow(g);
    assert_true(g.probe);
    assert_event(g.breaker, BREAKER_OPEN, BREAKER_HALF_OPEN);
    assert_int_equal(breaker_get_state(b), BREAKER_HALF_OPEN);
    /* "Limited requests allowed": success_threshold probes at a time. */
    g = gf_decide(c, &f->m, api, "agent2", 60 * SEC);
    gf_assert_allow(g);
    assert_true(g.probe);
    assert_false(g.breaker.changed);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 60 * SEC), "circuit_open", 0);
    /* "Success -> CLOSED" after 2. */
    struct breaker_event ev;
    gf_report(&f->m, api, 61 * SEC, OUTCOME_SUCCESS, &ev);
    assert_false(ev.changed);
    assert_int_equal(breaker_get_state(b), BREAKER_HALF_OPEN);
    gf_report(&f->m, api, 62 * SEC, OUTCOME_SUCCESS, &ev);
    assert_event(ev, BREAKER_HALF_OPEN, BREAKER_CLOSED);
    assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
    g = gf_decide(c, &f->m, api, "agent1", 62 * SEC);
    gf_assert_allow(g);
    assert_false(g.probe);
    /* Back to counting from zero. */
    fail_calls(f, c, api, 4, 63 * SEC);
    fail_call_opens(f, c, api, 64 * SEC);
}

/* "Failure -> OPEN" from HALF_OPEN, and another 60 s wait. */
static void test_breaker_half_open_failure_reopens(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, CIRCUIT_BREAKER);
    const struct tool *api = gf_tool(c, "external_api");
    open_breaker(f, c, api, 0);
    struct gate_result g = gf_decide(c, &f->m, api, "agent1", 60 * SEC);
    assert_true(g.probe);
    assert_event(g.breaker, BREAKER_OPEN, BREAKER_HALF_OPEN);
    struct breaker_event ev;
    gf_report(&f->m, api, 61 * SEC, OUTCOME_SUCCESS, &ev); /* one success is not enough */
    assert_false(ev.changed);
    g = gf_decide(c, &f->m, api, "agent1", 62 * SEC);
    assert_true(g.probe);
    gf_report(&f->m, api, 63 * SEC, OUTCOME_FAILURE, &ev);
    assert_event(ev, BREAKER_HALF_OPEN, BREAKER_OPEN);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 63 * SEC), "circuit_open", 60 * SEC);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 123 * SEC - 1), "circuit_open", 1);
    g = gf_decide(c, &f->m, api, "agent1", 123 * SEC);
    gf_assert_allow(g);
    assert_true(g.probe);
    assert_event(g.breaker, BREAKER_OPEN, BREAKER_HALF_OPEN);
}

/* CircuitBreaker() with the guide's defaults: one key sets them all. */
static void test_breaker_defaults(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c =
        gf_config(f, "[tool.api]\nconnect = 10.0.0.2:443\nbreaker.timeout_seconds = 60\n");
    const struct tool *api = gf_tool(c, "api");
    open_breaker(f, c, api, 0);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 0), "circuit_open", 60 * SEC);
    assert_true(gf_decide(c, &f->m, api, "agent1", 60 * SEC).probe);
    assert_true(gf_decide(c, &f->m, api, "agent1", 60 * SEC).probe);
    gf_assert_refused(gf_decide(c, &f->m, api, "agent1", 60 * SEC), "circuit_open", 0);
}

/* ==== Timeouts & Retries ================================================== */

/* ReliableToolProxy(api_tool, timeout_seconds=30, retry_config=RetryConfig(
 * max_attempts=3, initial_delay=1.0, exponential_base=2.0, jitter=True)) */
static const char *RELIABLE = "[tool.api]\n"
                              "connect = 10.0.0.3:443\n"
                              "timeout_seconds = 30\n"
                              "retry.max_attempts = 3\n"
                              "retry.initial_delay = 1.0\n"
                              "retry.exponential_base = 2.0\n"
                              "retry.jitter = true\n";

/* "Double delay each retry (1s, 2s, 4s...)", "Cap at 60s" (max_delay's
 * default): the schedule without jitter. */
static void test_retry_schedule(void **state)
{
    struct gfix *f = *state;
    const struct tool *api = gf_tool(gf_config(f, RELIABLE), "api");
    assert_true(api->timeout_seconds == 30.0);
    struct retry_policy p = api->retry;
    assert_int_equal(p.max_attempts, 3);
    assert_true(p.max_delay_s == 60.0);
    assert_true(p.jitter);
    assert_true(retry_policy_valid(&p));
    /* "Try up to 3 times": the first attempt and two retries. */
    assert_true(backoff_should_retry(&p, 1));
    assert_true(backoff_should_retry(&p, 2));
    assert_false(backoff_should_retry(&p, 3));
    p.jitter = false;
    const uint64_t want[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
    for (uint32_t n = 0; n < 9; n++)
        assert_int_equal(backoff_delay_ns(&p, n, NULL), want[n] * SEC);
    assert_int_equal(backoff_delay_ns(&p, 1000, NULL), 60 * SEC);
}

/* "Add randomness to prevent thundering herd": full jitter, each delay
 * uniform in [0, the schedule's delay]. */
static void test_retry_jitter_bounds(void **state)
{
    struct gfix *f = *state;
    const struct tool *api = gf_tool(gf_config(f, RELIABLE), "api");
    uint64_t seed = 42;
    struct random_source rng = {splitmix64_next, &seed};
    const uint64_t cap[] = {1, 2, 4, 8, 16, 32, 60, 60};
    for (uint32_t n = 0; n < 8; n++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        double sum = 0;
        enum { SAMPLES = 2000 };
        for (int i = 0; i < SAMPLES; i++) {
            uint64_t d = backoff_delay_ns(&api->retry, n, &rng);
            assert_true(d <= cap[n] * SEC);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
            sum += (double)d;
        }
        /* Spread over the whole range, centred on half of it. */
        assert_true(lo < cap[n] * SEC / 50);
        assert_true(hi > cap[n] * SEC / 50 * 49);
        double mean = sum / SAMPLES / (double)(cap[n] * SEC);
        assert_true(mean > 0.45 && mean < 0.55);
    }
    /* The same seed, the same delays: the source is the caller's. */
    uint64_t s1 = 7, s2 = 7;
    struct random_source r1 = {splitmix64_next, &s1}, r2 = {splitmix64_next, &s2};
    for (uint32_t n = 0; n < 20; n++)
        assert_int_equal(backoff_delay_ns(&api->retry, n, &r1), backoff_delay_ns(&api->retry, n, &r2));
}

/* "Configure based on tool characteristics": fast_config and slow_config. */
static void test_retry_configs_by_tool(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.fast]\nconnect = 10.0.0.5:443\n"
                                                "retry.max_attempts = 2\nretry.initial_delay = 0.5\n"
                                                "retry.jitter = false\n"
                                                "[tool.slow]\nconnect = 10.0.0.6:443\n"
                                                "retry.max_attempts = 5\nretry.initial_delay = 2.0\n"
                                                "retry.max_delay = 30.0\nretry.jitter = false\n");
    const struct retry_policy *fast = &gf_tool(c, "fast")->retry, *slow = &gf_tool(c, "slow")->retry;
    assert_true(backoff_should_retry(fast, 1));
    assert_false(backoff_should_retry(fast, 2));
    assert_int_equal(backoff_delay_ns(fast, 0, NULL), SEC / 2);
    for (uint32_t a = 1; a < 5; a++)
        assert_true(backoff_should_retry(slow, a));
    assert_false(backoff_should_retry(slow, 5));
    const uint64_t want[] = {2, 4, 8, 16, 30, 30};
    for (uint32_t n = 0; n < 6; n++)
        assert_int_equal(backoff_delay_ns(slow, n, NULL), want[n] * SEC);
    /* @with_retry(RetryConfig(max_attempts=3)) alone: the other defaults. */
    c = gf_config(f, "[tool.d]\nconnect = *\nretry.max_attempts = 3\n");
    const struct retry_policy *d = &gf_tool(c, "d")->retry;
    assert_true(d->initial_delay_s == 1.0 && d->max_delay_s == 60.0 && d->base == 2.0 && d->jitter);
}

/* ==== Dry-Run Mode ======================================================== */

static const char *DRY_RUN = "[tool.database]\n"
                             "exec = psql\n"
                             "exec = rm\n"
                             "exec = cp\n"
                             "exec = ls\n"
                             "dry_run = true\n"
                             "rate.max_calls_per_minute = 60\n"
                             "rate.burst_size = 2\n";

static void assert_simulated(struct gate_result g)
{
    assert_int_equal(g.action, GATE_SIMULATE);
    assert_true(g.audit);
    assert_non_null(g.verdict);
    assert_string_equal(g.verdict, "dry_run");
    assert_null(g.reason);
    assert_int_equal(g.retry_after_ns, 0);
    assert_false(g.probe);
    assert_false(g.breaker.changed);
}

/* DryRunProxy(database_tool, "database"): "Simulates without executing";
 * and nothing it simulates counts against a limit. */
static void test_dry_run_basic_usage(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, DRY_RUN);
    const struct tool *db = gf_tool(c, "database");
    for (int i = 0; i < 100; i++)
        assert_simulated(gf_decide(c, &f->m, db, "agent1", 0));
    /* Its rate bucket is untouched: no state entry was even claimed ... */
    assert_int_equal(gf_claimed_buckets(&f->m), 0);
    assert_int_equal(gf_claimed_quotas(&f->m), 0);
    /* ... and state is not needed at all. */
    assert_simulated(gf_decide(c, NULL, db, "agent1", 0));
    /* The same tool without dry_run (the same rate, so the same bucket)
     * finds its bucket full. */
    const struct enact_config *live = gf_config(f, "[tool.database]\nexec = psql\n"
                                                   "rate.max_calls_per_minute = 60\n"
                                                   "rate.burst_size = 2\n");
    const struct tool *ldb = gf_tool(live, "database");
    assert_int_equal(ldb->rate_id, db->rate_id);
    gf_assert_allow(gf_decide(live, &f->m, ldb, "agent1", 0));
    gf_assert_allow(gf_decide(live, &f->m, ldb, "agent1", 0));
    gf_assert_refused(gf_decide(live, &f->m, ldb, "agent1", 0), "rate_limited", SEC);
    /* Dry run of an emptied bucket: still simulated, never refused. */
    assert_simulated(gf_decide(c, &f->m, db, "agent1", 0));
    assert_int_equal(bucket_remaining(*gf_only_bucket(&f->m), &db->rate, MONO0), 0);

    /* [enact] dry_run = true simulates every mapped tool. */
    const struct enact_config *all = gf_config(f, "[enact]\ndry_run = true\n[tool.shell]\nexec = sh\n"
                                                  "rate.max_calls_per_minute = 1\n"
                                                  "quota.max_actions = 1\n");
    for (int i = 0; i < 10; i++)
        assert_simulated(gf_decide(all, &f->m, gf_tool(all, "shell"), "agent1", 0));
    assert_int_equal(gf_claimed_quotas(&f->m), 0);
    /* ... also in observe mode. */
    const struct enact_config *obs = gf_config(f, "[enact]\nmode = observe\n[tool.database]\n"
                                                  "exec = rm\ndry_run = true\n");
    assert_simulated(gf_decide(obs, &f->m, gf_tool(obs, "database"), "agent1", 0));
}

static enum impact_level level_of(const char *path, char *const argv[],
                                  const struct impact_table *extra)
{
    return impact_of_exec(path, argv, extra).level;
}

/* Impact estimation: HIGH delete/remove/drop, MEDIUM create/insert/update,
 * LOW read/get/query/select; for programs and for what they send. */
static void test_dry_run_impact_estimation(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, DRY_RUN);
    const struct tool *db = gf_tool(c, "database");
    char *rm[] = {"rm", "-rf", "/data", NULL};
    char *cp[] = {"cp", "a", "b", NULL};
    char *ls[] = {"ls", "-l", NULL};
    /* The three programs map to the dry-run tool ... */
    assert_ptr_equal(config_match_exec(c, "/bin/rm", rm), db);
    assert_ptr_equal(config_match_exec(c, "/bin/cp", cp), db);
    assert_ptr_equal(config_match_exec(c, "/bin/ls", ls), db);
    /* ... and are estimated as the guide's DryRunProxy would. */
    struct impact i = impact_of_exec("/bin/rm", rm, &c->impact);
    assert_int_equal(i.level, IMPACT_HIGH);
    assert_string_equal(impact_level_name(i.level), "HIGH");
    assert_string_equal(i.reason, "rm: destructive");
    i = impact_of_exec("/bin/cp", cp, &c->impact);
    assert_int_equal(i.level, IMPACT_MEDIUM);
    assert_string_equal(i.reason, "cp: creates or changes");
    i = impact_of_exec("/bin/ls", ls, &c->impact);
    assert_int_equal(i.level, IMPACT_LOW);
    assert_string_equal(i.reason, "ls: reads");
    char *kdel[] = {"kubectl", "delete", "pod", "x", NULL};
    char *kcreate[] = {"kubectl", "create", "ns", "y", NULL};
    char *kget[] = {"kubectl", "get", "pods", NULL};
    assert_int_equal(level_of("/usr/bin/kubectl", kdel, NULL), IMPACT_HIGH);
    assert_int_equal(level_of("/usr/bin/kubectl", kcreate, NULL), IMPACT_MEDIUM);
    assert_int_equal(level_of("/usr/bin/kubectl", kget, NULL), IMPACT_LOW);
    /* The verbs in what a database client sends. */
    const struct {
        const char *sql;
        enum impact_level level;
    } sql[] = {
        {"DELETE FROM users", IMPACT_HIGH}, {"DROP TABLE users", IMPACT_HIGH},
        {"INSERT INTO users VALUES (1)", IMPACT_MEDIUM}, {"UPDATE users SET a = 1", IMPACT_MEDIUM},
        {"CREATE TABLE t (a int)", IMPACT_MEDIUM}, {"SELECT * FROM users", IMPACT_LOW},
    };
    for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++)
        assert_int_equal(impact_of_payload(sql[k].sql, strlen(sql[k].sql), NULL).level,
                         sql[k].level);
    assert_int_equal(impact_of_payload("GET /users HTTP/1.1\r\n", 21, NULL).level, IMPACT_LOW);
    assert_int_equal(impact_of_payload("DELETE /users/1 HTTP/1.1\r\n", 26, NULL).level,
                     IMPACT_HIGH);
    /* "remove" is the guide's too: an [impact] verb adds it. */
    const struct enact_config *extra = gf_config(f, "[tool.kv]\nexec = kv\n[impact]\nverb.high = remove\n");
    assert_int_equal(impact_of_payload("REMOVE key\r\n", 12, NULL).level, IMPACT_UNKNOWN);
    assert_int_equal(impact_of_payload("REMOVE key\r\n", 12, &extra->impact).level, IMPACT_HIGH);
}

/* dry_run.create_user("alice"), dry_run.delete_user("bob"),
 * dry_run.query_users(), then "high_impact = [e for e in executions if
 * 'HIGH' in e.estimated_impact]": programs the [impact] section rates. */
static void test_dry_run_tracking_executions(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.users]\nexec = useradd\nexec = userdel\n"
                                                "exec = id\ndry_run = true\n"
                                                "[impact]\nexec.medium = useradd\n"
                                                "exec.high = userdel\nexec.low = id\n");
    const struct tool *users = gf_tool(c, "users");
    char *create[] = {"useradd", "alice", NULL};
    char *del[] = {"userdel", "bob", NULL};
    char *query[] = {"id", "-a", NULL};
    struct {
        const char *path;
        char **argv;
        enum impact_level want;
    } ops[] = {{"/usr/sbin/useradd", create, IMPACT_MEDIUM},
               {"/usr/sbin/userdel", del, IMPACT_HIGH},
               {"/usr/bin/id", query, IMPACT_LOW}};
    int high = 0;
    for (int round = 0; round < 100; round++) {
        for (size_t k = 0; k < 3; k++) {
            assert_ptr_equal(config_match_exec(c, ops[k].path, ops[k].argv), users);
            assert_simulated(gf_decide(c, &f->m, users, "agent1", 0));
            struct impact i = impact_of_exec(ops[k].path, ops[k].argv, &c->impact);
            assert_int_equal(i.level, ops[k].want);
            high += i.level == IMPACT_HIGH;
        }
    }
    assert_int_equal(high, 100);
}

/* ==== Combining Safety Features =========================================== */

/* rate_limiter = RateLimiter(max_calls_per_minute=60); circuit_breaker =
 * CircuitBreaker(); safe_execute(agent_id, tool_name, operation). */
static const char *COMBINED = "[tool.my_tool]\n"
                              "connect = 10.0.0.4:443\n"
                              "rate.max_calls_per_minute = 60\n"
                              "breaker.failure_threshold = 5\n";

static void test_combined_rate_and_breaker(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, COMBINED);
    const struct tool *t = gf_tool(c, "my_tool");
    assert_int_equal(t->written.burst_size, 60);
    assert_int_equal(t->breaker.success_threshold, 2);
    /* Five operations that raise: the breaker opens. */
    open_breaker(f, c, t, 0);
    uint64_t *word = gf_only_bucket(&f->m);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0), 55);
    /* "Service unavailable" for the next minute, and refusals take no
     * token: the bucket refills meanwhile. */
    for (int i = 0; i < 100; i++)
        gf_assert_refused(gf_decide(c, &f->m, t, "agent1", SEC / 2), "circuit_open",
                          60 * SEC - SEC / 2);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0 + SEC / 2), 55);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0 + 60 * SEC), 60);
    /* Recovery: two probes succeed and close it. */
    struct gate_result g = gf_decide(c, &f->m, t, "agent1", 60 * SEC);
    gf_assert_allow(g);
    assert_true(g.probe);
    assert_event(g.breaker, BREAKER_OPEN, BREAKER_HALF_OPEN);
    struct breaker_event ev;
    gf_report(&f->m, t, 60 * SEC, OUTCOME_SUCCESS, &ev);
    g = gf_decide(c, &f->m, t, "agent1", 60 * SEC);
    assert_true(g.probe);
    gf_report(&f->m, t, 60 * SEC, OUTCOME_SUCCESS, &ev);
    assert_event(ev, BREAKER_HALF_OPEN, BREAKER_CLOSED);
    /* "Rate limit exceeded" once the 58 tokens left are spent. */
    for (int i = 0; i < 58; i++)
        gf_assert_allow(gf_decide(c, &f->m, t, "agent1", 60 * SEC));
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 60 * SEC), "rate_limited", SEC);
    /* Both refuse: the one that lasts longer is the reason. 40 s later
     * there are 40 tokens; 35 calls and 5 failing ones spend them all. */
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0 + 100 * SEC), 40);
    for (int i = 0; i < 35; i++)
        gf_assert_allow(gf_decide(c, &f->m, t, "agent1", 100 * SEC));
    open_breaker(f, c, t, 100 * SEC);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0 + 100 * SEC), 0);
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 100 * SEC), "circuit_open", 60 * SEC);
    /* A second later the bucket has a token again; the breaker still
     * refuses, for the rest of its minute. */
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 101 * SEC), "circuit_open", 59 * SEC);
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 160 * SEC - 1), "circuit_open", 1);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0 + 160 * SEC - 1), 59);
}

/* "Layer safety features: rate limit -> circuit breaker -> retry ->
 * execute": a call refused by one layer is not counted by another. */
static void test_layering_consumes_nothing_on_refusal(void **state)
{
    struct gfix *f = *state;
    const struct enact_config *c = gf_config(f, "[tool.t]\nconnect = *\n"
                                                "rate.max_calls_per_minute = 60\n"
                                                "rate.burst_size = 5\n"
                                                "quota.max_actions = 3\n");
    const struct tool *t = gf_tool(c, "t");
    /* Check all, commit all or none: after 3 calls the quota refuses, and
     * the bucket still holds exactly 2 of its 5 tokens. */
    for (int i = 0; i < 3; i++)
        gf_assert_allow(gf_decide(c, &f->m, t, "agent1", 0));
    for (int i = 0; i < 20; i++)
        gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 0), "quota_exceeded", DAY_FORGET);
    uint64_t *word = gf_only_bucket(&f->m);
    assert_int_equal(bucket_remaining(*word, &t->rate, MONO0), 2);
    assert_int_equal(*word, MONO0 + 3 * SEC); /* three tokens' worth of arrival time */
    struct quota_slot *q = gf_only_quota(&f->m);
    assert_int_equal(q->ring.used, 3);

    /* The agent's own quota refusing: neither the bucket nor the tool's
     * quota moves. */
    gf_fresh_state(f, NULL);
    c = gf_config(f, "[tool.t]\nconnect = *\nrate.max_calls_per_minute = 60\nrate.burst_size = 5\n"
                     "quota.max_actions = 3\n[agent]\nquota.max_actions = 2\n");
    t = gf_tool(c, "t");
    for (int i = 0; i < 2; i++)
        gf_assert_allow(gf_decide(c, &f->m, t, "agent1", 0));
    for (int i = 0; i < 20; i++)
        gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 0), "quota_exceeded", DAY_FORGET);
    assert_int_equal(bucket_remaining(*gf_only_bucket(&f->m), &t->rate, MONO0), 3);
    assert_int_equal(gf_claimed_quotas(&f->m), 2);
    for (uint32_t i = 0; i < f->m.nquotas; i++)
        if (f->m.quotas[i].key) {
            assert_int_equal(f->m.quotas[i].ring.used, 2);
            assert_int_equal(f->m.quotas[i].lock, 0);
        }
}

/* The reason is the most restrictive refusal: the one that lasts longest. */
static void test_most_restrictive_reason(void **state)
{
    struct gfix *f = *state;
    /* Rate (1 s) and quota (about a day) both refuse: quota_exceeded. */
    const struct enact_config *c = gf_config(f, "[tool.t]\nconnect = *\n"
                                                "rate.max_calls_per_minute = 60\n"
                                                "rate.burst_size = 1\n"
                                                "quota.max_actions = 1\n"
                                                "quota.window_hours = 24\n");
    const struct tool *t = gf_tool(c, "t");
    gf_assert_allow(gf_decide(c, &f->m, t, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", 0), "quota_exceeded", DAY_FORGET);
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", SEC / 2), "quota_exceeded",
                      DAY_FORGET - SEC / 2);
    gf_assert_refused(gf_decide(c, &f->m, t, "agent1", SEC), "quota_exceeded", DAY_FORGET - SEC);

    /* Rate (60 s) and quota (36.6 s: a 36 s window in 0.6 s slots) both
     * refuse: rate_limited. */
    c = gf_config(f, "[tool.u]\nconnect = *\nrate.max_calls_per_minute = 1\nrate.burst_size = 1\n"
                     "quota.max_actions = 1\nquota.window_hours = 0.01\n");
    const struct tool *u = gf_tool(c, "u");
    assert_int_equal(u->quota.policy.slot_ns, 600 * MS);
    gf_assert_allow(gf_decide(c, &f->m, u, "agent1", 0));
    gf_assert_refused(gf_decide(c, &f->m, u, "agent1", 0), "rate_limited", 60 * SEC);
    /* After the quota's 36.6 s only the rate refuses. */
    gf_assert_refused(gf_decide(c, &f->m, u, "agent1", 36600 * MS), "rate_limited",
                      60 * SEC - 36600 * MS);
    gf_assert_allow(gf_decide(c, &f->m, u, "agent1", 60 * SEC));
}

/* Observe mode (nginx's limit_req_dry_run): everything passes, what would
 * be refused says so, and the state moves exactly as enforcement would. */
static void test_observe_mode_moves_state_as_enforcement(void **state)
{
    struct gfix *f = *state;
    const char *tool = "[tool.t]\nconnect = *\nrate.max_calls_per_minute = 60\nrate.burst_size = 2\n";
    char text[512];
    snprintf(text, sizeof text, "[enact]\nmode = observe\n%s", tool);
    const struct enact_config *obs = gf_config(f, text);
    const struct enact_config *enf = gf_config(f, tool);
    const struct tool *to = gf_tool(obs, "t"), *te = gf_tool(enf, "t");
    assert_int_equal(to->rate_id, te->rate_id);
    /* The same calls: observed for agent "o", enforced for agent "e". */
    const uint64_t at[] = {0, 0, 0, 0, 0, SEC / 2, SEC, SEC, SEC, 3 * SEC, 3 * SEC, 3 * SEC, 3 * SEC};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        struct gate_result o = gf_decide(obs, &f->m, to, "o", at[i]);
        struct gate_result e = gf_decide(enf, &f->m, te, "e", at[i]);
        assert_int_equal(o.action, GATE_PROCEED); /* everything passes */
        if (e.action == GATE_PROCEED) {
            gf_assert_allow(o);
        } else {
            gf_assert_would_deny(o, e.reason, e.retry_after_ns);
        }
    }
    /* Calls 3, 4 and 5 would have been refused. */
    gf_assert_would_deny(gf_decide(obs, &f->m, to, "o", 3 * SEC), "rate_limited", SEC);
    /* Switching to enforcement: the bucket is exactly as empty. */
    gf_assert_refused(gf_decide(enf, &f->m, te, "o", 3 * SEC), "rate_limited", SEC);
    gf_assert_refused(gf_decide(enf, &f->m, te, "e", 3 * SEC), "rate_limited", SEC);
    gf_assert_allow(gf_decide(enf, &f->m, te, "o", 4 * SEC));
    gf_assert_refused(gf_decide(enf, &f->m, te, "o", 4 * SEC), "rate_limited", SEC);

    /* From a fresh start: 2 pass, every further one would_deny. */
    gf_fresh_state(f, NULL);
    gf_assert_allow(gf_decide(obs, &f->m, to, "a", 0));
    gf_assert_allow(gf_decide(obs, &f->m, to, "a", 0));
    for (int i = 0; i < 10; i++)
        gf_assert_would_deny(gf_decide(obs, &f->m, to, "a", 0), "rate_limited", SEC);
    gf_assert_refused(gf_decide(enf, &f->m, te, "a", 0), "rate_limited", SEC);
    assert_int_equal(bucket_remaining(*gf_only_bucket(&f->m), &te->rate, MONO0), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, gf_setup, gf_teardown)
    const struct CMUnitTest tests[] = {
        /* Rate Limiting */
        T(test_rate_basic_usage),
        T(test_rate_how_it_works),
        T(test_rate_advanced_usage),
        T(test_rate_best_practices),
        /* Action Quotas */
        T(test_quota_basic_usage),
        T(test_quota_per_agent),
        T(test_quota_agent_quota_spans_tools),
        T(test_quota_monitoring),
        T(test_quota_rolling_window),
        T(test_quota_per_agent_and_tool),
        /* Circuit Breakers */
        T(test_breaker_opens_after_threshold),
        T(test_breaker_success_resets_count),
        T(test_breaker_half_open_closes),
        T(test_breaker_half_open_failure_reopens),
        T(test_breaker_defaults),
        /* Timeouts & Retries */
        T(test_retry_schedule),
        T(test_retry_jitter_bounds),
        T(test_retry_configs_by_tool),
        /* Dry-Run Mode */
        T(test_dry_run_basic_usage),
        T(test_dry_run_impact_estimation),
        T(test_dry_run_tracking_executions),
        /* Combining Safety Features, Best Practices */
        T(test_combined_rate_and_breaker),
        T(test_layering_consumes_nothing_on_refusal),
        T(test_most_restrictive_reason),
        T(test_observe_mode_moves_state_as_enforcement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
