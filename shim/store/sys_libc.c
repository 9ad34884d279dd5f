/* sys.h for programs that interpose nothing: the CLI, the unit tests, the
 * fuzzers and the benchmarks. The shim links preload/sys_real.c instead. */
#include "sys.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t sys_read(int fd, void *buf, size_t len)
{
    return read(fd, buf, len);
}

ssize_t sys_write(int fd, const void *buf, size_t len)
{
    return write(fd, buf, len);
}

int sys_close(int fd)
{
    return close(fd);
}

ssize_t sys_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                   socklen_t tolen)
{
    return sendto(fd, buf, len, flags, to, tolen);
}

int sys_connect(int fd, const struct sockaddr *to, socklen_t tolen)
{
    return connect(fd, to, tolen);
}

int sys_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res)
{
    return getaddrinfo(node, service, hints, res);
}

int sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    return getsockopt(fd, level, name, value, len);
}

int sys_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}

int sys_stat(const char *path, struct stat *st)
{
    return stat(path, st);
}

int sys_fstat(int fd, struct stat *st)
{
    return fstat(fd, st);
}

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    return mmap(addr, len, prot, flags, fd, offset);
}

uid_t sys_getuid(void)
{
    return getuid();
}

char *sys_secure_getenv(const char *name)
{
    return secure_getenv(name);
}

int sys_clock_gettime(clockid_t id, struct timespec *ts)
{
    return clock_gettime(id, ts);
}

int sys_clock_gettime_syscall(clockid_t id, struct timespec *ts)
{
    return (int)syscall(SYS_clock_gettime, id, ts);
}

uid_t sys_geteuid(void)
{
    return geteuid();
}

int sys_fallocate(int fd, int mode, off_t offset, off_t len)
{
    return fallocate(fd, mode, offset, len);
}

void *sys_dlsym(void *handle, const char *name)
{
    return dlsym(handle, name);
}
