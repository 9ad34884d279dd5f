/* sys.h inside the shim: the store's own calls go to libc's functions, never
 * through our interposers (which would look each descriptor up as a
 * governed connection). */
#include "real.h"
#include "../store/sys.h"

ssize_t sys_read(int fd, void *buf, size_t len)
{
    real_ensure();
    return real.read(fd, buf, len);
}

ssize_t sys_write(int fd, const void *buf, size_t len)
{
    real_ensure();
    return real.write(fd, buf, len);
}

int sys_close(int fd)
{
    real_ensure();
    return real.close(fd);
}

ssize_t sys_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                   socklen_t tolen)
{
    real_ensure();
    return real.sendto(fd, buf, len, flags, to, tolen);
}

int sys_connect(int fd, const struct sockaddr *to, socklen_t tolen)
{
    real_ensure();
    return real.connect(fd, to, tolen);
}

int sys_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res)
{
    real_ensure();
    return real.getaddrinfo(node, service, hints, res);
}

int sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    real_ensure();
    return real.getsockopt(fd, level, name, value, len);
}
