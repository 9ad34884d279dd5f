/* Dry-run connections: a connect that succeeds without reaching the tool,
 * to a simulated server of Enact's own (README "Dry run").
 *
 * The program's socket is connected to a socket of ours on loopback (or an
 * abstract unix name), which the shim keeps for as long as the connection
 * lives: what the program sends is kept from the kernel and fed to the
 * connection's peer (shim/pure/peer.h), and the peer's answers are written
 * into our end, so that poll, epoll, non-blocking reads and MSG_PEEK see
 * them exactly as from a real server, and nothing is readable before the
 * server would have answered. A datagram socket is left unconnected: each
 * datagram is one request, answered with dry_run.response by the reads
 * that follow it.
 *
 * Each function keeps errno. Those that record run inside
 * shim_enter()/shim_leave(). */
#ifndef ENACT_SIMULATE_H
#define ENACT_SIMULATE_H

#include "conn.h"

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Connects the program's socket fd to a new peer socket of ours, returned
 * in *peer (-1 for a datagram socket, left as it is: *datagram says so).
 * Returns 0 or an errno. */
int simulate_connect(int fd, bool *datagram, int *peer);

/* c is a new simulated connection, served through peer (-1: a datagram
 * socket): its simulated server starts, silent until the client speaks. */
void simulate_open(struct conn *c, int peer);

/* The protocol c's simulated server speaks (known once the client sent). */
enum peer_protocol simulate_protocol(const struct conn *c);

/* The client sent iov: fed to the server, which answers and records each
 * request it completes. */
void simulate_sent(struct conn *c, const struct iovec *iov, size_t n);

/* The client reads: a raw request is whole now. For a datagram socket,
 * the answer to the last datagram, copied into iov: *rc is its length, or
 * false when there is none (the read goes to the kernel). */
bool simulate_reads(struct conn *c, const struct iovec *iov, size_t n, int flags, ssize_t *rc);

enum simulate_end {
    SIMULATE_CLOSED,   /* c's last descriptor went: records owed are written, our end closed */
    SIMULATE_DROPPED,  /* the same, where no record can be written now */
    SIMULATE_EXITING,  /* the process ends with c open: held requests are recorded */
};
void simulate_closed(struct conn *c, enum simulate_end end);

/* One datagram sent with a destination on a socket no connection is
 * simulated for: its record. */
void simulate_datagram(const struct call *call, const struct iovec *iov, size_t n);

#endif
