/* The store: where limits keep their state, behind one interface.
 *
 * The gate (policy/gate.h) decides what a call means; a store only answers
 * for the state: "check every limit this call meets and commit all of
 * them or none", "this admitted call ended so", and, for enact status and
 * enact reset, "what does this entry hold" and "give it back". The shared
 * state file (local_store.h) is one implementation, Redis (redis_store.h)
 * the other; both sit behind the one gate.
 *
 * Entries are named by 64-bit keys the caller derives (gate.h says how);
 * policies are the compiled numbers of the pure algorithms. Nothing here
 * reads a clock: times come in with the call. */
#ifndef ENACT_STORE_H
#define ENACT_STORE_H

#include "../pure/breaker.h"
#include "../pure/bucket.h"
#include "../pure/quota.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An agent's name as the store keeps it, with its NUL. */
#define STORE_AGENT_NAME_MAX 72

/* The limits one call meets: a NULL policy is a limit the call does not
 * have. */
struct store_limits {
    const struct breaker_policy *breaker; /* per tool */
    uint64_t breaker_key;
    const struct rate_policy *rate; /* per (agent, tool) */
    uint64_t bucket_key;
    const struct quota_policy *tool_quota; /* per (agent, tool) */
    uint64_t tool_quota_key;
    const struct quota_policy *agent_quota; /* per agent, over all its tools */
    uint64_t agent_quota_key;
    /* quota.warn_remaining: a quota whose *_warns is set is low once what
     * is left of it falls to *_warn. */
    bool tool_quota_warns, agent_quota_warns;
    uint32_t tool_quota_warn, agent_quota_warn;
};

/* Who asks and when. */
struct store_now {
    int32_t owner;    /* thread id: locks and breaker leases */
    uint64_t mono_ns; /* CLOCK_MONOTONIC: rate, breaker */
    uint64_t real_ns; /* CLOCK_REALTIME: quotas */
};

enum store_answer {
    STORE_ADMITTED,   /* every limit admitted and was charged */
    STORE_REFUSED,    /* some limit refused; nothing was charged */
    STORE_UNAVAILABLE /* the store cannot answer (reason says why) */
};

struct store_admission {
    enum store_answer answer;
    /* REFUSED: the most restrictive refusal (the one that lasts longest):
     * "circuit_open", "rate_limited", "quota_exceeded". UNAVAILABLE:
     * "state_error" (no state, or a lock not had in time), "state_full",
     * "backend_down" (a shared backend did not answer). */
    const char *reason;
    uint64_t retry_after_ns;      /* REFUSED: when that limit admits again */
    bool probe;                   /* ADMITTED holding a half-open lease */
    struct breaker_event breaker; /* a state change, if .changed */
    /* ADMITTED: a quota fell to its warn level, the first time in its
     * window (in every process of the store), with what is left of it. */
    bool tool_quota_low, agent_quota_low;
    uint32_t tool_quota_left, agent_quota_left;
};

/* How an admitted call ended, for its tool's breaker: a neutral end (no
 * answer, no error) says nothing of the tool. */
enum call_outcome { OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_NEUTRAL };

struct store_ops {
    struct store_admission (*admit)(void *impl, const struct store_limits *limits,
                                    const struct store_now *now);
    /* How an admitted call ended, for its tool's breaker; a state change
     * in *ev. An outcome that cannot be stored is lost: a probe's lease
     * then expires at its deadline. */
    void (*report)(void *impl, const struct breaker_policy *policy, uint64_t breaker_key,
                   const struct store_now *now, enum call_outcome outcome,
                   struct breaker_event *ev);

    /* Readers: copies of entries, false when no process has used them;
     * they never create an entry. */
    bool (*read_bucket)(void *impl, uint64_t key, uint64_t *tat);
    bool (*read_quota)(void *impl, uint64_t key, struct quota_ring *ring);
    bool (*read_breaker)(void *impl, uint64_t key, struct breaker *b);
    /* Give an entry back (a full bucket, an empty quota, a closed
     * breaker); false when it was not there or could not be locked. */
    bool (*reset_bucket)(void *impl, uint64_t key);
    bool (*reset_quota)(void *impl, uint64_t key, const struct store_now *now);
    bool (*reset_breaker)(void *impl, uint64_t key, const struct store_now *now);
    /* The names of the agents that have run, allocated (free()); their
     * count, 0 when none or out of memory. */
    size_t (*agents)(void *impl, char (**names)[STORE_AGENT_NAME_MAX]);
    /* Records no process could write to the audit log, and why the last
     * of them failed. */
    uint64_t (*audit_failures)(void *impl, int *last_errno);
};

struct store {
    const struct store_ops *ops;
    void *impl;
};

#endif
