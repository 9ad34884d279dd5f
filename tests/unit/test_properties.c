/* Properties of the limits through the real gate, over many random call
 * sequences (a fixed seed, so every run checks the same ones; injected
 * clocks; several policies):
 *
 *   - a bucket never admits more than burst + rate * t in any interval t,
 *     and decides every call exactly as a reference token bucket would;
 *   - a quota never admits more than max_actions in any window of
 *     window_hours, refuses only when at most one slot (1/60 of the window)
 *     stricter than an exact count would, and its retry_after is exact;
 *   - with a bucket, a tool quota and an agent quota on one call, a refused
 *     call changes none of them, an admitted one takes exactly one from
 *     each, and the reason is the refusal that lasts longest;
 *   - observe mode moves the state exactly as enforcement does. */
#include "gate_fixture.h"

#include "backoff.h"
#include "bucket.h"
#include "quota.h"

#define SEED UINT64_C(0x5eed0f0e4ac7)

static uint64_t rnd(uint64_t *s)
{
    return splitmix64_next(s);
}

/* Uniform in [0, n] (n < 2^63; the tiny modulo bias does not matter here). */
static uint64_t rnd_upto(uint64_t *s, uint64_t n)
{
    return n == UINT64_MAX ? rnd(s) : rnd(s) % (n + 1);
}

static struct state_sizes big_tables(void)
{
    return (struct state_sizes){.buckets = 8192, .quotas = 8192, .breakers = 64};
}

/* ==== token bucket ======================================================= */

static const struct {
    const char *rate; /* calls per minute: each a whole number of ns per call */
    uint64_t burst;
} RATES[] = {
    {"60", 10}, {"1", 1}, {"7.5", 3}, {"600", 50}, {"0.5", 2}, {"3", 1}, {"1000", 100}, {"37.5", 4},
};

enum { RATE_SEQUENCES = 30, RATE_CALLS = 300 };

/* The reference: a continuous token bucket in exact integers, credit in
 * ns of refill (one token = interval ns), starting full. */
struct ref_bucket {
    uint64_t credit, cap, interval, last;
};

static bool ref_take(struct ref_bucket *b, uint64_t now, uint64_t *retry)
{
    uint64_t gained = now - b->last;
    b->credit = gained >= b->cap - b->credit ? b->cap : b->credit + gained;
    b->last = now;
    if (b->credit >= b->interval) {
        b->credit -= b->interval;
        return true;
    }
    *retry = b->interval - b->credit;
    return false;
}

