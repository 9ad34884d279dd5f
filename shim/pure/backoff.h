/* Retry delays: exponential backoff with full jitter (AWS's "full jitter").
 *
 *   cap_n   = min(max_delay, initial_delay * base^n)   n = 0 for the first retry
 *   delay_n = uniform in [0, cap_n]   (jitter = true, the default)
 *           = cap_n                   (jitter = false: the exact schedule)
 *
 * max_attempts counts the first attempt, so there are max_attempts - 1
 * retries. The random source is the caller's (tests inject one); nothing
 * here keeps state. */
#ifndef ENACT_BACKOFF_H
#define ENACT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct retry_policy {
    uint32_t max_attempts;
    double initial_delay_s;
    double max_delay_s;
    double base;
    bool jitter;
};

/* false for max_attempts 0, negative or non-finite delays, base < 1, or
 * initial_delay > max_delay. */
bool retry_policy_valid(const struct retry_policy *p);

/* A source of uniformly random 64-bit values. */
struct random_source {
    uint64_t (*next)(void *ctx);
    void *ctx;
};

/* True when attempt number `attempts_made` (1 after the first) may be
 * followed by another. */
bool backoff_should_retry(const struct retry_policy *p, uint32_t attempts_made);

/* Delay before retry n (0-based), in ns. rng may be NULL when !jitter. */
uint64_t backoff_delay_ns(const struct retry_policy *p, uint32_t n,
                          const struct random_source *rng);

/* splitmix64: a small, good generator for the caller to own and seed. */
uint64_t splitmix64_next(void *state /* uint64_t* */);

#endif
