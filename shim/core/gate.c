#include "gate.h"

#include "hash.h"

uint64_t gate_agent_id(const char *agent)
{
    return fnv64_str(FNV64_OFFSET, agent);
}

/* A call that would be refused: observe mode lets it through and says so. */
static struct gate_result refuse(const struct enact_config *cfg, const char *reason,
                                 uint64_t retry_after_ns)
{
    bool observing = cfg->mode == MODE_OBSERVE;
    return (struct gate_result){
        .admit = observing,
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
        return (struct gate_result){.admit = true, .audit = true, .verdict = "error",
                                    .reason = reason};
    return refuse(cfg, reason, 0);
}

struct gate_result gate_decide(const struct enact_config *cfg, struct state_map *state,
                               const struct tool *tool, uint64_t agent_id, uint64_t now_ns)
{
    if (tool->rate_limited) {
        if (!state || !state->base)
            return undecidable(cfg, "state_error");
        uint64_t key = fnv64_bytes(agent_id, &tool->policy_id, sizeof tool->policy_id);
        uint64_t *word = state_bucket(state, key);
        if (!word)
            return undecidable(cfg, "state_full");
        struct bucket_decision d = bucket_take(word, &tool->rate, now_ns);
        if (!d.admit)
            return refuse(cfg, "rate_limited", d.retry_after_ns);
    }
    return (struct gate_result){.admit = true, .audit = cfg->log_allowed, .verdict = "allow"};
}