static void test_bucket_never_over_admits(void **state)
{
    struct gfix *f = *state;
    uint64_t seed = SEED;
    static uint64_t admitted[RATE_CALLS];
    unsigned long total_admitted = 0, total_refused = 0;
    for (size_t p = 0; p < sizeof RATES / sizeof RATES[0]; p++) {
        struct state_sizes sizes = big_tables();
        gf_fresh_state(f, &sizes);
        char text[256];
        snprintf(text, sizeof text,
                 "[tool.t]\nconnect = *\nrate.max_calls_per_minute = %s\nrate.burst_size = %llu\n",
                 RATES[p].rate, (unsigned long long)RATES[p].burst);
        const struct enact_config *c = gf_config(f, text);
        const struct tool *t = gf_tool(c, "t");
        const uint64_t T = t->rate.interval_ns, burst = RATES[p].burst;
        /* The rate is exact in ns: burst + rate * t is burst + t / T. */
        assert_true((double)T * strtod(RATES[p].rate, NULL) == 60e9);
        for (int k = 0; k < RATE_SEQUENCES; k++) {
            char agent[32];
            snprintf(agent, sizeof agent, "p%zu-s%d", p, k);
            struct ref_bucket ref = {.credit = burst * T, .cap = burst * T, .interval = T,
                                     .last = MONO0};
            uint64_t now = MONO0;
            size_t n = 0;
            for (int i = 0; i < RATE_CALLS; i++) {
                uint64_t r = rnd(&seed) % 100;
                now += r < 45   ? 0
                       : r < 80 ? rnd_upto(&seed, T)
                       : r < 95 ? rnd_upto(&seed, burst * T)
                                : rnd_upto(&seed, 4 * burst * T);
                struct gate_result g = gf_decide_at(c, &f->m, t, agent, now, REAL0);
                uint64_t want_retry = 0;
                bool want = ref_take(&ref, now, &want_retry);
                if ((g.action == GATE_PROCEED) != want ||
                    (!want && (strcmp(g.reason, "rate_limited") != 0 ||
                               g.retry_after_ns != want_retry)))
                    fail_msg("policy %zu, sequence %d, call %d at +%llu ns: gate %s (retry %llu), "
                             "reference %s (retry %llu)",
                             p, k, i, (unsigned long long)(now - MONO0),
                             g.action == GATE_PROCEED ? "admits" : "refuses",
                             (unsigned long long)g.retry_after_ns, want ? "admits" : "refuses",
                             (unsigned long long)want_retry);
                if (want)
                    admitted[n++] = now;
            }
            /* In every interval [a_i, a_j]: j - i + 1 <= burst + (a_j - a_i) / T. */
            for (size_t i = 0; i < n; i++)
                for (size_t j = i + burst; j < n; j++)
                    if ((j - i + 1 - burst) * T > admitted[j] - admitted[i])
                        fail_msg("policy %zu, sequence %d: %zu calls in %llu ns, burst %llu, "
                                 "interval %llu ns",
                                 p, k, j - i + 1, (unsigned long long)(admitted[j] - admitted[i]),
                                 (unsigned long long)burst, (unsigned long long)T);
            total_admitted += n;
            total_refused += RATE_CALLS - n;
        }
    }
    /* The sequences did test something: plenty of both outcomes. */
    assert_true(total_admitted > 10000);
    assert_true(total_refused > 10000);
}

/* ==== quota ============================================================== */

static const struct {
    uint64_t max;
    const char *hours;
    uint64_t window_ns; /* exactly hours * 3600e9 */
} QUOTAS[] = {
    {1, "0.016666666666666666", 60 * SEC}, /* one minute */
    {5, "0.01", 36 * SEC},
    {10, "1", 3600 * SEC},
    {100, "24", 86400 * SEC},
    {3, "0.5", 1800 * SEC},
    {50, "2", 7200 * SEC},
};

enum { QUOTA_SEQUENCES = 25, QUOTA_CALLS = 300 };

