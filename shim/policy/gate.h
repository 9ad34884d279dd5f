/* The one decision point: may this call of a mapped tool go ahead?
 *
 * For one call: dry-run -> breaker -> rate -> quotas (the tool's, per
 * agent, and the agent's own). Every limit is checked first; only when all
 * admit is anything committed, so a refused call consumes nothing. The
 * reason reported is the most restrictive one: the refusal that lasts
 * longest. In observe mode the state moves exactly as enforcement would
 * move it, and a refusal becomes an admitted call with verdict
 * "would_deny".
 *
 * Every interposer asks the gate the same way and acts on the answer; no
 * policy lives anywhere else. Time is passed in; nothing is printed or
 * written but the shared state entries. Safe in a vfork child: no
 * allocation, and only pidlocks (pidlock.h), never held on return. */
#ifndef ENACT_GATE_H
#define ENACT_GATE_H

#include "config.h"
#include "../store/state.h"

#include <stdbool.h>
#include <stdint.h>

struct gate_call {
    const struct tool *tool;
    const struct quota_spec *agent_quota; /* config_agent_quota(), or NULL */
    uint64_t agent_id;                    /* gate_agent_id(name) */
    int32_t owner;                        /* thread id: locks, breaker leases */
    uint64_t mono_ns;                     /* CLOCK_MONOTONIC: rate, breaker */
    uint64_t real_ns;                     /* CLOCK_REALTIME: quotas */
};

enum gate_action {
    GATE_PROCEED,  /* perform the call */
    GATE_REFUSE,   /* fail it with the tool's errno */
    GATE_SIMULATE, /* do not perform it; the caller sees success */
};

struct gate_result {
    enum gate_action action;
    bool audit;          /* a record is due */
    bool probe;          /* a half-open lease is held: report the outcome */
    const char *verdict; /* "allow", "deny", "would_deny", "dry_run", "error" */
    const char *reason;  /* "rate_limited", "quota_exceeded", "circuit_open",
                            "state_error", "state_full", or NULL */
    uint64_t retry_after_ns;
    struct breaker_event breaker; /* a state change to record, if .changed */
};

uint64_t gate_agent_id(const char *agent);

/* The state keys of an agent's entries, for readers such as enact status. */
uint64_t gate_bucket_key(uint64_t agent_id, const struct tool *tool);
uint64_t gate_tool_quota_key(uint64_t agent_id, const struct tool *tool);
uint64_t gate_agent_quota_key(uint64_t agent_id, const struct quota_spec *q);

/* state may be NULL (it could not be opened): on_error then decides for
 * calls that need it. */
struct gate_result gate_decide(const struct enact_config *cfg, struct state_map *state,
                               const struct gate_call *call);

enum gate_outcome { OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_NEUTRAL };

/* The outcome of a call the gate admitted, for the tool's breaker. Returns
 * a state change to record in ev. No-op for tools without a breaker. */
void gate_report(struct state_map *state, const struct tool *tool, int32_t owner,
                 uint64_t mono_ns, enum gate_outcome outcome, struct breaker_event *ev);

#endif
