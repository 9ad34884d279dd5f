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

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WATCHDOG_GRACE_MS 2000

/* The file /proc/PID/exe names, as (dev, ino); pid 0: this process. */
static bool exe_of(pid_t pid, struct stat *st)
{
    char link[32] = "/proc/self/exe";
    if (pid > 0) {
        size_t n = 6;
        char digits[12];
        size_t k = 0;
        for (unsigned v = (unsigned)pid; k == 0 || v; v /= 10)
            digits[k++] = (char)('0' + v % 10);
        while (k)
            link[n++] = digits[--k];
        const char tail[] = "/exe";
        for (size_t i = 0; i < sizeof tail; i++)
            link[n + i] = tail[i];
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

static void signal_it(int pidfd, int sig)
{
    syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

_Noreturn static void watch(pid_t target, const struct call *call, const struct stat *before)
{
    syscall(SYS_close_range, 0u, ~0u, 0);
    setsid(); /* out of the program's process group and terminal */
    int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
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
    long mid = syscall(SYS_clone, 0L /* no exit signal */, NULL, NULL, NULL, NULL);
    if (mid == 0) {
        long dog = syscall(SYS_clone, (long)SIGCHLD, NULL, NULL, NULL, NULL);
        if (dog == 0)
            watch(target, call, known ? &before : NULL);
        _exit(0);
    }
    if (mid > 0)
        while (real.wait4((pid_t)mid, NULL, __WCLONE, NULL) < 0 && errno == EINTR)
            ;
    errno = saved;
}
