/* Unit tests for quota.c: the rolling-window action quota (a ring of 61
 * time slots). Every time is injected; nothing sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

#define NS_PER_HOUR UINT64_C(3600000000000)
#define HOUR_SLOT (NS_PER_HOUR / 60) /* 60 s */

/* A local generator, so these tests do not depend on backoff.c. */
static uint64_t qt_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static struct quota_policy policy(uint64_t max, double hours)
{
    struct quota_policy p;
    memset(&p, 0xAB, sizeof p);
    assert_true(quota_policy_init(&p, max, hours));
    return p;
}

/* ---- policy ------------------------------------------------------------- */

static void test_policy_init_rejects(void **state)
{
    (void)state;
    struct quota_policy p;
    assert_false(quota_policy_init(&p, 0, 1.0));
    assert_false(quota_policy_init(&p, (uint64_t)UINT32_MAX + 1, 1.0));
    assert_false(quota_policy_init(&p, UINT64_MAX, 1.0));
    assert_false(quota_policy_init(&p, 10, 0.0));
    assert_false(quota_policy_init(&p, 10, -0.0));
    assert_false(quota_policy_init(&p, 10, -1.0));
    assert_false(quota_policy_init(&p, 10, -INFINITY));
    assert_false(quota_policy_init(&p, 10, NAN));
    assert_false(quota_policy_init(&p, 10, -NAN));
    assert_false(quota_policy_init(&p, 10, INFINITY));
    assert_false(quota_policy_init(&p, 10, 1e300));
    assert_false(quota_policy_init(&p, 10, 1e6));              /* ~114 years */
    assert_false(quota_policy_init(&p, 10, 24.0 * 366 * 11));  /* 11 years */
    assert_false(quota_policy_init(&p, 10, 59.0 / 3.6e12));    /* 59 ns */
    assert_false(quota_policy_init(&p, 10, 1.0 / 3.6e12));     /* 1 ns */
    assert_false(quota_policy_init(&p, 10, 5e-324));           /* denormal */
}

static void test_policy_init_accepts(void **state)
{
    (void)state;
    struct quota_policy p = policy(1000, 24.0);
    assert_int_equal(p.max_actions, 1000);
    assert_int_equal(p.slot_ns, UINT64_C(1440000000000)); /* 24 h / 60 = 24 min */

    p = policy(1, 1.0);
    assert_int_equal(p.max_actions, 1);
    assert_int_equal(p.slot_ns, HOUR_SLOT);

    p = policy(UINT32_MAX, 0.5);
    assert_int_equal(p.max_actions, UINT32_MAX);
    assert_int_equal(p.slot_ns, UINT64_C(30000000000));

    p = policy(5, 60.0 / 3.6e12); /* the shortest window: 60 ns, 1 ns slots */
    assert_int_equal(p.slot_ns, 1);

    p = policy(5, 24.0 * 365 * 10); /* ten years */
    assert_int_equal(p.slot_ns, UINT64_C(5256000000000000));
}

/* ---- admit, refuse, retry_after ----------------------------------------- */

