/* An interposer of connect and send of its own, for test_libc_next: loaded
 * after the checker (or the shim), it is the next definition of both. Both
 * fail with ENOTSUP, which nothing else here would give. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    (void)fd, (void)addr, (void)len;
    errno = ENOTSUP;
    return -1;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    (void)fd, (void)buf, (void)len, (void)flags;
    errno = ENOTSUP;
    return -1;
}
