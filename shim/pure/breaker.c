#include "breaker.h"

#include "num.h"

#include <math.h>
#include <string.h>

bool breaker_policy_init(struct breaker_policy *p, uint64_t failure_threshold,
                         uint64_t success_threshold, double timeout_seconds, double probe_seconds)
{
    if (failure_threshold == 0 || failure_threshold > UINT32_MAX || success_threshold == 0 ||
        success_threshold > BREAKER_MAX_PROBES || !(timeout_seconds > 0) ||
        !(probe_seconds > 0) || timeout_seconds > 1e9 || probe_seconds > 1e9)
        return false;
    uint64_t open_ns = num_round_u64(timeout_seconds * 1e9);
    uint64_t probe_ns = num_round_u64(probe_seconds * 1e9);
    if (open_ns == 0 || probe_ns == 0)
        return false;
    p->failure_threshold = (uint32_t)failure_threshold;
    p->success_threshold = (uint32_t)success_threshold;
    p->open_ns = open_ns;
    p->probe_ns = probe_ns;
    return true;
}

static void set_state(struct breaker *b, enum breaker_state to, uint64_t now_ns,
                      struct breaker_event *ev)
{
    ev->changed = b->state != to;
    ev->from = (enum breaker_state)b->state;
    ev->to = to;
    b->state = to;
    b->since_ns = now_ns;
    b->failures = 0;
    b->successes = 0;
    memset(b->leases, 0, sizeof b->leases);
}

/* A lease is free when unused, past its deadline, or its owner is gone. */
static bool lease_free(const struct breaker_lease *l, uint64_t now_ns, breaker_alive_fn alive,
                       void *ctx)
{
    return l->pid == 0 || now_ns >= l->deadline_ns || (alive && !alive(l->pid, ctx));
}

enum breaker_admission breaker_admit(struct breaker *b, const struct breaker_policy *p,
                                     uint64_t now_ns, int32_t pid, breaker_alive_fn alive,
                                     void *ctx, uint64_t *retry_after_ns,
                                     struct breaker_event *ev)
{
    ev->changed = false;
    *retry_after_ns = 0;
    if (b->state == BREAKER_CLOSED)
        return BREAKER_PASS;
    if (b->state == BREAKER_OPEN) {
        uint64_t elapsed = now_ns > b->since_ns ? now_ns - b->since_ns : 0;
        if (elapsed < p->open_ns) {
            *retry_after_ns = p->open_ns - elapsed;
            return BREAKER_REFUSE;
        }
        set_state(b, BREAKER_HALF_OPEN, now_ns, ev);
    }
    for (uint32_t i = 0; i < p->success_threshold; i++) {
        struct breaker_lease *l = &b->leases[i];
        if (lease_free(l, now_ns, alive, ctx)) {
            l->pid = pid;
            l->deadline_ns = now_ns + p->probe_ns;
            return BREAKER_PROBE;
        }
    }
    return BREAKER_REFUSE;
}

enum breaker_admission breaker_peek(const struct breaker *b, const struct breaker_policy *p,
                                    uint64_t now_ns, breaker_alive_fn alive, void *ctx,
                                    uint64_t *retry_after_ns)
{
    struct breaker copy = *b;
    struct breaker_event ignored;
    return breaker_admit(&copy, p, now_ns, 0, alive, ctx, retry_after_ns, &ignored);
}

void breaker_release(struct breaker *b, int32_t pid)
{
    for (uint32_t i = 0; i < BREAKER_MAX_PROBES; i++)
        if (b->leases[i].pid == pid)
            b->leases[i].pid = 0;
}

void breaker_record(struct breaker *b, const struct breaker_policy *p, uint64_t now_ns,
                    int32_t pid, bool success, struct breaker_event *ev)
{
    ev->changed = false;
    switch ((enum breaker_state)b->state) {
    case BREAKER_CLOSED:
        if (success) {
            b->failures = 0;
        } else if (++b->failures >= p->failure_threshold) {
            set_state(b, BREAKER_OPEN, now_ns, ev);
        }
        return;
    case BREAKER_HALF_OPEN: {
        bool probe = false;
        for (uint32_t i = 0; i < BREAKER_MAX_PROBES && !probe; i++) {
            if (b->leases[i].pid == pid) {
                b->leases[i].pid = 0;
                probe = true;
            }
        }
        /* Any failure is evidence; only a probe's success shows recovery
         * (a call admitted before the breaker opened proves nothing new). */
        if (!success)
            set_state(b, BREAKER_OPEN, now_ns, ev);
        else if (probe && ++b->successes >= p->success_threshold)
            set_state(b, BREAKER_CLOSED, now_ns, ev);
        return;
    }
    case BREAKER_OPEN:
        return;
    }
}

bool breaker_is_open(const struct breaker *b, const struct breaker_policy *p, uint64_t now_ns)
{
    uint64_t elapsed = now_ns > b->since_ns ? now_ns - b->since_ns : 0;
    return b->state == BREAKER_OPEN && elapsed < p->open_ns;
}

enum breaker_state breaker_get_state(const struct breaker *b)
{
    return (enum breaker_state)b->state;
}

void breaker_reset(struct breaker *b, uint64_t now_ns, struct breaker_event *ev)
{
    set_state(b, BREAKER_CLOSED, now_ns, ev);
}

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED: return "CLOSED";
    case BREAKER_OPEN: return "OPEN";
    case BREAKER_HALF_OPEN: return "HALF_OPEN";
    }
    return "UNKNOWN";
}
