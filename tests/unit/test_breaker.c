/* Unit tests for breaker.c: CLOSED -> OPEN -> HALF_OPEN -> CLOSED with
 * half-open probe leases. Times are injected monotonic ns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "breaker.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1000) * SEC) /* a monotonic clock well past 0 */

/* failure_threshold 3, success_threshold 2, timeout 30 s, probe lease 5 s. */
static struct breaker_policy policy(void)
{
    struct breaker_policy p;
    assert_true(breaker_policy_init(&p, 3, 2, 30.0, 5.0));
    return p;
}

static struct breaker fresh(void)
{
    struct breaker b;
    memset(&b, 0, sizeof b);
    return b;
}

static void assert_no_event(const struct breaker_event *ev)
{
    assert_false(ev->changed);
}

static void assert_event(const struct breaker_event *ev, enum breaker_state from,
                         enum breaker_state to)
{
    assert_true(ev->changed);
    assert_int_equal(ev->from, from);
    assert_int_equal(ev->to, to);
}

/* admit with no alive callback; checks retry_after is written. */
static enum breaker_admission admit(struct breaker *b, const struct breaker_policy *p,
                                    uint64_t now, int32_t pid, uint64_t *ra,
                                    struct breaker_event *ev)
{
    *ra = UINT64_C(0xDEADBEEF);
    memset(ev, 0x5A, sizeof *ev);
    return breaker_admit(b, p, now, pid, NULL, NULL, ra, ev);
}

static void record(struct breaker *b, const struct breaker_policy *p, uint64_t now, int32_t pid,
                   bool success, struct breaker_event *ev)
{
    memset(ev, 0x5A, sizeof *ev);
    breaker_record(b, p, now, pid, success, ev);
}

/* Three failures from CLOSED at T0: OPEN since T0. */
static struct breaker opened(const struct breaker_policy *p)
{
    struct breaker b = fresh();
    struct breaker_event ev;
    for (uint32_t i = 0; i < p->failure_threshold; i++)
        record(&b, p, T0, 100, false, &ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);
    return b;
}

/* Opened at T0, half-open by pid 101's probe at T0 + 30 s. */
static struct breaker half_open(const struct breaker_policy *p)
{
    struct breaker b = opened(p);
    struct breaker_event ev;
    uint64_t ra;
    assert_int_equal(admit(&b, p, T0 + p->open_ns, 101, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
    return b;
}

/* ---- policy ------------------------------------------------------------- */

static void test_policy_init(void **state)
{
    (void)state;
    struct breaker_policy p;
    assert_true(breaker_policy_init(&p, 5, 2, 60.0, 10.0));
    assert_int_equal(p.failure_threshold, 5);
    assert_int_equal(p.success_threshold, 2);
    assert_int_equal(p.open_ns, 60 * SEC);
    assert_int_equal(p.probe_ns, 10 * SEC);
    assert_true(breaker_policy_init(&p, 1, 1, 0.25, 0.5));
    assert_int_equal(p.open_ns, SEC / 4);
    assert_int_equal(p.probe_ns, SEC / 2);
    assert_true(breaker_policy_init(&p, UINT32_MAX, BREAKER_MAX_PROBES, 1.0, 1.0));
    assert_int_equal(p.failure_threshold, UINT32_MAX);
    assert_int_equal(p.success_threshold, 16);

    assert_false(breaker_policy_init(&p, 0, 2, 60.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, 0, 60.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, BREAKER_MAX_PROBES + 1, 60.0, 10.0));
    assert_false(breaker_policy_init(&p, (uint64_t)UINT32_MAX + 1, 2, 60.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, UINT64_MAX, 60.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, 0.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, -1.0, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, NAN, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, INFINITY, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, 1e300, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, 0.0));
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, -0.5));
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, NAN));
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, INFINITY));
}

/* "false when ... a time is 0": a time that is 0 once in ns counts too. A
 * probe lease of 0 ns would expire as it is taken, letting any number of
 * probes through at once. */
static void test_policy_init_rejects_times_that_round_to_zero(void **state)
{
    (void)state;
    struct breaker_policy p;
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, 1e-10));
    assert_false(breaker_policy_init(&p, 5, 2, 1e-10, 10.0));
    assert_false(breaker_policy_init(&p, 5, 2, 60.0, 5e-324));
}

