/* Interposers for the wait family: wait, waitpid, wait3, wait4, waitid.
 * They change nothing in the answer; a reaped child that ran a program of
 * a tool with a breaker tells it how the program ended (children.h). */
#include "children.h"
#include "config_watch.h"
#include "real.h"
#include "shim.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* A program that starts its children with vfork (Python's subprocess)
 * decides their programs with its own config, so it follows an edit here
 * too when it makes no call of its own: from an image only, as a SIGCHLD
 * handler may be where it waits (config_watch.h). */
static void child_ended(pid_t pid, int status)
{
    children_reaped(pid, status);
    config_watch_tick(false);
}

/* Every form goes to wait4 (glibc's own wait and waitpid are wait4 too). */
static pid_t reaped(pid_t pid, int status, int *out)
{
    if (pid > 0) {
        if (out)
            *out = status;
        child_ended(pid, status);
    }
    return pid;
}

EXPORT pid_t wait(int *status)
{
    real_ensure();
    int mine = 0;
    pid_t pid = real.wait4(-1, &mine, 0, NULL);
    return reaped(pid, mine, status);
}
EXPORT pid_t __wait(int *status) GLIBC_ALIAS(wait);

EXPORT pid_t waitpid(pid_t which, int *status, int options)
{
    real_ensure();
    int mine = 0;
    pid_t pid = real.wait4(which, &mine, options, NULL);
    return reaped(pid, mine, status);
}
EXPORT pid_t __waitpid(pid_t which, int *status, int options) GLIBC_ALIAS(waitpid);

EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
    real_ensure();
    int mine = 0;
    pid_t pid = real.wait4(-1, &mine, options, usage);
    return reaped(pid, mine, status);
}

EXPORT pid_t wait4(pid_t which, int *status, int options, struct rusage *usage)
{
    real_ensure();
    int mine = 0;
    pid_t pid = real.wait4(which, &mine, options, usage);
    return reaped(pid, mine, status);
}

EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    real_ensure();
    int rc = real.waitid(idtype, id, info, options);
    if (rc != 0 || !info || (options & WNOWAIT) || info->si_pid <= 0)
        return rc;
    int status;
    switch (info->si_code) {
    case CLD_EXITED: status = W_EXITCODE(info->si_status, 0); break;
    case CLD_KILLED:
    case CLD_DUMPED: status = info->si_status & 0x7f; break;
    default: return rc;
    }
    child_ended(info->si_pid, status);
    return rc;
}
