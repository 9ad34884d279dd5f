/* Interposers for the exec family: execve, execv, execvp, execvpe, execl,
 * execlp, execle, fexecve, execveat, posix_spawn, posix_spawnp.
 *
 * glibc calls its internal __execve from execvp, execl* and posix_spawn, so
 * each is hooked by name. These run in vfork children (Python's subprocess,
 * posix_spawn): no allocation, no stdio, no lock, stack buffers only, and
 * the re-entry guard is never held across the real exec, whose child shares
 * this thread's memory. */
#include "exec.h"

#include "children.h"
#include "env.h"
#include "identity.h"
#include "real.h"
#include "shim.h"
#include "watchdog.h"
#include "../policy/config_match.h"
#include "../pure/num.h"
#include "../store/binfmt.h"
#include "../store/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* glibc's execvp falls back to this when PATH is unset (_CS_PATH). */
#define DEFAULT_PATH "/bin:/usr/bin"

/* Callers that try each PATH entry themselves (Python's subprocess, dash)
 * call execve or execv again right after a refusal, with the same argv,
 * often on the same file through a symlinked folder (/bin -> /usr/bin). The
 * gate decides each attempt, but such a run of attempts is recorded once: a
 * repeat is the same process, argv array and file within REPEAT_WINDOW_NS.
 * The searching forms (execvp, posix_spawnp) search inside libc and are
 * never repeated this way. */
#define REPEAT_WINDOW_NS 100000000u

static __thread struct {
    pid_t pid;
    char *const *argv;
    dev_t dev;
    ino_t ino;
    uint64_t at_ns;
} last_refused __attribute__((tls_model("initial-exec")));


static bool executable_file(const char *path, struct stat *st)
{
    return stat(path, st) == 0 && S_ISREG(st->st_mode) && access(path, X_OK) == 0;
}

bool exec_find_program(const char *file, bool search_path, char out[PATH_MAX], struct stat *st)
{
    if (!file || !*file)
        return false;
    size_t flen = strlen(file);
    if (!search_path || strchr(file, '/')) {
        if (flen >= PATH_MAX)
            return false;
        memcpy(out, file, flen + 1);
        return executable_file(out, st);
    }
    const char *dirs = getenv("PATH");
    if (!dirs)
        dirs = DEFAULT_PATH;
    for (const char *p = dirs;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        /* An empty entry is the current folder. */
        if (dlen + 1 + flen < PATH_MAX) {
            memcpy(out, p, dlen);
            size_t n = dlen;
            if (dlen)
                out[n++] = '/';
            memcpy(out + n, file, flen + 1);
            if (executable_file(out, st))
                return true;
        }
        if (!*end)
            return false;
        p = end;
    }
}

enum exec_form { FORM_PATH, FORM_SEARCH, FORM_SPAWN, FORM_SPAWN_SEARCH };

/* A static or privileged program escapes the preload: the gate decides,
 * under static_binaries and strict, whether it may start. */
static struct decision unfollowable(const char *op, const struct tool *tool, const char *path,
                                    char *const argv[])
{
    struct binfmt b = binfmt_of(path);
    if (b.kind != BINFMT_STATIC && !b.privileged && !b.unreadable)
        return (struct decision){.action = GATE_PROCEED};
    return shim_unfollowable(
        &(struct call){.op = op, .tool = tool, .target = path, .argv = argv},
        b.kind == BINFMT_STATIC ? "static_binary"
        : b.privileged          ? "setuid"
                                : "unreadable_program");
}

/* What an admitted exec or spawn runs: the tool that governs it (NULL:
 * none) and the file found. */
struct exec_plan {
    const struct tool *tool;
    bool admitted; /* decided by system() or popen(), which also tell how it ends */
    char path[PATH_MAX];
};