static void test_max_then_refused_exact_retry_after(void **state)
{
    (void)state;
    const struct quota_policy p = policy(3, 1.0);
    const uint64_t S = p.slot_ns, B = 1000;
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    uint64_t ra = 12345;

    assert_int_equal(quota_remaining(&r, &p, B * S + 7), 3);
    assert_true(quota_check(&r, &p, B * S + 7, &ra));
    quota_consume(&r, &p, B * S + 7);
    assert_true(quota_check(&r, &p, B * S + 8, &ra));
    quota_consume(&r, &p, B * S + 8);
    assert_int_equal(quota_remaining(&r, &p, B * S + 9), 1);
    assert_true(quota_check(&r, &p, (B + 5) * S, &ra));
    quota_consume(&r, &p, (B + 5) * S);
    assert_int_equal(quota_remaining(&r, &p, (B + 5) * S), 0);

    /* Slot B holds the oldest actions; it is freed at (B + 61) * S. */
    uint64_t now = (B + 5) * S + 10;
    ra = 0;
    assert_false(quota_check(&r, &p, now, &ra));
    assert_int_equal(ra, (B + 61) * S - now);
    /* A refusal consumes nothing: asking again gives the same answer. */
    for (int i = 0; i < 5; i++) {
        ra = 0;
        assert_false(quota_check(&r, &p, now, &ra));
        assert_int_equal(ra, (B + 61) * S - now);
    }
    now = (B + 60) * S + S / 2;
    assert_false(quota_check(&r, &p, now, &ra));
    assert_int_equal(ra, (B + 61) * S - now);
    assert_false(quota_check(&r, &p, (B + 61) * S - 1, &ra));
    assert_int_equal(ra, 1);
    assert_int_equal(quota_remaining(&r, &p, (B + 61) * S - 1), 0);

    /* Both actions of slot B leave together; the one of B + 5 stays. */
    now = (B + 61) * S;
    assert_int_equal(quota_remaining(&r, &p, now), 2);
    assert_true(quota_check(&r, &p, now, &ra));
    quota_consume(&r, &p, now);
    quota_consume(&r, &p, now + 1);
    assert_int_equal(quota_remaining(&r, &p, now + 2), 0);
    assert_false(quota_check(&r, &p, now + 2, &ra));
    assert_int_equal(ra, (B + 5 + 61) * S - (now + 2));
    assert_false(quota_check(&r, &p, (B + 66) * S - 1, &ra));
    assert_int_equal(ra, 1);
    assert_true(quota_check(&r, &p, (B + 66) * S, &ra));
    assert_int_equal(quota_remaining(&r, &p, (B + 66) * S), 1);
    /* The two of slot B + 61 leave at B + 122. */
    assert_int_equal(quota_remaining(&r, &p, (B + 122) * S - 1), 1);
    assert_int_equal(quota_remaining(&r, &p, (B + 122) * S), 3);
}

/* With max 1: an action at t blocks [t, t + window) whatever its offset in
 * its slot, and frees by t + window + slot at the latest (exactly at the
 * end of the 61st slot). */
static void test_one_action_blocks_window_frees_within_one_slot(void **state)
{
    (void)state;
    const struct quota_policy p = policy(1, 1.0);
    const uint64_t S = p.slot_ns, W = 60 * S, B = 29000000;
    const uint64_t offsets[] = {0, 1, 2, S / 3, S / 2, S - 2, S - 1};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        struct quota_ring r;
        memset(&r, 0, sizeof r);
        uint64_t ra = 0;
        const uint64_t t = B * S + offsets[i];
        assert_true(quota_check(&r, &p, t, &ra));
        quota_consume(&r, &p, t);
        assert_false(quota_check(&r, &p, t, &ra));
        assert_int_equal(ra, (B + 61) * S - t);
        assert_true(ra > W && ra <= W + S);
        assert_false(quota_check(&r, &p, t + 1, &ra));
        assert_false(quota_check(&r, &p, t + W / 2, &ra));
        assert_false(quota_check(&r, &p, t + W - 1, &ra)); /* never early */
        assert_false(quota_check(&r, &p, (B + 61) * S - 1, &ra));
        assert_int_equal(ra, 1);
        assert_true(quota_check(&r, &p, (B + 61) * S, &ra));
        assert_true((B + 61) * S <= t + W + S);
        assert_true(quota_check(&r, &p, t + W + S, &ra)); /* at most one slot late */
    }
}

/* A window that is not a whole number of 60-ns slots: the quota must still
 * never admit two actions less than one window apart. 60 000 000 024 ns
 * makes slots of 1 000 000 000.4 ns. */
static void test_window_not_multiple_of_60_still_safe(void **state)
{
    (void)state;
    const double hours = 60000000024.0 / 3.6e12;
    const uint64_t W = 60000000024ULL;
    const struct quota_policy p = policy(1, hours);
    const uint64_t B = 1700000000ULL;
    const uint64_t S = 1000000000ULL; /* the slot as a whole number of ns */
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    uint64_t ra = 0;
    const uint64_t t = B * S + S - 1; /* late in its slot */
    assert_true(quota_check(&r, &p, t, &ra));
    quota_consume(&r, &p, t);
    /* The action at t counts until t + W: retry_after says so... */
    assert_false(quota_check(&r, &p, t, &ra));
    assert_true(ra >= W);
    /* ...and so does a check just before t + W. */
    assert_false(quota_check(&r, &p, t + W - 1, &ra));
}

