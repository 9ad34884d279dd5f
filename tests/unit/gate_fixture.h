/* Shared by the tests that drive the real gate (test_guide.c,
 * test_properties.c): a state file in a temporary folder, configs loaded
 * from INI text, calls made at injected clock readings, and a look at the
 * state entries a call used. Header-only, every function static. */
#ifndef ENACT_TEST_GATE_FIXTURE_H
#define ENACT_TEST_GATE_FIXTURE_H

#include "helpers.h"

#include "config.h"
#include "config_match.h"
#include "gate.h"
#include "local_store.h"
#include "state.h"

#define SEC UINT64_C(1000000000)
#define MS UINT64_C(1000000)
/* Clock readings the tests start at: CLOCK_MONOTONIC for buckets and
 * breakers, CLOCK_REALTIME for quotas (2027-01-15; a multiple of every
 * quota slot the tests use: 1440 s for 24 h, 0.6 s for 36 s, 1 s for 1 min). */
#define MONO0 (UINT64_C(1000) * SEC)
#define REAL0 (UINT64_C(1800000000) * SEC)

enum { GF_MAX_CONFIGS = 64 };

struct gfix {
    char *dir;
    char state_path[PATH_MAX];
    int nconfigs;
    struct enact_config *cfgs[GF_MAX_CONFIGS];
    struct state_map m;
    int nstates; /* state files opened so far */
    char msg[512];
};

/* Opens a new state file <dir>/stateN.state in f->m (closing the previous
 * map): a clean slate within one test. */
static inline void gf_fresh_state(struct gfix *f, const struct state_sizes *sizes)
{
    state_close(&f->m);
    char name[32];
    snprintf(name, sizeof name, "state%d.state", f->nstates++);
    th_path(f->state_path, sizeof f->state_path, f->dir, name);
    if (state_open(f->state_path, sizes, &f->m, f->msg, sizeof f->msg) != STATE_OPENED)
        fail_msg("state_open: %s", f->msg);
}

static inline int gf_setup(void **state)
{
    struct gfix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = th_mkdtemp();
    gf_fresh_state(f, NULL);
    *state = f;
    return 0;
}

static inline int gf_teardown(void **state)
{
    struct gfix *f = *state;
    for (int i = 0; i < f->nconfigs; i++)
        config_free(f->cfgs[i]);
    state_close(&f->m);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* Loads an INI given as text (warnings allowed, errors fail the test);
 * freed at teardown. */
static inline const struct enact_config *gf_config(struct gfix *f, const char *text)
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
    config_diag_free(&diag);
    assert_true(f->nconfigs < GF_MAX_CONFIGS);
    f->cfgs[f->nconfigs++] = cfg;
    return cfg;
}

static inline const struct tool *gf_tool(const struct enact_config *c, const char *name)
{
    for (size_t i = 0; i < c->ntools; i++)
        if (strcmp(c->tools[i].name, name) == 0)
            return &c->tools[i];
    fail_msg("no tool %s", name);
    return NULL;
}

/* One call by agent (its [agent] quota applies) at the two clock readings,
 * owned by this thread. */
static inline struct gate_result gf_decide_at(const struct enact_config *c, struct state_map *m,
                                              const struct tool *t, const char *agent,
                                              uint64_t mono, uint64_t real)
{
    struct gate_call call = {.tool = t,
                             .agent_quota = config_agent_quota(c, agent),
                             .agent_id = gate_agent_id(agent),
                             .owner = (int32_t)gettid(),
                             .mono_ns = mono,
                             .real_ns = real};
    return gate_decide(c, local_store(m), &call);
}

/* Both clocks moved by the same amount since MONO0 / REAL0. */
static inline struct gate_result gf_decide(const struct enact_config *c, struct state_map *m,
                                           const struct tool *t, const char *agent,
                                           uint64_t since)
{
    return gf_decide_at(c, m, t, agent, MONO0 + since, REAL0 + since);
}

static inline void gf_report(struct state_map *m, const struct tool *t, uint64_t since,
                             enum call_outcome outcome, struct breaker_event *ev)
{
    gate_report(local_store(m), t, (int32_t)gettid(), MONO0 + since, outcome, ev);
}

static inline void gf_assert_allow(struct gate_result g)
{
    if (g.action != GATE_PROCEED || !g.verdict || strcmp(g.verdict, "allow") != 0 || g.reason ||
        g.retry_after_ns != 0)
        fail_msg("expected allow, got action %d verdict %s reason %s retry %llu", (int)g.action,
                 g.verdict ? g.verdict : "(null)", g.reason ? g.reason : "(null)",
                 (unsigned long long)g.retry_after_ns);
}

/* A refusal (or, admitted, an observe-mode would_deny) with its reason and
 * exact retry_after. */
static inline void gf_assert_refused(struct gate_result g, const char *reason, uint64_t retry)
{
    if (g.action != GATE_REFUSE || !g.audit || !g.verdict || strcmp(g.verdict, "deny") != 0 ||
        !g.reason || strcmp(g.reason, reason) != 0 || g.retry_after_ns != retry || g.probe)
        fail_msg("expected deny %s retry %llu, got action %d verdict %s reason %s retry %llu",
                 reason, (unsigned long long)retry, (int)g.action,
                 g.verdict ? g.verdict : "(null)", g.reason ? g.reason : "(null)",
                 (unsigned long long)g.retry_after_ns);
}

static inline void gf_assert_would_deny(struct gate_result g, const char *reason, uint64_t retry)
{
    if (g.action != GATE_PROCEED || !g.audit || !g.verdict ||
        strcmp(g.verdict, "would_deny") != 0 || !g.reason || strcmp(g.reason, reason) != 0 ||
        g.retry_after_ns != retry)
        fail_msg("expected would_deny %s retry %llu, got action %d verdict %s reason %s retry %llu",
                 reason, (unsigned long long)retry, (int)g.action,
                 g.verdict ? g.verdict : "(null)", g.reason ? g.reason : "(null)",
                 (unsigned long long)g.retry_after_ns);
}

/* Claimed slots of each table. */
static inline unsigned gf_claimed_buckets(const struct state_map *m)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < m->nbuckets; i++)
        n += m->buckets[i].key != 0;
    return n;
}

static inline unsigned gf_claimed_quotas(const struct state_map *m)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < m->nquotas; i++)
        n += m->quotas[i].key != 0;
    return n;
}

/* The one bucket word of a state where one (agent, tool) bucket was used. */
static inline uint64_t *gf_only_bucket(struct state_map *m)
{
    uint64_t *found = NULL;
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        if (m->buckets[i].key == 0)
            continue;
        if (found)
            fail_msg("more than one bucket in use");
        found = &m->buckets[i].tat;
    }
    if (!found)
        fail_msg("no bucket in use");
    return found;
}

/* The one quota slot of a state where one quota was used. */
static inline struct quota_slot *gf_only_quota(struct state_map *m)
{
    struct quota_slot *found = NULL;
    for (uint32_t i = 0; i < m->nquotas; i++) {
        if (m->quotas[i].key == 0)
            continue;
        if (found)
            fail_msg("more than one quota in use");
        found = &m->quotas[i];
    }
    if (!found)
        fail_msg("no quota in use");
    return found;
}

/* The breaker of a tool (one per tool, named by its breaker_id). */
static inline struct breaker *gf_breaker(struct state_map *m, const struct tool *t)
{
    struct breaker_slot *s = state_breaker(m, t->breaker_id);
    assert_non_null(s);
    return &s->breaker;
}

#endif
