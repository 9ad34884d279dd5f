/* What operators see and steer in the state file: the governed processes
 * alive (enact ps), the kill switches turned on (enact kill, enact
 * resume), each tool's decision counters (enact metrics), and the calls
 * held for a person's approval (enact pending, approve, deny). README
 * "Operator control" tells what each does for the user.
 *
 * Concurrency: a process writes only its own proc slot; kill slots are
 * written under the header's kill_lock by enact kill and enact resume, and
 * read lock-free by every decision, through a sequence count that is odd
 * while a writer is in the middle; counters are atomic adds. Nothing here
 * allocates: a vfork child may ask whether it is killed. */
#ifndef ENACT_STATE_CONTROL_H
#define ENACT_STATE_CONTROL_H

#include "state.h"
#include "../pure/verdicts.h"

#include <stdbool.h>
#include <stdint.h>

#define STATE_NAME_MAX 72    /* an agent's or tool's name, with its NUL */
#define STATE_PROGRAM_MAX 64 /* a program's short name, with its NUL */
#define KILL_REASON_MAX 200
#define APPROVAL_WHAT_MAX 512
#define APPROVAL_NOTE_MAX 200

struct proc_slot {
    uint64_t key;      /* the pid; 0 free, 1 being written */
    uint64_t seq;      /* odd while rewritten (an exec): readers copy against it */
    uint64_t boot_ns;  /* CLOCK_BOOTTIME at registration: a pid reused later started after it */
    uint64_t real_ns;  /* CLOCK_REALTIME at registration, for people */
    uint64_t agent_id; /* gate_agent_id(agent) */
    uint32_t uid;
    int32_t parent;
    char agent[STATE_NAME_MAX];
    char program[STATE_PROGRAM_MAX];
};

struct kill_slot {
    uint64_t seq;      /* odd while written; 0 and even: see active */
    uint64_t active;   /* 1 while this switch is on */
    uint64_t agent_id; /* gate_agent_id(agent), or 0: every agent */
    uint64_t tool_id;  /* state_tool_id(tool), or 0: every tool */
    uint64_t since_ns; /* CLOCK_REALTIME when turned on */
    uint32_t uid;      /* who turned it on */
    int32_t signal;    /* sent to the agent's processes with it, or 0 */
    char agent[STATE_NAME_MAX]; /* "" for every agent */
    char tool[STATE_NAME_MAX];  /* "" for every tool */
    char reason[KILL_REASON_MAX];
};

struct counter_slot {
    uint64_t key; /* state_tool_id(tool) */
    char tool[STATE_NAME_MAX];
    uint64_t decisions[VERDICT_COUNT][REASON_COUNT];
    uint64_t outcomes[2]; /* failures [0], successes [1] of admitted calls with a breaker */
};

/* A call held for approval. state changes by compare-and-swap only; a
 * process that moves a slot to APPROVAL_WRITING owns it until it stores
 * the next state, and writes the fields under seq (odd meanwhile). */
enum approval_state {
    APPROVAL_FREE,
    APPROVAL_WRITING,
    APPROVAL_PENDING,
    APPROVAL_APPROVED,
    APPROVAL_DENIED,
    APPROVAL_EXPIRED,
};

struct approval_slot {
    uint64_t seq;
    uint32_t state;    /* enum approval_state */
    int32_t pid;       /* the process whose call waits */
    uint64_t id;       /* nonzero; people see it as 8 hex digits */
    uint64_t agent_id, tool_id;
    uint64_t call_hash; /* a retried non-blocking call finds its request by it */
    uint64_t boot_ns;   /* of pid (state_proc_alive) */
    uint64_t since_ns, deadline_ns, decided_ns; /* CLOCK_REALTIME */
    uint32_t decided_uid;
    uint32_t impact; /* enum impact_level */
    char agent[STATE_NAME_MAX];
    char tool[STATE_NAME_MAX];
    char op[16];
    char what[APPROVAL_WHAT_MAX];
    char impact_reason[96];
    char note[APPROVAL_NOTE_MAX];
};

/* The id of a tool by its name, in every process and build. */
uint64_t state_tool_id(const char *tool);

/* ---- governed processes ---------------------------------------------- */

struct proc_entry {
    int32_t pid, parent;
    uint32_t uid;
    uint64_t boot_ns, real_ns, agent_id;
    const char *agent, *program;
};

/* Notes this process (again, after an exec: the slot of its pid is
 * rewritten). When the table is full around the pid, a slot of a process
 * that no longer exists is taken over; else quietly nothing. */