/* ---- the core property: never more than max in any rolling window ------- */

static size_t count_in(const uint64_t *ts, size_t n, uint64_t lo, uint64_t hi_excl)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (ts[i] >= lo && ts[i] < hi_excl)
            c++;
    return c;
}

static void simulate(uint64_t max, double hours, uint64_t seed, size_t steps)
{
    const struct quota_policy p = policy(max, hours);
    const uint64_t S = p.slot_ns, W = 60 * S;
    assert_int_equal((uint64_t)llround(hours * 3.6e12), W); /* exact windows only */
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    uint64_t *adm = calloc(steps, sizeof *adm);
    assert_non_null(adm);
    size_t nadm = 0, nref = 0;
    uint64_t rng = seed;
    const uint64_t t0 = UINT64_C(1700000000) * 1000000000u;
    uint64_t t = t0;

    for (size_t i = 0; i < steps; i++) {
        uint64_t x = qt_rand(&rng), pick = x % 100, y = qt_rand(&rng);
        if (pick < 50)
            t += y % (S / 100 + 1); /* bursts */
        else if (pick < 95)
            t += y % (S + 1);
        else
            t += y % (W + 1); /* long pauses, some longer than the ring */
        uint64_t ra = UINT64_MAX;
        if (quota_check(&r, &p, t, &ra)) {
            quota_consume(&r, &p, t);
            adm[nadm++] = t;
        } else {
            nref++;
            /* At most one slot stricter than an exact log: max actions were
             * admitted within (t - W - S, t]. */
            size_t recent = 0;
            for (size_t j = nadm; j > 0 && adm[j - 1] + W + S > t; j--)
                recent++;
            assert_true(recent >= max);
            /* retry_after is exact: refused just before, admitted at it. */
            assert_true(ra > 0 && ra <= W + S);
            struct quota_ring copy = r;
            uint64_t ra2 = 0;
            assert_false(quota_check(&copy, &p, t + ra - 1, &ra2));
            assert_int_equal(ra2, 1);
            assert_true(quota_check(&copy, &p, t + ra, &ra2));
            assert_int_equal(quota_remaining(&r, &p, t), 0);
        }
    }
    /* Not vacuous: many of both, over many windows. */
    assert_true(nadm > 20 * max);
    assert_true(nref > 1000);
    assert_true(t - t0 > 20 * W);

    /* Every rolling window [a, a + W) starting at an admitted time holds at
     * most max admitted actions (two pointers: adm is sorted). */
    size_t hi = 0;
    for (size_t lo = 0; lo < nadm; lo++) {
        if (hi < lo)
            hi = lo;
        while (hi < nadm && adm[hi] < adm[lo] + W)
            hi++;
        if (hi - lo > max) {
            print_error("%zu actions in [%" PRIu64 ", +W) (max %" PRIu64 ")\n", hi - lo,
                        adm[lo], max);
            fail();
        }
    }
    /* Cross-check the two-pointer count on a sample with a naive one. */
    for (size_t lo = 0; lo < nadm; lo += nadm / 50 + 1)
        assert_true(count_in(adm, nadm, adm[lo], adm[lo] + W) <= max);
    free(adm);
}

static void test_rolling_window_never_exceeded(void **state)
{
    (void)state;
    simulate(20, 1.0, 1, 20000);
    simulate(1, 1.0, 2, 20000);
    simulate(7, 0.5, 3, 20000);
    simulate(50, 24.0, 4, 30000);
}

/* ---- remaining, clocks, reset ------------------------------------------- */

