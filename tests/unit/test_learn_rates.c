/* Unit tests for learn_rates.c: the peak, the bucket room a rate needs and
 * the limits enact learn proposes, from hand-built call times; and a
 * cross-check against token buckets (an exact integer one and bucket.h's
 * GCRA) on pseudo-random sequences. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "bucket.h"
#include "learn_rates.h"

#define MINUTE_MS UINT64_C(60000)
/* An epoch-like origin: real audit times are milliseconds since 1970. */
#define EPOCH UINT64_C(1700000000000)

#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* ---- learn_peak_calls ---------------------------------------------------- */

/* No calls: no peak, whatever the window. */
static void test_peak_empty(void **state)
{
    (void)state;
    assert_int_equal(learn_peak_calls(NULL, 0, MINUTE_MS), 0);
    assert_int_equal(learn_peak_calls(NULL, 0, 1), 0);
}

/* The window is half open, [t, t + w): a call exactly w after another is
 * in the next window, one a millisecond sooner is in the same one. */
static void test_peak_window_is_half_open(void **state)
{
    (void)state;
    const uint64_t edge[] = {EPOCH, EPOCH + 60000};
    assert_int_equal(learn_peak_calls(edge, 2, MINUTE_MS), 1);
    const uint64_t inside[] = {EPOCH, EPOCH + 59999};
    assert_int_equal(learn_peak_calls(inside, 2, MINUTE_MS), 2);
    /* 0 and 59999 together; then 59999, 60000 and 60001 together. */
    const uint64_t slide[] = {EPOCH, EPOCH + 59999, EPOCH + 60000, EPOCH + 60001};
    assert_int_equal(learn_peak_calls(slide, 4, MINUTE_MS), 3);
}

/* Calls at one instant all fall in one window; the busiest window wins
 * wherever it is in the run (first, middle, last). */
static void test_peak_counts_busiest_window(void **state)
{
    (void)state;
    const uint64_t same[] = {EPOCH, EPOCH, EPOCH, EPOCH, EPOCH};
    assert_int_equal(learn_peak_calls(same, 5, MINUTE_MS), 5);
    assert_int_equal(learn_peak_calls(same, 1, MINUTE_MS), 1);

    /* 2 calls, a 2-minute gap, 4 calls within 3 s, a 2-minute gap, 3 calls. */
    const uint64_t t[] = {EPOCH,          EPOCH + 10,     EPOCH + 120000, EPOCH + 121000,
                          EPOCH + 122000, EPOCH + 123000, EPOCH + 250000, EPOCH + 250001,
                          EPOCH + 250002};
    assert_int_equal(learn_peak_calls(t, 9, MINUTE_MS), 4);
    /* Windows of one second: the first pair is 2, the calls 1000 ms apart
     * are one each (1000 after is the next window), the last three 3. */
    assert_int_equal(learn_peak_calls(t, 9, 1000), 3);
    /* A window wider than the run holds all of it. */
    assert_int_equal(learn_peak_calls(t, 9, 1000000), 9);
}

/* ---- learn_burst_at ------------------------------------------------------ */

/* No calls need no room and name no stretch. */
static void test_burst_empty(void **state)
{
    (void)state;
    struct learn_burst b = learn_burst_at(NULL, 0, 60);
    assert_true(b.needed == 0.0);
    assert_int_equal(b.calls, 0);
    assert_int_equal(b.span_ms, 0);
}

/* One call needs one token, at any rate. */
static void test_burst_one_call(void **state)
{
    (void)state;
    const uint64_t t[] = {EPOCH + 5};
    const double rates[] = {0.5, 1, 60, 1e6};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        struct learn_burst b = learn_burst_at(t, 1, rates[i]);
        assert_near(b.needed, 1.0);
        assert_int_equal(b.calls, 1);
        assert_int_equal(b.span_ms, 0);
    }
}

/* Six calls within 10 ms need (almost) six tokens: at 6/min the 10 ms
 * refill 0.001 of one. The stretch is all six. */
