/* Limits on Redis: the store of a fleet (README "Running a fleet").
 *
 * Every decision is one EVALSHA of redis_limits.lua, which checks every
 * limit the call meets and commits all of them or none, in the server's
 * clock; an outcome for a breaker is one more. Keys share one hash tag
 * ({PREFIX}), so a Redis Cluster keeps a fleet in one slot; MOVED and ASK
 * are followed.
 *
 * Connections are the process's: a few links, each taken by one thread at
 * a time, made on first use (a process that maps no call never connects),
 * close-on-exec, dropped in a forked child (redis_store_forked). A vfork
 * child, which shares its parent's memory (while the parent's other
 * threads go on using the links) but has a copy of its descriptor table,
 * never touches them: it decides over a link on its own stack, made and
 * closed for the one call. A thread that finds every link busy waits its
 * turn (at most a second; the timeout counts from when it has one). A backend that cannot answer costs at most
 * timeout_ns per call; after a failure the process tries again only after a
 * back-off (100 ms doubling to 5 s), and until then every call is decided
 * by the fallback: the host's own store (on_down = local) or UNAVAILABLE
 * "backend_down" (the gate applies on_down = deny | allow). Each change
 * between up and down is reported once (redis_store_health_change).
 *
 * All of it lives in one struct redis_store the caller keeps (the shim's
 * process state, the CLI's stack); nothing here is global. */
#ifndef ENACT_REDIS_STORE_H
#define ENACT_REDIS_STORE_H

#include "redis_link.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define REDIS_LINKS 4
#define REDIS_KILLS_MAX 16
#define REDIS_KILL_REASON_MAX 200
#define REDIS_PREFIX_MAX 128

struct redis_options {
    struct redis_url url;    /* credentials included, as given */
    /* Read at each connect when set: its first line is the password (a
     * rotated secret is picked up by the next connection). */
    char password_file[4096];
    char tls_ca_file[4096]; /* rediss://: the CA to trust ("": the system's) */
    char prefix[REDIS_PREFIX_MAX]; /* the hash tag's text: keys are {prefix}:... */
    uint64_t timeout_ns;     /* connect, and each exchange */
    bool fallback_local;     /* on_down = local */
    char agent[STORE_AGENT_NAME_MAX]; /* recorded in {prefix}:agents */
};

/* The host's store to fall back on, asked at each use (its mapping can
 * change under the caller). */
struct redis_fallback {
    struct store (*get)(void *ctx);
    void *ctx;
};

struct redis_slot {
    int lock; /* 0 free, 1 taken */
    bool ready;           /* connected (its hello goes with its first command) */
    uint32_t target_gen;  /* the target it is connected to */
    struct redis_link link;
};

enum redis_health { REDIS_UNTRIED, REDIS_UP, REDIS_DOWN };

/* The fleet's kill switches as this process last read them
 * (redis_kills.h): written by the thread that reads them, under seq (odd
 * while written); a decision reads n first, 0 in the usual case. */
struct redis_kill {
    uint64_t agent_id, tool_id; /* 0: every agent, every tool */
    uint32_t uid;
    char reason[REDIS_KILL_REASON_MAX];
};
struct redis_kills {
    uint64_t seq;
    uint64_t read_ns;  /* CLOCK_MONOTONIC of the last read; 0: never */
    int reading;       /* 0 free, 1: a thread is reading them */
    uint32_t n;
    struct redis_kill e[REDIS_KILLS_MAX];
};

struct redis_store {
    struct redis_options opt;
    struct redis_fallback fallback;
    pid_t pid;           /* the process whose links these are */
    uint64_t nonce;      /* tells this process's leases from other hosts' */
    struct redis_target target; /* the node to ask; a MOVED changes it */
    struct redis_tls tls;       /* rediss://: the TLS context, made on first use */
    uint32_t target_gen;
    int target_lock;
    /* Health, changed only by the thread that saw it change. */
    int health;             /* enum redis_health */
    uint64_t retry_at_ns;     /* CLOCK_MONOTONIC: down, no try before */
    uint32_t failures;        /* in a row, for the back-off */
    int change_due;           /* 1: a change not yet taken by the caller */
    int why_lock;             /* 0 free, 1 taken: why is copied under it */
    char why[192];            /* the last failure */
    struct redis_slot slots[REDIS_LINKS];
    struct redis_kills kills;
};

/* Fills rs, zeroed memory (the shim's process state, calloc), for this
 * process, which has not connected yet. It writes only what is not zero,
 * so that a governed process's start touches few of its pages. */
void redis_store_init(struct redis_store *rs, const struct redis_options *opt,
                      struct redis_fallback fallback, uint64_t nonce);

struct store redis_store(struct redis_store *rs);

/* Closes the process's links (they are made again on the next use). */
void redis_store_close(struct redis_store *rs);

/* In a forked child: the parent's links are closed, never shared. */
void redis_store_forked(struct redis_store *rs);

/* A change of health not yet reported: true once per change, with *up and
 * the failure that brought it down (or "") in why. */
bool redis_store_health_change(struct redis_store *rs, bool *up, char *why, size_t cap);

/* Sends n commands at once over a link of the process's own (never a
 * vfork child's) and hands each reply to take(); false when the backend
 * did not answer them all. For readers: enact status, reset, kill. */
struct cmd;
struct resp_reply;
bool redis_store_query(struct redis_store *rs, struct cmd *cmds, int n,
                       void (*take)(int i, const struct resp_reply *r, void *ctx), void *ctx);

/* Runs c, an EVALSHA of the limits script, as a decision does (the
 * process's links, NOSCRIPT, cluster redirections, health), and hands its
 * reply to take(). false when the backend did not answer. */
bool redis_store_script(struct redis_store *rs, struct cmd *c, int32_t owner,
                        void (*take)(const struct resp_reply *r, void *ctx), void *ctx);

/* For enact status and enact check --backend: connects now (a link of the
 * caller's own), authenticates, loads the script; the round trip of a PING
 * in *rtt_ns. false with why. */
bool redis_store_probe(struct redis_store *rs, uint64_t *rtt_ns, char *server_version,
                       size_t vcap, char *why, size_t cap);

#endif
