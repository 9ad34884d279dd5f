/* Circuit breaker per tool: CLOSED -> OPEN -> HALF_OPEN -> CLOSED.
 *
 *   CLOSED     calls pass; failure_threshold consecutive failures open it
 *              (a success resets the count)
 *   OPEN       calls are refused until timeout_seconds have passed since it
 *              opened; the first call after that moves it to HALF_OPEN
 *              (lazily: there is no timer)
 *   HALF_OPEN  at most success_threshold probes at a time, each a lease
 *              (owner pid, deadline); a probe whose owner died or whose
 *              deadline passed frees its lease, so a lost probe cannot
 *              wedge the breaker; any failure re-opens, success_threshold
 *              successes of probes close
 *
 * Pure: time is passed in (CLOCK_MONOTONIC ns), whether a pid lives is the
 * caller's answer. Callers serialise access (the state file keeps each
 * breaker under a lock). Every state change is returned as an event for the
 * audit log. */
#ifndef ENACT_BREAKER_H
#define ENACT_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_MAX_PROBES 16

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_policy {
    uint32_t failure_threshold;
    uint32_t success_threshold; /* also the number of concurrent probes, <= 16 */
    uint64_t open_ns;           /* timeout_seconds */
    uint64_t probe_ns;          /* how long a probe may hold its lease */
};

struct breaker_lease {
    int32_t pid; /* 0: free */
    uint64_t deadline_ns;
};

struct breaker {
    uint32_t state; /* enum breaker_state */
    uint32_t failures;  /* consecutive, in CLOSED */
    uint32_t successes; /* in HALF_OPEN */
    uint64_t since_ns;  /* when the current state began */
    struct breaker_lease leases[BREAKER_MAX_PROBES];
};

struct breaker_event {
    bool changed;
    enum breaker_state from, to;
};

/* false when a threshold is 0, success_threshold > 16, or a time is 0. */
bool breaker_policy_init(struct breaker_policy *p, uint64_t failure_threshold,
                         uint64_t success_threshold, double timeout_seconds, double probe_seconds);

/* Answers "does this pid still run?"; NULL means every lease owner does. */
typedef bool (*breaker_alive_fn)(int32_t pid, void *ctx);

enum breaker_admission { BREAKER_PASS, BREAKER_PROBE, BREAKER_REFUSE };

/* May pid call the tool at now? BREAKER_PROBE: yes, holding a half-open
 * lease that breaker_record releases. On REFUSE, *retry_after_ns says when
 * a probe may be tried (0 when probes are all taken). */
enum breaker_admission breaker_admit(struct breaker *b, const struct breaker_policy *p,
                                     uint64_t now_ns, int32_t pid, breaker_alive_fn alive,
                                     void *ctx, uint64_t *retry_after_ns,
                                     struct breaker_event *ev);

/* What breaker_admit would answer at now, changing nothing. */
enum breaker_admission breaker_peek(const struct breaker *b, const struct breaker_policy *p,
                                    uint64_t now_ns, breaker_alive_fn alive, void *ctx,
                                    uint64_t *retry_after_ns);

/* Gives pid's half-open lease back without an outcome (a call that ended
 * neither in success nor in a failure that counts). */
void breaker_release(struct breaker *b, int32_t pid);

/* The outcome of a call by pid. A late outcome while OPEN is ignored. */
void breaker_record(struct breaker *b, const struct breaker_policy *p, uint64_t now_ns,
                    int32_t pid, bool success, struct breaker_event *ev);

/* The guide's is_open: refusing calls right now (OPEN, timeout not over). */
bool breaker_is_open(const struct breaker *b, const struct breaker_policy *p, uint64_t now_ns);

/* The guide's get_state, as it stands (OPEN stays OPEN until a call). */
enum breaker_state breaker_get_state(const struct breaker *b);

/* Back to CLOSED with no history (the guide's reset). */
void breaker_reset(struct breaker *b, uint64_t now_ns, struct breaker_event *ev);

const char *breaker_state_name(enum breaker_state s);

#endif