static void test_burst_six_calls_in_10ms(void **state)
{
    (void)state;
    const uint64_t t[] = {EPOCH, EPOCH + 2, EPOCH + 4, EPOCH + 6, EPOCH + 8, EPOCH + 10};
    assert_int_equal(learn_peak_calls(t, 6, MINUTE_MS), 6);
    struct learn_burst b = learn_burst_at(t, 6, 6);
    assert_near(b.needed, 6.0 - 6.0 * 10 / 60000);
    assert_true(b.needed > 5.99 && b.needed <= 6.0);
    assert_int_equal(b.calls, 6);
    assert_int_equal(b.span_ms, 10);

    /* All at one instant: exactly six, at any rate. */
    const uint64_t same[] = {EPOCH, EPOCH, EPOCH, EPOCH, EPOCH, EPOCH};
    b = learn_burst_at(same, 6, 1000);
    assert_near(b.needed, 6.0);
    assert_int_equal(b.calls, 6);
    assert_int_equal(b.span_ms, 0);
}

/* Calls evenly spaced at exactly the rate need a room of one (each token
 * is back before the next call); spaced slower, still one; spaced twice
 * as fast, half of the calls beyond the first need room. */
static void test_burst_even_spacing(void **state)
{
    (void)state;
    uint64_t t[200];
    for (size_t i = 0; i < 200; i++)
        t[i] = EPOCH + i * 1000;
    struct learn_burst b = learn_burst_at(t, 200, 60); /* one a second */
    assert_near(b.needed, 1.0);
    /* Every stretch needs 1 here; the one named must be one of them. */
    assert_true(b.calls >= 1);
    assert_int_equal(b.span_ms, (uint64_t)(b.calls - 1) * 1000);

    b = learn_burst_at(t, 200, 30); /* half the rate: 200 - 199/2 */
    assert_near(b.needed, 200 - 199 * 0.5);
    assert_int_equal(b.calls, 200);
    assert_int_equal(b.span_ms, 199000);

    b = learn_burst_at(t, 200, 600); /* ten times faster than the calls */
    assert_near(b.needed, 1.0);
}

/* The counter-example to reading the room off per-second peaks: 60 calls
 * over 6 s, ten a second, at 120/min (2/s). No second holds more than 10,
 * but the bucket refills only 12 tokens in those 6 s, so it needs
 * 60 - 120 * 6000 / 60000 = 48. */
static void test_burst_sustained_stretch_beats_second_peaks(void **state)
{
    (void)state;
    uint64_t t[60];
    for (size_t i = 0; i < 59; i++)
        t[i] = EPOCH + i * 100;
    t[59] = EPOCH + 6000;
    assert_int_equal(learn_peak_calls(t, 60, 1000), 10);
    struct learn_burst b = learn_burst_at(t, 60, 120);
    /* max over i <= j of (j - i + 1) - 120 * (t_j - t_i) / 60000: the
     * whole run (0..58 alone is 59 - 11.6 = 47.4). */
    assert_near(b.needed, 48.0);
    assert_int_equal(b.calls, 60);
    assert_int_equal(b.span_ms, 6000);
}

/* The stretch that decides is the one that needs most, not the first nor
 * the longest: a later, denser burst after a quiet minute restarts it. */
static void test_burst_stretch_restarts_after_quiet(void **state)
{
    (void)state;
    uint64_t t[13];
    for (size_t i = 0; i < 5; i++)
        t[i] = EPOCH + i; /* 5 calls in 4 ms */
    for (size_t i = 0; i < 8; i++)
        t[5 + i] = EPOCH + 100000 + i; /* 8 calls in 7 ms, 100 s later */
    struct learn_burst b = learn_burst_at(t, 13, 60);
    assert_near(b.needed, 8 - 7 * 0.001);
    assert_int_equal(b.calls, 8);
    assert_int_equal(b.span_ms, 7);

    /* At a rate too slow to refill in between, the whole run decides:
     * 13 - 0.06/min * 100007 ms. */
    b = learn_burst_at(t, 13, 0.06);
    assert_near(b.needed, 13 - 0.06 * 100007 / 60000);
    assert_int_equal(b.calls, 13);
    assert_int_equal(b.span_ms, 100007);
}

/* ---- learn_limits_of ----------------------------------------------------- */

/* No calls still propose limits of at least 1. */
static void test_limits_empty(void **state)
{
    (void)state;
    struct learn_limits l = learn_limits_of(NULL, 0, 1.5);
    assert_int_equal(l.peak, 0);
    assert_int_equal(l.rate, 1);
    assert_int_equal(l.burst, 1);
    assert_true(l.stretch.needed == 0.0);
    assert_int_equal(l.stretch.calls, 0);
}

