/* The libc functions behind our interposers, resolved once.
 *
 * real_resolve() runs in the library constructor, before the program can
 * fork or vfork, so that no hook ever calls dlsym (which may allocate) in
 * a vfork child. A hook reached before the constructor (from another
 * library's constructor) resolves on demand. */
#ifndef ENACT_REAL_H
#define ENACT_REAL_H

#include "../pure/elf_symbols.h"

#include <netdb.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

struct real_libc {
    /* First, in this order: dl.c's entry points jump through them by
     * offset. libc's own (glibc 2.34 moved them into libc.so.6), never the
     * shim's exports: dlsym found first, on the walk itself; dlvsym and
     * dlmopen by dl.c at the first call that needs them. */
    void *(*dlsym)(void *, const char *);
    void *(*dlvsym)(void *, const char *, const char *);
    void *(*dlmopen)(long, const char *, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                       const posix_spawnattr_t *, char *const[], char *const[]);
    int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);
    /* Called at every start: through here, no first call through the PLT. */
    char *(*secure_getenv)(const char *);
    int (*clock_gettime)(clockid_t, struct timespec *);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
    struct hostent *(*gethostbyname)(const char *);
    struct hostent *(*gethostbyname2)(const char *, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    int (*close)(int);
    int (*close_range)(unsigned int, unsigned int, int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*system)(const char *);
    FILE *(*popen)(const char *, const char *);
    int (*pclose)(FILE *);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
    pid_t (*wait4)(pid_t, int *, int, struct rusage *);
    int (*waitid)(idtype_t, id_t, siginfo_t *, int);
    int (*fcntl64)(int, int, ...);
    long (*syscall)(long, ...); /* also resolved by syscall.c, if called first */
    /* Optional: NULL where this libc has none (_Fork before glibc 2.34). */
    pid_t (*_Fork)(void);
    int (*clone)(int (*)(void *), void *, int, void *, ...);
    /* Not a function: the shim's own file as the loader named it ("" when
     * the hooks are linked into a program), found on the same walk. */
    const char *shim_file;
    uint64_t shim_build; /* its GNU build ID folded into 64 bits; 0: none */
    /* Its table of exports (dl.c), read only when a lookup needs it;
     * shim_dynamic NULL: unknown. */
    uintptr_t shim_base;
    const ElfW(Dyn) *shim_dynamic;
};

/* Filled by real_resolve(); read-only afterwards. */
extern struct real_libc real;

void real_resolve(void);

/* Whether real_resolve() has run: every pointer is set. */
static inline bool real_ready(void)
{
    return __atomic_load_n(&real.fcntl64, __ATOMIC_ACQUIRE) != NULL;
}

/* Resolves now if no one has yet (a hook reached before our constructor). */
static inline void real_ensure(void)
{
    if (!real_ready())
        real_resolve();
}

#endif
