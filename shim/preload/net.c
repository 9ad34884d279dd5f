/* Interposers for the network family: connect, and getsockopt(SO_ERROR)
 * to learn how a non-blocking connect ended. */
#include "../store/clock.h"
#include "conn.h"
#include "net.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>

/* The TCP state of fd (TCP_CLOSE, TCP_SYN_SENT, ...), or -1. */
static int tcp_state(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    int saved = errno;
    int state = real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
                        len >= sizeof info.tcpi_state
                    ? info.tcpi_state
                    : -1;
    errno = saved;
    return state;
}

/* Event loops (libuv, hiredis) complete a non-blocking connect by calling
 * connect() again on the same socket: that is the same call, already
 * decided, not a new one. True for a TCP socket past its initial state. */
static bool connect_under_way(int fd)
{
    int state = tcp_state(fd);
    return state >= 0 && state != TCP_CLOSE;
}

/* Governed non-blocking connects whose outcome is still to come (DESIGN
 * names this per-process table). A socket is known by its inode, so a
 * descriptor number that was closed and reused is never taken for it. An
 * entry whose outcome was never asked for (the socket was closed first)
 * may be taken over once it is PENDING_STALE_NS old. */
#define PENDING_MAX 64
#define PENDING_STALE_NS (UINT64_C(60) * 1000000000u)
static struct pending {
    uint64_t ino; /* 0: free */
    uint64_t since_ns;
    const struct tool *tool;
    int32_t owner;
} pending[PENDING_MAX];
static unsigned pending_live; /* entries in use: 0 spares getsockopt every look */



static void pending_add(int fd, const struct tool *tool, int32_t owner)
{
    uint64_t ino = conn_socket_inode(fd), now = clock_now_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; ino && i < PENDING_MAX; i++) {
        uint64_t seen = __atomic_load_n(&pending[i].ino, __ATOMIC_ACQUIRE);
        bool usable = seen == 0 || now - pending[i].since_ns >= PENDING_STALE_NS;
        if (usable && __atomic_compare_exchange_n(&pending[i].ino, &seen, ino, false,
                                                  __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            pending[i].since_ns = now;
            pending[i].tool = tool;
            pending[i].owner = owner;
            if (seen == 0)
                __atomic_fetch_add(&pending_live, 1, __ATOMIC_RELEASE);
            return;
        }
    }
    /* Full: this outcome goes unseen, and a probe's lease expires instead. */
}

