/* The libc functions behind our interposers, resolved once.
 *
 * real_resolve() runs in the library constructor, before the program can
 * fork or vfork, so that no hook ever calls dlsym (which may allocate) in
 * a vfork child. A hook reached before the constructor (from another
 * library's constructor) resolves on demand. */
#ifndef ENACT_REAL_H
#define ENACT_REAL_H

#include <netdb.h>
#include <spawn.h>
#include <sys/socket.h>

struct real_libc {
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
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
    struct hostent *(*gethostbyname)(const char *);
    struct hostent *(*gethostbyname2)(const char *, int);
};

/* Filled by real_resolve(); read-only afterwards. */
extern struct real_libc real;

void real_resolve(void);

#endif
