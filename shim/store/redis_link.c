#include "redis_link.h"

#include "clock.h"
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

static bool fail(char *why, size_t cap, const char *what, int err)
{
    if (err)
        snprintf(why, cap, "%s: %s", what, strerror(err));
    else
        snprintf(why, cap, "%s", what);
    return false;
}

bool redis_target_numeric(const char *host, uint16_t port, struct redis_target *t)
{
    snprintf(t->name, sizeof t->name, "%s", host);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;
    memset(&t->addr, 0, sizeof t->addr);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        t->len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        t->len = sizeof *v6;
        return true;
    }
    return false;
}

bool redis_target_of(const char *host, uint16_t port, struct redis_target *t, char *why,
                     size_t cap)
{
    if (redis_target_numeric(host, port, t))
        return true;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int rc = sys_getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, cap, "cannot resolve %s: %s", host, gai_strerror(rc));
        t->len = 0;
        return false;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->len = res->ai_addrlen;
    snprintf(t->name, sizeof t->name, "%s", host);
    freeaddrinfo(res);
    return true;
}

bool redis_target_resolve(const struct redis_url *u, struct redis_target *t, char *why,
                          size_t cap)
{
    if (u->transport != REDIS_UNIX)
        return redis_target_of(u->host, u->port, t, why, cap);
    struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
    memset(&t->addr, 0, sizeof t->addr);
    un->sun_family = AF_UNIX;
    snprintf(t->name, sizeof t->name, "%s", u->path);
    memcpy(un->sun_path, u->path, strlen(u->path) + 1);
    t->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(u->path) + 1);
    return true;
}

void redis_link_init(struct redis_link *l)
{
    l->fd = -1;
    l->ssl = NULL;
    l->fresh = false;
    l->have = l->used = 0;
}

/* Milliseconds left until deadline_ns, at least 1 while any is left. */
static int left_ms(uint64_t deadline_ns)
{
    uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
    if (now >= deadline_ns)
        return 0;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Waits for events on l's socket; false on timeout or error. */
static bool wait_for(int fd, short events, uint64_t deadline_ns, char *why, size_t cap)
{
    for (;;) {
        int ms = left_ms(deadline_ns);
        if (ms == 0)
            return fail(why, cap, "no answer within backend.timeout_ms", 0);
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, ms);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return fail(why, cap, "poll", errno);
    }
}

bool redis_link_open(struct redis_link *l, const struct redis_target *t, struct redis_tls *tls,
                     uint64_t deadline_ns, char *why, size_t cap)
{
    redis_link_init(l);
    if (t->len == 0)
        return fail(why, cap, "the backend's address is not resolved", 0);
    int family = ((const struct sockaddr *)&t->addr)->sa_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(why, cap, "socket", errno);
    if (family != AF_UNIX) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (sys_connect(fd, (const struct sockaddr *)&t->addr, t->len) != 0) {
        int err = errno;
        if (err != EINPROGRESS && err != EINTR) {
            sys_close(fd);
            return fail(why, cap, "connect", err);
        }
        int so_error = 0;
        socklen_t n = sizeof so_error;
        if (!wait_for(fd, POLLOUT, deadline_ns, why, cap) ||
            sys_getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &n) != 0 || so_error) {
            sys_close(fd);
            return so_error ? fail(why, cap, "connect", so_error) : false;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        sys_close(fd);
        return fail(why, cap, "fstat", err);
    }
    if (tls) {
        l->io.fd = fd;
        l->ssl = redis_tls_session(tls, &l->io, t->name, deadline_ns, why, cap);
        if (!l->ssl) {
            sys_close(fd);
            return false;
        }
    }
    l->fd = fd;
    l->fresh = true;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return true;
}

bool redis_link_intact(const struct redis_link *l)
{
    struct stat st;
    return l->fd >= 0 && fstat(l->fd, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino;
}

static void let_go(struct redis_link *l, bool notify)
{
    bool ours = redis_link_intact(l);
    if (l->ssl)
        redis_tls_end(l->ssl, notify && ours);
    if (ours)
        sys_close(l->fd);
    l->fd = -1;
    l->ssl = NULL;
    l->have = l->used = 0;
}

void redis_link_close(struct redis_link *l)
{
    let_go(l, true);
}

void redis_link_drop(struct redis_link *l)
{
    let_go(l, false);
}

/* One read or write of l, over TLS or not: -1 with errno EAGAIN when the
 * socket must become ready first (*write: for writing). */
static ssize_t link_write(struct redis_link *l, const char *buf, size_t n, bool *write)
{
    *write = true;
    if (l->ssl)
        return redis_tls_write(l->ssl, buf, n, write);
    return sys_sendto(l->fd, buf, n, MSG_NOSIGNAL, NULL, 0);
}

static ssize_t link_read(struct redis_link *l, char *buf, size_t n, bool *write)
{
    *write = false;
    if (l->ssl)
        return redis_tls_read(l->ssl, buf, n, write);
    return sys_read(l->fd, buf, n);
}

bool redis_link_send(struct redis_link *l, const char *req, size_t len, uint64_t deadline_ns,
                     char *why, size_t cap)
{
    /* Replies left from an exchange given up on would answer this one. */
    l->have = l->used = 0;
    while (len > 0) {
        bool write;
        ssize_t n = link_write(l, req, len, &write);
        if (n > 0) {
            req += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(l->fd, write ? POLLOUT : POLLIN, deadline_ns, why, cap))
                return false;
        } else {
            return fail(why, cap, "send", n < 0 ? errno : EPIPE);
        }
    }
    return true;
}

bool redis_link_reply(struct redis_link *l, struct resp_reply *out, uint64_t deadline_ns,
                      char *why, size_t cap)
{
    for (;;) {
        long took = resp_parse(l->inbox + l->used, l->have - l->used, out);
        if (took > 0) {
            l->used += (size_t)took;
            return true;
        }
        if (took < 0)
            return fail(why, cap, "the server's reply is not one Enact understands", 0);
        if (l->used > 0) { /* keep the unparsed tail at the start */
            memmove(l->inbox, l->inbox + l->used, l->have - l->used);
            l->have -= l->used;
            l->used = 0;
        }
        if (l->have == sizeof l->inbox)
            return fail(why, cap, "the server's reply is larger than Enact expects", 0);
        bool write;
        ssize_t n = link_read(l, l->inbox + l->have, sizeof l->inbox - l->have, &write);
        if (n > 0) {
            l->have += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(l->fd, write ? POLLOUT : POLLIN, deadline_ns, why, cap))
                return false;
        } else {
            return fail(why, cap, n == 0 ? "the server closed the connection" : "read",
                        n < 0 ? errno : 0);
        }
    }
}
