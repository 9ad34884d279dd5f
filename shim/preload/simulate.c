#include "simulate.h"

#include "iov.h"
#include "layout.h"
#include "real.h"
#include "../pure/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>

/* The simulated server of each pool slot of conn.h that is simulated.
 * Its fields belong to whichever thread is using the socket, as the
 * socket's own bytes do. */
static struct sim {
    struct peer peer;
    int fd;          /* our end; -1: none (a datagram socket, or closed) */
    uint32_t served; /* datagram: bytes of the answer read since the last datagram */
    uint32_t records;
    bool lost_told;  /* an answer could not be delivered: recorded once */
} sims[CONN_MAX] BIG_TABLE;

/* Where our end of a simulated connection is moved, when the limit on
 * descriptors leaves room: out of the way of the program's lowest numbers,
 * which some programs expect to be given in order. */
#define PEER_FD_FLOOR 512

static struct sim *sim_of(const struct conn *c)
{
    return &sims[conn_index(c)];
}

/* ---- connecting ---------------------------------------------------------- */

static int sockopt_int(int fd, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    return real.getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : -1;
}

/* A listener on loopback for domain and type; its address in *a. */
static int listen_loopback(int domain, int type, struct sockaddr_storage *a, socklen_t *alen)
{
    memset(a, 0, sizeof *a);
    a->ss_family = (sa_family_t)domain;
    if (domain == AF_INET) {
        ((struct sockaddr_in *)a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *alen = sizeof(struct sockaddr_in);
    } else if (domain == AF_INET6) {
        /* Not libc's in6addr_loopback: a data symbol is bound when the
         * shim is loaded, in every governed process. */
        ((struct sockaddr_in6 *)a)->sin6_addr = (struct in6_addr)IN6ADDR_LOOPBACK_INIT;
        *alen = sizeof(struct sockaddr_in6);
    } else {
        *alen = sizeof(sa_family_t); /* unix: the kernel picks an abstract name */
    }
    int ls = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (ls < 0)
        return -1;
    if (bind(ls, (struct sockaddr *)a, *alen) != 0 || listen(ls, 1) != 0 ||
        (*alen = sizeof *a, getsockname(ls, (struct sockaddr *)a, alen)) != 0) {
        int err = errno;
        real.close(ls);
        errno = err;
        return -1;
    }
    return ls;
}

/* Connects fd to addr and waits (at most a second) for it to complete,
 * whatever the socket's blocking mode. */
static int connect_now(int fd, const struct sockaddr *a, socklen_t alen)
{
    if (real.connect(fd, a, alen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 1000) != 1)
        return ETIMEDOUT;
    return sockopt_int(fd, SO_ERROR);
}

static int move_high(int fd)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur <= PEER_FD_FLOOR + 64)
        return fd;
    int high = real.fcntl(fd, F_DUPFD_CLOEXEC, PEER_FD_FLOOR);
    if (high < 0)
        return fd;
    real.close(fd);
    return high;
}

int simulate_connect(int fd, bool *datagram, int *peer)
{
    int saved = errno;
    *peer = -1;
    int domain = sockopt_int(fd, SO_DOMAIN), type = sockopt_int(fd, SO_TYPE);
    *datagram = type == SOCK_DGRAM;
    if (*datagram)
        return 0;
    if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
        return EOPNOTSUPP;
    if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX)
        return EAFNOSUPPORT;
    struct sockaddr_storage a;
    socklen_t alen;
    int ls = listen_loopback(domain, type, &a, &alen);
    if (ls < 0)
        return errno;
    int err = connect_now(fd, (struct sockaddr *)&a, alen);
    if (err == 0) {
        /* Through syscall(): accept4 would make the shim need GLIBC_2.10. */
        int end = (int)real.syscall(SYS_accept4, (long)ls, 0L, 0L,
                                    (long)(SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (end >= 0)
            *peer = move_high(end);
        else
            err = errno;
    }
    real.close(ls);
    errno = saved;
    return err;
}

/* ---- the server's output ------------------------------------------------- */

struct served {
    struct conn *c;
    struct sim *s;
};

/* An answer the client does not read while it goes on sending fills our
 * end's buffer; what does not fit is lost, and said once. */
static void reply(void *ctx, const void *bytes, size_t len)
{
    struct served *v = ctx;
    const char *b = bytes;
    while (len > 0 && v->s->fd >= 0) {
        ssize_t k = real.send(v->s->fd, b, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!v->s->lost_told) {
                v->s->lost_told = true;
                struct call call = conn_call(v->c, "send");
                shim_record(&call, "error", 0, 0,
                            "a simulated answer was lost: the client did not read its answers");
            }
            return;
        }
        b += k;
        len -= (size_t)k;
    }
}

