#include "conn_life.h"

#include "identity.h"
#include "iov.h"
#include "net_call.h"
#include "pending.h"
#include "real.h"
#include "simulate.h"
#include "../store/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* ---- what the breaker and the audit log hear ----------------------------- */

/* How the current exchange ended, told to the breaker once (README
 * "Connections", Breaker). A neutral end says nothing and leaves it owed. */
static void tell(struct conn *c, enum call_outcome outcome, const char *op)
{
    if (outcome == OUTCOME_NEUTRAL || !conn_take(c, CONN_OUTCOME_DUE))
        return;
    struct call call = conn_call(c, op);
    shim_outcome(&call, outcome, c->owner);
}

/* ---- connected, under way, failed, simulated ----------------------------- */

/* A connect interrupted by a signal goes on in the background, as one left
 * in progress does: its end is known later (SO_ERROR, the first exchange). */
static bool goes_on(int err)
{
    return err == EINPROGRESS || err == EINTR;
}

/* A new connection on fd: one the number led to before was closed where no
 * hook saw it (glibc's own close, a raw system call), and ends now. */
static void forget_unseen(int fd)
{
    if (conn_of(fd))
        life_closed(conn_detach(fd));
}

/* Followed from now on, the exchange owing the breaker its outcome. A
 * connection the table has no room for tells its success now: nothing
 * will later. */
static void connected(int fd, const struct call *call, int err)
{
    forget_unseen(fd);
    bool breaker = call->tool->has_breaker;
    uint32_t flags = CONN_PREPAID | (breaker ? CONN_OUTCOME_DUE : 0) |
                     (breaker && call->probe ? CONN_PROBE : 0);
    if (!conn_open(fd, call, flags) && breaker &&
        !goes_on(err))
        shim_outcome(call, OUTCOME_SUCCESS, shim_thread_id());
}

/* A connect that succeeds says only that the port is open: the exchange
 * that follows tells the breaker whether the tool works, so that a service
 * that accepts and then resets or hangs still opens it. */
void life_connect_ended(int fd, const struct call *call, int rc, int err)
{
    int saved = errno;
    bool under_way = rc != 0 && goes_on(err);
    if (rc != 0 && call->tool->has_breaker) {
        if (under_way)
            pending_add(fd, call->tool, shim_thread_id());
        else
            shim_outcome(call, net_outcome(rc, err), shim_thread_id());
    }
    if (rc == 0 || under_way)
        connected(fd, call, err);
    errno = saved;
}

/* Fast Open's send is the connect and its first request at once: its
 * result is told as the connect's, and the connection is followed. */
void life_fast_open_ended(int fd, const struct call *call, ssize_t rc, int err)
{
    int saved = errno;
    if (rc >= 0 || err == EINPROGRESS)
        connected(fd, call, err);
    if (call->tool->has_breaker && !(rc < 0 && err == EINPROGRESS))
        shim_outcome(call, net_outcome((int)rc, err), shim_thread_id());
    errno = saved;
}

int life_simulate(int fd, const struct call *call)
{
    bool datagram = false;
    int peer = -1;
    forget_unseen(fd);
    int err = simulate_connect(fd, &datagram, &peer);
    uint32_t flags = CONN_SIMULATED | CONN_PREPAID | (datagram ? CONN_DATAGRAM : 0);
    struct conn *c = err == 0 ? conn_open(fd, call, flags) : NULL;
    if (c) {
        simulate_open(c, peer);
        return 0;
    }
    if (peer >= 0)
        real.close(peer);
    if (err == 0)
        err = EMFILE;
    /* Half a simulation would let bytes through unrecorded: refuse instead. */
    char detail[128];
    snprintf(detail, sizeof detail, "the connection could not be simulated: %s",
             err == EMFILE ? "too many simulated connections or descriptors" : strerror(err));
    shim_record(call, "error", call->tool->deny_errno, 0, detail);
    errno = call->tool->deny_errno;
    return -1;
}

