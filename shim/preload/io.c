/* Interposers for what is sent and received on governed connections:
 * send, sendto, sendmsg, sendmmsg, write, writev; recv, recvfrom, recvmsg,
 * recvmmsg, read, readv.
 *
 * A descriptor no tool governs costs one load (conn_of). On a governed one:
 * - with `action = request`, a send that follows a receive begins a new
 *   request and passes the gate (over TLS, only application data that
 *   follows application data: the handshake's flights are not requests);
 * - a simulated connection (dry run) drops what is sent, keeping the first
 *   CONN_PAYLOAD_MAX bytes for one record per connection or request, and
 *   answers reads with dry_run.response, then EOF;
 * - io_timeout_seconds bounds each read and write on a blocking socket;
 * - each exchange tells the tool's breaker how it ended, once: the first
 *   byte of an answer is a success; ECONNRESET, EPIPE or an I/O timeout
 *   before it, a failure.
 * A send with a destination (UDP, TCP Fast Open) is decided like a
 * connect to it. */
#include "../store/clock.h"
#include "conn.h"
#include "net.h"
#include "real.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* ---- gather and scatter lists ------------------------------------------- */

static size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* Copies the first bytes of the list, at most cap, into out. */
static size_t iov_copy_out(const struct iovec *iov, size_t n, void *out, size_t cap)
{
    size_t done = 0;
    for (size_t i = 0; i < n && done < cap; i++) {
        size_t k = iov[i].iov_len < cap - done ? iov[i].iov_len : cap - done;
        memcpy((char *)out + done, iov[i].iov_base, k);
        done += k;
    }
    return done;
}

/* Scatters len bytes into the list; returns how many fitted. */
static size_t iov_copy_in(const struct iovec *iov, size_t n, const void *data, size_t len)
{
    size_t done = 0;
    for (size_t i = 0; i < n && done < len; i++) {
        size_t k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
        memcpy(iov[i].iov_base, (const char *)data + done, k);
        done += k;
    }
    return done;
}

/* Feeds the first len bytes of the list to a TLS framing follower. */
static void iov_feed(struct tls_stream *s, const struct iovec *iov, size_t n, size_t len)
{
    for (size_t i = 0; i < n && len > 0; i++) {
        size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
        tls_stream_feed(s, iov[i].iov_base, k);
        len -= k;
    }
}

/* ---- records and outcomes ----------------------------------------------- */

static const char *record_op(const struct conn *c)
{
    return c->requests > 1 ? "send" : "connect";
}

/* Writes a simulated connection's pending record, if one is due. */
static void record_due(struct conn *c)
{
    if (!conn_take(c, CONN_RECORD_DUE))
        return;
    conn_set(c, CONN_RECORDED);
    struct call call = conn_call(c, record_op(c));
    shim_simulated(&call, c->payload, c->captured);
}

void net_conn_closed(struct conn *c)
{
    if (!c)
        return;
    const struct enact_config *cfg;
    if (shim_enter(&cfg)) {
        if ((conn_flags(c) & (CONN_SIMULATED | CONN_RECORDED | CONN_RECORD_DUE)) ==
            CONN_SIMULATED)
            conn_set(c, CONN_RECORD_DUE); /* nothing was sent: the connection is the record */
        record_due(c);
        shim_leave();
    }
    conn_free(c);
}

/* Records of simulated requests still open when the program exits. */
__attribute__((destructor)) static void record_open_requests(void)
{
    if (!conn_any_in(0, CONN_FD_MAX - 1))
        return; /* no connection at all: the usual exit costs one load */
    for (int fd = 0; fd < CONN_FD_MAX; fd++) {
        struct conn *c = conn_of(fd);
        if (c && (conn_flags(c) & CONN_RECORD_DUE)) {
            const struct enact_config *cfg;
            if (shim_enter(&cfg)) {
                record_due(c);
                shim_leave();
            }
        }
    }
}

/* How the current exchange ended, told to the breaker once: a success
 * when the first byte of the answer arrives; a failure on a reset, a broken
 * pipe or an I/O timeout before that. */
static void exchange_outcome(struct conn *c, enum gate_outcome outcome, const char *op)
{
    if (outcome == OUTCOME_NEUTRAL || !conn_take(c, CONN_OUTCOME_DUE))
        return;
    struct call call = conn_call(c, op);
    shim_outcome(&call, outcome, c->owner);
}