/* The pending connect of fd's socket, removed from the table; NULL if none. */
static const struct tool *pending_take(int fd, int32_t *owner)
{
    uint64_t ino = conn_socket_inode(fd);
    for (size_t i = 0; ino && i < PENDING_MAX; i++) {
        if (__atomic_load_n(&pending[i].ino, __ATOMIC_ACQUIRE) != ino)
            continue;
        const struct tool *tool = pending[i].tool;
        *owner = pending[i].owner;
        uint64_t mine = ino;
        if (__atomic_compare_exchange_n(&pending[i].ino, &mine, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            __atomic_fetch_sub(&pending_live, 1, __ATOMIC_RELEASE);
            return tool;
        }
    }
    return NULL;
}

enum gate_outcome net_outcome(int rc, int err)
{
    if (rc >= 0)
        return OUTCOME_SUCCESS;
    switch (err) {
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ECONNRESET:
    case EPIPE:
        return OUTCOME_FAILURE;
    default:
        return OUTCOME_NEUTRAL;
    }
}

void net_nap(uint64_t ns)
{
    struct timespec left = {.tv_sec = (time_t)(ns / 1000000000u),
                            .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

bool net_blocking(int fd)
{
    int saved = errno;
    int flags = real.fcntl(fd, F_GETFL);
    errno = saved;
    return flags >= 0 && !(flags & O_NONBLOCK);
}

struct decision net_decide(struct call *call, int fd)
{
    const struct tool *t = call->tool;
    if (!t || t->on_limit != ON_LIMIT_WAIT || !net_blocking(fd))
        return shim_govern(call);
    uint64_t budget = (uint64_t)(t->max_wait * 1e9);
    for (;;) {
        call->may_wait_ns = budget;
        struct decision d = shim_govern(call);
        if (d.action != GATE_REFUSE || d.wait_ns == 0)
            return d;
        net_nap(d.wait_ns);
        budget -= d.wait_ns;
    }
}

/* A connect on a blocking socket that gives up at deadline (CLOCK_MONOTONIC
 * ns) with ETIMEDOUT, *timed_out then set; the socket's flags are as they
 * were. A connect still under way at the deadline is left so: the caller
 * closes the socket, or a retry dissolves it first. */
static int connect_until(int fd, const struct sockaddr *addr, socklen_t len, uint64_t deadline,
                         bool *timed_out)
{
    int flags = real.fcntl(fd, F_GETFL);
    if (flags < 0 || real.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return real.connect(fd, addr, len);
    int rc = real.connect(fd, addr, len);
    int err = errno;
    while (rc < 0 && err == EINPROGRESS) {
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            err = ETIMEDOUT;
            *timed_out = true;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
        if (n < 0 && errno != EINTR) {
            err = errno;
            break;
        }
        if (n > 0) {
            int so_error = 0;
            socklen_t sl = sizeof so_error;
            real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &sl);
            rc = so_error ? -1 : 0;
            err = so_error;
        }
    }
    real.fcntl(fd, F_SETFL, flags);
    errno = err;
    return rc;
}

/* Reports how one attempt ended to the tool's breaker. A connect that
 * succeeds says only that the port is open: whether the tool works is told
 * by the exchange that follows (io.c), so that a service that accepts and
 * then resets or hangs still opens its breaker. A connect left in progress
 * is told when the client reads SO_ERROR. */
/* A connect interrupted by a signal goes on in the background, as one left
 * in progress does: its end is known later (SO_ERROR, the first exchange). */
static bool connect_goes_on(int err)
{
    return err == EINPROGRESS || err == EINTR;
}

static void report(struct call *call, int fd, int rc, int err)
{
    if (!call->tool->has_breaker || rc == 0)
        return;
    if (connect_goes_on(err))
        pending_add(fd, call->tool, shim_thread_id());
    else
        shim_outcome(call, net_outcome(rc, err), shim_thread_id());
}

/* A connect the gate admitted, made as the tool says: on a blocking socket
 * within timeout_seconds (all attempts together), and retried with the
 * tool's backoff after the failures that say it is down, every attempt
 * through the gate again. Never on a non-blocking socket: an event loop
 * must not be kept waiting. */
static int connect_as_tool(int fd, const struct sockaddr *addr, socklen_t len,
                           struct call *call, bool inet)
{
    const struct tool *t = call->tool;
    /* Only a deadline or a retry needs to know (one fcntl). */
    bool block = inet && (t->timeout_seconds > 0 || t->retry.max_attempts > 1) && net_blocking(fd);
    uint64_t start = clock_now_ns(CLOCK_MONOTONIC);
    uint64_t deadline =
        block && t->timeout_seconds > 0 ? start + (uint64_t)(t->timeout_seconds * 1e9) : 0;
    uint64_t seed = start ^ (uint64_t)(uint32_t)call->tid << 32;
    struct random_source rng = {splitmix64_next, &seed};
    for (uint32_t attempt = 1;; attempt++) {
        bool timed_out = false;
        int rc = deadline ? connect_until(fd, addr, len, deadline, &timed_out)
                          : real.connect(fd, addr, len);
        int err = errno;
        report(call, fd, rc, err);
        if (timed_out)
            shim_record(call, "timeout", ETIMEDOUT, 0, NULL);
        bool retry = rc != 0 && block && !timed_out &&
                     net_outcome(rc, err) == OUTCOME_FAILURE &&
                     backoff_should_retry(&t->retry, attempt);
        uint64_t delay = retry ? backoff_delay_ns(&t->retry, attempt - 1, &rng) : 0;
        if (retry && deadline && clock_now_ns(CLOCK_MONOTONIC) + delay >= deadline)
            retry = false;
        if (!retry) {
            errno = err;
            return rc;
        }
        char detail[64];
        snprintf(detail, sizeof detail, "attempt %u of %u failed; the next in %.3f s",
                 attempt, t->retry.max_attempts, (double)delay / 1e9);
        shim_record(call, "retry", err, delay, detail);
        net_nap(delay);
        const struct enact_config *cfg;
        if (shim_enter(&cfg)) {
            struct decision d = net_decide(call, fd);
            shim_leave();
            if (d.action != GATE_PROCEED) {
                errno = d.err ? d.err : EPERM;
                return -1;
            }
        }
    }
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return real.connect(fd, addr, len);
    struct net_target target;
    char text[160], host[HOST_NAME_MAX_LEN + 1];
    struct call call = {.op = "connect", .target = text, .defer_dry_run = true};
    struct decision d = {.action = GATE_PROCEED};
    bool governed = false;
    if (net_target_from_sockaddr(addr, len, &target)) {
        if (target.kind == TARGET_INET && shim_host_of(cfg, target.addr, host, sizeof host))
            call.host = target.host = host;
        call.tool = cfg ? config_match_connect(cfg, &target) : NULL;
        governed = (call.tool || !cfg) &&
                   !(target.kind == TARGET_INET && connect_under_way(fd));
        if (governed) {
            net_target_format(&target, text, sizeof text);
            call.tid = shim_thread_id();
            d = net_decide(&call, fd);
        }
    }
    shim_leave();
    if (d.action == GATE_REFUSE) {
        errno = d.err ? d.err : EPERM;
        return -1;
    }
    if (!governed || !call.tool)
        return real.connect(fd, addr, len);
    if (d.action == GATE_SIMULATE)
        return net_simulated(fd, &call);
    int rc = connect_as_tool(fd, addr, len, &call, target.kind == TARGET_INET);
    if (rc == 0 || connect_goes_on(errno))
        net_track(fd, &call);
    return rc;
}

void net_track(int fd, const struct call *call)
{
    int saved = errno;
    bool breaker = call->tool->has_breaker;
    if (!conn_open(fd, call, breaker ? CONN_OUTCOME_DUE : 0) && breaker && !connect_goes_on(saved))
        shim_outcome(call, OUTCOME_SUCCESS, shim_thread_id()); /* untracked: the connect says it */
    errno = saved;
}

/* Clients learn how a non-blocking connect ended from SO_ERROR (curl,
 * libuv, Python): so does the breaker. */
EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    real_ensure();
    int rc = real.getsockopt(fd, level, name, value, len);
    if (rc != 0 || level != SOL_SOCKET || name != SO_ERROR || !value || !len ||
        *len < sizeof(int) || __atomic_load_n(&pending_live, __ATOMIC_ACQUIRE) == 0)
        return rc;
    int err = errno, so_error = *(int *)value;
    int state = so_error ? -1 : tcp_state(fd);
    if (so_error == 0 && state == TCP_SYN_SENT)
        return rc; /* asked too early: the outcome is still to come */
    int32_t owner = 0;
    const struct tool *tool = pending_take(fd, &owner);
    struct conn *c = conn_of(fd);
    bool tracked = c && c->tool == tool && conn_is(c, fd);
    /* Connected: the exchange will tell, if the connection is followed. */
    bool tell = so_error ? !tracked || conn_take(c, CONN_OUTCOME_DUE) : !tracked;
    if (tool && tell) {
        struct call call = {.op = "connect", .tool = tool};
        shim_outcome(&call, net_outcome(so_error ? -1 : 0, so_error), owner);
    }
    errno = err;
    return rc;
}
