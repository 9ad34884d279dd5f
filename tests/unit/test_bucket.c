/* Unit tests for bucket.c: GCRA token bucket in one word, clock injected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "bucket.h"

#define SEC UINT64_C(1000000000)
#define MIN (60 * SEC)
#define STALE_SLACK (60 * SEC) /* bucket.c's STALE_SLACK_NS */
/* An arbitrary, non-zero "monotonic clock" origin for the tests. */
#define T0 (UINT64_C(123456) * SEC + 789)

static struct rate_policy policy(double per_minute, uint64_t burst)
{
    struct rate_policy p;
    memset(&p, 0xa5, sizeof p);
    assert_true(rate_policy_init(&p, per_minute, burst));
    return p;
}

/* ---- rate_policy_init ---------------------------------------------------- */

static void test_policy_values(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 10);
    assert_int_equal(p.interval_ns, SEC);
    assert_int_equal(p.tolerance_ns, 9 * SEC);

    p = policy(1, 1);
    assert_int_equal(p.interval_ns, MIN);
    assert_int_equal(p.tolerance_ns, 0);

    p = policy(0.5, 3);
    assert_int_equal(p.interval_ns, 2 * MIN);
    assert_int_equal(p.tolerance_ns, 4 * MIN);

    p = policy(7, 2); /* 60e9/7 = 8571428571.43 -> rounded */
    assert_int_equal(p.interval_ns, UINT64_C(8571428571));
    assert_int_equal(p.tolerance_ns, UINT64_C(8571428571));

    p = policy(60e9, 1); /* one token per nanosecond: the fastest allowed */
    assert_int_equal(p.interval_ns, 1);
}

static void test_policy_rejects_bad_input(void **state)
{
    (void)state;
    struct rate_policy p = {0};
    assert_false(rate_policy_init(&p, 0, 1));
    assert_false(rate_policy_init(&p, -1, 1));
    assert_false(rate_policy_init(&p, -0.0, 1));
    assert_false(rate_policy_init(&p, NAN, 1));
    assert_false(rate_policy_init(&p, -NAN, 1));
    assert_false(rate_policy_init(&p, INFINITY, 1));
    assert_false(rate_policy_init(&p, -INFINITY, 1));
    assert_false(rate_policy_init(&p, 60, 0));
    /* Faster than one token per nanosecond. */
    assert_false(rate_policy_init(&p, 1e11, 1));
    /* Interval alone beyond 2^62 ns (~146 years). */
    assert_false(rate_policy_init(&p, 1e-9, 1));
    /* burst * interval beyond 2^62 ns: 1/min (6e10) x 1e8 = 6e18 > 4.6e18. */
    assert_false(rate_policy_init(&p, 1, 100000000));
    assert_false(rate_policy_init(&p, 60, UINT64_MAX));
    /* ... but just inside is fine: 1/min x 7e7 = 4.2e18 < 4.61e18. */
    assert_true(rate_policy_init(&p, 1, 70000000));
    assert_int_equal(p.tolerance_ns, (UINT64_C(70000000) - 1) * MIN);
}

/* ---- bucket_decide / bucket_take ----------------------------------------- */

static void test_fresh_word_admits_exactly_burst(void **state)
{
    (void)state;
    const uint64_t bursts[] = {1, 2, 5, 10, 100};
    for (size_t b = 0; b < sizeof bursts / sizeof bursts[0]; b++) {
        struct rate_policy p = policy(60, bursts[b]); /* T = 1 s */
        uint64_t word = 0;
        for (uint64_t i = 0; i < bursts[b]; i++) {
            struct bucket_decision d = bucket_take(&word, &p, T0);
            assert_true(d.admit);
            assert_int_equal(d.new_tat, T0 + (i + 1) * SEC);
            assert_int_equal(word, T0 + (i + 1) * SEC);
        }
        struct bucket_decision d = bucket_take(&word, &p, T0);
        assert_false(d.admit);
        assert_int_equal(d.retry_after_ns, SEC); /* exactly one interval */
        assert_int_equal(word, T0 + bursts[b] * SEC); /* a denial stores nothing */
        /* Denied again and again: nothing changes. */
        d = bucket_take(&word, &p, T0);
        assert_false(d.admit);
        assert_int_equal(d.retry_after_ns, SEC);
    }
}