/* With io_timeout_seconds, on a blocking socket: waits until fd is ready
 * for events. False when the time ran out (recorded, told to the breaker,
 * errno ETIMEDOUT). */
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
    exchange_outcome(c, OUTCOME_FAILURE, call.op);
    errno = ETIMEDOUT;
    return false;
}

/* ---- sending ------------------------------------------------------------ */

/* The TLS content type the next bytes sent begin with. */
static uint8_t next_tls_type(const struct tls_stream *s, uint8_t first_byte)
{
    return s->left > 0 || s->have > 0 ? s->type : first_byte;
}

/* Whether this send, which follows a receive, begins a request. */
static bool begins_request(struct conn *c, uint8_t first_byte)
{
    if (!(conn_flags(c) & CONN_TLS))
        return true;
    return next_tls_type(&c->tx, first_byte) == TLS_APPLICATION_DATA &&
           c->rx.type == TLS_APPLICATION_DATA;
}

/* A new request on c: passes the gate under `action = request`. False
 * when refused (errno set). */
static bool admit_request(struct conn *c, int fd)
{
    c->requests++;
    if (c->tool->has_breaker && !(conn_flags(c) & CONN_SIMULATED))
        conn_set(c, CONN_OUTCOME_DUE);
    if (conn_flags(c) & CONN_SIMULATED) {
        record_due(c);
        c->served = 0;
        if (c->tool->action == ACTION_REQUEST) {
            c->captured = 0;
            conn_clear(c, CONN_RECORDED);
        }
    }
    if (c->tool->action != ACTION_REQUEST)
        return true;
    struct call call = conn_call(c, "send");
    call.defer_dry_run = true;
    struct decision d = net_decide(&call, fd);
    if (d.action == GATE_REFUSE) {
        /* Nothing of it was sent: the client's next send asks again. */
        c->requests--;
        conn_set(c, CONN_RECEIVED);
        errno = d.err ? d.err : EPERM;
        return false;
    }
    return true;
}

/* Keeps what a simulated connection sends, for its record. */
static void capture(struct conn *c, const struct iovec *iov, size_t n)
{
    if (conn_flags(c) & CONN_RECORDED)
        return;
    c->captured += (uint32_t)iov_copy_out(iov, n, c->payload + c->captured,
                                          CONN_PAYLOAD_MAX - c->captured);
    conn_set(c, CONN_RECORD_DUE);
    if (c->captured == CONN_PAYLOAD_MAX)
        record_due(c);
}

enum step { PASS, DONE };

/* Before a send of the list on fd, led to c. DONE: *rc (and errno) is the
 * call's result; PASS: make the real call, then after_send. */
static enum step before_send(struct conn *c, int fd, const struct iovec *iov, size_t n,
                             int flags, ssize_t *rc)
{
    uint32_t f = conn_flags(c);
    if ((f & CONN_SIMULATED) && !conn_is(c, fd)) {
        conn_free(conn_detach(fd)); /* a stale entry: fd is something else now */
        return PASS;
    }
    uint8_t head[3] = {0};
    size_t nhead = iov_copy_out(iov, n, head, sizeof head);
    if (!(f & CONN_SENT)) {
        conn_set(c, CONN_SENT | (tls_starts_handshake(head, nhead) ? CONN_TLS : 0));
    } else if (nhead > 0 && (f & CONN_RECEIVED) && begins_request(c, head[0])) {
        conn_clear(c, CONN_RECEIVED);
        if (!conn_is(c, fd)) {
            conn_free(conn_detach(fd));
            return PASS;
        }
        if (!admit_request(c, fd)) {
            *rc = -1;
            return DONE;
        }
    }
    if (nhead > 0)
        conn_clear(c, CONN_RECEIVED);
    if (f & CONN_SIMULATED) {
        capture(c, iov, n);
        if (conn_flags(c) & CONN_TLS)
            iov_feed(&c->tx, iov, n, iov_total(iov, n));
        *rc = (ssize_t)iov_total(iov, n);
        return DONE;
    }
    if (!ready_in_time(c, fd, POLLOUT, flags)) {
        *rc = -1;
        return DONE;
    }
    return PASS;
}

static void after_send(struct conn *c, const struct iovec *iov, size_t n, ssize_t rc, int err)
{
    if (rc > 0 && (conn_flags(c) & CONN_TLS))
        iov_feed(&c->tx, iov, n, (size_t)rc);
    if (rc < 0)
        exchange_outcome(c, net_outcome(-1, err), "send");
}

