/* Handlers a forked child runs before fork() returns in it (pthread_atfork's
 * third argument), in the order they were registered.
 *
 * Registered with glibc's __register_atfork, which pthread_atfork calls: in
 * a library pthread_atfork is a stub linked in from libc_nonshared.a, and
 * its text lies outside the start-up functions' pages, so calling it at
 * start cost every governed process a page fault (bench/NOTES.md, B6).
 * __dso_handle names this library, as the stub would: the handlers go when
 * it is unloaded. */
#ifndef ENACT_ON_FORK_H
#define ENACT_ON_FORK_H

#include <stddef.h>

extern void *__dso_handle __attribute__((visibility("hidden")));
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);

static inline void on_fork_child(void (*child)(void))
{
    __register_atfork(NULL, NULL, child, __dso_handle);
}

#endif
