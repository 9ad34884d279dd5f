/* Unit tests for backoff.c: exponential backoff with full jitter and an
 * injectable random source. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "backoff.h"

#define SEC UINT64_C(1000000000)

static struct retry_policy pol(uint32_t attempts, double initial, double max, double base,
                               bool jitter)
{
    struct retry_policy p = {attempts, initial, max, base, jitter};
    return p;
}

/* A scripted source: returns values[0], values[1], ...; running out fails
 * the test (instead of looping forever). */
struct script {
    const uint64_t *values;
    size_t n, next;
};

static uint64_t script_next(void *ctx)
{
    struct script *s = ctx;
    if (s->next >= s->n)
        fail_msg("random source asked %zu times, scripted %zu", s->next + 1, s->n);
    return s->values[s->next++];
}

static uint64_t delay_with(const struct retry_policy *p, uint32_t n, const uint64_t *values,
                           size_t nvalues, size_t *used)
{
    struct script s = {values, nvalues, 0};
    struct random_source rng = {script_next, &s};
    uint64_t d = backoff_delay_ns(p, n, &rng);
    if (used)
        *used = s.next;
    return d;
}

/* The rejection limit for a cap, as the contract implies: the largest
 * multiple of cap + 1 that fits, so that r % (cap + 1) is unbiased. */
static uint64_t limit_for(uint64_t cap)
{
    uint64_t bound = cap + 1;
    return UINT64_MAX - UINT64_MAX % bound;
}

/* ---- policy ------------------------------------------------------------- */

static void test_policy_valid(void **state)
{
    (void)state;
    struct retry_policy p = pol(3, 1.0, 60.0, 2.0, true); /* the guide's */
    assert_true(retry_policy_valid(&p));
    p = pol(1, 0.0, 0.0, 1.0, false);
    assert_true(retry_policy_valid(&p));
    p = pol(5, 2.0, 2.0, 1.0, true); /* initial == max */
    assert_true(retry_policy_valid(&p));
    p = pol(UINT32_MAX, 0.001, 3600.0, 10.0, true);
    assert_true(retry_policy_valid(&p));

    p = pol(0, 1.0, 60.0, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, -1.0, 60.0, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, -60.0, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, NAN, 60.0, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, NAN, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, INFINITY, INFINITY, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, INFINITY, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, -INFINITY, 60.0, 2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, 60.0, 0.5, true); /* shrinking */
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, 60.0, 0.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, 60.0, -2.0, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, 60.0, NAN, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 1.0, 60.0, INFINITY, true);
    assert_false(retry_policy_valid(&p));
    p = pol(3, 61.0, 60.0, 2.0, true); /* initial > max */
    assert_false(retry_policy_valid(&p));
}

static void test_should_retry_counts_first_attempt(void **state)
{
    (void)state;
    struct retry_policy p = pol(3, 1.0, 60.0, 2.0, true);
    assert_true(backoff_should_retry(&p, 1));
    assert_true(backoff_should_retry(&p, 2));
    assert_false(backoff_should_retry(&p, 3));
    assert_false(backoff_should_retry(&p, 4));
    assert_false(backoff_should_retry(&p, UINT32_MAX));
    unsigned retries = 0;
    for (uint32_t made = 1; backoff_should_retry(&p, made); made++)
        retries++;
    assert_int_equal(retries, 2); /* max_attempts - 1 */

    p = pol(1, 1.0, 60.0, 2.0, true); /* one attempt: never retry */
    assert_false(backoff_should_retry(&p, 1));
    p = pol(2, 1.0, 60.0, 2.0, true);
    assert_true(backoff_should_retry(&p, 1));
    assert_false(backoff_should_retry(&p, 2));
}

/* ---- the schedule without jitter ---------------------------------------- */

static void test_exact_schedule(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 1.0, 60.0, 2.0, false);
    const uint64_t want[] = {1 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 16 * SEC, 32 * SEC,
                             60 * SEC, 60 * SEC, 60 * SEC};
    for (uint32_t n = 0; n < sizeof want / sizeof want[0]; n++)
        assert_int_equal(backoff_delay_ns(&p, n, NULL), want[n]);

    /* No jitter: a source, if given, is not used. */
    struct script s = {NULL, 0, 0};
    struct random_source rng = {script_next, &s};
    assert_int_equal(backoff_delay_ns(&p, 3, &rng), 8 * SEC);

    p = pol(10, 0.1, 5.0, 3.0, false);
    assert_int_equal(backoff_delay_ns(&p, 0, NULL), 100000000);
    assert_int_equal(backoff_delay_ns(&p, 1, NULL), 300000000);
    assert_int_equal(backoff_delay_ns(&p, 2, NULL), 900000000);
    assert_int_equal(backoff_delay_ns(&p, 3, NULL), 2700000000);
    assert_int_equal(backoff_delay_ns(&p, 4, NULL), 5 * SEC);

    /* Rounded to the nearest ns, not truncated: 0.3 * 1.5 is 0.4499999... */
    p = pol(10, 0.3, 100.0, 1.5, false);
    assert_int_equal(backoff_delay_ns(&p, 0, NULL), 300000000);
    assert_int_equal(backoff_delay_ns(&p, 1, NULL), 450000000);
    assert_int_equal(backoff_delay_ns(&p, 2, NULL), 675000000);
    assert_int_equal(backoff_delay_ns(&p, 5, NULL), 2278125000);

    p = pol(10, 0.25, 0.25, 1.0, false); /* base 1: constant */
    for (uint32_t n = 0; n < 100; n++)
        assert_int_equal(backoff_delay_ns(&p, n, NULL), SEC / 4);

    p = pol(10, 0.0, 0.0, 2.0, false);
    assert_int_equal(backoff_delay_ns(&p, 0, NULL), 0);
    assert_int_equal(backoff_delay_ns(&p, 5, NULL), 0);
}