static void test_retry_after_exact(void **state)
{
    (void)state;
    struct rate_policy p = policy(7, 3); /* T = 8571428571 ns */
    const uint64_t T = UINT64_C(8571428571);
    uint64_t word = 0;
    for (int i = 0; i < 3; i++)
        assert_true(bucket_take(&word, &p, T0).admit);
    struct bucket_decision d = bucket_take(&word, &p, T0 + 1000);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, T - 1000);
    /* One nanosecond early is still denied; at the instant it is admitted. */
    d = bucket_take(&word, &p, T0 + T - 1);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, 1);
    d = bucket_take(&word, &p, T0 + T);
    assert_true(d.admit);
    assert_int_equal(word, T0 + 4 * T);
}

static void test_burst_zero_at_clock_zero(void **state)
{
    (void)state;
    /* now_ns = 0 and word = 0 must still be a full bucket. */
    struct rate_policy p = policy(60, 2);
    uint64_t word = 0;
    assert_true(bucket_take(&word, &p, 0).admit);
    assert_true(bucket_take(&word, &p, 0).admit);
    struct bucket_decision d = bucket_take(&word, &p, 0);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, SEC);
}

static void test_refill_one_interval_one_call(void **state)
{
    (void)state;
    struct rate_policy p = policy(30, 4); /* T = 2 s */
    uint64_t word = 0;
    for (int i = 0; i < 4; i++)
        assert_true(bucket_take(&word, &p, T0).admit);
    assert_false(bucket_take(&word, &p, T0).admit);

    uint64_t t = T0 + 2 * SEC;
    assert_true(bucket_take(&word, &p, t).admit);
    struct bucket_decision d = bucket_take(&word, &p, t);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, 2 * SEC);

    /* Half an interval later: still nothing, and retry_after counts down. */
    d = bucket_take(&word, &p, t + SEC);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, SEC);

    /* Three intervals later: exactly three more. */
    t += 3 * 2 * SEC;
    for (int i = 0; i < 3; i++)
        assert_true(bucket_take(&word, &p, t).admit);
    assert_false(bucket_take(&word, &p, t).admit);
}

static void test_long_idle_refills_to_burst_not_beyond(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 5);
    uint64_t word = 0;
    for (int i = 0; i < 5; i++)
        assert_true(bucket_take(&word, &p, T0).admit);
    assert_false(bucket_take(&word, &p, T0).admit);

    /* A day later: full again, and only 5 at one instant. */
    uint64_t t = T0 + 86400 * SEC;
    assert_int_equal(bucket_remaining(word, &p, t), 5);
    for (int i = 0; i < 5; i++)
        assert_true(bucket_take(&word, &p, t).admit);
    struct bucket_decision d = bucket_take(&word, &p, t);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, SEC);
}

static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

/* Never over-admits: in every prefix of a simulated hour, admitted <=
 * burst + elapsed / T, for several step patterns. */
static void test_never_over_admits_over_an_hour(void **state)
{
    (void)state;
    const struct {
        double rate;
        uint64_t burst;
    } cases[] = {{60, 10}, {600, 1}, {7, 3}, {3600, 100}, {0.5, 2}};
    const uint64_t steps[] = {1 * 1000000, 37 * 1000000, 999 * 1000000, 7 * SEC};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct rate_policy p = policy(cases[c].rate, cases[c].burst);
        for (size_t s = 0; s <= sizeof steps / sizeof steps[0]; s++) {
            uint64_t word = 0, admitted = 0, t = T0, seed = c * 31 + s;
            while (t - T0 <= 3600 * SEC) {
                if (bucket_take(&word, &p, t).admit)
                    admitted++;
                uint64_t elapsed = t - T0;
                assert_true(admitted <= cases[c].burst + elapsed / p.interval_ns);
                /* The last pattern uses random steps up to 3 s. */
                t += s < sizeof steps / sizeof steps[0] ? steps[s] : lcg_next(&seed) % (3 * SEC);
            }
            /* And it is not stingy either: with steps far below T it admits
             * the full rate (within one token). */
            uint64_t elapsed = t - T0;
            if (s == 0)
                assert_true(admitted + 1 >= cases[c].burst + (elapsed - steps[0]) / p.interval_ns);
        }
    }
}

