/* One exchange with a Redis server, over a link of the store's: the hello
 * of a new connection (AUTH, SELECT) put before its first command in the
 * same write, so that even a first call is one round trip; the limits
 * script by digest (EVALSHA) and, where the server has not run it yet
 * (NOSCRIPT), by its body; Redis Cluster's MOVED, ASK and TRYAGAIN, all
 * within the call's deadline. No allocation: safe on a vfork child's
 * stack (but for TLS, which the store keeps out of one). */
#ifndef ENACT_REDIS_EXCHANGE_H
#define ENACT_REDIS_EXCHANGE_H

#include "redis_cmd.h"
#include "redis_link.h"
#include "redis_store.h"

#include <stdbool.h>
#include <stdint.h>

/* Says "WHAT: the server's error" in why; false, to return. */
bool redis_error_text(const struct resp_item *it, const char *what, char *why, size_t cap);

/* false (said why) when r is an error reply. */
bool redis_status_ok(const struct resp_reply *r, const char *what, char *why, size_t cap);

/* Connects l to t, over TLS for a rediss:// backend. */
bool redis_open_link(struct redis_store *rs, struct redis_link *l, const struct redis_target *t,
                     uint64_t deadline, char *why, size_t cap);

/* Sends ncmds commands over l (the hello first, when l is new) and reads
 * the first one's reply into r; the caller reads the others. An error
 * reply to the hello is the exchange's failure. */
bool redis_exchange(struct redis_store *rs, struct redis_link *l, const struct cmd *cmds,
                    int ncmds, struct resp_reply *r, uint64_t deadline, char *why, size_t cap);

/* Runs the script command c (EVALSHA) over l, its reply in r (integers
 * only), following NOSCRIPT, MOVED (l reconnects where the slot went;
 * pooled: the process's target moves too, its new generation in
 * *moved_gen), ASK (asked once, over a link of its own) and TRYAGAIN. */
bool redis_eval(struct redis_store *rs, struct redis_link *l, struct cmd *c, bool pooled,
                struct resp_reply *r, uint64_t deadline, char *why, size_t cap,
                uint32_t *moved_gen);

/* SCRIPT LOAD of the limits script, into c. */
void redis_cmd_script_load(struct cmd *c);

#endif
