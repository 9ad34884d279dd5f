/* What the socket interposers share: see net_call.h. */
#include "net_call.h"

#include "real.h"
#include "../policy/config_match.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>

enum call_outcome net_outcome(int rc, int err)
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
    if (!t || t->on_limit != ON_LIMIT_WAIT || !net_blocking(fd)) {
        struct decision d = shim_govern(call);
        call->probe = d.probe;
        return d;
    }
    uint64_t budget = (uint64_t)(t->max_wait * 1e9);
    for (;;) {
        call->may_wait_ns = budget;
        struct decision d = shim_govern(call);
        call->probe = d.probe;
        if (d.action != GATE_REFUSE || d.wait_ns == 0)
            return d;
        net_nap(d.wait_ns);
        budget -= d.wait_ns;
    }
}

bool net_classify(const struct enact_config *cfg, const struct sockaddr *addr, socklen_t len,
                  struct net_call *nc)
{
    nc->call = (struct call){.target = nc->text};
    if (!net_target_from_sockaddr(addr, len, &nc->target))
        return false;
    if (nc->target.kind == TARGET_INET &&
        shim_host_of(cfg, nc->target.addr, nc->host, sizeof nc->host))
        nc->call.host = nc->target.host = nc->host;
    nc->call.tool = cfg ? config_match_connect(cfg, &nc->target) : NULL;
    nc->call.port = nc->target.port;
    return true;
}

void net_call_name(struct net_call *nc)
{
    net_target_format(&nc->target, nc->text, sizeof nc->text);
}

int net_refused(const struct decision *d)
{
    errno = d->err ? d->err : EPERM;
    return -1;
}

