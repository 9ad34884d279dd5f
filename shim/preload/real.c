#include "real.h"

#include "libc_next.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct real_libc real;

/* The message goes to the kernel without write() or syscall(), which are
 * our hooks: through libc's syscall() once it is found (it is found first),
 * else through dprintf, which writes with libc's internal write (not
 * fputs to stderr: a data symbol, bound at every load of the shim). */
static void *must_find(const struct libc_next *next, const char *name, uint32_t hash)
{
    void *fn = libc_next_find(next, name, hash);
    if (!fn) {
        static const char msg[] = "enact: cannot find the C library's own functions; aborting\n";
        long (*sys)(long, ...) = __atomic_load_n(&real.syscall, __ATOMIC_ACQUIRE);
        if (sys)
            (void)sys(SYS_write, 2L, (long)msg, (long)(sizeof msg - 1));
        else
            (void)dprintf(2, "%s", msg);
        abort();
    }
    return fn;
}

/* Function pointers from dlsym: POSIX guarantees the conversion. */
#define RESOLVE(field)                                                                         \
    (*(void **)&real.field = must_find(&next, #field, ELF_GNU_HASH_OF(#field)))

void real_resolve(void)
{
    if (__atomic_load_n(&real.fcntl64, __ATOMIC_ACQUIRE))
        return;
    /* One walk of the loaded objects, then a hash lookup per name: a
     * tenth of what a dlsym each cost (bench/NOTES.md). */
    struct libc_next next;
    libc_next_init(&next, &real);
    real.shim_file = next.self_file ? next.self_file : "";
    real.shim_build = next.self_build;
    real.shim_base = next.self_base;
    real.shim_dynamic = next.self_dynamic;
    /* Before any other name: what the walk cannot decide is asked of it. */
    __atomic_store_n((void **)&real.dlsym, *(void **)&next.dlsym, __ATOMIC_RELEASE);
    /* First: must_find's message needs it. Atomic, as syscall.c may set it
     * too. */
    __atomic_store_n((void **)&real.syscall, must_find(&next, "syscall", ELF_GNU_HASH_OF("syscall")),
                     __ATOMIC_RELEASE);
    RESOLVE(connect);
    RESOLVE(getsockopt);
    RESOLVE(execve);
    RESOLVE(execv);
    RESOLVE(execvp);
    RESOLVE(execvpe);
    RESOLVE(posix_spawn);
    RESOLVE(posix_spawnp);
    RESOLVE(secure_getenv);
    RESOLVE(clock_gettime);
    RESOLVE(getaddrinfo);
    RESOLVE(gethostbyname);
    RESOLVE(gethostbyname2);
    RESOLVE(send);
    RESOLVE(sendto);
    RESOLVE(sendmsg);
    RESOLVE(sendmmsg);
    RESOLVE(write);
    RESOLVE(writev);
    RESOLVE(recv);
    RESOLVE(recvfrom);
    RESOLVE(recvmsg);
    RESOLVE(recvmmsg);
    RESOLVE(read);
    RESOLVE(readv);
    RESOLVE(close);
    RESOLVE(close_range);
    RESOLVE(dup);
    RESOLVE(dup2);
    RESOLVE(dup3);
    RESOLVE(fcntl);
    RESOLVE(system);
    RESOLVE(popen);
    RESOLVE(pclose);
    RESOLVE(fexecve);
    RESOLVE(execveat);
    RESOLVE(wait4);
    RESOLVE(waitid);
    *(void **)&real._Fork = libc_next_find(&next, "_Fork", ELF_GNU_HASH_OF("_Fork"));
    *(void **)&real.clone = libc_next_find(&next, "clone", ELF_GNU_HASH_OF("clone"));
    /* Last, and released: real_ensure() takes it to mean all are set. */
    __atomic_store_n((void **)&real.fcntl64, must_find(&next, "fcntl64", ELF_GNU_HASH_OF("fcntl64")),
                     __ATOMIC_RELEASE);
}