static void test_huge_n_caps(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 1.0, 60.0, 2.0, false);
    const uint32_t ns[] = {63, 64, 100, 1023, 1024, 1075, 5000, UINT32_MAX - 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        assert_int_equal(backoff_delay_ns(&p, ns[i], NULL), 60 * SEC);

    /* The largest valid cap (1e9 s) in ns still fits. */
    p = pol(10, 1.0, 1e9, 10.0, false);
    assert_int_equal(backoff_delay_ns(&p, UINT32_MAX, NULL), UINT64_C(1000000000000000000));
    assert_int_equal(backoff_delay_ns(&p, 9, NULL), UINT64_C(1000000000000000000));
    assert_int_equal(backoff_delay_ns(&p, 8, NULL), UINT64_C(100000000000000000));

    p = pol(10, 0.5, 0.5, 1.0, false);
    assert_int_equal(backoff_delay_ns(&p, UINT32_MAX, NULL), SEC / 2);
}

/* initial_delay 0 is valid: every delay is min(max, 0 * base^n) = 0, also
 * once base^n overflows to infinity. */
static void test_zero_initial_delay_stays_zero(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 0.0, 60.0, 2.0, false);
    assert_true(retry_policy_valid(&p));
    assert_int_equal(backoff_delay_ns(&p, 0, NULL), 0);
    assert_int_equal(backoff_delay_ns(&p, 10, NULL), 0);
    assert_int_equal(backoff_delay_ns(&p, 1023, NULL), 0);
    assert_int_equal(backoff_delay_ns(&p, 1024, NULL), 0);
    assert_int_equal(backoff_delay_ns(&p, UINT32_MAX, NULL), 0);
}

/* ---- full jitter with an injected source -------------------------------- */

static void test_jitter_injected_extremes(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 1.0, 60.0, 2.0, true);
    const uint64_t cap = SEC; /* n = 0 */
    const uint64_t lim = limit_for(cap);
    size_t used;

    const uint64_t zero[] = {0};
    assert_int_equal(delay_with(&p, 0, zero, 1, &used), 0);
    assert_int_equal(used, 1);

    /* The last accepted value maps to the cap itself. */
    const uint64_t last[] = {lim - 1};
    assert_int_equal(delay_with(&p, 0, last, 1, &used), cap);
    assert_int_equal(used, 1);

    const uint64_t one[] = {1};
    assert_int_equal(delay_with(&p, 0, one, 1, NULL), 1);
    const uint64_t mid[] = {cap / 2};
    assert_int_equal(delay_with(&p, 0, mid, 1, NULL), cap / 2);
    const uint64_t wrap[] = {cap + 1, cap + 7};
    assert_int_equal(delay_with(&p, 0, wrap, 2, NULL), 0);
    assert_int_equal(delay_with(&p, 0, wrap + 1, 1, NULL), 6);

    /* Values near and above the rejection limit: rejected ones are skipped,
     * the first accepted one decides, and the result is within [0, cap]. */
    const uint64_t near[] = {lim, lim + 1, UINT64_MAX - 1, UINT64_MAX, lim - 2};
    assert_int_equal(delay_with(&p, 0, near, 5, &used), (lim - 2) % (cap + 1));
    assert_int_equal(used, 5);
    assert_true((lim - 2) % (cap + 1) <= cap);

    /* Every n: the maximum accepted value gives exactly that n's cap. */
    for (uint32_t n = 0; n < 12; n++) {
        struct retry_policy q = p;
        q.jitter = false;
        const uint64_t c = backoff_delay_ns(&q, n, NULL);
        const uint64_t v[] = {limit_for(c) - 1};
        assert_int_equal(delay_with(&p, n, v, 1, NULL), c);
        const uint64_t w[] = {UINT64_MAX - 1, UINT64_MAX - 2, UINT64_MAX / 2};
        for (size_t i = 0; i < 3; i++) {
            uint64_t seq[] = {w[i], 0};
            assert_true(delay_with(&p, n, seq, 2, NULL) <= c);
        }
    }

    /* The largest valid cap: about 2.4% of values are rejected. */
    struct retry_policy big = pol(10, 1e9, 1e9, 2.0, true);
    const uint64_t bcap = UINT64_C(1000000000000000000);
    const uint64_t blim = limit_for(bcap);
    assert_int_equal(blim, UINT64_C(18000000000000000018));
    const uint64_t bseq[] = {blim, blim + 12345, UINT64_MAX - 1, blim - 1};
    assert_int_equal(delay_with(&big, 0, bseq, 4, &used), bcap);
    assert_int_equal(used, 4);
    const uint64_t bseq2[] = {UINT64_MAX, bcap + 1};
    assert_int_equal(delay_with(&big, 0, bseq2, 2, NULL), 0);
}

