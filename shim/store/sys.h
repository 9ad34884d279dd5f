/* The store's system calls that the preload also interposes.
 *
 * In a governed process the shim's exported read, write, close, sendto, connect, getsockopt and getaddrinfo
 * come first in symbol lookup, so a plain close() in the state code or a
 * write() in the audit sink would enter the shim's own hooks. The store
 * calls these instead: linked into the shim (preload/sys_real.c) they go
 * straight to libc's functions, resolved once with dlsym(RTLD_NEXT);
 * linked into the CLI, the tests and the fuzzers (sys_libc.c) they are
 * libc's. Same contracts as the libc calls, errno included. */
#ifndef ENACT_SYS_H
#define ENACT_SYS_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

ssize_t sys_read(int fd, void *buf, size_t len);
ssize_t sys_write(int fd, const void *buf, size_t len);
int sys_close(int fd);
ssize_t sys_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                   socklen_t tolen);
int sys_connect(int fd, const struct sockaddr *to, socklen_t tolen);
int sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len);
int sys_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res);
/* dlsym: the shim exports its own, which strict mode answers differently. */
void *sys_dlsym(void *handle, const char *name);

/* The calls every governed process makes at its start (reading its
 * compiled policy, mapping its state file, checking their owner) and the
 * state check at each decision. The preload does not interpose them, but
 * in the shim each would be the first call of a libc function through the
 * PLT, which costs the loader about 800 instructions to bind: sys_real.c
 * makes them through the syscall() libc's own walk already found
 * (bench/NOTES.md, B6). */
int sys_open(const char *path, int flags, mode_t mode);
int sys_stat(const char *path, struct stat *st);
int sys_fstat(int fd, struct stat *st);
void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
uid_t sys_getuid(void);
uid_t sys_geteuid(void);
/* Through the pointers the shim's walk found, for the same reason. */
char *sys_secure_getenv(const char *name);
int sys_clock_gettime(clockid_t id, struct timespec *ts);
/* clock_gettime by the system call itself, not the vDSO (clock.h). */
int sys_clock_gettime_syscall(clockid_t id, struct timespec *ts);

/* fallocate, the one call that would make the shim need GLIBC_2.10: each
 * version the shim needs is checked by the loader at every start. */
int sys_fallocate(int fd, int mode, off_t offset, off_t len);

#endif