static void test_remaining_matches_admits(void **state)
{
    (void)state;
    struct rate_policy p = policy(12, 6); /* T = 5 s */
    uint64_t word = 0;
    assert_int_equal(bucket_remaining(word, &p, T0), 6);
    const uint64_t offsets[] = {0, 0, 1 * SEC, 4 * SEC, 5 * SEC, 12 * SEC, 13 * SEC, 100 * SEC};
    uint64_t prev = 0;
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        uint64_t t = T0 + offsets[k];
        assert_true(t >= prev);
        prev = t;
        /* Take one (if possible) to change the state between probes. */
        bucket_take(&word, &p, t);
        uint64_t left = bucket_remaining(word, &p, t);
        uint64_t copy = word, n = 0;
        while (bucket_take(&copy, &p, t).admit)
            n++;
        assert_int_equal(left, n);
        assert_int_equal(bucket_remaining(copy, &p, t), 0);
    }
    /* Known values along the way. */
    word = 0;
    for (int i = 0; i < 6; i++)
        bucket_take(&word, &p, T0);
    assert_int_equal(bucket_remaining(word, &p, T0), 0);
    assert_int_equal(bucket_remaining(word, &p, T0 + 5 * SEC - 1), 0);
    assert_int_equal(bucket_remaining(word, &p, T0 + 5 * SEC), 1);
    assert_int_equal(bucket_remaining(word, &p, T0 + 29 * SEC), 5);
    assert_int_equal(bucket_remaining(word, &p, T0 + 30 * SEC), 6);
    assert_int_equal(bucket_remaining(word, &p, T0 + 3000 * SEC), 6);
}

static void test_stale_future_word_is_full(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 3); /* T = 1 s, tau = 2 s */
    const uint64_t bound = p.tolerance_ns + p.interval_ns + STALE_SLACK; /* 63 s */
    /* A word from a previous boot: hours ahead of this clock. */
    uint64_t word = T0 + 5 * 3600 * SEC;
    assert_int_equal(bucket_remaining(word, &p, T0), 3);
    struct bucket_decision d = bucket_take(&word, &p, T0);
    assert_true(d.admit);
    assert_int_equal(word, T0 + SEC);
    assert_true(bucket_take(&word, &p, T0).admit);
    assert_true(bucket_take(&word, &p, T0).admit);
    assert_false(bucket_take(&word, &p, T0).admit);

    /* Just beyond the bound: treated as full. */
    word = T0 + bound + 1;
    assert_int_equal(bucket_remaining(word, &p, T0), 3);
    assert_true(bucket_decide(word, &p, T0).admit);
    assert_int_equal(bucket_decide(word, &p, T0).new_tat, T0 + SEC);

    /* Near the top of the range too. */
    word = UINT64_MAX - 5;
    assert_true(bucket_decide(word, &p, T0).admit);
}

static void test_slightly_ahead_word_is_respected(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 3); /* T = 1 s, tau = 2 s */
    const uint64_t bound = p.tolerance_ns + p.interval_ns + STALE_SLACK;
    /* Exactly at the bound: still a real (late-reader) word: denied. */
    uint64_t word = T0 + bound;
    struct bucket_decision d = bucket_take(&word, &p, T0);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, bound - p.tolerance_ns);
    assert_int_equal(word, T0 + bound);
    assert_int_equal(bucket_remaining(word, &p, T0), 0);

    /* Written by a process whose clock read 30 s later than ours. */
    word = T0 + 30 * SEC + 3 * SEC;
    d = bucket_take(&word, &p, T0);
    assert_false(d.admit);
    assert_int_equal(d.retry_after_ns, 31 * SEC);

    /* Ahead but within tau: admitted on top of it. */
    word = T0 + SEC;
    d = bucket_take(&word, &p, T0);
    assert_true(d.admit);
    assert_int_equal(word, T0 + 2 * SEC);
    assert_int_equal(bucket_remaining(word, &p, T0), 1);
}

static void test_past_word_is_full(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 2);
    uint64_t word = T0 - 10 * SEC; /* long refilled */
    assert_int_equal(bucket_remaining(word, &p, T0), 2);
    struct bucket_decision d = bucket_take(&word, &p, T0);
    assert_true(d.admit);
    assert_int_equal(word, T0 + SEC); /* counted from now, not from the old TAT */
}

