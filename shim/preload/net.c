/* Interposers for the network family: connect. */
#include "real.h"
#include "shim.h"

#include <errno.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return real.connect(fd, addr, len);
    int err = 0;
    struct net_target target;
    if (net_target_from_sockaddr(addr, len, &target)) {
        const struct tool *tool = cfg ? config_match_connect(cfg, &target) : NULL;
        if (tool || !cfg) {
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
