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

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return real.connect(fd, addr, len);
    int err = 0;
    struct net_target target;
    if (net_target_from_sockaddr(addr, len, &target)) {
        const struct tool *tool = cfg ? config_match_connect(cfg, &target) : NULL;
        if ((tool || !cfg) && !(target.kind == TARGET_INET && connect_under_way(fd))) {
            char text[160];
            net_target_format(&target, text, sizeof text);
            err = shim_govern(&(struct call){.op = "connect", .tool = tool, .target = text});
        }
    }
    shim_leave();
    if (err) {
        errno = err;
        return -1;
    }
    return real.connect(fd, addr, len);
}