/* Rounding up: 6 x 2.0 stays 12, 5 x 1.5 = 7.5 becomes 8, 100 x 1.1
 * (110.00000000000001 in doubles) stays 110, 3 x 1.1 becomes 4; a
 * headroom below 1 never proposes 0. The burst is the needed room (the
 * calls at one instant: all of them) times the same headroom. */
static void test_limits_rounding(void **state)
{
    (void)state;
    uint64_t t[100];
    for (size_t i = 0; i < 100; i++)
        t[i] = EPOCH;

    struct learn_limits l = learn_limits_of(t, 6, 2.0);
    assert_int_equal(l.peak, 6);
    assert_int_equal(l.rate, 12);
    assert_near(l.stretch.needed, 6.0);
    assert_int_equal(l.burst, 12);

    l = learn_limits_of(t, 5, 1.5);
    assert_int_equal(l.rate, 8);
    assert_int_equal(l.burst, 8);

    l = learn_limits_of(t, 100, 1.1);
    assert_int_equal(l.rate, 110);
    assert_int_equal(l.burst, 110);

    l = learn_limits_of(t, 3, 1.1);
    assert_int_equal(l.rate, 4);
    assert_int_equal(l.burst, 4);

    l = learn_limits_of(t, 1, 0.1);
    assert_int_equal(l.peak, 1);
    assert_int_equal(l.rate, 1);
    assert_int_equal(l.burst, 1);

    /* Absurd headroom is clamped, not wrapped. */
    l = learn_limits_of(t, 10, 1e12);
    assert_int_equal(l.rate, UINT32_MAX);
    assert_int_equal(l.burst, UINT32_MAX);
}

/* The rate is the busiest minute's calls times headroom and the burst is
 * read at that rate: one call a second for 3 minutes is 60/min with room
 * 1; with headroom 2, 120/min and room 1 x 2. */
static void test_limits_steady_run(void **state)
{
    (void)state;
    uint64_t t[180];
    for (size_t i = 0; i < 180; i++)
        t[i] = EPOCH + i * 1000;
    struct learn_limits l = learn_limits_of(t, 180, 1.0);
    assert_int_equal(l.peak, 60);
    assert_int_equal(l.rate, 60);
    assert_near(l.stretch.needed, 1.0);
    assert_int_equal(l.burst, 1);

    l = learn_limits_of(t, 180, 2.0);
    assert_int_equal(l.peak, 60);
    assert_int_equal(l.rate, 120);
    assert_int_equal(l.burst, 2);

    /* The 60-in-6-s run: the busiest minute is all 60 (rate 60, 1/s),
     * the burst at that rate 60 - 6 = 54. */
    uint64_t s[60];
    for (size_t i = 0; i < 59; i++)
        s[i] = EPOCH + i * 100;
    s[59] = EPOCH + 6000;
    l = learn_limits_of(s, 60, 1.0);
    assert_int_equal(l.peak, 60);
    assert_int_equal(l.rate, 60);
    assert_near(l.stretch.needed, 54.0);
    assert_int_equal(l.burst, 54);
}

/* ---- cross-check against buckets ------------------------------------------ */

static uint32_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(*s >> 33);
}

/* An exact token bucket in integers: a token is 60000 units, refilled
 * r units a millisecond, room b tokens; starts full. How many of the
 * calls it refuses. */
static size_t refused_exact(const uint64_t *t, size_t n, uint64_t r, uint64_t b)
{
    const int64_t token = 60000, cap = (int64_t)b * token;
    int64_t level = cap;
    size_t refused = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            uint64_t gain = r * (t[i] - t[i - 1]);
            level = gain >= (uint64_t)(cap - level) ? cap : level + (int64_t)gain;
        }
        if (level >= token)
            level -= token;
        else
            refused++;
    }
    return refused;
}

/* bucket.h's GCRA, for a rate whose interval is a whole number of ns. */
static size_t refused_gcra(const uint64_t *t, size_t n, uint64_t r, uint64_t b)
{
    struct rate_policy p;
    assert_true(rate_policy_init(&p, (double)r, b));
    assert_int_equal(p.interval_ns * r, UINT64_C(60000000000));
    uint64_t tat = 0;
    size_t refused = 0;
    for (size_t i = 0; i < n; i++) {
        /* ms past the run's start as ns, from an arbitrary monotonic origin. */
        uint64_t now = UINT64_C(987654321) + (t[i] - t[0]) * 1000000;
        struct bucket_decision d = bucket_decide(tat, &p, now);
        if (d.admit)
            tat = d.new_tat;
        else
            refused++;
    }
    return refused;
}