static void request(void *ctx, const struct peer_request *rq)
{
    struct served *v = ctx;
    struct call call = conn_call(v->c, v->s->records++ == 0 ? "connect" : "send");
    shim_simulated(&call, rq->text, rq->len, &rq->impact);
}

static void hang_up(void *ctx)
{
    struct served *v = ctx;
    if (v->s->fd >= 0)
        shutdown(v->s->fd, SHUT_WR);
}

static struct peer_settings settings_of(const struct tool *t)
{
    const struct enact_config *cfg = shim_config();
    return (struct peer_settings){
        .response = t->dry_run_response.data,
        .response_len = t->dry_run_response.len,
        .http_status = t->dry_run_http_status,
        .http_body = t->dry_run_http_body.data,
        .http_body_len = t->dry_run_http_body.len,
        .impact = cfg ? &cfg->impact : NULL,
    };
}

/* ---- the connection's life ----------------------------------------------- */

void simulate_open(struct conn *c, int peer)
{
    int saved = errno;
    struct sim *s = sim_of(c);
    s->fd = peer;
    s->served = 0;
    s->records = 0;
    s->lost_told = false;
    struct served v = {c, s};
    struct peer_sink sink = {reply, request, hang_up, &v};
    struct peer_settings set = settings_of(c->tool);
    enum peer_protocol p = peer < 0 ? PEER_RAW : config_peer_protocol(c->tool);
    peer_open(&s->peer, p, c->port, &set, &sink);
    if (peer < 0)
        s->peer.hung_up = false; /* a datagram's answer is served by the reads */
    errno = saved;
}

enum peer_protocol simulate_protocol(const struct conn *c)
{
    return sim_of(c)->peer.protocol;
}

void simulate_sent(struct conn *c, const struct iovec *iov, size_t n)
{
    int saved = errno;
    struct sim *s = sim_of(c);
    struct served v = {c, s};
    struct peer_sink sink = {reply, request, hang_up, &v};
    struct peer_settings set = settings_of(c->tool);
    if (s->fd < 0)
        set.response = NULL; /* a datagram's answer is served by the reads */
    for (size_t i = 0; i < n; i++)
        peer_feed(&s->peer, &set, iov[i].iov_base, iov[i].iov_len, &sink);
    if (s->fd < 0) {
        peer_flush(&s->peer, &set, &sink); /* each datagram is a request */
        s->served = 0;
    }
    errno = saved;
}

bool simulate_reads(struct conn *c, const struct iovec *iov, size_t n, int flags, ssize_t *rc)
{
    int saved = errno;
    struct sim *s = sim_of(c);
    struct served v = {c, s};
    struct peer_sink sink = {reply, request, hang_up, &v};
    struct peer_settings set = settings_of(c->tool);
    peer_flush(&s->peer, &set, &sink);
    bool answered = false;
    if (s->fd < 0 && set.response && s->served < set.response_len) {
        size_t k = iov_copy_in(iov, n, set.response + s->served, set.response_len - s->served);
        if (!(flags & MSG_PEEK))
            s->served += (uint32_t)k;
        *rc = (ssize_t)k;
        answered = true;
    }
    errno = saved;
    return answered;
}

void simulate_closed(struct conn *c, enum simulate_end end)
{
    int saved = errno;
    struct sim *s = sim_of(c);
    struct served v = {c, s};
    struct peer_sink sink = {reply, request, hang_up, &v};
    struct peer_settings set = settings_of(c->tool);
    if (end == SIMULATE_EXITING)
        peer_flush(&s->peer, &set, &sink);
    else if (end == SIMULATE_CLOSED)
        peer_close(&s->peer, &set, &sink);
    if (end != SIMULATE_EXITING && s->fd >= 0) {
        real.close(s->fd);
        s->fd = -1;
    }
    errno = saved;
}

void simulate_datagram(const struct call *call, const struct iovec *iov, size_t n)
{
    unsigned char bytes[PEER_TEXT_MAX];
    size_t len = iov_copy_out(iov, n, bytes, sizeof bytes);
    const struct enact_config *cfg = shim_config();
    struct impact im = impact_of_payload(bytes, len, cfg ? &cfg->impact : NULL);
    char text[PEER_TEXT_MAX];
    size_t tlen = peer_readable(bytes, len, text, sizeof text);
    shim_simulated(call, text, tlen, &im);
}
