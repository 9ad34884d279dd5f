/* Calls that wait for a person (README "Operator control"): a program
 * start or a request of a tool with `approve =`, whose impact (the
 * classifier of dry runs: argv, HTTP method, SQL verb, Redis command)
 * reaches the tool's level, is held in the state file until enact approve
 * or enact deny answers it, or approve.timeout_seconds passes.
 *
 * A blocking caller waits: its thread sleeps in 50 ms steps, the rest of
 * the program runs; a program start waits in the child, before the
 * program starts. A non-blocking caller gets the tool's errno at once
 * (reason approval_pending), and the same call, retried, finds its request
 * and is admitted once approved. approve.command is run once per request,
 * outside the governed process (no child of it: it sees no SIGCHLD and no
 * wait() finds it), with the request as JSON on its stdin.
 *
 * No allocation: safe in a vfork child. */
#ifndef ENACT_APPROVAL_H
#define ENACT_APPROVAL_H

#include "shim.h"

#include <stdbool.h>

struct state_map;

/* What the decision path hands in: whose call it is, the record every
 * record about a call starts from (made only when one is written), and
 * the one way records are written. */
struct approval_env {
    const char *state_path; /* of the mapping handed in, checked while waiting */
    const char *agent;
    uint64_t agent_id;
    struct audit_event (*base)(const struct call *c);
    void (*write)(const struct audit_event *rec);
};

/* For a call the limits admitted (*g proceeds): true when the call needs
 * approval, with the outcome in *g (which may have waited for it). */
bool approval_hold(const struct enact_config *cfg, struct state_map *m, const struct call *c,
                   const struct approval_env *env, struct gate_result *g);

#endif