ssize_t life_simulate_send(int fd, const struct call *call, bool fast_open,
                           const struct iovec *iov, size_t n)
{
    if (!fast_open) {
        simulate_datagram(call, iov, n);
    } else {
        if (life_simulate(fd, call) != 0)
            return -1;
        struct conn *c = conn_of(fd);
        if (c) {
            conn_set(c, CONN_SENT);
            simulate_sent(c, iov, n);
        }
    }
    return (ssize_t)iov_total(iov, n);
}

bool life_any_under_way(void)
{
    return pending_any();
}

void life_so_error(int fd, int so_error)
{
    int saved = errno;
    int32_t owner = 0;
    const struct tool *tool = pending_take(fd, &owner);
    struct conn *c = conn_of(fd);
    bool tracked = c && c->tool == tool && conn_is(c, fd);
    /* Connected: the exchange will tell, if the connection is followed. */
    bool tell_now = so_error ? !tracked || conn_take(c, CONN_OUTCOME_DUE) : !tracked;
    if (tool && tell_now) {
        struct call call = {.op = "connect", .tool = tool};
        shim_outcome(&call, net_outcome(so_error ? -1 : 0, so_error), owner);
    }
    errno = saved;
}

/* ---- I/O timeouts -------------------------------------------------------- */

/* With io_timeout_seconds, on a blocking socket: waits until fd is ready
 * for events. False when the time ran out: recorded, a failure of the
 * exchange, errno ETIMEDOUT. */
static bool ready_in_time(struct conn *c, int fd, short events, int flags)
{
    double limit = c->tool->io_timeout_seconds;
    if (limit <= 0 || (flags & MSG_DONTWAIT) || !net_blocking(fd))
        return true;
    uint64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + (uint64_t)(limit * 1e9);
    int saved = errno;
    for (;;) {
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        if (now >= deadline)
            break;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
        if (n != 0 && !(n < 0 && errno == EINTR)) {
            errno = saved;
            return true; /* ready, or an error the call itself will report */
        }
    }
    struct call call = conn_call(c, events & POLLOUT ? "send" : "recv");
    char detail[80];
    snprintf(detail, sizeof detail, "no %s within io_timeout_seconds = %g",
             events & POLLOUT ? "room to send" : "data", limit);
    shim_record(&call, "timeout", ETIMEDOUT, 0, detail);
    tell(c, OUTCOME_FAILURE, call.op);
    errno = ETIMEDOUT;
    return false;
}

/* ---- request begun ------------------------------------------------------- */

/* The TLS content type the next bytes sent begin with. */
static uint8_t next_tls_type(const struct tls_stream *s, uint8_t first_byte)
{
    return s->left > 0 || s->have > 0 ? s->type : first_byte;
}

/* Protocols whose requests the shim tells apart by their first bytes. */
static bool framed(enum peer_protocol p)
{
    return p == PEER_HTTP || p == PEER_REDIS || p == PEER_POSTGRESQL;
}

/* Under `action = auto`, a connection counts its requests when it speaks
 * a protocol that has them, TLS to any of them included. */
static bool counts_requests(const struct conn *c)
{
    switch (c->tool->action) {
    case ACTION_REQUEST: return true;
    case ACTION_CONNECTION: return false;
    default: return framed(c->protocol) || (conn_flags(c) & CONN_TLS);
    }
}

/* The first send: what the connection speaks. The connect's admission
 * pays for the first request of a protocol whose requests are told apart;
 * of any other, the connect was the first. */
static void first_send(struct conn *c, const uint8_t *head, size_t n)
{
    bool tls = tls_starts_handshake(head, n);
    conn_set(c, CONN_SENT | (tls ? CONN_TLS : 0));
    enum peer_protocol configured =
        conn_flags(c) & CONN_SIMULATED ? config_peer_protocol(c->tool) : PEER_AUTO;
    c->protocol = (uint8_t)(tls ? PEER_TLS : peer_resolve(configured, c->port, head, n));
    if (!framed(c->protocol))
        conn_clear(c, CONN_PREPAID);
}

