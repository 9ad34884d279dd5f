/* sys.h inside the shim: the store's own calls go to libc's functions, never
 * through our interposers (which would look each descriptor up as a
 * governed connection). */
#include "real.h"
#include "../store/sys.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

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

void *sys_dlsym(void *handle, const char *name)
{
    real_ensure();
    return real.dlsym(handle, name);
}

int sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    real_ensure();
    return real.getsockopt(fd, level, name, value, len);
}

/* Straight to the kernel through libc's syscall(), which sets errno as the
 * libc calls do. struct stat is the kernel's on x86-64 and aarch64 (the
 * layouts glibc passes through unchanged). */
int sys_open(const char *path, int flags, mode_t mode)
{
    real_ensure();
    return (int)real.syscall(SYS_openat, (long)AT_FDCWD, (long)path, (long)flags, (long)mode);
}

int sys_stat(const char *path, struct stat *st)
{
    real_ensure();
    return (int)real.syscall(SYS_newfstatat, (long)AT_FDCWD, (long)path, (long)st, 0L);
}

int sys_fstat(int fd, struct stat *st)
{
    real_ensure();
    return (int)real.syscall(SYS_fstat, (long)fd, (long)st);
}

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    real_ensure();
    return (void *)real.syscall(SYS_mmap, (long)addr, (long)len, (long)prot, (long)flags, (long)fd,
                                (long)offset);
}

uid_t sys_getuid(void)
{
    real_ensure();
    return (uid_t)real.syscall(SYS_getuid);
}

uid_t sys_geteuid(void)
{
    real_ensure();
    return (uid_t)real.syscall(SYS_geteuid);
}

char *sys_secure_getenv(const char *name)
{
    real_ensure();
    return real.secure_getenv(name);
}

int sys_clock_gettime(clockid_t id, struct timespec *ts)
{
    real_ensure();
    return real.clock_gettime(id, ts);
}

int sys_clock_gettime_syscall(clockid_t id, struct timespec *ts)
{
    real_ensure();
    return (int)real.syscall(SYS_clock_gettime, (long)id, (long)ts);
}

int sys_fallocate(int fd, int mode, off_t offset, off_t len)
{
    real_ensure();
    return (int)real.syscall(SYS_fallocate, (long)fd, (long)mode, (long)offset, (long)len);
}
