/* Reading the shared state of a config at one moment. Reads only: it never
 * claims an entry, and quota rings are read on a copy. */
#include "snapshot.h"
#include "../policy/gate.h"
#include "../store/clock.h"
#include "../store/local_store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

bool snapshot_take(struct snapshot *s, const struct enact_config *cfg, struct cli_store *cs)
{
    memset(s, 0, sizeof *s);
    if (!cli_open_store(cfg, cs))
        return false;
    *s = (struct snapshot){.cfg = cfg, .st = cs->st, .host = cs->mapped ? &cs->m : NULL,
                           .mono = clock_now_ns(CLOCK_MONOTONIC),
                           .real = clock_now_ns(CLOCK_REALTIME)};
    if (cs->redis) {
        struct backend_view *b = &s->backend;
        uint64_t rtt = 0;
        b->shared = true;
        redis_url_where(&cfg->backend.parsed, b->where, sizeof b->where);
        b->up = redis_store_probe(cs->redis, &rtt, b->version, sizeof b->version, b->why,
                                  sizeof b->why);
        b->rtt_ms = (double)rtt / 1e6;
        if (!b->up)
            cs->st = s->st = local_store(cs->mapped ? &cs->m : NULL);
        else
            s->fleet = cs->redis;
    }
    s->nagents = s->st.ops->agents(s->st.impl, &s->agents);
    return true;
}

void snapshot_release(struct snapshot *s, struct cli_store *cs)
{
    free(s->agents);
    s->agents = NULL;
    s->nagents = 0;
    cli_close_store(cs);
}

struct breaker_view snapshot_breaker(const struct snapshot *s, const struct tool *t)
{
    struct breaker_view v = {"CLOSED", 0, -1};
    struct breaker b;
    if (!s->st.ops->read_breaker(s->st.impl, t->breaker_id, &b))
        return v;
    enum breaker_state st = breaker_get_state(&b);
    v.state = breaker_state_name(st);
    v.code = st == BREAKER_OPEN ? 1 : st == BREAKER_HALF_OPEN ? 2 : 0;
    if (b.since_ns)
        v.seconds = s->mono > b.since_ns ? (double)(s->mono - b.since_ns) / 1e9 : 0;
    return v;
}

/* A bucket no process has used is full: its word reads 0. */
uint64_t snapshot_tokens(const struct snapshot *s, uint64_t agent_id, const struct tool *t)
{
    uint64_t tat;
    s->st.ops->read_bucket(s->st.impl, gate_bucket_key(agent_id, t), &tat);
    return bucket_remaining(tat, &t->rate, s->mono);
}