/* Whether this send, the first or one after a receive, begins a request:
 * a request of the protocol (not its set-up); over TLS only application
 * data after application data, so that the handshake's flights are not
 * requests; else any send after a receive. */
static bool begins_request(const struct conn *c, bool first, const uint8_t *head, size_t n)
{
    if (conn_flags(c) & CONN_TLS)
        return !first && next_tls_type(&c->tx, head[0]) == TLS_APPLICATION_DATA &&
               c->rx.type == TLS_APPLICATION_DATA;
    if (framed(c->protocol))
        return peer_begins_request(c->protocol, head, n);
    return !first;
}

/* Bytes of a request a person asked to approve it reads. */
#define APPROVAL_BYTES 512

/* A new request on c, past the gate when c counts requests, and held for
 * a person when its tool says so (approval.h). False when refused (errno
 * set). */
static bool admit_request(struct conn *c, int fd, const struct life_io *io)
{
    bool prepaid = conn_take(c, CONN_PREPAID);
    bool simulated = conn_flags(c) & CONN_SIMULATED;
    if (!prepaid) {
        c->requests++;
        if (c->tool->has_breaker && !simulated)
            conn_set(c, CONN_OUTCOME_DUE);
    }
    bool decides = !prepaid && counts_requests(c);
    bool approves = c->tool->approve != APPROVE_NEVER && !simulated;
    if (!decides && !approves)
        return true;
    struct call call = conn_call(c, "send");
    call.defer_dry_run = true;
    uint8_t bytes[APPROVAL_BYTES];
    if (approves) {
        call.payload = bytes;
        call.payload_len = iov_copy_out(io->iov, io->n, bytes, sizeof bytes);
        call.nonblocking = (io->flags & MSG_DONTWAIT) || !net_blocking(fd);
        call.approval_only = !decides;
    }
    struct decision d = net_decide(&call, fd);
    if (d.action == GATE_REFUSE) {
        /* Nothing of it was sent: the client's next send asks again, and
         * pays again unless the connect's payment is still there. */
        if (prepaid)
            conn_set(c, CONN_PREPAID);
        else
            c->requests--;
        conn_set(c, CONN_RECEIVED);
        net_refused(&d);
        return false;
    }
    return true;
}

/* ---- send and receive ---------------------------------------------------- */

static void ended(struct conn *c, bool records);

/* A descriptor closed behind the shim's back and reused for something
 * else: the connection ended unseen, and the call is not its. Called
 * entered, so its end is recorded now. */
static enum life_step stale(int fd)
{
    struct conn *c = conn_detach(fd);
    if (c)
        ended(c, true);
    return LIFE_PASS;
}

/* Bytes of a send looked at to tell its protocol and whether it begins a
 * request: a Redis command's name comes after its array header. */
#define HEAD_BYTES 32

static enum life_step before_send(struct conn *c, int fd, const struct life_io *io, ssize_t *rc)
{
    uint32_t f = conn_flags(c);
    if ((f & CONN_SIMULATED) && !conn_is(c, fd))
        return stale(fd);
    uint8_t head[HEAD_BYTES];
    size_t nhead = iov_copy_out(io->iov, io->n, head, sizeof head);
    bool first = !(f & CONN_SENT);
    if (first && nhead > 0)
        first_send(c, head, nhead);
    if (nhead > 0 && (first || (f & CONN_RECEIVED)) && begins_request(c, first, head, nhead)) {
        conn_clear(c, CONN_RECEIVED);
        if (!first && !conn_is(c, fd))
            return stale(fd);
        if (!admit_request(c, fd, io)) {
            *rc = -1;
            return LIFE_DONE;
        }
    }
    if (nhead > 0)
        conn_clear(c, CONN_RECEIVED);
    if (f & CONN_SIMULATED) {
        if (conn_flags(c) & CONN_TLS)
            iov_feed(&c->tx, io->iov, io->n, iov_total(io->iov, io->n));
        simulate_sent(c, io->iov, io->n);
        *rc = (ssize_t)iov_total(io->iov, io->n);
        return LIFE_DONE;
    }
    if (!ready_in_time(c, fd, POLLOUT, io->flags)) {
        *rc = -1;
        return LIFE_DONE;
    }
    return LIFE_PASS;
}