/* The whole path of a send on a governed descriptor. */
static ssize_t governed_send(struct conn *c, int fd, const struct iovec *iov, size_t n, int flags,
                             ssize_t (*perform)(int, const struct iovec *, size_t, int,
                                                const void *),
                             const void *ctx)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return perform(fd, iov, n, flags, ctx);
    ssize_t rc;
    enum step step = before_send(c, fd, iov, n, flags, &rc);
    shim_leave();
    if (step == DONE)
        return rc;
    rc = perform(fd, iov, n, flags, ctx);
    int err = errno;
    if (shim_enter(&cfg)) {
        after_send(c, iov, n, rc, err);
        shim_leave();
    }
    errno = err;
    return rc;
}

/* ---- receiving ---------------------------------------------------------- */

/* Serves a simulated connection's reads: the response, then EOF. */
static ssize_t serve(struct conn *c, const struct iovec *iov, size_t n, int flags)
{
    const struct tool *t = c->tool;
    size_t left = t->dry_run_response_len > c->served ? t->dry_run_response_len - c->served : 0;
    size_t k = left ? iov_copy_in(iov, n, t->dry_run_response + c->served, left) : 0;
    if (!(flags & MSG_PEEK))
        c->served += (uint32_t)k;
    if (k > 0)
        conn_set(c, CONN_RECEIVED);
    return (ssize_t)k;
}

static enum step before_recv(struct conn *c, int fd, const struct iovec *iov, size_t n,
                             int flags, ssize_t *rc)
{
    uint32_t f = conn_flags(c);
    if (!(f & CONN_SIMULATED))
        return ready_in_time(c, fd, POLLIN, flags) ? PASS : (*rc = -1, DONE);
    if (!conn_is(c, fd)) {
        conn_free(conn_detach(fd));
        return PASS;
    }
    record_due(c); /* the program waits for an answer: its request is whole */
    bool nothing_left = c->served >= c->tool->dry_run_response_len;
    if ((f & CONN_DATAGRAM) && nothing_left)
        return PASS; /* nothing more comes, as from a silent peer */
    *rc = serve(c, iov, n, flags);
    return DONE;
}

static void after_recv(struct conn *c, const struct iovec *iov, size_t n, int flags, ssize_t rc,
                       int err)
{
    if (rc > 0) {
        conn_set(c, CONN_RECEIVED);
        if ((conn_flags(c) & CONN_TLS) && !(flags & MSG_PEEK))
            iov_feed(&c->rx, iov, n, (size_t)rc);
        exchange_outcome(c, OUTCOME_SUCCESS, "recv");
    } else if (rc < 0) {
        exchange_outcome(c, net_outcome(-1, err), "recv");
    }
}

static ssize_t governed_recv(struct conn *c, int fd, const struct iovec *iov, size_t n, int flags,
                             ssize_t (*perform)(int, const struct iovec *, size_t, int, void *),
                             void *ctx)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return perform(fd, iov, n, flags, ctx);
    ssize_t rc;
    enum step step = before_recv(c, fd, iov, n, flags, &rc);
    shim_leave();
    if (step == DONE)
        return rc;
    rc = perform(fd, iov, n, flags, ctx);
    int err = errno;
    if (shim_enter(&cfg)) {
        after_recv(c, iov, n, flags, rc, err);
        shim_leave();
    }
    errno = err;
    return rc;
}

/* ---- the real calls, in one shape --------------------------------------- */

static ssize_t do_send(int fd, const struct iovec *iov, size_t n, int flags, const void *ctx)
{
    (void)n;
    (void)ctx;
    return real.send(fd, iov[0].iov_base, iov[0].iov_len, flags);
}

static ssize_t do_write(int fd, const struct iovec *iov, size_t n, int flags, const void *ctx)
{
    (void)n;
    (void)flags;
    (void)ctx;
    return real.write(fd, iov[0].iov_base, iov[0].iov_len);
}

static ssize_t do_writev(int fd, const struct iovec *iov, size_t n, int flags, const void *ctx)
{
    (void)flags;
    (void)ctx;
    return real.writev(fd, iov, (int)n);
}

static ssize_t do_sendmsg(int fd, const struct iovec *iov, size_t n, int flags, const void *ctx)
{
    (void)iov;
    (void)n;
    return real.sendmsg(fd, ctx, flags);
}