/* Whatever init decides about tiny times, a policy it accepts must never
 * let more than success_threshold probes through at the same instant. */
static void test_tiny_probe_time_still_limits_probes(void **state)
{
    (void)state;
    const double tiny[] = {1e-10, 4e-10, 5e-324};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        struct breaker_policy p;
        if (!breaker_policy_init(&p, 1, 2, 1.0, tiny[i]))
            continue;
        struct breaker b;
        memset(&b, 0, sizeof b);
        struct breaker_event ev;
        uint64_t ra;
        breaker_record(&b, &p, T0, 1, false, &ev);
        int probes = 0;
        for (int32_t pid = 10; pid < 20; pid++)
            if (breaker_admit(&b, &p, T0 + SEC, pid, NULL, NULL, &ra, &ev) == BREAKER_PROBE)
                probes++;
        assert_int_equal(probes, 2);
    }
}

/* ---- CLOSED ------------------------------------------------------------- */

static void test_closed_counts_consecutive_failures(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = fresh();
    struct breaker_event ev;
    uint64_t ra;

    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    assert_int_equal(admit(&b, &p, T0, 100, &ra, &ev), BREAKER_PASS);
    assert_int_equal(ra, 0);
    assert_no_event(&ev);

    record(&b, &p, T0, 100, false, &ev);
    assert_no_event(&ev);
    record(&b, &p, T0 + 1, 100, false, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    assert_false(breaker_is_open(&b, &p, T0 + 2));
    assert_int_equal(admit(&b, &p, T0 + 2, 100, &ra, &ev), BREAKER_PASS);
    assert_no_event(&ev);

    /* A success resets the consecutive count. */
    record(&b, &p, T0 + 3, 100, true, &ev);
    assert_no_event(&ev);
    record(&b, &p, T0 + 4, 100, false, &ev);
    record(&b, &p, T0 + 5, 100, false, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    assert_int_equal(admit(&b, &p, T0 + 6, 100, &ra, &ev), BREAKER_PASS);

    /* The third consecutive failure opens it. */
    record(&b, &p, T0 + 7, 100, false, &ev);
    assert_event(&ev, BREAKER_CLOSED, BREAKER_OPEN);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);
    assert_int_equal(b.since_ns, T0 + 7);
    assert_true(breaker_is_open(&b, &p, T0 + 7));

    /* Many successes never open it. */
    b = fresh();
    for (int i = 0; i < 1000; i++) {
        record(&b, &p, T0 + (uint64_t)i, 100, i % 3 == 2, &ev);
        assert_no_event(&ev);
    }
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
}

static void test_threshold_one_opens_on_first_failure(void **state)
{
    (void)state;
    struct breaker_policy p;
    assert_true(breaker_policy_init(&p, 1, 1, 1.0, 1.0));
    struct breaker b = fresh();
    struct breaker_event ev;
    record(&b, &p, T0, 7, false, &ev);
    assert_event(&ev, BREAKER_CLOSED, BREAKER_OPEN);
}

/* ---- OPEN --------------------------------------------------------------- */

static void test_open_refuses_with_remaining_timeout(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = opened(&p);
    struct breaker_event ev;
    uint64_t ra;

    assert_int_equal(admit(&b, &p, T0, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 30 * SEC);
    assert_no_event(&ev);
    assert_int_equal(admit(&b, &p, T0 + SEC, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 29 * SEC);
    assert_no_event(&ev);
    assert_int_equal(admit(&b, &p, T0 + 30 * SEC - 1, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 1);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);

    assert_true(breaker_is_open(&b, &p, T0));
    assert_true(breaker_is_open(&b, &p, T0 + 30 * SEC - 1));
    assert_false(breaker_is_open(&b, &p, T0 + 30 * SEC));
    assert_false(breaker_is_open(&b, &p, T0 + 3600 * SEC));
    /* get_state reports it as it stands: OPEN until a call comes. */
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);

    /* The first call after the timeout: HALF_OPEN, and it is the probe. */
    assert_int_equal(admit(&b, &p, T0 + 30 * SEC, 201, &ra, &ev), BREAKER_PROBE);
    assert_event(&ev, BREAKER_OPEN, BREAKER_HALF_OPEN);
    assert_int_equal(ra, 0);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
    assert_int_equal(b.since_ns, T0 + 30 * SEC);
    assert_false(breaker_is_open(&b, &p, T0 + 30 * SEC));
}

static void test_open_late_first_call(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = opened(&p);
    struct breaker_event ev;
    uint64_t ra;
    /* Long after the timeout: still a single transition. */
    assert_int_equal(admit(&b, &p, T0 + 86400 * SEC, 201, &ra, &ev), BREAKER_PROBE);
    assert_event(&ev, BREAKER_OPEN, BREAKER_HALF_OPEN);
    assert_int_equal(admit(&b, &p, T0 + 86400 * SEC, 202, &ra, &ev), BREAKER_PROBE);
    assert_no_event(&ev);
}

static void test_outcomes_while_open_are_ignored(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = opened(&p);
    struct breaker_event ev;
    uint64_t ra;

    record(&b, &p, T0 + SEC, 100, false, &ev); /* a late failure: no fresh timeout */
    assert_no_event(&ev);
    record(&b, &p, T0 + 2 * SEC, 100, true, &ev);
    record(&b, &p, T0 + 3 * SEC, 100, true, &ev);
    record(&b, &p, T0 + 4 * SEC, 100, true, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);
    assert_int_equal(b.since_ns, T0);
    assert_int_equal(admit(&b, &p, T0 + 5 * SEC, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 25 * SEC);
    assert_int_equal(admit(&b, &p, T0 + 30 * SEC, 200, &ra, &ev), BREAKER_PROBE);
    assert_event(&ev, BREAKER_OPEN, BREAKER_HALF_OPEN);
}

static void test_now_before_since_does_not_underflow(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = opened(&p); /* since T0 */
    struct breaker_event ev;
    uint64_t ra;
    assert_true(breaker_is_open(&b, &p, T0 - 5 * SEC));
    assert_true(breaker_is_open(&b, &p, 0));
    assert_int_equal(admit(&b, &p, T0 - 5 * SEC, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 30 * SEC); /* the full timeout, not a wrapped number */
    assert_int_equal(admit(&b, &p, 0, 200, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 30 * SEC);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);

    /* In HALF_OPEN, a call from the past does not free leases either. */
    b = half_open(&p); /* pid 101 holds a lease from T0 + 30 s */
    assert_int_equal(admit(&b, &p, T0 + 30 * SEC, 102, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(admit(&b, &p, T0, 103, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 0);
}

/* ---- HALF_OPEN ---------------------------------------------------------- */

static void test_half_open_limits_concurrent_probes(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = half_open(&p);
    struct breaker_event ev;
    uint64_t ra;
    const uint64_t t = T0 + 30 * SEC;

    assert_int_equal(admit(&b, &p, t + 1, 102, &ra, &ev), BREAKER_PROBE);
    assert_no_event(&ev);
    assert_int_equal(ra, 0);
    for (int32_t pid = 103; pid < 110; pid++) {
        assert_int_equal(admit(&b, &p, t + 2, pid, &ra, &ev), BREAKER_REFUSE);
        assert_int_equal(ra, 0); /* probes all taken */
        assert_no_event(&ev);
    }
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
    assert_false(breaker_is_open(&b, &p, t + 2));

    /* With 16 probes allowed, exactly 16 get through. */
    struct breaker_policy wide;
    assert_true(breaker_policy_init(&wide, 1, 16, 1.0, 5.0));
    b = fresh();
    record(&b, &wide, T0, 1, false, &ev);
    int probes = 0;
    for (int32_t pid = 1; pid <= 40; pid++)
        if (admit(&b, &wide, T0 + SEC, pid, &ra, &ev) == BREAKER_PROBE)
            probes++;
    assert_int_equal(probes, 16);
}

static void test_probe_lease_expires_at_deadline(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = half_open(&p); /* 101 at t */
    struct breaker_event ev;
    uint64_t ra;
    const uint64_t t = T0 + 30 * SEC;

    assert_int_equal(admit(&b, &p, t + SEC, 102, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(admit(&b, &p, t + 5 * SEC - 1, 103, &ra, &ev), BREAKER_REFUSE);
    /* 101's lease (deadline t + 5 s) is lost: a new probe may take it. */
    assert_int_equal(admit(&b, &p, t + 5 * SEC, 103, &ra, &ev), BREAKER_PROBE);
    assert_no_event(&ev);
    assert_int_equal(admit(&b, &p, t + 5 * SEC, 104, &ra, &ev), BREAKER_REFUSE);
    /* 102's lease (deadline t + 6 s) goes next. */
    assert_int_equal(admit(&b, &p, t + 6 * SEC - 1, 104, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(admit(&b, &p, t + 6 * SEC, 104, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
}

struct alive_ctx {
    int32_t dead[4];
    int calls;
};

static bool alive_fn(int32_t pid, void *ctx)
{
    struct alive_ctx *c = ctx;
    c->calls++;
    assert_true(pid != 0); /* never asked about a free lease */
    for (size_t i = 0; i < 4; i++)
        if (c->dead[i] == pid)
            return false;
    return true;
}

static void test_probe_lease_freed_when_owner_dies(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = half_open(&p); /* 101 at t */
    struct breaker_event ev;
    uint64_t ra;
    const uint64_t t = T0 + 30 * SEC;
    struct alive_ctx ctx = {{0}, 0};

    assert_int_equal(breaker_admit(&b, &p, t + 1, 102, alive_fn, &ctx, &ra, &ev),
                     BREAKER_PROBE);
    assert_int_equal(breaker_admit(&b, &p, t + 2, 103, alive_fn, &ctx, &ra, &ev),
                     BREAKER_REFUSE);
    assert_true(ctx.calls > 0); /* the callback was asked, with our ctx */

    ctx.dead[0] = 101; /* 101 died, well before its deadline */
    assert_int_equal(breaker_admit(&b, &p, t + 3, 103, alive_fn, &ctx, &ra, &ev),
                     BREAKER_PROBE);
    assert_no_event(&ev);
    assert_int_equal(breaker_admit(&b, &p, t + 4, 104, alive_fn, &ctx, &ra, &ev),
                     BREAKER_REFUSE);
    assert_int_equal(ra, 0);

    /* Without a callback, every owner is taken to live. */
    ctx.dead[1] = 102;
    ctx.dead[2] = 103;
    assert_int_equal(admit(&b, &p, t + 5, 104, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(breaker_admit(&b, &p, t + 6, 104, alive_fn, &ctx, &ra, &ev),
                     BREAKER_PROBE);
}

static void test_half_open_failure_reopens_with_fresh_timeout(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = half_open(&p); /* 101 at t */
    struct breaker_event ev;
    uint64_t ra;
    const uint64_t t = T0 + 30 * SEC;

    assert_int_equal(admit(&b, &p, t + SEC, 102, &ra, &ev), BREAKER_PROBE);
    record(&b, &p, t + 2 * SEC, 102, true, &ev); /* one success is not enough */
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
    record(&b, &p, t + 3 * SEC, 101, false, &ev);
    assert_event(&ev, BREAKER_HALF_OPEN, BREAKER_OPEN);
    assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);
    assert_int_equal(b.since_ns, t + 3 * SEC);
    assert_true(breaker_is_open(&b, &p, t + 3 * SEC));
    assert_int_equal(admit(&b, &p, t + 4 * SEC, 103, &ra, &ev), BREAKER_REFUSE);
    assert_int_equal(ra, 29 * SEC);
    assert_true(breaker_is_open(&b, &p, t + 33 * SEC - 1));
    assert_false(breaker_is_open(&b, &p, t + 33 * SEC));

    /* The next half-open period starts from scratch: the earlier success
     * does not count, and the old leases are gone. */
    assert_int_equal(admit(&b, &p, t + 33 * SEC, 104, &ra, &ev), BREAKER_PROBE);
    assert_event(&ev, BREAKER_OPEN, BREAKER_HALF_OPEN);
    assert_int_equal(admit(&b, &p, t + 33 * SEC, 105, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(admit(&b, &p, t + 33 * SEC, 106, &ra, &ev), BREAKER_REFUSE);
    record(&b, &p, t + 34 * SEC, 104, true, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
}

static void test_half_open_successes_close(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = half_open(&p); /* 101 at t */
    struct breaker_event ev;
    uint64_t ra;
    const uint64_t t = T0 + 30 * SEC;

    assert_int_equal(admit(&b, &p, t + 1, 102, &ra, &ev), BREAKER_PROBE);
    record(&b, &p, t + 2, 101, true, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_HALF_OPEN);
    /* 101's lease was released by its outcome: another probe may go. */
    assert_int_equal(admit(&b, &p, t + 3, 103, &ra, &ev), BREAKER_PROBE);
    assert_int_equal(admit(&b, &p, t + 3, 104, &ra, &ev), BREAKER_REFUSE);
    record(&b, &p, t + 4, 102, true, &ev);
    assert_event(&ev, BREAKER_HALF_OPEN, BREAKER_CLOSED);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    assert_int_equal(b.since_ns, t + 4);
    assert_int_equal(admit(&b, &p, t + 5, 104, &ra, &ev), BREAKER_PASS);
    assert_no_event(&ev);

    /* CLOSED again with a clean count: two failures do not open it. */
    record(&b, &p, t + 6, 103, false, &ev); /* the last probe's late outcome */
    record(&b, &p, t + 7, 104, false, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    record(&b, &p, t + 8, 104, false, &ev);
    assert_event(&ev, BREAKER_CLOSED, BREAKER_OPEN);
}

static void test_reset(void **state)
{
    (void)state;
    const struct breaker_policy p = policy();
    struct breaker b = opened(&p);
    struct breaker_event ev;
    uint64_t ra;

    memset(&ev, 0x5A, sizeof ev);
    breaker_reset(&b, T0 + SEC, &ev);
    assert_event(&ev, BREAKER_OPEN, BREAKER_CLOSED);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
    assert_false(breaker_is_open(&b, &p, T0 + SEC));
    assert_int_equal(admit(&b, &p, T0 + SEC, 1, &ra, &ev), BREAKER_PASS);

    b = half_open(&p);
    breaker_reset(&b, T0 + 31 * SEC, &ev);
    assert_event(&ev, BREAKER_HALF_OPEN, BREAKER_CLOSED);
    for (int i = 0; i < BREAKER_MAX_PROBES; i++)
        assert_int_equal(b.leases[i].pid, 0);

    /* Reset forgets the failure count; from CLOSED it is no change. */
    b = fresh();
    record(&b, &p, T0, 1, false, &ev);
    record(&b, &p, T0, 1, false, &ev);
    memset(&ev, 0x5A, sizeof ev);
    breaker_reset(&b, T0 + 1, &ev);
    assert_no_event(&ev);
    assert_int_equal(ev.from, BREAKER_CLOSED);
    assert_int_equal(ev.to, BREAKER_CLOSED);
    record(&b, &p, T0 + 2, 1, false, &ev);
    record(&b, &p, T0 + 3, 1, false, &ev);
    assert_no_event(&ev);
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(breaker_state_name(BREAKER_CLOSED), "CLOSED");
    assert_string_equal(breaker_state_name(BREAKER_OPEN), "OPEN");
    assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "HALF_OPEN");
    assert_string_equal(breaker_state_name((enum breaker_state)3), "UNKNOWN");
    struct breaker b = fresh();
    assert_int_equal(breaker_get_state(&b), BREAKER_CLOSED); /* zeroed = CLOSED */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_init),
        cmocka_unit_test(test_policy_init_rejects_times_that_round_to_zero),
        cmocka_unit_test(test_tiny_probe_time_still_limits_probes),
        cmocka_unit_test(test_closed_counts_consecutive_failures),
        cmocka_unit_test(test_threshold_one_opens_on_first_failure),
        cmocka_unit_test(test_open_refuses_with_remaining_timeout),
        cmocka_unit_test(test_open_late_first_call),
        cmocka_unit_test(test_outcomes_while_open_are_ignored),
        cmocka_unit_test(test_now_before_since_does_not_underflow),
        cmocka_unit_test(test_half_open_limits_concurrent_probes),
        cmocka_unit_test(test_probe_lease_expires_at_deadline),
        cmocka_unit_test(test_probe_lease_freed_when_owner_dies),
        cmocka_unit_test(test_half_open_failure_reopens_with_fresh_timeout),
        cmocka_unit_test(test_half_open_successes_close),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