static struct decision govern_exec(enum exec_form form, const char *file, char *const argv[],
                                   struct exec_plan *plan)
{
    plan->tool = NULL;
    plan->admitted = false;
    const struct enact_config *cfg;
    struct decision d = {.action = GATE_PROCEED};
    if (!shim_enter(&cfg))
        return d;
    struct stat st;
    bool spawn = form == FORM_SPAWN || form == FORM_SPAWN_SEARCH;
    bool search = form == FORM_SEARCH || form == FORM_SPAWN_SEARCH;
    if (!exec_find_program(file, search, plan->path, &st)) {
        shim_leave();
        return d;
    }
    const struct tool *tool = cfg ? config_match_exec(cfg, plan->path, argv) : NULL;
    /* Before the admission is looked at: system() decided the command,
     * not what kind of program it turns out to be. */
    if (cfg && config_checks_programs(cfg))
        d = unfollowable(spawn ? "spawn" : "exec", tool, plan->path, argv);
    if (d.action != GATE_PROCEED) {
        /* refused: nothing else to decide */
    } else if (env_take_admission(argv)) {
        /* system() or popen() decided this one already: only its timeout
         * is left to apply. */
        plan->tool = tool;
        plan->admitted = true;
    } else if (tool || !cfg) {
        pid_t pid = shim_pid();
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        bool repeat = form == FORM_PATH && last_refused.pid == pid &&
                      last_refused.argv == argv && last_refused.dev == st.st_dev &&
                      last_refused.ino == st.st_ino &&
                      now - last_refused.at_ns < REPEAT_WINDOW_NS;
        plan->tool = tool;
        d = shim_govern(&(struct call){.op = spawn ? "spawn" : "exec",
                                       .tool = tool,
                                       .target = plan->path,
                                       .argv = argv,
                                       .quiet = repeat});
        last_refused.pid = d.action == GATE_REFUSE ? pid : 0;
        last_refused.argv = argv;
        last_refused.dev = st.st_dev;
        last_refused.ino = st.st_ino;
        last_refused.at_ns = now;
    } else if (shim_may_stop_unmapped()) {
        int err = shim_unmapped_refusal(&(struct call){
            .op = spawn ? "spawn" : "exec", .target = plan->path, .argv = argv});
        if (err)
            d = (struct decision){.action = GATE_REFUSE, .err = err};
    }
    shim_leave();
    return d;
}

static int refuse(int err)
{
    errno = err;
    return -1;
}

/* For the exec forms: true to go ahead. A refused call fails (errno set,
 * the caller returns -1); a simulated one ends the process as the program
 * would have on success (README "What the agent sees": no exec, the
 * process exits 0), or with the tool's dry_run.exit_code. */
static bool exec_proceeds(struct decision d, const struct exec_plan *plan)
{
    if (d.action == GATE_SIMULATE)
        _exit(plan->tool ? plan->tool->dry_run_exit_code : 0);
    if (d.action == GATE_REFUSE)
        errno = d.err;
    return d.action == GATE_PROCEED;
}

/* Just before the real exec of a governed program: the parent's wait
 * tells the tool's breaker how it ends, and a watchdog bounds its time. */
static void exec_starting(const struct exec_plan *plan, char *const argv[])
{
    if (!plan->tool)
        return;
    if (!plan->admitted)
        children_note(shim_pid(), getppid(), plan->tool, shim_thread_id());
    watchdog_start(shim_pid(),
                   &(struct call){.op = "exec", .tool = plan->tool, .target = plan->path,
                                  .argv = argv, .pid = shim_pid()},
                   false);
}

/* The real exec returned: the program did not start, a failure. */
static int exec_failed(const struct exec_plan *plan, int rc)
{
    if (plan->tool && !plan->admitted) {
        int err = errno;
        children_forget(shim_pid());
        children_ended(plan->tool, -1, shim_thread_id());
        errno = err;
    }
    return rc;
}

/* After a real spawn: its child is noted and watched, or the failure told. */
static int spawned(const struct exec_plan *plan, char *const argv[], int rc, pid_t child,
                   pid_t *pid)
{
    if (rc == 0 && pid)
        *pid = child;
    if (plan->tool && rc == 0) {
        children_note(child, shim_pid(), plan->tool, shim_thread_id());
        watchdog_start(child,
                       &(struct call){.op = "spawn", .tool = plan->tool, .target = plan->path,
                                      .argv = argv, .pid = child},
                       true);
    } else if (plan->tool) {
        children_ended(plan->tool, -1, shim_thread_id());
    }
    return rc;
}

/* A simulated spawn: a child that exits 0 at once, so that the caller's
 * wait sees the success it expects. vfork runs no atfork handlers. */
static int simulated_spawn(pid_t *pid)
{
    pid_t child = vfork();
    if (child == 0)
        _exit(0);
    if (child < 0)
        return errno;
    if (pid)
        *pid = child;
    return 0;
}

/* For the spawn forms: -1 to go ahead, else the value to return (an error
 * number, or 0 after a simulated spawn). */