/* A simulated connection's reads come from its server through the kernel
 * (simulate.h); a datagram socket's answer is served here. */
static enum life_step before_recv(struct conn *c, int fd, const struct life_io *io, ssize_t *rc)
{
    uint32_t f = conn_flags(c);
    if (!(f & CONN_SIMULATED)) {
        if (ready_in_time(c, fd, POLLIN, io->flags))
            return LIFE_PASS;
        *rc = -1;
        return LIFE_DONE;
    }
    if (!conn_is(c, fd))
        return stale(fd);
    if (!simulate_reads(c, io->iov, io->n, io->flags, rc))
        return LIFE_PASS;
    if (*rc > 0)
        conn_set(c, CONN_RECEIVED);
    return LIFE_DONE;
}

enum life_step life_before(struct conn *c, int fd, const struct life_io *io, ssize_t *rc)
{
    return io->sending ? before_send(c, fd, io, rc) : before_recv(c, fd, io, rc);
}

void life_after(struct conn *c, const struct life_io *io, ssize_t rc, int err)
{
    bool tls = conn_flags(c) & CONN_TLS;
    if (io->sending) {
        if (rc > 0 && tls)
            iov_feed(&c->tx, io->iov, io->n, (size_t)rc);
        if (rc < 0)
            tell(c, net_outcome(-1, err), "send");
    } else if (rc > 0) {
        conn_set(c, CONN_RECEIVED);
        if (tls && !(io->flags & MSG_PEEK))
            iov_feed(&c->rx, io->iov, io->n, (size_t)rc);
        tell(c, OUTCOME_SUCCESS, "recv");
    } else if (rc < 0) {
        tell(c, net_outcome(-1, err), "recv");
    }
}

/* ---- closed -------------------------------------------------------------- */

/* What a connection's end owes, said while the shim is entered (records:
 * false when it could not be, and its simulated bytes go unrecorded). */
static void ended(struct conn *c, bool records)
{
    /* A probe that ends with no exchange (a port check: nc -z) says
     * nothing of the tool: its lease goes back at once, not at its
     * deadline, so that the next probe may go. */
    if (records && (conn_flags(c) & CONN_PROBE) && conn_take(c, CONN_OUTCOME_DUE)) {
        struct call call = conn_call(c, "close");
        shim_outcome(&call, OUTCOME_NEUTRAL, c->owner);
    }
    if (conn_flags(c) & CONN_SIMULATED)
        simulate_closed(c, records ? SIMULATE_CLOSED : SIMULATE_DROPPED);
    conn_free(c);
}

void life_closed(struct conn *c)
{
    if (!c)
        return;
    if (!(conn_flags(c) & (CONN_PROBE | CONN_SIMULATED))) {
        conn_free(c);
        return;
    }
    const struct enact_config *cfg;
    bool records = shim_enter_held(&cfg);
    ended(c, records);
    if (records)
        shim_leave();
}

/* Records of simulated requests still held when the program exits. */
__attribute__((destructor)) static void record_open_requests(void)
{
    if (!conn_any_in(0, CONN_FD_MAX - 1))
        return; /* no connection at all: the usual exit costs one load */
    for (int fd = 0; fd < CONN_FD_MAX; fd++) {
        struct conn *c = conn_of(fd);
        const struct enact_config *cfg;
        if (c && (conn_flags(c) & CONN_SIMULATED) && shim_enter_held(&cfg)) {
            simulate_closed(c, SIMULATE_EXITING);
            shim_leave();
        }
    }
}
