/* A preload library for test_libc_next: at load, each name is looked up
 * as the shim looks up libc's functions (preload/libc_next.c) and with
 * dlsym(RTLD_NEXT), and the answers compared. Prints one line:
 * "next_check: N names, N found in one pass, N mismatches, usable U",
 * then a line per mismatch. */
#include "../../../shim/preload/libc_next.h"

#include <dlfcn.h>
#include <stdio.h>

static const char *const names[] = {
    "syscall",  "connect",  "getsockopt", "execve",   "execv",       "execvp",
    "execvpe",  "posix_spawn", "posix_spawnp", "getaddrinfo", "gethostbyname",
    "gethostbyname2", "send", "sendto",  "sendmsg",  "sendmmsg",    "write",
    "writev",   "recv",     "recvfrom",   "recvmsg",  "recvmmsg",    "read",
    "readv",    "close",    "close_range", "dup",     "dup2",        "dup3",
    "fcntl",    "system",   "popen",      "pclose",   "fexecve",     "execveat",
    "wait4",    "waitid",   "fcntl64",
    /* not the shim's: an IFUNC, a weak alias, one nobody defines */
    "memcpy",   "strlen",   "__connect",  "next_check_nobody_defines_this"};

__attribute__((constructor)) static void check(void)
{
    struct libc_next next;
    libc_next_init(&next, (const void *)check);
    size_t n = sizeof names / sizeof names[0], direct = 0, bad = 0;
    char lines[4096] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        void *mine = libc_next_find(&next, names[i], elf_gnu_hash(names[i]));
        void *want = dlsym(RTLD_NEXT, names[i]);
        for (size_t k = 0; next.usable && k < next.n; k++) {
            void *addr;
            enum elf_found r = elf_symbols_find(&next.objects[k], names[i], &addr);
            if (r == ELF_FOUND)
                direct++;
            if (r != ELF_ABSENT)
                break;
        }
        if (mine != want) {
            bad++;
            used += (size_t)snprintf(lines + used, used < sizeof lines ? sizeof lines - used : 0,
                                     "next_check: %s: %p, dlsym(RTLD_NEXT) %p\n", names[i], mine,
                                     want);
        }
    }
    fprintf(stderr, "next_check: %zu names, %zu found in one pass, %zu mismatches, usable %d\n%s",
            n, direct, bad, next.usable, lines);
}
