/* The state file as a store: see local_store.h. */
#include "local_store.h"

#include "pidlock.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof ((struct agent_slot *)0)->name == STORE_AGENT_NAME_MAX,
               "an agent's name in the file is what the store hands out");

static bool lease_holder_alive(int32_t tid, void *ctx)
{
    (void)ctx;
    return pidlock_pid_alive(tid);
}

/* The pidlocks one decision holds, released together. */
struct held {
    int32_t owner;
    int n;
    uint64_t *words[3];
};

static bool take(struct held *h, uint64_t *word)
{
    if (!pidlock_acquire(word, h->owner, pidlock_clock_ms, pidlock_pid_alive))
        return false;
    h->words[h->n++] = word;
    return true;
}

static void release_all(struct held *h)
{
    while (h->n > 0)
        pidlock_release(h->words[--h->n], h->owner);
}

static struct store_admission unavailable(const char *reason)
{
    return (struct store_admission){.answer = STORE_UNAVAILABLE, .reason = reason};
}

/* The most restrictive refusal so far: the one that lasts longest. */
static void consider(struct store_admission *r, const char *reason, uint64_t retry_after_ns)
{
    if (!r->reason || retry_after_ns > r->retry_after_ns) {
        r->answer = STORE_REFUSED;
        r->reason = reason;
        r->retry_after_ns = retry_after_ns;
    }
}

/* Counts one action in q (its lock held); true when what is left has
 * fallen to warn for the first time in a window. */
static bool charge(struct quota_slot *q, const struct quota_policy *p, bool warns,
                   uint32_t warn, uint64_t real_ns, uint32_t *left)
{
    quota_consume(&q->ring, p, real_ns);
    q->slot_ns = p->slot_ns;
    *left = q->ring.used < p->max_actions ? p->max_actions - q->ring.used : 0;
    uint64_t window_ns = p->slot_ns * QUOTA_WINDOW_SLOTS;
    if (!warns || *left > warn ||
        (q->warned_ns && real_ns >= q->warned_ns && real_ns - q->warned_ns < window_ns))
        return false;
    q->warned_ns = real_ns;
    return true;
}

static struct store_admission admit(void *impl, const struct store_limits *l,
                                    const struct store_now *now)
{
    struct state_map *m = impl;
    if (!m || !m->base)
        return unavailable("state_error");
    uint64_t *bucket = NULL;
    struct quota_slot *tq = NULL, *aq = NULL;
    struct breaker_slot *br = NULL;
    if ((l->rate && !(bucket = state_bucket_or_evict(m, l->bucket_key, now->mono_ns))) ||
        (l->tool_quota &&
         !(tq = state_quota_or_evict(m, l->tool_quota_key, now->real_ns, now->owner))) ||
        (l->agent_quota &&
         !(aq = state_quota_or_evict(m, l->agent_quota_key, now->real_ns, now->owner))) ||
        (l->breaker && !(br = state_breaker(m, l->breaker_key))))
        return unavailable("state_full");

    /* Always in this order (breaker, agent quota, tool quota): no two
     * deciders wait for each other. */
    struct held held = {.owner = now->owner};
    if ((br && !take(&held, &br->lock)) || (aq && !take(&held, &aq->lock)) ||
        (tq && !take(&held, &tq->lock))) {
        release_all(&held);
        return unavailable("state_error");
    }

    struct store_admission r = {.answer = STORE_ADMITTED};
    uint64_t retry;
    if (br && breaker_peek(&br->breaker, l->breaker, now->mono_ns, lease_holder_alive, NULL,
                           &retry) == BREAKER_REFUSE)
        consider(&r, "circuit_open", retry);
    if (bucket) {
        struct bucket_decision d =
            bucket_decide(__atomic_load_n(bucket, __ATOMIC_ACQUIRE), l->rate, now->mono_ns);
        if (!d.admit)
            consider(&r, "rate_limited", d.retry_after_ns);
    }
    if (tq && !quota_check(&tq->ring, l->tool_quota, now->real_ns, &retry))
        consider(&r, "quota_exceeded", retry);
    if (aq && !quota_check(&aq->ring, l->agent_quota, now->real_ns, &retry))
        consider(&r, "quota_exceeded", retry);
    if (r.answer == STORE_REFUSED) {
        release_all(&held);
        return r;
    }

    /* Commit. The bucket goes first: being lock-free, it is the one limit
     * another process can still have moved since the check. */
    if (bucket) {
        struct bucket_decision d = bucket_take(bucket, l->rate, now->mono_ns);
        if (!d.admit) {
            release_all(&held);
            return (struct store_admission){.answer = STORE_REFUSED,
                                            .reason = "rate_limited",
                                            .retry_after_ns = d.retry_after_ns};
        }
    }
    if (tq)
        r.tool_quota_low = charge(tq, l->tool_quota, l->tool_quota_warns, l->tool_quota_warn,
                                  now->real_ns, &r.tool_quota_left);
    if (aq)
        r.agent_quota_low = charge(aq, l->agent_quota, l->agent_quota_warns, l->agent_quota_warn,
                                   now->real_ns, &r.agent_quota_left);
    if (br)
        r.probe = breaker_admit(&br->breaker, l->breaker, now->mono_ns, now->owner,
                                lease_holder_alive, NULL, &retry,
                                &r.breaker) == BREAKER_PROBE;
    release_all(&held);
    return r;
}

