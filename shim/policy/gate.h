/* The one decision point: what happens to a call of a mapped tool.
 *
 * For one call: dry-run -> breaker -> rate -> quotas (the tool's, per
 * agent, and the agent's own). The store checks every limit first and
 * commits only when all admit, so a refused call consumes nothing; the
 * reason reported is the most restrictive one, the refusal that lasts
 * longest. The gate turns the store's answer into a verdict: observe mode
 * lets a refusal through as "would_deny" (the state moves exactly as
 * enforcement would move it), on_error decides what Enact cannot
 * (no state, a full table, a lock not had), backend.on_down what a shared
 * backend cannot answer, on_limit = wait turns a
 * refusal that ends soon into a wait. Programs the preload cannot follow
 * (static_binaries, strict) and system calls strict mode refuses are
 * decided here too.
 *
 * Every interposer asks the gate and acts on the answer; no verdict is
 * made anywhere else. Time is passed in; nothing is printed or written
 * but through the store. Safe in a vfork child: no allocation, and only
 * the store's locks, never held on return. */
#ifndef ENACT_GATE_H
#define ENACT_GATE_H

#include "config.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct gate_call {
    const struct tool *tool;
    const struct quota_spec *agent_quota; /* config_agent_quota(), or NULL */
    uint64_t agent_id;                    /* gate_agent_id(name) */
    int32_t owner;                        /* thread id: locks, breaker leases */
    uint64_t mono_ns;                     /* CLOCK_MONOTONIC: rate, breaker */
    uint64_t real_ns;                     /* CLOCK_REALTIME: quotas */
    uint64_t may_wait_ns; /* on_limit = wait: a refusal by a limit that ends
                             within this is waited out (0: never) */
};

enum gate_action {
    GATE_PROCEED,  /* perform the call */
    GATE_REFUSE,   /* fail it with err */
    GATE_SIMULATE, /* do not perform it; the caller sees success */
};

struct gate_result {
    enum gate_action action;
    int err;             /* GATE_REFUSE: the errno the caller sees */
    uint64_t wait_ns;    /* GATE_REFUSE, to be waited out: sleep this long,
                            then ask again (no record is due) */
    bool audit;          /* a record is due */
    bool probe;          /* a half-open lease is held: report the outcome */
    const char *verdict; /* "allow", "deny", "would_deny", "dry_run", "error" */
    const char *reason;  /* "rate_limited", "quota_exceeded", "circuit_open",
                            "state_error", "state_full", "backend_down", "static_binary",
                            "setuid", "unreadable_program", "strict", or NULL */
    const char *detail;  /* free text for the record, or NULL */
    uint64_t retry_after_ns;
    struct breaker_event breaker; /* a state change to record, if .changed */
    /* A quota fell to quota.warn_remaining: a quota_low record is due. */
    bool tool_quota_low, agent_quota_low;
    uint32_t tool_quota_left, agent_quota_left;
};

uint64_t gate_agent_id(const char *agent);

/* The store keys of an agent's entries, for readers such as enact status. */
uint64_t gate_bucket_key(uint64_t agent_id, const struct tool *tool);
uint64_t gate_tool_quota_key(uint64_t agent_id, const struct tool *tool);
uint64_t gate_agent_quota_key(uint64_t agent_id, const struct quota_spec *q);

struct gate_result gate_decide(const struct enact_config *cfg, struct store store,
                               const struct gate_call *call);

/* A call of an agent an operator stopped (enact kill): refused with the
 * tool's errno, or EPERM for an unmapped call (tool NULL, kill_scope =
 * all), in every mode, observe included: a kill switch that lets calls
 * through would not be one. detail says who stopped it and why. */
struct gate_result gate_killed(const struct tool *tool, const char *detail);

/* Whether a call of tool t whose impact is `level` waits for a person
 * (approve = high | medium | always). In observe mode it does not wait:
 * gate_approval(APPROVAL_OBSERVED) records that it would have. */
bool gate_needs_approval(const struct tool *t, enum impact_level level);

/* What a held call gets once its request is where `where` says. */
enum approval_where {
    APPROVAL_GRANTED,   /* a person approved it: it proceeds */
    APPROVAL_REFUSED,   /* a person denied it */
    APPROVAL_TIMED_OUT, /* no one answered in approve.timeout_seconds: on_timeout decides */
    APPROVAL_WAITING,   /* a non-blocking caller: refused for now, admitted once approved */
    APPROVAL_OBSERVED,  /* observe mode: not held, recorded as would_deny */
    APPROVAL_NO_ROOM,   /* no request could be held (no state, every slot in use): on_error */
    APPROVAL_STOPPED,   /* a kill switch was turned on while it waited */
};
struct gate_result gate_approval(const struct enact_config *cfg, const struct tool *t,
                                 enum approval_where where);

/* A call made while the config could not be loaded: refused (EPERM), with
 * no record (the shim said why on stderr when the process started). */
struct gate_result gate_without_config(void);

/* A program the preload cannot follow inside (reason "static_binary",
 * "setuid", or "unreadable_program" when it could not be read to tell),
 * under [enact] static_binaries and strict: allow passes it silently,
 * audit passes it with a record, deny and strict refuse it (EPERM) with
 * one; a program that could not be read is left to on_error under deny. */
struct gate_result gate_unfollowable(const struct enact_config *cfg, const char *reason);

/* A system call strict mode refuses because the preload cannot follow what
 * it does (io_uring): ENOSYS, or let through as would_deny when observing. */
struct gate_result gate_strict_syscall(const struct enact_config *cfg);

/* A library call strict mode refuses for what it would open (a new
 * namespace, with a C library of its own); detail says why. No errno: the
 * call reports otherwise. */
struct gate_result gate_strict_call(const struct enact_config *cfg, const char *detail);

/* Whether the state file cfg names may be used: strict mode refuses one
 * that another user could change (why, cap: how). A process that cannot
 * use it has no store, and the gate decides its calls as Enact decides
 * what it cannot: by on_error. */
bool gate_trusts_state(const struct enact_config *cfg, char *why, size_t cap);

/* The outcome of a call the gate admitted, for the tool's breaker. Returns
 * a state change to record in ev. No-op for tools without a breaker. */
void gate_report(struct store store, const struct tool *tool, int32_t owner, uint64_t mono_ns,
                 enum call_outcome outcome, struct breaker_event *ev);

#endif
