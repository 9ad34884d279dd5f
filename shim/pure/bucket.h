/* Token bucket per (agent, tool) as GCRA (generic cell rate algorithm).
 *
 * The whole bucket is one 64-bit word, the "theoretical arrival time" (TAT)
 * in nanoseconds of CLOCK_MONOTONIC: the instant at which the bucket would
 * be full again. A word of 0 is a full bucket. Updates are a single
 * compare-and-swap, so processes share a bucket without a lock and a crash
 * can never leave it torn.
 *
 *   interval  T   = 60e9 / max_calls_per_minute      ns per token
 *   tolerance tau = (burst_size - 1) * T             ns of credit
 *
 * A call at time t is admitted iff max(TAT, t) - t <= tau; it then moves
 * TAT to max(TAT, t) + T. Invariant after any admit: TAT <= t + tau + T.
 * A stored TAT beyond that bound plus a minute of slack for late clock
 * readings cannot come from this clock (a previous boot, or a scribbled
 * word) and is treated as a full bucket. */
#ifndef ENACT_BUCKET_H
#define ENACT_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct rate_policy {
    uint64_t interval_ns;  /* T; 0 means no rate limit */
    uint64_t tolerance_ns; /* tau */
};

/* Fills a policy; false when the numbers are out of range (rate <= 0,
 * burst < 1, or tau + T would not fit in 62 bits). */
bool rate_policy_init(struct rate_policy *p, double max_calls_per_minute, uint64_t burst_size);

struct bucket_decision {
    bool admit;
    uint64_t new_tat;        /* the word to store when admitted */
    uint64_t retry_after_ns; /* when denied: wait this long for one token */
};

/* Pure: the decision for one call at now_ns given the stored word. */
struct bucket_decision bucket_decide(uint64_t tat, const struct rate_policy *p, uint64_t now_ns);

/* Tokens left at now_ns (the guide's get_remaining). */
uint64_t bucket_remaining(uint64_t tat, const struct rate_policy *p, uint64_t now_ns);

/* Atomically takes one token from *word. Lock-free; safe on shared memory
 * and in a vfork child. */
struct bucket_decision bucket_take(uint64_t *word, const struct rate_policy *p, uint64_t now_ns);

/* Refills the bucket completely (the guide's reset). */
void bucket_reset(uint64_t *word);

#endif