static void test_quota_never_over_admits(void **state)
{
    struct gfix *f = *state;
    uint64_t seed = SEED ^ 1;
    static uint64_t admitted[QUOTA_CALLS];
    unsigned long total_admitted = 0, total_refused = 0;
    for (size_t p = 0; p < sizeof QUOTAS / sizeof QUOTAS[0]; p++) {
        struct state_sizes sizes = big_tables();
        gf_fresh_state(f, &sizes);
        char text[256];
        snprintf(text, sizeof text,
                 "[tool.t]\nconnect = *\nquota.max_actions = %llu\nquota.window_hours = %s\n",
                 (unsigned long long)QUOTAS[p].max, QUOTAS[p].hours);
        const struct enact_config *c = gf_config(f, text);
        const struct tool *t = gf_tool(c, "t");
        const uint64_t W = QUOTAS[p].window_ns, max = QUOTAS[p].max;
        const uint64_t slot = t->quota.policy.slot_ns;
        assert_true(slot * 60 >= W && slot * 60 < W + 60);
        for (int k = 0; k < QUOTA_SEQUENCES; k++) {
            char agent[32];
            snprintf(agent, sizeof agent, "q%zu-s%d", p, k);
            uint64_t agent_id = gate_agent_id(agent);
            /* Start anywhere within a slot. */
            uint64_t now = REAL0 + rnd_upto(&seed, slot);
            size_t n = 0;
            for (int i = 0; i < QUOTA_CALLS; i++) {
                uint64_t r = rnd(&seed) % 100;
                now += r < 40   ? 0
                       : r < 70 ? rnd_upto(&seed, W / 100)
                       : r < 90 ? rnd_upto(&seed, W / 5)
                                : rnd_upto(&seed, 2 * W);
                struct gate_result g = gf_decide_at(c, &f->m, t, agent, MONO0, now);
                if (g.action == GATE_PROCEED) {
                    gf_assert_allow(g);
                    admitted[n++] = now;
                    continue;
                }
                assert_string_equal(g.reason, "quota_exceeded");
                /* Refused only when the last 61 slots (at most 1/60 of a
                 * window more than the window) hold max_actions. */
                uint64_t recent = 0;
                for (size_t j = 0; j < n; j++)
                    recent += admitted[j] + 61 * slot > now;
                if (recent < max)
                    fail_msg("quota %zu, sequence %d, call %d: refused with %llu of %llu in the "
                             "last 61 slots",
                             p, k, i, (unsigned long long)recent, (unsigned long long)max);
                /* retry_after is exact: refused just before, admitted then. */
                struct quota_slot *qs = state_find_quota(&f->m, gate_tool_quota_key(agent_id, t));
                assert_non_null(qs);
                struct quota_ring copy = qs->ring;
                uint64_t retry = 0;
                assert_true(g.retry_after_ns > 0);
                assert_false(quota_check(&copy, &t->quota.policy, now + g.retry_after_ns - 1,
                                         &retry));
                assert_int_equal(retry, 1);
                copy = qs->ring;
                assert_true(quota_check(&copy, &t->quota.policy, now + g.retry_after_ns, &retry));
            }
            /* Any max + 1 admitted calls span more than the window. */
            for (size_t i = 0; i + max < n; i++)
                if (admitted[i + max] - admitted[i] <= W)
                    fail_msg("quota %zu, sequence %d: %llu + 1 calls within %llu ns (window %llu)",
                             p, k, (unsigned long long)max,
                             (unsigned long long)(admitted[i + max] - admitted[i]),
                             (unsigned long long)W);
            total_admitted += n;
            total_refused += QUOTA_CALLS - n;
        }
    }
    assert_true(total_admitted > 3000);
    assert_true(total_refused > 10000);
}

/* ==== several limits on one call ========================================= */

static const char *const COMBOS[] = {
    "[tool.a]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = 60\nrate.burst_size = 5\n"
    "quota.max_actions = 20\nquota.window_hours = 0.016666666666666666\n"
    "[tool.b]\nconnect = 10.0.0.2\nrate.max_calls_per_minute = 120\nrate.burst_size = 3\n"
    "quota.max_actions = 8\nquota.window_hours = 0.01\n"
    "[agent]\nquota.max_actions = 25\nquota.window_hours = 0.033333333333333333\n",

    "[tool.a]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = 6\nrate.burst_size = 10\n"
    "quota.max_actions = 4\nquota.window_hours = 0.01\n"
    "[tool.b]\nconnect = 10.0.0.2\nrate.max_calls_per_minute = 30\n"
    "quota.max_actions = 50\nquota.window_hours = 1\n"
    "[agent]\nquota.max_actions = 7\nquota.window_hours = 0.016666666666666666\n",

    "[tool.a]\nconnect = 10.0.0.1\nrate.max_calls_per_minute = 600\nrate.burst_size = 1\n"
    "quota.max_actions = 100\n"
    "[tool.b]\nconnect = 10.0.0.2\nrate.max_calls_per_minute = 1\nrate.burst_size = 2\n"
    "quota.max_actions = 2\nquota.window_hours = 0.01\n"
    "[agent]\nquota.max_actions = 40\nquota.window_hours = 0.01\n"
    "[agent.vip]\nquota.max_actions = 3\nquota.window_hours = 0.016666666666666666\n",
};

/* What one agent's entries for one tool hold at a moment: the bucket
 * word, and each ring as it stands at now (expired slots dropped). An
 * entry not yet in the state is what a new one would be: a full bucket
 * (word 0), an empty ring. */
