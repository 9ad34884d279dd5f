/* Interposers for what is sent and received on governed connections:
 * send, sendto, sendmsg, sendmmsg, write, writev; recv, recvfrom, recvmsg,
 * recvmmsg, read, readv.
 *
 * A descriptor no tool governs costs one load (conn_of). On a governed one
 * each call takes the same path: the connection's owner is asked before
 * the real call (conn_life.h: a request may begin and be refused, a
 * simulated connection's bytes go to its server, an I/O timeout may run
 * out) and told its result after. A send with a destination (UDP, TCP Fast
 * Open) is decided like a connect to it. */
#include "conn_life.h"
#include "net_call.h"
#include "real.h"

#include <errno.h>

/* The real call of any member of the family, given the list and flags;
 * ctx holds what else it takes (its msghdr, its address). */
typedef ssize_t perform_fn(int fd, const struct life_io *io, void *ctx);

/* Tells c's owner what the real call returned. */
static ssize_t told(struct conn *c, const struct life_io *io, ssize_t rc)
{
    int err = errno;
    const struct enact_config *cfg;
    if (shim_enter_held(&cfg)) {
        life_after(c, io, rc, err);
        shim_leave();
    }
    errno = err;
    return rc;
}

/* The whole path of a send or a receive on a governed descriptor. */
static ssize_t governed(struct conn *c, int fd, const struct life_io *io, perform_fn *perform,
                        void *ctx)
{
    const struct enact_config *cfg;
    if (!shim_enter_held(&cfg))
        return perform(fd, io, ctx);
    ssize_t rc;
    enum life_step step = life_before(c, fd, io, &rc);
    shim_leave();
    return step == LIFE_DONE ? rc : told(c, io, perform(fd, io, ctx));
}

/* A send to addr on a socket that is no governed connection, or a
 * datagram one: a UDP datagram (each one a call of the tool) or TCP Fast
 * Open (a connect that carries data), decided as a connect to addr is. */
static ssize_t send_elsewhere(int fd, const struct sockaddr *addr, socklen_t alen,
                              const struct life_io *io, perform_fn *perform, void *ctx)
{
    const struct enact_config *cfg;
    if (!shim_enter(&cfg))
        return perform(fd, io, ctx);
    struct net_call nc;
    bool fast_open = io->flags & MSG_FASTOPEN;
    struct decision d = {.action = GATE_PROCEED};
    if (net_classify(cfg, addr, alen, &nc) && (nc.call.tool || !cfg)) {
        nc.call.op = fast_open ? "connect" : "send";
        nc.call.defer_dry_run = true;
        net_call_name(&nc);
        d = net_decide(&nc.call, fd);
    }
    shim_leave();
    if (d.action == GATE_REFUSE)
        return net_refused(&d);
    if (d.action == GATE_SIMULATE)
        return life_simulate_send(fd, &nc.call, fast_open, io->iov, io->n);
    ssize_t rc = perform(fd, io, ctx);
    if (nc.call.tool && fast_open)
        life_fast_open_ended(fd, &nc.call, rc, errno);
    return rc;
}

/* A destination on a socket that is a governed connection is the
 * connection's own peer (TCP ignores it): only datagrams go elsewhere. */
static bool goes_elsewhere(const struct conn *c, const void *addr)
{
    return addr && (!c || (conn_flags(c) & CONN_DATAGRAM));
}

/* ---- the real calls, in one shape --------------------------------------- */

static ssize_t do_send(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.send(fd, io->iov[0].iov_base, io->iov[0].iov_len, io->flags);
}

static ssize_t do_write(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.write(fd, io->iov[0].iov_base, io->iov[0].iov_len);
}

static ssize_t do_writev(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.writev(fd, io->iov, (int)io->n);
}

struct to_addr {
    const struct sockaddr *addr;
    socklen_t len;
};

static ssize_t do_sendto(int fd, const struct life_io *io, void *ctx)
{
    const struct to_addr *to = ctx;
    return real.sendto(fd, io->iov[0].iov_base, io->iov[0].iov_len, io->flags, to->addr, to->len);
}

static ssize_t do_sendmsg(int fd, const struct life_io *io, void *ctx)
{
    return real.sendmsg(fd, ctx, io->flags);
}

static ssize_t do_recv(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.recv(fd, io->iov[0].iov_base, io->iov[0].iov_len, io->flags);
}

struct from_addr {
    struct sockaddr *addr;
    socklen_t *len;
};

static ssize_t do_recvfrom(int fd, const struct life_io *io, void *ctx)
{
    struct from_addr *from = ctx;
    return real.recvfrom(fd, io->iov[0].iov_base, io->iov[0].iov_len, io->flags, from->addr,
                         from->len);
}

static ssize_t do_read(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.read(fd, io->iov[0].iov_base, io->iov[0].iov_len);
}

static ssize_t do_readv(int fd, const struct life_io *io, void *ctx)
{
    (void)ctx;
    return real.readv(fd, io->iov, (int)io->n);
}

static ssize_t do_recvmsg(int fd, const struct life_io *io, void *ctx)
{
    return real.recvmsg(fd, ctx, io->flags);
}

/* ---- the interposers ---------------------------------------------------- */

/* Each hook that has nothing to do while no connection is followed goes
 * straight to libc (an unmapped send: BENCHMARKS.md, B1); the rest of
 * its work lives in a function of its own, so that the way straight
 * through saves and restores no registers. */
#define NOINLINE __attribute__((noinline))

