/* syscall(): the libc door to the kernel that passes every other hook.
 *
 * Without strict mode it passes every call through unchanged. With
 * `strict = true` the calls Enact governs are routed to their interposers,
 * so syscall(SYS_connect, ...) is decided exactly as connect() is, and
 * io_uring (which performs connects and writes the hooks never see) is
 * refused with ENOSYS, as on a kernel without it: programs fall back to
 * plain calls. What this cannot see: an inline syscall instruction, and a
 * static program's; THREAT-MODEL.md. */
#include "identity.h"
#include "net_call.h"
#include "real.h"
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

/* real_resolve sets it in the constructor; a call that comes before (from
 * another library's constructor) resolves it here alone, with libc's dlsym
 * (the shim's own is an export a PLT call would reach). The shim's own
 * code never calls this hook: it uses real.syscall. */
static long (*next_syscall(void))(long, ...)
{
    void *fn = __atomic_load_n((void **)&real.syscall, __ATOMIC_ACQUIRE);
    if (!fn) {
        void *(*find)(void *, const char *) = __atomic_load_n(&real.dlsym, __ATOMIC_ACQUIRE);
        if (!find) {
            real_ensure(); /* finds real.syscall first of all */
            fn = __atomic_load_n((void **)&real.syscall, __ATOMIC_ACQUIRE);
        } else {
            fn = find(RTLD_NEXT, "syscall");
            __atomic_store_n((void **)&real.syscall, fn, __ATOMIC_RELEASE);
        }
    }
    return *(long (**)(long, ...))&fn;
}

static bool strict(void)
{
    const struct enact_config *cfg = shim_config();
    return cfg && cfg->strict;
}

/* A child made past the fork and vfork hooks, which keep the identity
 * caches true (identity.h). */
static bool makes_a_process(long number)
{
    switch (number) {
#ifdef SYS_fork
    case SYS_fork:
#endif
#ifdef SYS_vfork
    case SYS_vfork:
#endif
    case SYS_clone:
    case SYS_clone3:
        return true;
    default:
        return false;
    }
}

/* x86-64 and aarch64 pass syscall()'s six arguments as longs. */
EXPORT long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    long (*sys)(long, ...) = next_syscall();
    if (!sys) {
        errno = ENOSYS;
        return -1;
    }
    if (makes_a_process(number))
        identity_uncached();
    if (!strict())
        return sys(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    switch (number) {
    case SYS_io_uring_setup:
    case SYS_io_uring_enter:
    case SYS_io_uring_register:
        if (shim_strict_refusal(number == SYS_io_uring_setup    ? "io_uring_setup"
                                : number == SYS_io_uring_enter ? "io_uring_enter"
                                                               : "io_uring_register")) {
            errno = ENOSYS;
            return -1;
        }
        break;
    case SYS_connect:
        return connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
    case SYS_sendto:
        return sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3],
                      (const struct sockaddr *)a[4], (socklen_t)a[5]);
    case SYS_sendmsg:
        return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
    case SYS_sendmmsg:
        return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3]);
    case SYS_write:
        return write((int)a[0], (const void *)a[1], (size_t)a[2]);
    case SYS_writev:
        return writev((int)a[0], (const struct iovec *)a[1], (int)a[2]);
    case SYS_close:
        return close((int)a[0]);
    case SYS_close_range:
        return close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
    case SYS_dup:
        return dup((int)a[0]);
    case SYS_dup2:
        return dup2((int)a[0], (int)a[1]);
    case SYS_dup3:
        return dup3((int)a[0], (int)a[1], (int)a[2]);
    case SYS_execve:
        return execve((const char *)a[0], (char *const *)a[1], (char *const *)a[2]);
    case SYS_execveat:
        return execveat((int)a[0], (const char *)a[1], (char *const *)a[2], (char *const *)a[3],
                        (int)a[4]);
    default:
        break;
    }
    return sys(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