static void report(void *impl, const struct breaker_policy *policy, uint64_t breaker_key,
                   const struct store_now *now, enum call_outcome outcome,
                   struct breaker_event *ev)
{
    struct state_map *m = impl;
    ev->changed = false;
    struct breaker_slot *br = m && m->base ? state_breaker(m, breaker_key) : NULL;
    if (!br || !pidlock_acquire(&br->lock, now->owner, pidlock_clock_ms, pidlock_pid_alive))
        return;
    if (outcome == OUTCOME_NEUTRAL)
        breaker_release(&br->breaker, now->owner);
    else
        breaker_record(&br->breaker, policy, now->mono_ns, now->owner,
                       outcome == OUTCOME_SUCCESS, ev);
    pidlock_release(&br->lock, now->owner);
}

static bool read_bucket(void *impl, uint64_t key, uint64_t *tat)
{
    uint64_t *word = impl ? state_find_bucket(impl, key) : NULL;
    *tat = word ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0;
    return word != NULL;
}

static bool read_quota(void *impl, uint64_t key, struct quota_ring *ring)
{
    struct quota_slot *slot = impl ? state_find_quota(impl, key) : NULL;
    if (slot)
        *ring = slot->ring;
    return slot != NULL;
}

static bool read_breaker(void *impl, uint64_t key, struct breaker *b)
{
    struct breaker_slot *slot = impl ? state_find_breaker(impl, key) : NULL;
    if (slot)
        *b = slot->breaker;
    return slot != NULL;
}

static bool reset_bucket(void *impl, uint64_t key)
{
    uint64_t *word = impl ? state_find_bucket(impl, key) : NULL;
    if (word)
        bucket_reset(word);
    return word != NULL;
}

static bool reset_quota(void *impl, uint64_t key, const struct store_now *now)
{
    struct quota_slot *q = impl ? state_find_quota(impl, key) : NULL;
    if (!q || !pidlock_acquire(&q->lock, now->owner, pidlock_clock_ms, pidlock_pid_alive))
        return false;
    quota_reset(&q->ring);
    q->warned_ns = 0;
    pidlock_release(&q->lock, now->owner);
    return true;
}

static bool reset_breaker(void *impl, uint64_t key, const struct store_now *now)
{
    struct breaker_slot *b = impl ? state_find_breaker(impl, key) : NULL;
    if (!b || !pidlock_acquire(&b->lock, now->owner, pidlock_clock_ms, pidlock_pid_alive))
        return false;
    struct breaker_event ignored;
    breaker_reset(&b->breaker, now->mono_ns, &ignored);
    pidlock_release(&b->lock, now->owner);
    return true;
}

/* In table order: the agents table, then each of its extensions. */
static size_t agents(void *impl, char (**names)[STORE_AGENT_NAME_MAX])
{
    struct state_map *m = impl;
    struct state_table t[STATE_TABLES_MAX];
    size_t nt = m ? state_tables(m, REGION_AGENTS, t) : 0, cap = 0, n = 0;
    for (size_t k = 0; k < nt; k++)
        cap += t[k].count;
    *names = calloc(cap ? cap : 1, sizeof **names);
    for (size_t k = 0; *names && k < nt; k++)
        for (uint32_t i = 0; i < t[k].count; i++) {
            struct agent_slot *a = &((struct agent_slot *)t[k].slots)[i];
            if (__atomic_load_n(&a->key, __ATOMIC_ACQUIRE) &&
                __atomic_load_n(&a->name[0], __ATOMIC_ACQUIRE)) {
                memcpy((*names)[n], a->name, sizeof a->name);
                (*names)[n++][sizeof a->name - 1] = '\0';
            }
        }
    return n;
}

static uint64_t audit_failures(void *impl, int *last_errno)
{
    const struct state_header *h = impl ? ((struct state_map *)impl)->base : NULL;
    *last_errno = h ? h->audit_last_errno : 0;
    return h ? h->audit_failures : 0;
}

static const struct store_ops LOCAL_OPS = {
    .admit = admit,
    .report = report,
    .read_bucket = read_bucket,
    .read_quota = read_quota,
    .read_breaker = read_breaker,
    .reset_bucket = reset_bucket,
    .reset_quota = reset_quota,
    .reset_breaker = reset_breaker,
    .agents = agents,
    .audit_failures = audit_failures,
};

struct store local_store(struct state_map *m)
{
    return (struct store){.ops = &LOCAL_OPS, .impl = m};
}
