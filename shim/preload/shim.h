/* The governed process: its configuration, its view of the shared state,
 * and the one path every interposer takes to decide and report.
 *
 * Process-wide state, the one the library keeps besides the descriptor
 * table (conn.h): the config, immutable, but replaced by a new one when
 * its INI is edited (config_watch.h); the state mapping, the agent's
 * identity, set once by the constructor and read-only afterwards; and,
 * with a Redis backend, that store's connections and health (redis_store.h:
 * changed only under its own locks and atomics). Per thread: a re-entry
 * guard, so that calls enact makes itself are never governed. */
#ifndef ENACT_SHIM_H
#define ENACT_SHIM_H

#include "../policy/config.h"
#include "../policy/gate.h"
#include "../store/audit_sink.h"

#include <stdbool.h>

/* Marks an interposer: the only symbols the library exports. */
#define EXPORT __attribute__((visibility("default")))

/* glibc exports some of the calls the shim interposes under a second name
 * as well (__connect, __send, __write, _IO_popen, ...): the same function,
 * which a program may link or look up by either. The shim exports each
 * such name for its hook too, so that no name of the call passes it by
 * (test_symbols lists them from libc's own table). */
#define GLIBC_ALIAS(hook) __attribute__((alias(#hook)))

/* What an interposer knows about the call it holds. */
struct call {
    const char *op;          /* "connect", "exec", "spawn" */
    const struct tool *tool; /* NULL only when the config is broken */
    const char *target;
    const char *host;        /* connect: the DNS name of the address, if known */
    uint16_t port;           /* connect: the target's port (0: a unix socket) */
    char *const *argv;       /* exec family */
    bool quiet;              /* a repeat of a refusal already recorded: no record */
    bool defer_dry_run;      /* a simulated connection or request: its record waits
                                for the bytes sent (shim_simulated) */
    int pid;                 /* the process the record is about; 0: the caller */
    int32_t tid;             /* the calling thread when already known (0: ask
                                gettid); saves system calls on the connect path */
    uint64_t may_wait_ns;    /* on_limit = wait: a refusal that ends within this is
                                waited out, not recorded (the decision says how long) */
    bool probe;              /* admitted holding a half-open probe lease (net_decide) */
    /* A request (op "send"): its first bytes, for its impact and for a
     * person asked to approve it; whether the caller must not be kept
     * waiting (a non-blocking socket); and whether the connect already
     * paid its limits, so that only approval is left to ask. */
    const uint8_t *payload;
    size_t payload_len;
    bool nonblocking;
    bool approval_only;
};

/* Makes this process governed by the config at env->config: loads it,
 * chooses the agent, hides the shim's variables from the program and
 * maps the state file. Returns the config, or NULL when it cannot be
 * loaded (said on stderr: every call the hooks classify is then refused).
 * Once, from the library's constructor (init.c). */
struct env_start;
const struct enact_config *shim_start(const struct env_start *env);

/* True when this call is to be governed: pair it with shim_leave(). False
 * when it must pass straight through (the process is not governed, or enact
 * itself is calling). *cfg is the config, or NULL when it could not be
 * loaded: every call the hooks can classify is then refused. Also makes
 * sure `real` is resolved, and first, at most once a second, looks whether
 * the INI was edited (config_watch.h: it may load it, so never call this
 * holding a lock). */
bool shim_enter(const struct enact_config **cfg);
void shim_leave(void);
/* shim_enter for a call on what a decision already governs (a
 * connection's send, receive or close, a child's end): the same, without
 * looking whether the INI was edited (config_watch.h). Such a call keeps
 * the tool it was decided with; and close and the wait family may run in
 * a signal handler, where a look must not read the INI. */
bool shim_enter_held(const struct enact_config **cfg);

/* What the interposer does with the call. */
struct decision {
    enum gate_action action;
    int err;          /* GATE_REFUSE: the errno the caller sees */
    uint64_t wait_ns; /* GATE_REFUSE within may_wait_ns: sleep this long, ask again */
    bool probe;       /* GATE_PROCEED holding a half-open probe lease: its outcome is owed */
};

/* Notes that this process leaves (enact ps); from the library's
 * destructor. */
void shim_stop(void);

/* kill_scope = all and some kill switch is on: an unmapped call must ask
 * shim_unmapped_refusal. One stat of the state file under kill_scope =
 * all, nothing otherwise; vfork-safe. */
bool shim_may_stop_unmapped(void);

/* The errno an unmapped call of a killed agent fails with (recorded), or
 * 0 to let it through; right after shim_may_stop_unmapped said true.
 * Keeps the caller's errno. vfork-safe. */
int shim_unmapped_refusal(const struct call *c);

/* Asks the gate about a call and writes its audit records (the verdict, a
 * breaker change). Keeps the caller's errno. vfork-safe. */
struct decision shim_govern(const struct call *c);

/* A program the preload cannot follow inside (reason "static_binary",
 * "setuid" or "unreadable_program"): records and returns the gate's
 * verdict (gate_unfollowable). */
struct decision shim_unfollowable(const struct call *c, const char *reason);

/* How an admitted call ended, for the tool's breaker (recorded if it
 * changes state); owner is the thread that made the call (its probe
 * lease). Keeps the caller's errno. */
void shim_outcome(const struct call *c, enum call_outcome outcome, int32_t owner);

/* strict = true refuses a system call the hooks cannot follow (io_uring):
 * records the gate's verdict (op "syscall", reason "strict") and returns
 * true, or false in observe mode (recorded as would_deny: let it through). */
bool shim_strict_refusal(const char *syscall_name);

/* The same for a library call (op, e.g. "dlmopen", on target), with the
 * gate's detail saying why. */
bool shim_strict_call(const char *op, const char *target, const char *detail);

/* Writes a record of what happened to an admitted call: verdict "retry"
 * (err: the failure, after_ns: the wait before the next attempt) or
 * "timeout". Keeps the caller's errno. */
void shim_record(const struct call *c, const char *verdict, int err, uint64_t after_ns,
                 const char *detail);

/* Writes the dry_run record of a simulated request: what it would have
 * executed (readable text, len bytes) and its impact. Keeps the caller's
 * errno. */
void shim_simulated(const struct call *c, const char *text, size_t len, const struct impact *im);

/* The config (NULL when broken) and the current state mapping (NULL when
 * it cannot be had), for interposers that need more than a decision. */
const struct enact_config *shim_config(void);
struct state_map *shim_state(void);

/* Name rules: remember which name an address was resolved from (shared
 * with every process of the config), and look it up at connect. Both do
 * nothing unless the config has a rule by DNS name. Call inside
 * shim_enter()/shim_leave(). */
void shim_note_host(const struct enact_config *cfg, const uint8_t addr[16], const char *name);
bool shim_host_of(const struct enact_config *cfg, const uint8_t addr[16], char *out, size_t cap);

#endif