static ssize_t do_recv(int fd, const struct iovec *iov, size_t n, int flags, void *ctx)
{
    (void)n;
    (void)ctx;
    return real.recv(fd, iov[0].iov_base, iov[0].iov_len, flags);
}

struct from_addr {
    struct sockaddr *addr;
    socklen_t *len;
};

static ssize_t do_recvfrom(int fd, const struct iovec *iov, size_t n, int flags, void *ctx)
{
    (void)n;
    struct from_addr *from = ctx;
    return real.recvfrom(fd, iov[0].iov_base, iov[0].iov_len, flags, from->addr, from->len);
}

static ssize_t do_read(int fd, const struct iovec *iov, size_t n, int flags, void *ctx)
{
    (void)n;
    (void)flags;
    (void)ctx;
    return real.read(fd, iov[0].iov_base, iov[0].iov_len);
}

static ssize_t do_readv(int fd, const struct iovec *iov, size_t n, int flags, void *ctx)
{
    (void)flags;
    (void)ctx;
    return real.readv(fd, iov, (int)n);
}

static ssize_t do_recvmsg(int fd, const struct iovec *iov, size_t n, int flags, void *ctx)
{
    (void)iov;
    (void)n;
    return real.recvmsg(fd, ctx, flags);
}

/* ---- sends with a destination ------------------------------------------- */

/* A send to addr on a socket that is not a governed connection: a UDP
 * datagram (each one a call of the tool) or TCP Fast Open (a connect that
 * carries data). DONE with *rc when enact decided the result. */
static enum step send_to(int fd, const struct sockaddr *addr, socklen_t alen,
                         const struct iovec *iov, size_t n, int flags, ssize_t *rc,
                         struct call *call, char *text, size_t cap, char *host, size_t hcap)
{
    const struct enact_config *cfg;
    struct net_target target;
    if (!addr || !net_target_from_sockaddr(addr, alen, &target) || !shim_enter(&cfg))
        return PASS;
    if (target.kind == TARGET_INET && shim_host_of(cfg, target.addr, host, hcap))
        call->host = target.host = host;
    call->tool = cfg ? config_match_connect(cfg, &target) : NULL;
    if (!call->tool && cfg) {
        shim_leave();
        return PASS;
    }
    net_target_format(&target, text, cap);
    bool fast_open = flags & MSG_FASTOPEN;
    call->op = fast_open ? "connect" : "send";
    call->defer_dry_run = true;
    struct decision d = net_decide(call, fd);
    shim_leave();
    if (d.action == GATE_REFUSE) {
        errno = d.err ? d.err : EPERM;
        *rc = -1;
        return DONE;
    }
    if (d.action == GATE_PROCEED)
        return PASS;
    if (fast_open) {
        if (net_simulated(fd, call) != 0) {
            *rc = -1;
            return DONE;
        }
        struct conn *c = conn_of(fd);
        if (c)
            capture(c, iov, n);
    } else {
        char bytes[CONN_PAYLOAD_MAX];
        shim_simulated(call, bytes, iov_copy_out(iov, n, bytes, sizeof bytes));
    }
    *rc = (ssize_t)iov_total(iov, n);
    return DONE;
}

/* Performs a send that send_to let pass, and learns from its result. */
static ssize_t sent_to(const struct call *call, int fd, int flags, ssize_t rc)
{
    int err = errno;
    if (call->tool && (flags & MSG_FASTOPEN)) {
        if (rc >= 0 || err == EINPROGRESS)
            net_track(fd, call);
        if (call->tool->has_breaker && !(rc < 0 && err == EINPROGRESS))
            shim_outcome(call, net_outcome((int)rc, err), shim_thread_id());
    }
    errno = err;
    return rc;
}

/* A destination on a socket that is a governed connection is the
 * connection's own peer (TCP ignores it): only datagrams go elsewhere. */
static bool goes_elsewhere(const struct conn *c, const void *addr)
{
    return addr && (!c || (conn_flags(c) & CONN_DATAGRAM));
}

/* ---- the interposers ---------------------------------------------------- */

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.send(fd, buf, len, flags);
    struct iovec v = {(void *)buf, len};
    return governed_send(c, fd, &v, 1, flags, do_send, NULL);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.write(fd, buf, len);
    struct iovec v = {(void *)buf, len};
    return governed_send(c, fd, &v, 1, 0, do_write, NULL);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || n <= 0)
        return real.writev(fd, iov, n);
    return governed_send(c, fd, iov, (size_t)n, 0, do_writev, NULL);
}

