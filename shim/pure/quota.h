/* Action quota over a rolling window: a ring of time slots.
 *
 * The window of W ns is cut into QUOTA_WINDOW_SLOTS slots of s = W / 60 ns.
 * The ring keeps the current slot and the 60 before it (61 counters), so an
 * action is forgotten only once a full window has passed since the end of
 * its slot: never more than max_actions in any rolling window, and at most
 * one slot (1/60 of the window) stricter than an exact log of timestamps.
 * Memory and time per check are O(1) (61 counters, at most 61 cleared).
 *
 * Time is wall-clock nanoseconds (CLOCK_REALTIME), so that a quota of
 * hours outlives the agent and a reboot; a clock that steps back is
 * clamped to the newest slot seen. Callers serialise access (the state
 * file keeps each ring under a lock). */
#ifndef ENACT_QUOTA_H
#define ENACT_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#define QUOTA_WINDOW_SLOTS 60
#define QUOTA_RING_SLOTS (QUOTA_WINDOW_SLOTS + 1)

struct quota_policy {
    uint32_t max_actions;
    uint64_t slot_ns; /* window / 60 */
};

struct quota_ring {
    uint64_t newest;  /* slot number (unix_ns / slot_ns) of the newest counter */
    uint32_t used;    /* sum of counts */
    uint32_t counts[QUOTA_RING_SLOTS];
};

/* false when max_actions is 0 or the window is shorter than 60 ns or
 * longer than ten years. */
bool quota_policy_init(struct quota_policy *p, uint64_t max_actions, double window_hours);

/* May one more action happen at now? On false, *retry_after_ns tells when
 * the oldest counted action leaves the window. Forgets expired slots. */
bool quota_check(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns,
                 uint64_t *retry_after_ns);

/* Counts one action at now (after quota_check said yes). */
void quota_consume(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns);

/* Actions left in the window at now (the guide's get_remaining). */
uint32_t quota_remaining(struct quota_ring *r, const struct quota_policy *p, uint64_t now_ns);

/* How long until the oldest action counted at now leaves the window (and
 * frees one action); 0 when nothing is counted. Changes nothing. */
uint64_t quota_next_release_ns(const struct quota_ring *r, const struct quota_policy *p,
                               uint64_t now_ns);

/* Forgets every action (the guide's reset). */
void quota_reset(struct quota_ring *r);

#endif