static void test_jitter_rejection_loops(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 1.0, 60.0, 2.0, true);
    for (uint32_t n = 0; n < 8; n++) {
        struct retry_policy q = p;
        q.jitter = false;
        const uint64_t cap = backoff_delay_ns(&q, n, NULL);
        const uint64_t seq[] = {UINT64_MAX, 5};
        size_t used;
        assert_int_equal(delay_with(&p, n, seq, 2, &used), 5 % (cap + 1));
        assert_int_equal(used, 2);
    }
    /* A cap below 5: 5 % (cap + 1). */
    struct retry_policy tiny = pol(10, 3e-9, 3e-9, 2.0, true); /* cap 3 ns */
    const uint64_t seq[] = {UINT64_MAX, 5};
    assert_int_equal(delay_with(&tiny, 0, seq, 2, NULL), 5 % 4);
}

static uint64_t never_called(void *ctx)
{
    (void)ctx;
    fail_msg("no randomness needed for a zero cap");
    return 0;
}

static void test_jitter_zero_cap(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 0.0, 0.0, 2.0, true);
    struct random_source rng = {never_called, NULL};
    assert_int_equal(backoff_delay_ns(&p, 0, &rng), 0);
    assert_int_equal(backoff_delay_ns(&p, 7, &rng), 0);
}

static void test_jitter_distribution_splitmix(void **state)
{
    (void)state;
    struct retry_policy p = pol(10, 1.0, 60.0, 2.0, true);
    uint64_t seed = 20240601;
    struct random_source rng = {splitmix64_next, &seed};
    const uint64_t cap = 4 * SEC; /* n = 2 */
    const int N = 100000;
    double sum = 0;
    int low = 0, high = 0;
    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < N; i++) {
        uint64_t d = backoff_delay_ns(&p, 2, &rng);
        assert_true(d <= cap);
        sum += (double)d;
        if (d < cap / 2)
            low++;
        else
            high++;
        if (d < min)
            min = d;
        if (d > max)
            max = d;
    }
    const double mean = sum / N;
    assert_true(fabs(mean - (double)cap / 2) <= 0.02 * ((double)cap / 2));
    assert_true(low > 0 && high > 0);
    assert_true(low > N * 45 / 100 && high > N * 45 / 100);
    assert_true(min < cap / 1000);
    assert_true(max > cap - cap / 1000);

    /* Capped retries spread over the whole [0, max_delay]. */
    uint64_t seed2 = 7;
    struct random_source rng2 = {splitmix64_next, &seed2};
    double sum2 = 0;
    for (int i = 0; i < N; i++) {
        uint64_t d = backoff_delay_ns(&p, 40, &rng2);
        assert_true(d <= 60 * SEC);
        sum2 += (double)d;
    }
    assert_true(fabs(sum2 / N - 30.0 * SEC) <= 0.02 * 30.0 * SEC);
}

/* ---- splitmix64 --------------------------------------------------------- */

static void test_splitmix64_known_values(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_int_equal(splitmix64_next(&s), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(s, UINT64_C(0x9e3779b97f4a7c15));
    assert_int_equal(splitmix64_next(&s), UINT64_C(0x6e789e6aa1b965f4));
    assert_int_equal(splitmix64_next(&s), UINT64_C(0x06c45d188009454f));
    /* Same seed, same sequence: the caller owns the state. */
    uint64_t a = 99, b = 99;
    for (int i = 0; i < 10; i++)
        assert_int_equal(splitmix64_next(&a), splitmix64_next(&b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_valid),
        cmocka_unit_test(test_should_retry_counts_first_attempt),
        cmocka_unit_test(test_exact_schedule),
        cmocka_unit_test(test_huge_n_caps),
        cmocka_unit_test(test_zero_initial_delay_stays_zero),
        cmocka_unit_test(test_jitter_injected_extremes),
        cmocka_unit_test(test_jitter_rejection_loops),
        cmocka_unit_test(test_jitter_zero_cap),
        cmocka_unit_test(test_jitter_distribution_splitmix),
        cmocka_unit_test(test_splitmix64_known_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