void state_proc_register(struct state_map *m, const struct proc_entry *e);

/* Forgets pid's slot (it exits). */
void state_proc_leave(struct state_map *m, int32_t pid);

/* Whether the process a slot names still runs: it exists and started no
 * later than it registered (a pid reused since started after). */
typedef bool (*proc_alive_fn)(int32_t pid, uint64_t boot_ns);
bool state_proc_alive(int32_t pid, uint64_t boot_ns);

/* Calls fn with a copy of every live slot; frees the slots of processes
 * that are gone. Returns how many were freed. */
unsigned state_proc_each(struct state_map *m, proc_alive_fn alive,
                         void (*fn)(const struct proc_slot *p, void *ctx), void *ctx);

/* ---- kill switches ---------------------------------------------------- */

struct kill_entry {
    const char *agent; /* NULL or "": every agent */
    const char *tool;  /* NULL or "": every tool */
    const char *reason;
    uint32_t uid;
    int32_t signal;
    uint64_t since_ns;
};

/* Turns a switch on (replacing one of the same agent and tool). owner: the
 * caller's thread id, for the kill lock. False (err says why) when the
 * lock cannot be had or the table is full. */
bool state_kill_set(struct state_map *m, const struct kill_entry *e, int32_t owner, int *err);

/* Turns off the switches that agent and tool name exactly (NULL or "":
 * the every-agent or every-tool switch), or, with all set, every switch
 * of the agent (or every switch, agent NULL). Returns how many; -1 when
 * the lock cannot be had. */
int state_kill_clear(struct state_map *m, const char *agent, const char *tool, bool all,
                     int32_t owner);

/* The switch that stops agent_id's call to tool_id (0: an unmapped call,
 * stopped only by a switch for every tool), copied into *out; false when
 * none does. One load when no switch is on. */
bool state_kill_find(const struct state_map *m, uint64_t agent_id, uint64_t tool_id,
                     struct kill_slot *out);

/* Calls fn with a copy of every switch that is on. */
void state_kill_each(const struct state_map *m, void (*fn)(const struct kill_slot *k, void *ctx),
                     void *ctx);

/* ---- decision counters ------------------------------------------------ */

/* Counts one decision of tool (verdict and reason: verdicts.h). Quietly
 * nothing when the table is full. */
void state_count_decision(struct state_map *m, uint64_t tool_id, const char *tool,
                          enum verdict_kind v, enum reason_kind r);
void state_count_outcome(struct state_map *m, uint64_t tool_id, const char *tool, bool success);

/* tool's counters, read (relaxed) into *out; false when it has none. */
bool state_counters_read(const struct state_map *m, const char *tool, struct counter_slot *out);

/* ---- approvals ------------------------------------------------------- */

struct approval_request {
    int32_t pid;
    uint64_t boot_ns, agent_id, tool_id, call_hash, since_ns, deadline_ns;
    uint32_t impact;
    const char *agent, *tool, *op, *what, *impact_reason;
};

/* Where a request is: its slot and id. */
struct approval_ticket {
    uint32_t index;
    uint64_t id;
};

/* Holds a new request (APPROVAL_PENDING). A slot whose process is gone or
 * whose deadline passed a minute ago is taken over. False when every slot
 * is in use. */
bool state_approval_open(struct state_map *m, const struct approval_request *rq,
                         struct approval_ticket *t);

/* Where the request stands (APPROVAL_FREE when its slot is another's now);
 * a copy of it in *out when out is given. */
enum approval_state state_approval_get(const struct state_map *m, struct approval_ticket t,
                                       struct approval_slot *out);

/* A person's answer, or the deadline's (APPROVAL_EXPIRED), to a pending
 * request: false when it is not pending (answered already, or gone). The
 * slot as it was answered in *out. */
bool state_approval_answer(struct state_map *m, uint64_t id, enum approval_state to, uint32_t uid,
                           const char *note, uint64_t real_ns, struct approval_slot *out);

/* The request of a call seen before (a retried non-blocking call): false
 * when there is none. */
bool state_approval_find_call(const struct state_map *m, uint64_t agent_id, uint64_t tool_id,
                              uint64_t call_hash, struct approval_ticket *t);

/* The caller is done with an answered request: its slot is freed. */
void state_approval_close(struct state_map *m, struct approval_ticket t);

/* Calls fn with a copy of every request held (pending or answered and not
 * yet taken); frees the slots of processes that are gone. */
void state_approval_each(struct state_map *m, void (*fn)(const struct approval_slot *a, void *ctx),
                         void *ctx);

#endif
