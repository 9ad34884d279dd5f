/* The one decision point: may this call of a mapped tool go ahead?
 *
 * Every interposer asks the gate the same way and acts on the answer; no
 * policy lives anywhere else. Pure apart from the shared state words it
 * updates: time is passed in, nothing is printed or written. Safe in a
 * vfork child (no allocation, no lock). */
#ifndef ENACT_GATE_H
#define ENACT_GATE_H

#include "config.h"
#include "state.h"

#include <stdbool.h>
#include <stdint.h>

struct gate_result {
    bool admit;          /* what the interposer does */
    bool audit;          /* a record is due */
    const char *verdict; /* "allow", "deny", "would_deny", "error" */
    const char *reason;  /* "rate_limited", "state_error", "state_full", or NULL */
    uint64_t retry_after_ns;
};

/* The bucket key of (agent, tool policy): agent_id is gate_agent_id(name). */
uint64_t gate_agent_id(const char *agent);

/* state may be NULL (it could not be opened): on_error then decides. */
struct gate_result gate_decide(const struct enact_config *cfg, struct state_map *state,
                               const struct tool *tool, uint64_t agent_id, uint64_t now_ns);

#endif