struct to_addr {
    const struct sockaddr *addr;
    socklen_t len;
};

static ssize_t do_sendto(int fd, const struct iovec *iov, size_t n, int flags, const void *ctx)
{
    (void)n;
    const struct to_addr *to = ctx;
    return real.sendto(fd, iov[0].iov_base, iov[0].iov_len, flags, to->addr, to->len);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t alen)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    struct iovec v = {(void *)buf, len};
    if (goes_elsewhere(c, addr)) {
        char text[160], host[HOST_NAME_MAX_LEN + 1];
        struct call call = {.target = text};
        ssize_t rc;
        if (send_to(fd, addr, alen, &v, 1, flags, &rc, &call, text, sizeof text, host,
                    sizeof host) == DONE)
            return rc;
        return sent_to(&call, fd, flags, real.sendto(fd, buf, len, flags, addr, alen));
    }
    if (!c)
        return real.sendto(fd, buf, len, flags, addr, alen);
    struct to_addr to = {addr, alen}; /* a connected stream: the kernel ignores addr */
    return governed_send(c, fd, &v, 1, flags, do_sendto, &to);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!msg)
        return real.sendmsg(fd, msg, flags);
    size_t n = (size_t)msg->msg_iovlen;
    if (goes_elsewhere(c, msg->msg_name)) {
        char text[160], host[HOST_NAME_MAX_LEN + 1];
        struct call call = {.target = text};
        ssize_t rc;
        if (send_to(fd, msg->msg_name, msg->msg_namelen, msg->msg_iov, n, flags, &rc, &call,
                    text, sizeof text, host, sizeof host) == DONE)
            return rc;
        return sent_to(&call, fd, flags, real.sendmsg(fd, msg, flags));
    }
    if (!c)
        return real.sendmsg(fd, msg, flags);
    return governed_send(c, fd, msg->msg_iov, n, flags, do_sendmsg, msg);
}

/* Each message is a call of its own; the first that enact refuses ends
 * the batch there, as a failed send would. */
EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    bool any_dest = false;
    for (unsigned i = 0; vec && i < vlen && !any_dest; i++)
        any_dest = goes_elsewhere(c, vec[i].msg_hdr.msg_name);
    if (!vec || (!c && !any_dest))
        return real.sendmmsg(fd, vec, vlen, flags);
    unsigned done = 0;
    for (; done < vlen; done++) {
        ssize_t rc = sendmsg(fd, &vec[done].msg_hdr, flags);
        if (rc < 0)
            return done > 0 ? (int)done : -1;
        vec[done].msg_len = (unsigned)rc;
    }
    return (int)done;
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.recv(fd, buf, len, flags);
    struct iovec v = {buf, len};
    return governed_recv(c, fd, &v, 1, flags, do_recv, NULL);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                        socklen_t *alen)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.recvfrom(fd, buf, len, flags, addr, alen);
    struct iovec v = {buf, len};
    struct from_addr from = {addr, alen};
    return governed_recv(c, fd, &v, 1, flags, do_recvfrom, &from);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || !msg)
        return real.recvmsg(fd, msg, flags);
    return governed_recv(c, fd, msg->msg_iov, (size_t)msg->msg_iovlen, flags, do_recvmsg, msg);
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
                    struct timespec *timeout)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || !vec || vlen == 0)
        return real.recvmmsg(fd, vec, vlen, flags, timeout);
    if (conn_flags(c) & CONN_SIMULATED) {
        ssize_t rc = recvmsg(fd, &vec[0].msg_hdr, flags);
        if (rc < 0)
            return -1;
        vec[0].msg_len = (unsigned)rc;
        return 1;
    }
    int rc = real.recvmmsg(fd, vec, vlen, flags, timeout);
    int err = errno;
    const struct enact_config *cfg;
    if (shim_enter(&cfg)) {
        if (rc > 0)
            conn_set(c, CONN_RECEIVED);
        exchange_outcome(c, rc > 0 ? OUTCOME_SUCCESS : rc < 0 ? net_outcome(-1, err) : OUTCOME_NEUTRAL,
                         "recv");
        shim_leave();
    }
    errno = err;
    return rc;
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.read(fd, buf, len);
    struct iovec v = {buf, len};
    return governed_recv(c, fd, &v, 1, 0, do_read, NULL);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || n <= 0)
        return real.readv(fd, iov, n);
    return governed_recv(c, fd, iov, (size_t)n, 0, do_readv, NULL);
}
