#include "quota.h"

#include "num.h"

#include <string.h>

#define MAX_WINDOW_HOURS (24.0 * 366 * 10)

bool quota_policy_init(struct quota_policy *p, uint64_t max_actions, double window_hours)
{
    if (max_actions == 0 || max_actions > UINT32_MAX || !(window_hours > 0) ||
        window_hours > MAX_WINDOW_HOURS)
        return false;
    double slot = window_hours * 3600e9 / QUOTA_WINDOW_SLOTS;
    if (slot < 1)
        return false;
    p->max_actions = (uint32_t)max_actions;
    /* Rounded up: 60 slots must span at least the whole window. */
    p->slot_ns = num_ceil_u64(slot);
    return true;
}

/* Moves the ring forward to now's slot, dropping slots that left the
 * window. A zeroed ring is a valid empty ring at slot 0. */
static void advance(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns)
{
    uint64_t slot = now_ns / p->slot_ns;
    if (slot <= r->newest)
        return; /* same slot, or a clock stepped back: keep counting */
    if (slot - r->newest >= QUOTA_RING_SLOTS) {
        memset(r->counts, 0, sizeof r->counts);
        r->used = 0;
    } else {
        for (uint64_t s = r->newest + 1; s <= slot; s++) {
            uint32_t *c = &r->counts[s % QUOTA_RING_SLOTS];
            r->used -= *c;
            *c = 0;
        }
    }
    r->newest = slot;
}

/* The oldest slot holding actions is freed when the ring passes it. */
static uint64_t next_release(const struct quota_ring *r, const struct quota_policy *p,
                             uint64_t now_ns)
{
    uint64_t oldest = r->newest >= QUOTA_RING_SLOTS - 1 ? r->newest - (QUOTA_RING_SLOTS - 1) : 0;
    for (uint64_t s = oldest; s <= r->newest; s++) {
        if (r->counts[s % QUOTA_RING_SLOTS]) {
            uint64_t free_at = (s + QUOTA_RING_SLOTS) * p->slot_ns;
            return free_at > now_ns ? free_at - now_ns : 0;
        }
    }
    return 0;
}

bool quota_check(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns,
                 uint64_t *retry_after_ns)
{
    advance(r, p, now_ns);
    if (r->used < p->max_actions)
        return true;
    *retry_after_ns = next_release(r, p, now_ns);
    return false;
}

uint64_t quota_next_release_ns(const struct quota_ring *r, const struct quota_policy *p,
                               uint64_t now_ns)
{
    struct quota_ring copy = *r;
    advance(&copy, p, now_ns);
    return next_release(&copy, p, now_ns);
}

void quota_consume(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns)
{
    advance(r, p, now_ns);
    r->counts[r->newest % QUOTA_RING_SLOTS]++;
    r->used++;
}

uint32_t quota_remaining(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns)
{
    advance(r, p, now_ns);
    return r->used >= p->max_actions ? 0 : p->max_actions - r->used;
}

void quota_reset(struct quota_ring *r)
{
    memset(r, 0, sizeof *r);
}
