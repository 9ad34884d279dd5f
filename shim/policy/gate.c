#include "gate.h"

#include "../pure/hash.h"
#include "../store/pidlock.h"

uint64_t gate_agent_id(const char *agent)
{
    return fnv64_str(FNV64_OFFSET, agent);
}

static uint64_t entry_key(uint64_t agent_id, uint64_t policy_id)
{
    return fnv64_bytes(agent_id, &policy_id, sizeof policy_id);
}

uint64_t gate_bucket_key(uint64_t agent_id, const struct tool *tool)
{
    return entry_key(agent_id, tool->rate_id);
}

uint64_t gate_tool_quota_key(uint64_t agent_id, const struct tool *tool)
{
    return entry_key(agent_id, tool->quota_id);
}

uint64_t gate_agent_quota_key(uint64_t agent_id, const struct quota_spec *q)
{
    uint64_t numbers[] = {q->policy.max_actions, q->policy.slot_ns};
    return fnv64_bytes(fnv64_str(agent_id, "agent-quota"), numbers, sizeof numbers);
}

static struct gate_result allow(const struct enact_config *cfg)
{
    return (struct gate_result){
        .action = GATE_PROCEED, .audit = cfg->log_allowed, .verdict = "allow"};
}

/* A call that would be refused: observe mode lets it through and says so. */
static struct gate_result refuse(const struct enact_config *cfg, const char *reason,
                                 uint64_t retry_after_ns)
{
    bool observing = cfg->mode == MODE_OBSERVE;
    return (struct gate_result){
        .action = observing ? GATE_PROCEED : GATE_REFUSE,
        .audit = true,
        .verdict = observing ? "would_deny" : "deny",
        .reason = reason,
        .retry_after_ns = retry_after_ns,
    };
}

/* Enact itself cannot decide: on_error does. */
static struct gate_result undecidable(const struct enact_config *cfg, const char *reason)
{
    if (cfg->on_error == ON_ERROR_ALLOW)
        return (struct gate_result){
            .action = GATE_PROCEED, .audit = true, .verdict = "error", .reason = reason};
    return refuse(cfg, reason, 0);
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

static bool lease_holder_alive(int32_t tid, void *ctx)
{
    (void)ctx;
    return pidlock_pid_alive(tid);
}

/* The most restrictive refusal so far: the one that lasts longest. */
struct refusal {
    const char *reason;
    uint64_t retry_after_ns;
};

static void consider(struct refusal *r, const char *reason, uint64_t retry_after_ns)
{
    if (!r->reason || retry_after_ns > r->retry_after_ns) {
        r->reason = reason;
        r->retry_after_ns = retry_after_ns;
    }
}

struct gate_result gate_decide(const struct enact_config *cfg, struct state_map *state,
                               const struct gate_call *call)
{
    const struct tool *t = call->tool;
    if (config_simulates(cfg, t))
        return (struct gate_result){
            .action = GATE_SIMULATE, .audit = true, .verdict = "dry_run"};
    const struct quota_spec *aq_spec = call->agent_quota;
    if (!t->rate_limited && !t->quota.enabled && !t->has_breaker && !aq_spec)
        return allow(cfg);
    if (!state || !state->base)
        return undecidable(cfg, "state_error");

    uint64_t *bucket = NULL;
    struct quota_slot *tq = NULL, *aq = NULL;
    struct breaker_slot *br = NULL;
    uint64_t id = call->agent_id;
    if ((t->rate_limited &&
         !(bucket = state_bucket_or_evict(state, gate_bucket_key(id, t), call->mono_ns))) ||
        (t->quota.enabled && !(tq = state_quota_or_evict(state, gate_tool_quota_key(id, t),
                                                         call->real_ns, call->owner))) ||
        (aq_spec && !(aq = state_quota_or_evict(state, gate_agent_quota_key(id, aq_spec),
                                                call->real_ns, call->owner))) ||
        (t->has_breaker && !(br = state_breaker(state, t->breaker_id))))
        return undecidable(cfg, "state_full");

    /* Always in this order (breaker, agent quota, tool quota): no two
     * deciders wait for each other. */
    struct held held = {.owner = call->owner};
    if ((br && !take(&held, &br->lock)) || (aq && !take(&held, &aq->lock)) ||
        (tq && !take(&held, &tq->lock))) {
        release_all(&held);
        return undecidable(cfg, "state_error");
    }

    struct refusal r = {0};
    uint64_t retry;
    if (br && breaker_peek(&br->breaker, &t->breaker, call->mono_ns, lease_holder_alive, NULL,
                           &retry) == BREAKER_REFUSE)
        consider(&r, "circuit_open", retry);
    if (bucket) {
        struct bucket_decision d =
            bucket_decide(__atomic_load_n(bucket, __ATOMIC_ACQUIRE), &t->rate, call->mono_ns);
        if (!d.admit)
            consider(&r, "rate_limited", d.retry_after_ns);
    }
    if (tq && !quota_check(&tq->ring, &t->quota.policy, call->real_ns, &retry))
        consider(&r, "quota_exceeded", retry);
    if (aq && !quota_check(&aq->ring, &aq_spec->policy, call->real_ns, &retry))
        consider(&r, "quota_exceeded", retry);
    if (r.reason) {
        release_all(&held);
        return refuse(cfg, r.reason, r.retry_after_ns);
    }

    /* Commit. The bucket goes first: being lock-free, it is the one limit
     * another process can still have moved since the check. */
    if (bucket) {
        struct bucket_decision d = bucket_take(bucket, &t->rate, call->mono_ns);
        if (!d.admit) {
            release_all(&held);
            return refuse(cfg, "rate_limited", d.retry_after_ns);
        }
    }
    if (tq) {
        quota_consume(&tq->ring, &t->quota.policy, call->real_ns);
        tq->slot_ns = t->quota.policy.slot_ns;
    }
    if (aq) {
        quota_consume(&aq->ring, &aq_spec->policy, call->real_ns);
        aq->slot_ns = aq_spec->policy.slot_ns;
    }
    struct gate_result result = allow(cfg);
    if (br)
        result.probe = breaker_admit(&br->breaker, &t->breaker, call->mono_ns, call->owner,
                                     lease_holder_alive, NULL, &retry,
                                     &result.breaker) == BREAKER_PROBE;
    release_all(&held);
    return result;
}

void gate_report(struct state_map *state, const struct tool *tool, int32_t owner,
                 uint64_t mono_ns, enum gate_outcome outcome, struct breaker_event *ev)
{
    ev->changed = false;
    if (!tool->has_breaker || !state || !state->base)
        return;
    struct breaker_slot *br = state_breaker(state, tool->breaker_id);
    if (!br || !pidlock_acquire(&br->lock, owner, pidlock_clock_ms, pidlock_pid_alive))
        return; /* the outcome is lost; the lease expires at its deadline */
    if (outcome == OUTCOME_NEUTRAL)
        breaker_release(&br->breaker, owner);
    else
        breaker_record(&br->breaker, &tool->breaker, mono_ns, owner,
                       outcome == OUTCOME_SUCCESS, ev);
    pidlock_release(&br->lock, owner);
}