static void test_remaining(void **state)
{
    (void)state;
    const struct quota_policy p = policy(5, 1.0);
    const uint64_t S = p.slot_ns, B = 777;
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    assert_int_equal(quota_remaining(&r, &p, B * S), 5);
    for (uint32_t i = 0; i < 5; i++) {
        quota_consume(&r, &p, (B + i) * S);
        assert_int_equal(quota_remaining(&r, &p, (B + i) * S + 1), 4 - i);
    }
    /* Consumed past the limit (a caller that did not check): still 0. */
    quota_consume(&r, &p, (B + 5) * S);
    assert_int_equal(quota_remaining(&r, &p, (B + 5) * S), 0);
    assert_int_equal(quota_remaining(&r, &p, (B + 61) * S - 1), 0);
    assert_int_equal(quota_remaining(&r, &p, (B + 61) * S), 0); /* 6 - 1 = 5 used */
    assert_int_equal(quota_remaining(&r, &p, (B + 62) * S), 1);
    assert_int_equal(quota_remaining(&r, &p, (B + 65) * S), 4);
    assert_int_equal(quota_remaining(&r, &p, (B + 66) * S), 5);
    assert_int_equal(r.used, 0);
}

static void test_clock_steps_back(void **state)
{
    (void)state;
    const struct quota_policy p = policy(2, 1.0);
    const uint64_t S = p.slot_ns, B = 5000;
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    uint64_t ra = 0;
    quota_consume(&r, &p, B * S + 5);
    /* The clock steps back ten slots: nothing is freed, the action counts. */
    assert_int_equal(quota_remaining(&r, &p, (B - 10) * S), 1);
    assert_true(quota_check(&r, &p, (B - 10) * S, &ra));
    quota_consume(&r, &p, (B - 10) * S); /* clamped to slot B */
    assert_int_equal(quota_remaining(&r, &p, (B - 10) * S), 0);
    assert_false(quota_check(&r, &p, (B - 10) * S, &ra));
    assert_int_equal(ra, (B + 61) * S - (B - 10) * S);
    /* Far back, even to 0: no crash, no underflow, nothing freed. */
    assert_false(quota_check(&r, &p, 0, &ra));
    assert_int_equal(ra, (B + 61) * S);
    assert_false(quota_check(&r, &p, 1, &ra));
    assert_int_equal(ra, (B + 61) * S - 1);
    assert_int_equal(quota_remaining(&r, &p, 0), 0);
    assert_int_equal(r.newest, B);
    /* Both were counted in slot B: both leave at B + 61. */
    assert_false(quota_check(&r, &p, (B + 61) * S - 1, &ra));
    assert_int_equal(ra, 1);
    assert_int_equal(quota_remaining(&r, &p, (B + 61) * S), 2);
}

static void test_gap_longer_than_ring_clears(void **state)
{
    (void)state;
    const struct quota_policy p = policy(100, 1.0);
    const uint64_t S = p.slot_ns, B = 123456;
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    for (uint64_t i = 0; i < 61; i++)
        quota_consume(&r, &p, (B + i) * S + i);
    assert_int_equal(quota_remaining(&r, &p, (B + 60) * S), 100 - 61);

    /* Exactly one ring ahead of the newest slot: everything has left. */
    struct quota_ring a = r;
    assert_int_equal(quota_remaining(&a, &p, (B + 60 + 61) * S), 100);
    assert_int_equal(a.used, 0);
    for (size_t i = 0; i < QUOTA_RING_SLOTS; i++)
        assert_int_equal(a.counts[i], 0);

    /* One slot less: only the newest slot's action stays. */
    a = r;
    assert_int_equal(quota_remaining(&a, &p, (B + 60 + 60) * S), 99);

    /* Far ahead (years): cleared, and usable again. */
    a = r;
    const uint64_t far = (B + 60) * S + UINT64_C(100000) * NS_PER_HOUR;
    assert_int_equal(quota_remaining(&a, &p, far), 100);
    assert_int_equal(a.used, 0);
    uint64_t ra = 0;
    for (int i = 0; i < 100; i++) {
        assert_true(quota_check(&a, &p, far + (uint64_t)i, &ra));
        quota_consume(&a, &p, far + (uint64_t)i);
    }
    assert_false(quota_check(&a, &p, far + 100, &ra));
    assert_int_equal(ra, (far / S + 61) * S - (far + 100));
}

