/* Interposers for the network family: connect, and getsockopt(SO_ERROR)
 * to learn how a non-blocking connect ended. What the socket interposers
 * share is net_call.c's; what a connection does after its connect is
 * conn_life.c's. */
#include "conn_life.h"
#include "identity.h"
#include "net_call.h"
#include "real.h"
#include "../store/clock.h"

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
 * decided, not a new one. True for a TCP socket past its initial state.
 * Every connect admitted here that succeeded or went on is in the
 * connection table, so a socket the table does not hold is a new one,
 * without asking the kernel; unless the table once had no place for one. */
static bool connect_under_way(int fd)
{
    if (conn_none_refused()) {
        const struct conn *c = conn_of(fd);
        if (!c || !conn_is(c, fd))
            return false;
    }
    int state = tcp_state(fd);
    return state >= 0 && state != TCP_CLOSE;
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

/* Whether a failed attempt is tried again, and after how long: only on a
 * blocking socket, after a failure that says the tool is down, within the
 * tool's retry.max_attempts and the connect's deadline (0: none). */
static bool retry_after(const struct tool *t, uint32_t attempt, int rc, int err, uint64_t deadline,
                        struct random_source *rng, uint64_t *delay)
{
    if (rc == 0 || net_outcome(rc, err) != OUTCOME_FAILURE ||
        !backoff_should_retry(&t->retry, attempt))
        return false;
    *delay = backoff_delay_ns(&t->retry, attempt - 1, rng);
    return !deadline || clock_now_ns(CLOCK_MONOTONIC) + *delay < deadline;
}

/* A connect the gate admitted, made as the tool says: on a blocking socket
 * within timeout_seconds (all attempts together), and retried with the
 * tool's backoff after the failures that say it is down, every attempt
 * through the gate again. Never on a non-blocking socket: an event loop
 * must not be kept waiting. Each attempt's end is told to the connection's
 * owner. */
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
        life_connect_ended(fd, call, rc, err);
        if (timed_out)
            shim_record(call, "timeout", ETIMEDOUT, 0, NULL);
        uint64_t delay = 0;
        if (!block || timed_out || !retry_after(t, attempt, rc, err, deadline, &rng, &delay)) {
            errno = err;
            return rc;
        }
        char detail[64];
        snprintf(detail, sizeof detail, "attempt %u of %u failed; the next in %.3f s",
                 attempt, t->retry.max_attempts, (double)delay / 1e9);
        shim_record(call, "retry", err, delay, detail);
        net_nap(delay);
        const struct enact_config *cfg;
        if (shim_enter_held(&cfg)) {
            struct decision d = net_decide(call, fd);
            shim_leave();
            if (d.action != GATE_PROCEED)
                return net_refused(&d);
        }
    }
}

/* A connect is governed when a tool's rule matches its address (or the
 * config is broken: then it is refused), and it is not an event loop's
 * second call for a connect already decided. */
EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return real.connect(fd, addr, len);
    struct net_call nc;
    struct decision d = {.action = GATE_PROCEED};
    bool classified = net_classify(cfg, addr, len, &nc);
    bool governed = classified && (nc.call.tool || !cfg) &&
                    !(nc.target.kind == TARGET_INET && connect_under_way(fd));
    if (governed) {
        nc.call.op = "connect";
        nc.call.defer_dry_run = true;
        nc.call.tid = shim_thread_id();
        net_call_name(&nc);
        d = net_decide(&nc.call, fd);
    } else if (classified && !nc.call.tool && shim_may_stop_unmapped()) {
        nc.call.op = "connect";
        net_call_name(&nc);
        int err = shim_unmapped_refusal(&nc.call);
        if (err)
            d = (struct decision){.action = GATE_REFUSE, .err = err};
    }
    shim_leave();
    int rc;
    if (d.action == GATE_REFUSE)
        rc = net_refused(&d);
    else if (!governed || !nc.call.tool)
        rc = real.connect(fd, addr, len);
    else if (d.action == GATE_SIMULATE)
        rc = life_simulate(fd, &nc.call);
    else
        rc = connect_as_tool(fd, addr, len, &nc.call, nc.target.kind == TARGET_INET);
    return rc;
}
EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len)
    GLIBC_ALIAS(connect);

/* Clients learn how a non-blocking connect ended from SO_ERROR (curl,
 * libuv, Python): so does the breaker. */
EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    real_ensure();
    int rc = real.getsockopt(fd, level, name, value, len);
    if (rc == 0 && level == SOL_SOCKET && name == SO_ERROR && value && len &&
        *len >= sizeof(int) && life_any_under_way()) {
        int so_error = *(int *)value;
        /* Connected but still in SYN_SENT: asked too early, the end is to come. */
        if (so_error != 0 || tcp_state(fd) != TCP_SYN_SENT)
            life_so_error(fd, so_error);
    }
    return rc;
}
