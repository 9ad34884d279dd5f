#include "learn_rates.h"

uint32_t learn_peak_calls(const uint64_t *ts_ms, size_t n, uint64_t window_ms)
{
    uint32_t peak = 0;
    size_t first = 0;
    if (window_ms == 0)
        return 0;
    for (size_t last = 0; last < n; last++) {
        while (ts_ms[last] - ts_ms[first] >= window_ms)
            first++;
        if (last - first + 1 > peak)
            peak = (uint32_t)(last - first + 1);
    }
    return peak;
}

/* For each j, the best i is the one with the largest r * t_i - i, kept as
 * the calls go by: one pass. */
struct learn_burst learn_burst_at(const uint64_t *ts_ms, size_t n, double per_minute)
{
    struct learn_burst best = {0};
    if (n == 0)
        return best;
    double per_ms = per_minute / 60000.0;
    double best_start = 0; /* max over i <= j of per_ms * (t_i - t_0) - i */
    size_t start = 0;
    for (size_t j = 0; j < n; j++) {
        double here = per_ms * (double)(ts_ms[j] - ts_ms[0]);
        if (j == 0 || here - (double)j > best_start) {
            best_start = here - (double)j;
            start = j;
        }
        double needed = (double)(j + 1) - here + best_start;
        if (needed > best.needed) {
            best.needed = needed;
            best.calls = (uint32_t)(j - start + 1);
            best.span_ms = ts_ms[j] - ts_ms[start];
        }
    }
    return best;
}

static uint32_t round_up(double x)
{
    /* A hair below the next integer is that integer: 6 * 2.0 stays 12. */
    double floor_x = (double)(uint64_t)x;
    uint64_t n = (uint64_t)x + (x - floor_x > 1e-9);
    return n < 1 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

struct learn_limits learn_limits_of(const uint64_t *ts_ms, size_t n, double headroom)
{
    struct learn_limits l = {.peak = learn_peak_calls(ts_ms, n, 60000)};
    l.rate = round_up(l.peak * headroom);
    l.stretch = learn_burst_at(ts_ms, n, l.rate);
    l.burst = round_up(l.stretch.needed * headroom);
    return l;
}