struct snapshot {
    bool has_bucket, has_tq, has_aq;
    uint64_t tat;
    struct quota_ring tq, aq;
};

static void snap(struct state_map *m, const struct enact_config *c, const struct tool *t,
                 const char *agent, uint64_t real, struct snapshot *s)
{
    uint64_t id = gate_agent_id(agent);
    memset(s, 0, sizeof *s);
    uint64_t *w = state_find_bucket(m, gate_bucket_key(id, t));
    if ((s->has_bucket = w != NULL))
        s->tat = *w;
    struct quota_slot *q = state_find_quota(m, gate_tool_quota_key(id, t));
    if ((s->has_tq = q != NULL))
        s->tq = q->ring;
    quota_remaining(&s->tq, &t->quota.policy, real);
    const struct quota_spec *as = config_agent_quota(c, agent);
    assert_non_null(as);
    q = state_find_quota(m, gate_agent_quota_key(id, as));
    if ((s->has_aq = q != NULL))
        s->aq = q->ring;
    quota_remaining(&s->aq, &as->policy, real);
}

/* The ring after one more action at real. */
static struct quota_ring plus_one(struct quota_ring r, const struct quota_policy *p, uint64_t real)
{
    quota_consume(&r, p, real);
    return r;
}

static void test_refused_calls_change_nothing(void **state)
{
    struct gfix *f = *state;
    uint64_t seed = SEED ^ 2;
    const char *agents[] = {"alice", "bob", "vip"};
    unsigned long counts[4] = {0}; /* admitted, rate, tool quota, agent quota */
    for (size_t combo = 0; combo < sizeof COMBOS / sizeof COMBOS[0]; combo++) {
        struct state_sizes sizes = big_tables();
        gf_fresh_state(f, &sizes);
        const struct enact_config *c = gf_config(f, COMBOS[combo]);
        const struct tool *tools[2] = {gf_tool(c, "a"), gf_tool(c, "b")};
        uint64_t mono = MONO0, real = REAL0 + rnd_upto(&seed, SEC);
        for (int i = 0; i < 3000; i++) {
            uint64_t r = rnd(&seed) % 100;
            uint64_t step = r < 40 ? 0 : r < 80 ? rnd_upto(&seed, SEC) : rnd_upto(&seed, 40 * SEC);
            mono += step;
            real += step;
            const struct tool *t = tools[rnd(&seed) % 2];
            const char *agent = agents[rnd(&seed) % 3];
            /* Every entry of this agent, for both tools, before. */
            struct snapshot before[2], after[2];
            for (int k = 0; k < 2; k++)
                snap(&f->m, c, tools[k], agent, real, &before[k]);
            const struct snapshot *b = &before[t == tools[1]];

            /* What each limit would say alone. */
            const char *why = NULL;
            uint64_t longest = 0;
            int winner = 0; /* 1 rate, 2 tool quota, 3 agent quota */
            struct bucket_decision bd = bucket_decide(b->tat, &t->rate, mono);
            if (!bd.admit) {
                why = "rate_limited";
                longest = bd.retry_after_ns;
                winner = 1;
            }
            uint64_t retry;
            struct quota_ring ring = b->tq;
            if (!quota_check(&ring, &t->quota.policy, real, &retry) && (!why || retry > longest)) {
                why = "quota_exceeded";
                longest = retry;
                winner = 2;
            }
            const struct quota_spec *as = config_agent_quota(c, agent);
            ring = b->aq;
            if (!quota_check(&ring, &as->policy, real, &retry) && (!why || retry > longest)) {
                why = "quota_exceeded";
                longest = retry;
                winner = 3;
            }

            struct gate_result g = gf_decide_at(c, &f->m, t, agent, mono, real);
            for (int k = 0; k < 2; k++)
                snap(&f->m, c, tools[k], agent, real, &after[k]);
            const struct snapshot *a = &after[t == tools[1]];
            const struct snapshot *other_b = &before[t != tools[1]], *other_a = &after[t != tools[1]];

            if (why) {
                gf_assert_refused(g, why, longest);
                /* Nothing moved, anywhere. */
                assert_int_equal(a->tat, b->tat);
                assert_memory_equal(&a->tq, &b->tq, sizeof a->tq);
                assert_memory_equal(&a->aq, &b->aq, sizeof a->aq);
                counts[winner]++;
            } else {
                gf_assert_allow(g);
                /* Exactly one from each. */
                assert_true(a->has_bucket && a->has_tq && a->has_aq);
                assert_int_equal(a->tat, bd.new_tat);
                struct quota_ring want = plus_one(b->tq, &t->quota.policy, real);
                assert_memory_equal(&a->tq, &want, sizeof want);
                want = plus_one(b->aq, &as->policy, real);
                assert_memory_equal(&a->aq, &want, sizeof want);
                counts[0]++;
            }
            /* The other tool's own entries never move; the agent quota
             * they share moved as the call did. */
            assert_int_equal(other_a->tat, other_b->tat);
            assert_memory_equal(&other_a->tq, &other_b->tq, sizeof other_a->tq);
            assert_memory_equal(&other_a->aq, &a->aq, sizeof a->aq);
            /* No lock is left held. */
            for (uint32_t s = 0; s < f->m.nquotas; s++)
                if (f->m.quotas[s].lock != 0)
                    fail_msg("combo %zu call %d: quota slot %u still locked", combo, i, s);
        }
    }
    /* Each outcome happened many times. */
    for (int k = 0; k < 4; k++)
        if (counts[k] < 200)
            fail_msg("outcome %d seen only %lu times", k, counts[k]);
}

