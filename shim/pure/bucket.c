#include "bucket.h"

#include "num.h"

#include <math.h>

#define MAX_SPAN_NS (UINT64_C(1) << 62)

/* Slack for processes whose clock reading is older than the one that wrote
 * the word (preempted between clock_gettime and the CAS). Without it such a
 * process would take a just-emptied bucket for a stale one and over-admit. */
#define STALE_SLACK_NS (UINT64_C(60) * 1000000000)

bool rate_policy_init(struct rate_policy *p, double max_calls_per_minute, uint64_t burst_size)
{
    if (!(max_calls_per_minute > 0) || !isfinite(max_calls_per_minute) || burst_size < 1)
        return false;
    double interval = 60e9 / max_calls_per_minute;
    if (interval < 1 || interval * (double)burst_size >= (double)MAX_SPAN_NS)
        return false;
    p->interval_ns = num_round_u64(interval);
    p->tolerance_ns = (burst_size - 1) * p->interval_ns;
    return true;
}

/* A word this far ahead of now was not written on this clock. */
static uint64_t effective_tat(uint64_t tat, const struct rate_policy *p, uint64_t now_ns)
{
    if (tat > now_ns && tat - now_ns > p->tolerance_ns + p->interval_ns + STALE_SLACK_NS)
        return 0;
    return tat;
}

struct bucket_decision bucket_decide(uint64_t tat, const struct rate_policy *p, uint64_t now_ns)
{
    struct bucket_decision d = {0};
    tat = effective_tat(tat, p, now_ns);
    uint64_t base = tat > now_ns ? tat : now_ns;
    uint64_t debt = base - now_ns;
    if (debt > p->tolerance_ns) {
        d.retry_after_ns = debt - p->tolerance_ns;
        return d;
    }
    d.admit = true;
    d.new_tat = base + p->interval_ns;
    return d;
}

uint64_t bucket_remaining(uint64_t tat, const struct rate_policy *p, uint64_t now_ns)
{
    tat = effective_tat(tat, p, now_ns);
    uint64_t debt = tat > now_ns ? tat - now_ns : 0;
    uint64_t room = p->tolerance_ns + p->interval_ns;
    return debt >= room ? 0 : (room - debt) / p->interval_ns;
}

struct bucket_decision bucket_take(uint64_t *word, const struct rate_policy *p, uint64_t now_ns)
{
    uint64_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        struct bucket_decision d = bucket_decide(seen, p, now_ns);
        if (!d.admit)
            return d;
        if (__atomic_compare_exchange_n(word, &seen, d.new_tat, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return d;
    }
}

void bucket_reset(uint64_t *word)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}
