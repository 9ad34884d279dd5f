#include "real.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

struct real_libc real;

static void *must_find(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        static const char msg[] = "enact: cannot find the C library's own functions; aborting\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    return fn;
}

/* Function pointers from dlsym: POSIX guarantees the conversion. */
#define RESOLVE(field) (*(void **)&real.field = must_find(#field))

void real_resolve(void)
{
    if (real.gethostbyname2)
        return;
    RESOLVE(connect);
    RESOLVE(getsockopt);
    RESOLVE(execve);
    RESOLVE(execv);
    RESOLVE(execvp);
    RESOLVE(execvpe);
    RESOLVE(posix_spawn);
    RESOLVE(posix_spawnp);
    RESOLVE(getaddrinfo);
    RESOLVE(gethostbyname);
    RESOLVE(gethostbyname2);
}