/* ==== observe mode ======================================================== */

static void test_observe_moves_state_as_enforcement(void **state)
{
    struct gfix *f = *state;
    uint64_t seed = SEED ^ 3;
    for (size_t combo = 0; combo < sizeof COMBOS / sizeof COMBOS[0]; combo++) {
        struct state_sizes sizes = big_tables();
        gf_fresh_state(f, &sizes);
        char text[2048];
        snprintf(text, sizeof text, "[enact]\nmode = observe\n%s", COMBOS[combo]);
        const struct enact_config *obs = gf_config(f, text);
        const struct enact_config *enf = gf_config(f, COMBOS[combo]);
        uint64_t mono = MONO0, real = REAL0;
        unsigned would_deny = 0;
        for (int i = 0; i < 1500; i++) {
            uint64_t step = rnd(&seed) % 2 ? 0 : rnd_upto(&seed, 5 * SEC);
            mono += step;
            real += step;
            const char *name = rnd(&seed) % 2 ? "a" : "b";
            /* The same call: observed for agent "alice", enforced for
             * "bob" (the same quotas apply to both). */
            struct gate_result o =
                gf_decide_at(obs, &f->m, gf_tool(obs, name), "alice", mono, real);
            struct gate_result e =
                gf_decide_at(enf, &f->m, gf_tool(enf, name), "bob", mono, real);
            assert_int_equal(o.action, GATE_PROCEED);
            if (e.action == GATE_PROCEED) {
                gf_assert_allow(o);
            } else {
                gf_assert_would_deny(o, e.reason, e.retry_after_ns);
                would_deny++;
            }
            /* And the two agents' entries hold the same. */
            for (int k = 0; k < 2; k++) {
                const struct tool *to = gf_tool(obs, k ? "b" : "a"), *te = gf_tool(enf, k ? "b" : "a");
                struct snapshot so, se;
                snap(&f->m, obs, to, "alice", real, &so);
                snap(&f->m, enf, te, "bob", real, &se);
                assert_int_equal(so.tat, se.tat);
                assert_memory_equal(&so.tq, &se.tq, sizeof so.tq);
                assert_memory_equal(&so.aq, &se.aq, sizeof so.aq);
            }
        }
        assert_true(would_deny > 100);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, gf_setup, gf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_bucket_never_over_admits),
        T(test_quota_never_over_admits),
        T(test_refused_calls_change_nothing),
        T(test_observe_moves_state_as_enforcement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
