/* The rates a run of an agent showed, for the limits enact learn proposes.
 * Times are milliseconds, sorted ascending; a call is one instant.
 *
 * A token bucket refilling r tokens a minute with room for b admits a
 * sequence of calls (starting full) exactly when every stretch of it,
 * from call i to call j, holds at most b + r * (t_j - t_i) / 60000 calls
 * (bucket.h's GCRA is that bucket). So the room a rate needs is the most
 * any stretch exceeds what the rate alone refills. */
#ifndef ENACT_LEARN_RATES_H
#define ENACT_LEARN_RATES_H

#include <stddef.h>
#include <stdint.h>

/* The most calls that fall within any window_ms (a window [t, t + w)). */
uint32_t learn_peak_calls(const uint64_t *ts_ms, size_t n, uint64_t window_ms);

/* The stretch that decides a bucket's room at a rate. */
struct learn_burst {
    double needed;    /* room (tokens) a bucket at the rate needs; 0 with no calls */
    uint32_t calls;   /* calls in the stretch that needs it */
    uint64_t span_ms; /* from its first call to its last */
};
struct learn_burst learn_burst_at(const uint64_t *ts_ms, size_t n, double per_minute);

/* The limits enact learn proposes for calls seen at ts_ms: a rate of the
 * busiest minute's calls times headroom, and room for the stretch that
 * needs the most at that rate, times headroom; both rounded up, at
 * least 1. A bucket of these admits every call seen, with headroom to
 * spare in both its rate and its room. */
struct learn_limits {
    uint32_t peak; /* most calls in any minute */
    uint32_t rate, burst;
    struct learn_burst stretch; /* what decided the burst */
};
struct learn_limits learn_limits_of(const uint64_t *ts_ms, size_t n, double headroom);

#endif