NOINLINE static ssize_t send_followed(int fd, const void *buf, size_t len, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.send(fd, buf, len, flags);
    struct iovec v = {(void *)buf, len};
    struct life_io io = {.sending = true, .iov = &v, .n = 1, .flags = flags};
    return governed(c, fd, &io, do_send, NULL);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    if (real_ready() && conn_none())
        return real.send(fd, buf, len, flags);
    return send_followed(fd, buf, len, flags);
}
EXPORT ssize_t __send(int fd, const void *buf, size_t len, int flags) GLIBC_ALIAS(send);

NOINLINE static ssize_t write_followed(int fd, const void *buf, size_t len)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.write(fd, buf, len);
    struct iovec v = {(void *)buf, len};
    struct life_io io = {.sending = true, .iov = &v, .n = 1};
    return governed(c, fd, &io, do_write, NULL);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    if (real_ready() && conn_none())
        return real.write(fd, buf, len);
    return write_followed(fd, buf, len);
}
EXPORT ssize_t __write(int fd, const void *buf, size_t len) GLIBC_ALIAS(write);

NOINLINE static ssize_t writev_followed(int fd, const struct iovec *iov, int n)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || n <= 0)
        return real.writev(fd, iov, n);
    struct life_io io = {.sending = true, .iov = iov, .n = (size_t)n};
    return governed(c, fd, &io, do_writev, NULL);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (real_ready() && conn_none())
        return real.writev(fd, iov, n);
    return writev_followed(fd, iov, n);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t alen)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    bool elsewhere = goes_elsewhere(c, addr);
    if (!c && !elsewhere)
        return real.sendto(fd, buf, len, flags, addr, alen);
    struct iovec v = {(void *)buf, len};
    struct life_io io = {.sending = true, .iov = &v, .n = 1, .flags = flags};
    struct to_addr to = {addr, alen}; /* on a connected stream the kernel ignores addr */
    return elsewhere ? send_elsewhere(fd, addr, alen, &io, do_sendto, &to)
                     : governed(c, fd, &io, do_sendto, &to);
}

/* The msghdr is only read: ctx is not const so that one shape serves
 * sends and receives. */
EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    bool elsewhere = msg && goes_elsewhere(c, msg->msg_name);
    if (!msg || (!c && !elsewhere))
        return real.sendmsg(fd, msg, flags);
    struct life_io io = {
        .sending = true, .iov = msg->msg_iov, .n = (size_t)msg->msg_iovlen, .flags = flags};
    return elsewhere ? send_elsewhere(fd, msg->msg_name, msg->msg_namelen, &io, do_sendmsg,
                                      (void *)msg)
                     : governed(c, fd, &io, do_sendmsg, (void *)msg);
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
EXPORT int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
    GLIBC_ALIAS(sendmmsg);

NOINLINE static ssize_t recv_followed(int fd, void *buf, size_t len, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.recv(fd, buf, len, flags);
    struct iovec v = {buf, len};
    struct life_io io = {.iov = &v, .n = 1, .flags = flags};
    return governed(c, fd, &io, do_recv, NULL);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    if (real_ready() && conn_none())
        return real.recv(fd, buf, len, flags);
    return recv_followed(fd, buf, len, flags);
}
EXPORT ssize_t __recv(int fd, void *buf, size_t len, int flags) GLIBC_ALIAS(recv);

NOINLINE static ssize_t recvfrom_followed(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.recvfrom(fd, buf, len, flags, addr, alen);
    struct iovec v = {buf, len};
    struct life_io io = {.iov = &v, .n = 1, .flags = flags};
    struct from_addr from = {addr, alen};
    return governed(c, fd, &io, do_recvfrom, &from);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                        socklen_t *alen)
{
    if (real_ready() && conn_none())
        return real.recvfrom(fd, buf, len, flags, addr, alen);
    return recvfrom_followed(fd, buf, len, flags, addr, alen);
}

NOINLINE static ssize_t recvmsg_followed(int fd, struct msghdr *msg, int flags)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || !msg)
        return real.recvmsg(fd, msg, flags);
    struct life_io io = {.iov = msg->msg_iov, .n = (size_t)msg->msg_iovlen, .flags = flags};
    return governed(c, fd, &io, do_recvmsg, msg);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (real_ready() && conn_none())
        return real.recvmsg(fd, msg, flags);
    return recvmsg_followed(fd, msg, flags);
}

/* A simulated connection serves the first message only, as a short batch.
 * A real batch is told to the owner as one receive, and its bytes (no
 * list: n = 0) are not followed for TLS framing; no I/O timeout applies. */
NOINLINE static int recvmmsg_followed(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
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
    struct life_io batch = {.flags = flags};
    return (int)told(c, &batch, real.recvmmsg(fd, vec, vlen, flags, timeout));
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
                    struct timespec *timeout)
{
    if (real_ready() && conn_none())
        return real.recvmmsg(fd, vec, vlen, flags, timeout);
    return recvmmsg_followed(fd, vec, vlen, flags, timeout);
}

NOINLINE static ssize_t read_followed(int fd, void *buf, size_t len)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c)
        return real.read(fd, buf, len);
    struct iovec v = {buf, len};
    struct life_io io = {.iov = &v, .n = 1};
    return governed(c, fd, &io, do_read, NULL);
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    if (real_ready() && conn_none())
        return real.read(fd, buf, len);
    return read_followed(fd, buf, len);
}
EXPORT ssize_t __read(int fd, void *buf, size_t len) GLIBC_ALIAS(read);

NOINLINE static ssize_t readv_followed(int fd, const struct iovec *iov, int n)
{
    real_ensure();
    struct conn *c = conn_of(fd);
    if (!c || n <= 0)
        return real.readv(fd, iov, n);
    struct life_io io = {.iov = iov, .n = (size_t)n};
    return governed(c, fd, &io, do_readv, NULL);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    if (real_ready() && conn_none())
        return real.readv(fd, iov, n);
    return readv_followed(fd, iov, n);
}
