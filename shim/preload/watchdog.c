/* Ends a governed program that runs longer than its tool's timeout_seconds
 * (SIGTERM, then SIGKILL after WATCHDOG_GRACE_MS), with an audit record of
 * verdict "timeout".
 *
 * The watchdog must not be the program's child: a program that waits for
 * any child (wait(-1)) must never find it: the program sees the same
 * children as without Enact (README "Reliability", process transparency). So an intermediate
 * process is cloned with no exit signal (invisible to wait(-1), reaped here
 * with __WCLONE); it clones the watchdog and exits at once, leaving the
 * watchdog to init. Both are raw clones: no atfork handler runs, so this is
 * safe in a vfork child and in a threaded program. The watchdog closes
 * every descriptor (it must hold none of the program's pipes open), holds a
 * pidfd of the program, and signals only while the process still runs the
 * program it was started for (a failed exec leaves the caller alone). The
 * record names the watched process's pid. */
#include "watchdog.h"

#include "real.h"
#include "../pure/num.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WATCHDOG_GRACE_MS 2000

/* The file /proc/PID/exe names, as (dev, ino); pid 0: this process. */
static bool exe_of(pid_t pid, struct stat *st)
{
    char link[32] = "/proc/self/exe"; /* "/proc/", 20 digits, "/exe" and a NUL fit */
    if (pid > 0) {
        size_t n = sizeof "/proc/" - 1;
        n += num_format_u64(link + n, (unsigned)pid);
        memcpy(link + n, "/exe", sizeof "/exe");
    }
    return stat(link, st) == 0;
}

/* Whether target runs something else than the file (dev, ino) it ran
 * before its exec: the governed program, or what it went on to exec. */
static bool program_running(pid_t target, const struct stat *before)
{
    struct stat now;
    return exe_of(target, &now) && (!before || now.st_dev != before->st_dev ||
                                    now.st_ino != before->st_ino);
}

/* Waits at most ms for the process behind pidfd to end; true if it did. */
static bool ended_within(int pidfd, int ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
        ;
    return n != 0;
}

/* Every system call here goes through real.syscall, never our syscall()
 * hook (which strict mode would route to the close_range hook). It is set
 * before the program can fork (the constructor, or shim_enter, which the
 * exec that gets here passed), so the raw clone children only read it, and
 * libc's syscall() is async-signal-safe. */
static void signal_it(int pidfd, int sig)
{
    real.syscall(SYS_pidfd_send_signal, (long)pidfd, (long)sig, 0L, 0L);
}

_Noreturn static void watch(pid_t target, const struct call *call, const struct stat *before)
{
    real.syscall(SYS_close_range, 0L, (long)~0u, 0L);
    setsid(); /* out of the program's process group and terminal */
    int pidfd = (int)real.syscall(SYS_pidfd_open, (long)target, 0L);
    if (pidfd < 0)
        _exit(0);
    double seconds = call->tool->timeout_seconds;
    int ms = seconds * 1000 > 2e9 ? 2000000000 : (int)(seconds * 1000);
    if (ended_within(pidfd, ms) || !program_running(target, before))
        _exit(0);
    shim_record(call, "timeout", 0, 0, "ran longer than timeout_seconds: sent SIGTERM");
    signal_it(pidfd, SIGTERM);
    if (!ended_within(pidfd, WATCHDOG_GRACE_MS) && program_running(target, before))
        signal_it(pidfd, SIGKILL);
    _exit(0);
}

void watchdog_start(pid_t target, const struct call *call, bool running)
{
    if (!call->tool || call->tool->timeout_seconds <= 0)
        return;
    int saved = errno;
    struct stat before;
    bool known = !running && exe_of(0, &before);
    long mid = real.syscall(SYS_clone, 0L /* no exit signal */, 0L, 0L, 0L, 0L);
    if (mid == 0) {
        long dog = real.syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
        if (dog == 0)
            watch(target, call, known ? &before : NULL);
        _exit(0);
    }
    if (mid > 0)
        while (real.wait4((pid_t)mid, NULL, __WCLONE, NULL) < 0 && errno == EINTR)
            ;
    errno = saved;
}
