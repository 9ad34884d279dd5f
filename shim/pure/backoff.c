#include "backoff.h"

#include "num.h"

#include <math.h>

bool retry_policy_valid(const struct retry_policy *p)
{
    return p->max_attempts >= 1 && isfinite(p->initial_delay_s) && isfinite(p->max_delay_s) &&
           isfinite(p->base) && p->initial_delay_s >= 0 && p->max_delay_s >= 0 &&
           p->base >= 1 && p->initial_delay_s <= p->max_delay_s && p->max_delay_s <= 1e9;
}

bool backoff_should_retry(const struct retry_policy *p, uint32_t attempts_made)
{
    return attempts_made < p->max_attempts;
}

uint64_t backoff_delay_ns(const struct retry_policy *p, uint32_t n,
                          const struct random_source *rng)
{
    double cap_s = p->initial_delay_s == 0
                       ? 0
                       : num_capped_power(p->initial_delay_s, p->base, n, p->max_delay_s);
    uint64_t cap_ns = num_round_u64(cap_s * 1e9);
    if (!p->jitter || cap_ns == 0 || !rng)
        return cap_ns;
    /* Uniform in [0, cap_ns] by rejection: no modulo bias. */
    uint64_t bound = cap_ns + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = rng->next(rng->ctx);
    while (r >= limit);
    return r % bound;
}

uint64_t splitmix64_next(void *state)
{
    uint64_t *s = state;
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
