/* Dry-run connections: connect succeeds without reaching the tool.
 *
 * The program's socket is connected to a listener of our own on loopback
 * (or an abstract unix name) that accepts and closes at once, so it is a
 * real connected socket of the family and type the program made: options
 * such as TCP_NODELAY apply, poll and epoll report it readable, reads see
 * EOF. What is sent is dropped (and recorded) and reads are served
 * dry_run.response by the connection's owner (conn_life.c). No descriptor
 * of ours outlives the call. */
#include "simulate.h"

#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/un.h>

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
        ((struct sockaddr_in6 *)a)->sin6_addr = in6addr_loopback;
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

int simulate_connect(int fd, bool *datagram)
{
    int saved = errno;
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
        int peer = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (peer >= 0)
            real.close(peer);
        else
            err = errno;
    }
    real.close(ls);
    errno = saved;
    return err;
}