static int spawn_result(struct decision d, pid_t *pid)
{
    if (d.action == GATE_REFUSE)
        return d.err;
    if (d.action == GATE_SIMULATE)
        return simulated_spawn(pid);
    return -1;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    struct exec_plan plan;
    if (!exec_proceeds(govern_exec(FORM_PATH, path, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, envp);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.execve(path, argv, child_env));
}

EXPORT int execv(const char *path, char *const argv[])
{
    struct exec_plan plan;
    if (!exec_proceeds(govern_exec(FORM_PATH, path, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, environ);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.execve(path, argv, child_env));
}

EXPORT int execvp(const char *file, char *const argv[])
{
    struct exec_plan plan;
    if (!exec_proceeds(govern_exec(FORM_SEARCH, file, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, environ);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.execvpe(file, argv, child_env));
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    struct exec_plan plan;
    if (!exec_proceeds(govern_exec(FORM_SEARCH, file, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, envp);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.execvpe(file, argv, child_env));
}

/* The file behind a descriptor (fexecve, execveat), by its /proc link;
 * false when it cannot be named. */
static bool fd_path(int fd, const char *rel, char out[PATH_MAX])
{
    char link[64] = "/proc/self/fd/";
    size_t n = sizeof "/proc/self/fd/" - 1;
    n += num_format_u64(link + n, (unsigned)fd);
    link[n] = '\0';
    ssize_t len = readlink(link, out, PATH_MAX - 1);
    if (len <= 0)
        return false;
    out[len] = '\0';
    if (rel && *rel) {
        size_t rlen = strlen(rel);
        if ((size_t)len + 1 + rlen >= PATH_MAX)
            return false;
        out[len] = '/';
        memcpy(out + len + 1, rel, rlen + 1);
    }
    return true;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    char path[PATH_MAX];
    struct exec_plan plan = {.tool = NULL};
    if (fd >= 0 && fd_path(fd, NULL, path) &&
        !exec_proceeds(govern_exec(FORM_PATH, path, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, envp);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.fexecve(fd, argv, child_env));
}

EXPORT int execveat(int dirfd, const char *file, char *const argv[], char *const envp[],
                    int flags)
{
    char path[PATH_MAX];
    const char *named = file;
    if (file[0] != '/') {
        bool empty = !*file && (flags & AT_EMPTY_PATH);
        named = (empty || dirfd != AT_FDCWD) && fd_path(dirfd, empty ? NULL : file, path)
                    ? path
                    : file;
    }
    struct exec_plan plan;
    if (!exec_proceeds(govern_exec(FORM_PATH, named, argv, &plan), &plan))
        return -1;
    ENV_FOR_CHILD(child_env, envp);
    exec_starting(&plan, argv);
    return exec_failed(&plan, real.execveat(dirfd, file, argv, child_env, flags));
}

/* The execl forms: gather the variadic arguments into an argv on the stack,
 * as glibc itself does. An absurd count fails like the kernel would. */
#define ARGV_LIMIT 65536

#define COLLECT_ARGV(argv, arg0, last_named, envp_out)                                        \
    size_t argc_ = 1;                                                                          \
    {                                                                                          \
        va_list count_;                                                                        \
        va_start(count_, last_named);                                                          \
        while (va_arg(count_, const char *) && argc_ < ARGV_LIMIT)                             \
            argc_++;                                                                           \
        va_end(count_);                                                                        \
    }                                                                                          \
    if (argc_ >= ARGV_LIMIT)                                                                   \
        return refuse(E2BIG);                                                                  \
    char *argv[argc_ + 1];                                                                     \
    {                                                                                          \
        va_list ap_;                                                                           \
        va_start(ap_, last_named);                                                             \
        argv[0] = (char *)(arg0);                                                              \
        for (size_t i_ = 1; i_ <= argc_; i_++)                                                 \
            argv[i_] = va_arg(ap_, char *);                                                    \
        envp_out;                                                                              \
        va_end(ap_);                                                                           \
    }

EXPORT int execl(const char *path, const char *arg, ...)
{
    COLLECT_ARGV(argv, arg, arg, (void)0);
    return execve(path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    COLLECT_ARGV(argv, arg, arg, (void)0);
    return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    char *const *envp;
    COLLECT_ARGV(argv, arg, arg, envp = va_arg(ap_, char *const *));
    return execve(path, argv, envp);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    struct exec_plan plan;
    int r = spawn_result(govern_exec(FORM_SPAWN, path, argv, &plan), pid);
    if (r >= 0)
        return r;
    ENV_FOR_CHILD(child_env, envp);
    pid_t child = 0;
    r = real.posix_spawn(&child, path, actions, attr, argv, child_env);
    return spawned(&plan, argv, r, child, pid);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    struct exec_plan plan;
    int r = spawn_result(govern_exec(FORM_SPAWN_SEARCH, file, argv, &plan), pid);
    if (r >= 0)
        return r;
    ENV_FOR_CHILD(child_env, envp);
    pid_t child = 0;
    r = real.posix_spawnp(&child, file, actions, attr, argv, child_env);
    return spawned(&plan, argv, r, child, pid);
}
