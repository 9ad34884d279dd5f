/* Interposers that keep the descriptor -> connection table true: close,
 * close_range, dup, dup2, dup3, fcntl(F_DUPFD, F_DUPFD_CLOEXEC). Each
 * costs one load unless a governed connection is involved. */
#include "conn_life.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <unistd.h>

EXPORT int close(int fd)
{
    real_ensure();
    if (conn_of(fd))
        life_closed(conn_detach(fd));
    return real.close(fd);
}
EXPORT int __close(int fd) GLIBC_ALIAS(close);

EXPORT int close_range(unsigned int lo, unsigned int hi, int flags)
{
    real_ensure();
    if (!(flags & CLOSE_RANGE_CLOEXEC) && conn_any_in(lo, hi)) {
        int saved = errno;
        for (unsigned fd = lo; fd <= hi && fd < CONN_FD_MAX; fd++)
            if (conn_of((int)fd))
                life_closed(conn_detach((int)fd));
        errno = saved;
    }
    return real.close_range(lo, hi, flags);
}

/* After a dup that made to from from. */
static int duplicated(int from, int to)
{
    if (to >= 0 && to != from && (conn_of(from) || conn_of(to))) {
        int saved = errno;
        life_closed(conn_dup(from, to));
        errno = saved;
    }
    return to;
}

EXPORT int dup(int fd)
{
    real_ensure();
    return duplicated(fd, real.dup(fd));
}

EXPORT int dup2(int from, int to)
{
    real_ensure();
    return duplicated(from, real.dup2(from, to));
}
EXPORT int __dup2(int from, int to) __THROW GLIBC_ALIAS(dup2);

EXPORT int dup3(int from, int to, int flags)
{
    real_ensure();
    return duplicated(from, real.dup3(from, to, flags));
}

/* fcntl's third argument is an int, a long or a pointer by command; read
 * as a pointer it is passed on intact whichever it is (glibc does the
 * same). */
static int fcntl_as(int (*impl)(int, int, ...), int fd, int cmd, void *arg)
{
    int rc = impl(fd, cmd, arg);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        return duplicated(fd, rc);
    return rc;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    real_ensure();
    return fcntl_as(real.fcntl, fd, cmd, arg);
}
EXPORT int __fcntl(int fd, int cmd, ...) GLIBC_ALIAS(fcntl);

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    real_ensure();
    return fcntl_as(real.fcntl64, fd, cmd, arg);
}
EXPORT int __libc_fcntl64(int fd, int cmd, ...) GLIBC_ALIAS(fcntl64);
