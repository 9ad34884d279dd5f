/* The life of a governed connection: its states, the transitions between
 * them, and what each transition reports (README "Connections"). The hooks
 * classify a call, ask here, make the real call, and tell here what came
 * of it; nothing else changes a connection's flags or reports for it.
 *
 *   under way  a connect admitted and still going on (non-blocking, or
 *              interrupted): followed as connected; its end is told to
 *              the breaker when the client reads SO_ERROR (pending.h)
 *   connected  in the descriptor table (conn.h); with a breaker the
 *              exchange owes it an outcome (CONN_OUTCOME_DUE)
 *   request begun  the first send or one after a receive that begins a
 *              request of the protocol (over TLS: application data after
 *              application data); when the connection counts requests it
 *              passes the gate first (the connect paid for the first),
 *              and the breaker is owed again
 *   answered   the first byte of the answer arrived: a success, told
 *              once; the next send begins a request (CONN_RECEIVED)
 *   failed     a failed connect; ECONNRESET, EPIPE or an I/O timeout
 *              before the answer: a failure, told once
 *   closed     the last descriptor went: a simulated connection writes
 *              the record it still owes, and the slot is freed
 *   simulated  a dry run: connected to a socket of ours, behind which a
 *              simulated server (simulate.h) is fed the sends, answers
 *              each request and writes one dry_run record per request
 *
 * Reports: shim_outcome (the breaker), shim_record (timeout, error),
 * shim_simulated (the dry_run record). Every function keeps errno unless
 * it says it sets it. */
#ifndef ENACT_CONN_LIFE_H
#define ENACT_CONN_LIFE_H

#include "conn.h"
#include "shim.h"

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- connect: outside shim_enter()/shim_leave() ------------------------- */

/* An attempt of a connect the gate admitted ended with rc and err:
 * connected, under way, or failed. */
void life_connect_ended(int fd, const struct call *call, int rc, int err);

/* A TCP Fast Open send (a connect that carries data) the gate admitted
 * ended with rc and err. */
void life_fast_open_ended(int fd, const struct call *call, ssize_t rc, int err);

/* A dry-run connect of fd. Returns 0, or -1 with errno the tool's
 * deny_errno and an error record when it cannot be simulated whole. */
int life_simulate(int fd, const struct call *call);

/* A dry-run send with a destination: a datagram (recorded at once) or a
 * Fast Open connect (simulated, its bytes kept). Returns what the send
 * returns: the full length, or -1 with errno set as life_simulate does. */
ssize_t life_simulate_send(int fd, const struct call *call, bool fast_open,
                           const struct iovec *iov, size_t n);

/* Whether a connect is under way anywhere in the process: one load. */
bool life_any_under_way(void);

/* The client read so_error (SO_ERROR) from fd: how a connect under way
 * ended, if it was one. */
void life_so_error(int fd, int so_error);

/* ---- send and receive: inside shim_enter()/shim_leave() ----------------- */

/* One send or receive on a governed connection. */
struct life_io {
    bool sending;
    const struct iovec *iov;
    size_t n;
    int flags; /* MSG_*; 0 for write, read and their vector forms */
};

enum life_step {
    LIFE_PASS, /* make the real call, then life_after */
    LIFE_DONE, /* *rc (and errno) is the call's result: no real call */
};

/* Before the real call on fd, led to c: may begin a request (and be
 * refused), keep or serve a simulated connection's bytes, or time out. */
enum life_step life_before(struct conn *c, int fd, const struct life_io *io, ssize_t *rc);

/* The real call returned rc with errno err. */
void life_after(struct conn *c, const struct life_io *io, ssize_t rc, int err);

/* ---- the end: takes shim_enter() itself ---------------------------------- */

/* c lost its last descriptor (conn_detach, conn_dup; NULL: none did). */
void life_closed(struct conn *c);

#endif
