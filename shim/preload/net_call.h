/* What the socket interposers share: which rule a socket address falls
 * under, what a call's result says about the tool, and how a decision
 * waits on a blocking socket. */
#ifndef ENACT_NET_CALL_H
#define ENACT_NET_CALL_H

#include "shim.h"
#include "../pure/rule.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A call to a socket address, as the rules see it. call.target points at
 * text and call.host at host (when the address has a known name): keep it
 * where it was classified. */
struct net_call {
    struct call call;
    struct net_target target;
    char text[160];
    char host[HOST_NAME_MAX_LEN + 1];
};

/* Whether addr is an address the rules can match (internet or unix). Then
 * nc->target and the name are filled in, and nc->call.tool is the tool it
 * falls under (NULL when none does, or when cfg is). nc->text is left for
 * net_call_name. Inside shim_enter()/shim_leave(). */
bool net_classify(const struct enact_config *cfg, const struct sockaddr *addr, socklen_t len,
                  struct net_call *nc);

/* Writes the target's text, as records show it, into nc->text. */
void net_call_name(struct net_call *nc);

/* Whether a call's result says the tool is failing (README "Connections",
 * Breaker): rc 0 is a success; ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH,
 * ENETUNREACH, ECONNRESET and EPIPE are failures; other errors say nothing
 * about the tool. */
enum call_outcome net_outcome(int rc, int err);

/* Whether fd is in blocking mode (errno kept). */
bool net_blocking(int fd);

/* Sleeps ns nanoseconds, through signals. */
void net_nap(uint64_t ns);

/* The decision for a call on fd; with on_limit = wait, on a blocking
 * socket only (an event loop must never be put to sleep), a refusal that
 * ends within max_wait is slept out and the gate asked again. Inside
 * shim_enter()/shim_leave(). */
struct decision net_decide(struct call *call, int fd);

/* What a refused call returns: -1, errno the decision's (EPERM when it
 * names none). */
int net_refused(const struct decision *d);

#endif