/* The exact room, times 60000: max over i <= j of
 * (j - i + 1) * 60000 - r * (t_j - t_i). */
static int64_t needed_exact(const uint64_t *t, size_t n, uint64_t r)
{
    int64_t best = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            int64_t v = (int64_t)(j - i + 1) * 60000 - (int64_t)(r * (t[j] - t[i]));
            if (v > best)
                best = v;
        }
    return best;
}

/* For pseudo-random sorted runs (bursts, ties, pauses) at rates that
 * divide a minute into whole nanoseconds: learn_burst_at's room is the
 * exact maximum over all stretches, the stretch it names has it, a
 * bucket of that room (rounded up) admits every call, and one token less
 * refuses at least one; bucket.h's GCRA agrees with the exact bucket.
 * learn_limits_of's limits (headroom 1 and 1.5) admit every call. */
static void test_burst_matches_buckets(void **state)
{
    (void)state;
    static const uint64_t rates[] = {1,   2,   3,   5,   6,   10,  12,  15,  20,  30,
                                     40,  48,  50,  60,  75,  100, 120, 150, 200, 240,
                                     250, 300, 400, 480, 500, 600, 750, 1000};
    uint64_t seed = 42;
    uint64_t t[120];
    size_t tight = 0;
    for (int trial = 0; trial < 600; trial++) {
        size_t n = 1 + lcg(&seed) % 120;
        uint64_t now = EPOCH + lcg(&seed) % 100000;
        for (size_t i = 0; i < n; i++) {
            uint32_t kind = lcg(&seed) % 10;
            uint64_t gap = kind < 2   ? 0                            /* same instant */
                           : kind < 6 ? lcg(&seed) % 50              /* a burst */
                           : kind < 9 ? lcg(&seed) % 3000            /* steady */
                                      : 30000 + lcg(&seed) % 120000; /* a pause */
            now += i ? gap : 0;
            t[i] = now;
        }
        uint64_t r = rates[lcg(&seed) % (sizeof rates / sizeof rates[0])];

        struct learn_burst b = learn_burst_at(t, n, (double)r);
        int64_t exact = needed_exact(t, n, r);
        assert_true(exact >= 60000); /* any one call needs a token */
        assert_true(fabs(b.needed - (double)exact / 60000) < 1e-6);
        assert_true(b.calls >= 1 && b.calls <= n);
        assert_int_equal((int64_t)b.calls * 60000 - (int64_t)(r * b.span_ms), exact);

        uint64_t room = (uint64_t)((exact + 59999) / 60000);
        assert_int_equal(refused_exact(t, n, r, room), 0);
        assert_int_equal(refused_gcra(t, n, r, room), 0);
        if (room > 1) {
            tight++;
            assert_true(refused_exact(t, n, r, room - 1) > 0);
            assert_true(refused_gcra(t, n, r, room - 1) > 0);
        }

        const double headrooms[] = {1.0, 1.5};
        for (size_t h = 0; h < 2; h++) {
            struct learn_limits l = learn_limits_of(t, n, headrooms[h]);
            assert_int_equal(l.peak, learn_peak_calls(t, n, MINUTE_MS));
            assert_true(l.rate >= l.peak && l.burst >= 1);
            assert_int_equal(refused_exact(t, n, l.rate, l.burst), 0);
            if (h == 0) {
                assert_int_equal(l.rate, l.peak);
                int64_t e = needed_exact(t, n, l.rate);
                assert_int_equal(l.burst, (uint64_t)((e + 59999) / 60000));
            }
        }
    }
    /* The runs did exercise rooms above one. */
    assert_true(tight > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_empty),
        cmocka_unit_test(test_peak_window_is_half_open),
        cmocka_unit_test(test_peak_counts_busiest_window),
        cmocka_unit_test(test_burst_empty),
        cmocka_unit_test(test_burst_one_call),
        cmocka_unit_test(test_burst_six_calls_in_10ms),
        cmocka_unit_test(test_burst_even_spacing),
        cmocka_unit_test(test_burst_sustained_stretch_beats_second_peaks),
        cmocka_unit_test(test_burst_stretch_restarts_after_quiet),
        cmocka_unit_test(test_limits_empty),
        cmocka_unit_test(test_limits_rounding),
        cmocka_unit_test(test_limits_steady_run),
        cmocka_unit_test(test_burst_matches_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
