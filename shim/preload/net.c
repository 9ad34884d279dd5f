/* Interposers for the network family: connect. */
#include "real.h"
#include "shim.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define EXPORT __attribute__((visibility("default")))

/* Event loops (libuv, hiredis) complete a non-blocking connect by calling
 * connect() again on the same socket: that is the same call, already
 * decided, not a new one. True for a TCP socket past its initial state. */
static bool connect_under_way(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    int saved = errno;
    bool busy = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
                len >= sizeof info.tcpi_state && info.tcpi_state != TCP_CLOSE;
    errno = saved;
    return busy;
}

/* Whether a connect's result says the tool is failing (DESIGN §3); other
 * errors, and a connect still in progress, say nothing about it. */
static enum gate_outcome connect_outcome(int rc, int err)
{
    if (rc == 0)
        return OUTCOME_SUCCESS;
    switch (err) {
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ECONNRESET:
        return OUTCOME_FAILURE;
    default:
        return OUTCOME_NEUTRAL;
    }
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return real.connect(fd, addr, len);
    struct net_target target;
    char text[160], host[HOST_NAME_MAX_LEN + 1];
    struct call call = {.op = "connect", .target = text};
    struct decision d = {GATE_PROCEED, 0};
    bool governed = false;
    if (net_target_from_sockaddr(addr, len, &target)) {
        if (target.kind == TARGET_INET && shim_host_of(cfg, target.addr, host, sizeof host))
            call.host = target.host = host;
        call.tool = cfg ? config_match_connect(cfg, &target) : NULL;
        governed = (call.tool || !cfg) &&
                   !(target.kind == TARGET_INET && connect_under_way(fd));
        if (governed) {
            net_target_format(&target, text, sizeof text);
            d = shim_govern(&call);
        }
    }
    shim_leave();
    if (d.action != GATE_PROCEED) {
        /* The config refuses dry-run for connect rules: a simulation here
         * is refused like a denial rather than half done. */
        errno = d.err ? d.err : EPERM;
        return -1;
    }
    int rc = real.connect(fd, addr, len);
    if (governed) {
        int err = errno;
        shim_outcome(&call, connect_outcome(rc, err));
        errno = err;
    }
    return rc;
}