static void test_reset(void **state)
{
    (void)state;
    const struct quota_policy p = policy(3, 1.0);
    const uint64_t S = p.slot_ns, B = 42;
    struct quota_ring r;
    memset(&r, 0, sizeof r);
    uint64_t ra = 0;
    for (int i = 0; i < 3; i++)
        quota_consume(&r, &p, B * S + (uint64_t)i);
    assert_false(quota_check(&r, &p, B * S + 3, &ra));
    quota_reset(&r);
    assert_int_equal(r.used, 0);
    assert_int_equal(r.newest, 0);
    for (size_t i = 0; i < QUOTA_RING_SLOTS; i++)
        assert_int_equal(r.counts[i], 0);
    assert_int_equal(quota_remaining(&r, &p, B * S + 3), 3);
    assert_true(quota_check(&r, &p, B * S + 3, &ra));
    quota_consume(&r, &p, B * S + 3);
    assert_int_equal(quota_remaining(&r, &p, B * S + 4), 2);
}

/* A zeroed ring is an empty ring at slot 0: it works at now = 0 and at
 * times near 2^62 (no overflow in retry_after). */
static void test_zeroed_ring_small_and_large_times(void **state)
{
    (void)state;
    const struct quota_policy p = policy(2, 24.0);
    const uint64_t S = p.slot_ns;
    uint64_t ra = 0;

    struct quota_ring r;
    memset(&r, 0, sizeof r);
    assert_int_equal(quota_remaining(&r, &p, 0), 2);
    assert_true(quota_check(&r, &p, 0, &ra));
    quota_consume(&r, &p, 0);
    quota_consume(&r, &p, 1);
    assert_false(quota_check(&r, &p, 2, &ra));
    assert_int_equal(ra, 61 * S - 2);
    assert_false(quota_check(&r, &p, 61 * S - 1, &ra));
    assert_true(quota_check(&r, &p, 61 * S, &ra));

    memset(&r, 0, sizeof r);
    quota_consume(&r, &p, S - 1); /* still slot 0 */
    assert_int_equal(quota_remaining(&r, &p, S), 1);
    assert_int_equal(quota_remaining(&r, &p, 61 * S - 1), 1);
    assert_int_equal(quota_remaining(&r, &p, 61 * S), 2);

    const uint64_t big = (UINT64_C(1) << 62) + 12345;
    memset(&r, 0, sizeof r);
    assert_int_equal(quota_remaining(&r, &p, big), 2);
    assert_true(quota_check(&r, &p, big, &ra));
    quota_consume(&r, &p, big);
    quota_consume(&r, &p, big + 1);
    assert_false(quota_check(&r, &p, big + 2, &ra));
    assert_int_equal(ra, (big / S + 61) * S - (big + 2));
    assert_true(ra < 61 * S);
    assert_true(quota_check(&r, &p, (big / S + 61) * S, &ra));

    /* Ten-year window near 2^62 as well. */
    const struct quota_policy ten = policy(1, 24.0 * 365 * 10);
    memset(&r, 0, sizeof r);
    quota_consume(&r, &ten, big);
    assert_false(quota_check(&r, &ten, big, &ra));
    assert_int_equal(ra, (big / ten.slot_ns + 61) * ten.slot_ns - big);
    assert_true(quota_check(&r, &ten, big + ra, &ra));

    /* The same ring, first used near 2^62, then far ahead of that. */
    memset(&r, 0, sizeof r);
    const uint64_t huge = UINT64_C(1) << 63;
    assert_true(quota_check(&r, &p, huge, &ra));
    quota_consume(&r, &p, huge);
    quota_consume(&r, &p, huge);
    assert_false(quota_check(&r, &p, huge + 5, &ra));
    assert_int_equal(ra, (huge / S + 61) * S - (huge + 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_init_rejects),
        cmocka_unit_test(test_policy_init_accepts),
        cmocka_unit_test(test_max_then_refused_exact_retry_after),
        cmocka_unit_test(test_one_action_blocks_window_frees_within_one_slot),
        cmocka_unit_test(test_window_not_multiple_of_60_still_safe),
        cmocka_unit_test(test_rolling_window_never_exceeded),
        cmocka_unit_test(test_remaining),
        cmocka_unit_test(test_clock_steps_back),
        cmocka_unit_test(test_gap_longer_than_ring_clears),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_zeroed_ring_small_and_large_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