static void test_decide_is_pure(void **state)
{
    (void)state;
    struct rate_policy p = policy(60, 1);
    uint64_t word = 0;
    struct bucket_decision d1 = bucket_decide(word, &p, T0);
    struct bucket_decision d2 = bucket_decide(word, &p, T0);
    assert_true(d1.admit);
    assert_true(d2.admit);
    assert_int_equal(d1.new_tat, T0 + SEC);
    assert_int_equal(d2.new_tat, T0 + SEC);
    assert_int_equal(d1.retry_after_ns, 0);
    d1 = bucket_decide(d1.new_tat, &p, T0);
    assert_false(d1.admit);
    assert_int_equal(d1.retry_after_ns, SEC);
}

static void test_reset(void **state)
{
    (void)state;
    struct rate_policy p = policy(1, 3);
    uint64_t word = 0;
    for (int i = 0; i < 3; i++)
        assert_true(bucket_take(&word, &p, T0).admit);
    assert_false(bucket_take(&word, &p, T0).admit);
    bucket_reset(&word);
    assert_int_equal(word, 0);
    assert_int_equal(bucket_remaining(word, &p, T0), 3);
    for (int i = 0; i < 3; i++)
        assert_true(bucket_take(&word, &p, T0).admit);
    assert_false(bucket_take(&word, &p, T0).admit);
}

/* ---- concurrency --------------------------------------------------------- */

struct race {
    uint64_t *word;
    const struct rate_policy *p;
    pthread_barrier_t *start;
    int tries;
    int admitted;
};

static void *race_thread(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->start);
    for (int i = 0; i < r->tries; i++)
        if (bucket_take(r->word, r->p, T0).admit)
            r->admitted++;
    return NULL;
}

static void test_threads_admit_exactly_burst(void **state)
{
    (void)state;
    enum { THREADS = 4, TRIES = 10000 };
    struct rate_policy p = policy(1e-3, 500); /* one token per 1000 min */
    for (int round = 0; round < 5; round++) {
        uint64_t word = 0;
        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
        pthread_t th[THREADS];
        struct race r[THREADS];
        for (int i = 0; i < THREADS; i++) {
            r[i] = (struct race){.word = &word, .p = &p, .start = &start, .tries = TRIES};
            assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
        }
        int total = 0;
        for (int i = 0; i < THREADS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            total += r[i].admitted;
        }
        pthread_barrier_destroy(&start);
        assert_int_equal(total, 500);
        assert_int_equal(word, T0 + 500 * p.interval_ns);
    }
}

/* Contention for the whole run: every try lands while tokens remain, so
 * a lost update (a non-atomic read-modify-write) would over-admit. */
static void test_threads_long_contention_exact(void **state)
{
    (void)state;
    enum { THREADS = 4, TRIES = 200000, BURST = 600000 };
    struct rate_policy p = policy(1, BURST);
    uint64_t word = 0;
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    pthread_t th[THREADS];
    struct race r[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct race){.word = &word, .p = &p, .start = &start, .tries = TRIES};
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        total += r[i].admitted;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, BURST);
    /* Exactly BURST admits moved the word BURST intervals: none was lost. */
    assert_int_equal(word, T0 + (uint64_t)BURST * p.interval_ns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_values),
        cmocka_unit_test(test_policy_rejects_bad_input),
        cmocka_unit_test(test_fresh_word_admits_exactly_burst),
        cmocka_unit_test(test_retry_after_exact),
        cmocka_unit_test(test_burst_zero_at_clock_zero),
        cmocka_unit_test(test_refill_one_interval_one_call),
        cmocka_unit_test(test_long_idle_refills_to_burst_not_beyond),
        cmocka_unit_test(test_never_over_admits_over_an_hour),
        cmocka_unit_test(test_remaining_matches_admits),
        cmocka_unit_test(test_stale_future_word_is_full),
        cmocka_unit_test(test_slightly_ahead_word_is_respected),
        cmocka_unit_test(test_past_word_is_full),
        cmocka_unit_test(test_decide_is_pure),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_threads_admit_exactly_burst),
        cmocka_unit_test(test_threads_long_contention_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
