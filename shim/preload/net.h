/* What the socket interposers share: how a connect's result speaks for the
 * tool, and how a decision waits on a blocking socket. */
#ifndef ENACT_NET_H
#define ENACT_NET_H

#include "shim.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Whether a call's result says the tool is failing (DESIGN §3): rc 0 is a
 * success; ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ECONNRESET
 * and EPIPE are failures; other errors say nothing about the tool. */
enum gate_outcome net_outcome(int rc, int err);

/* Whether fd is in blocking mode (errno kept). */
bool net_blocking(int fd);

/* Sleeps ns nanoseconds, through signals. */
void net_nap(uint64_t ns);

/* The decision for a call on fd; with on_limit = wait, on a blocking
 * socket only (an event loop must never be put to sleep), a refusal that
 * ends within max_wait is slept out and the gate asked again. Inside
 * shim_enter()/shim_leave(). */
struct decision net_decide(struct call *call, int fd);

/* A connection on fd made without reaching the tool, for a dry run: the
 * socket ends up connected to a peer that has gone (reads see EOF until
 * the interposers serve dry_run.response); a datagram socket is left as it
 * is. *datagram says which. Returns 0 or an errno. Holds no descriptor on
 * return. */
int net_simulate_connect(int fd, bool *datagram);

/* Connection-level bookkeeping after a connect the gate decided: starts
 * tracking fd for the tool (admitted: rc 0 or EINPROGRESS), or simulates
 * it. Returns what connect returns, errno set. */
int net_simulated(int fd, const struct call *call);
void net_track(int fd, const struct call *call);

/* The last descriptor of c was closed: writes the record a simulated
 * connection still owes, and frees c. */
struct conn;
void net_conn_closed(struct conn *c);

#endif
