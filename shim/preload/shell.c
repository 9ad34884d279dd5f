/* Interposers for system(), popen() and pclose().
 *
 * glibc starts their shell through its internal posix_spawn, which no
 * interposer sees, with the program's environment, from which the shim's
 * variables are gone (env.c): so Enact runs the shell itself, with them
 * put back. A simple command (shell_words.h) is decided here, as op
 * "system" or "popen", with the answers README "What the agent sees"
 * gives: refused, system()
 * returns the status of a shell that exited 126 and popen() NULL with the
 * tool's errno; simulated, system() returns 0 and popen() an empty stream
 * whose pclose() is 0. The shell is then admitted to run exactly that
 * command (env_admission_entry), so it is not decided twice. Any other
 * command line is governed at each program the shell starts. The exit
 * status tells the tool's breaker how the command went, and with
 * retry.on_exit_nonzero a failed system() command is run again. */
#include "children.h"
#include "env.h"
#include "exec.h"
#include "identity.h"
#include "layout.h"
#include "net_call.h"
#include "real.h"
#include "shim.h"
#include "../policy/config_match.h"
#include "../pure/backoff.h"
#include "../pure/shell_words.h"
#include "../store/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL_PATH "/bin/sh"
#define WORDS_MAX 64

/* A command line decided: what to do, and the shell's admission. */
struct shell_call {
    struct decision d;
    bool decided;
    const struct tool *tool; /* when decided */
    char admission[ENV_ADMISSION_MAX];
    char path[PATH_MAX];
    char *words[WORDS_MAX];
    char buf[4096];
};

/* Decides cmd into *sc, as op; every attempt of a retried system() again. */
static void decide_command(const char *op, const char *cmd, struct shell_call *sc)
{
    sc->d = (struct decision){.action = GATE_PROCEED};
    sc->decided = false;
    sc->tool = NULL;
    struct stat st;
    const struct enact_config *cfg;
    if (!shell_simple_words(cmd, sc->buf, sizeof sc->buf, sc->words, WORDS_MAX) ||
        !exec_find_program(sc->words[0], true, sc->path, &st) || !shim_enter(&cfg))
        return;
    const struct tool *tool = cfg ? config_match_exec(cfg, sc->path, sc->words) : NULL;
    if (tool || !cfg) {
        sc->d = shim_govern(
            &(struct call){.op = op, .tool = tool, .target = sc->path, .argv = sc->words});
        sc->decided = true;
        sc->tool = tool;
        env_admission_entry(sc->words, sc->admission);
    }
    shim_leave();
}

/* Starts `sh -c cmd` with the shim's environment (and the admission, if
 * decided), the given file actions and signal set-up. */
static int spawn_shell(pid_t *pid, const char *cmd, const struct shell_call *sc,
                       const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr)
{
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    ENV_FOR_CHILD_WITH(child_env, environ, sc->decided ? sc->admission : NULL);
    return real.posix_spawn(pid, SHELL_PATH, actions, attr, argv, child_env);
}

static int wait_for(pid_t pid)
{
    int status;
    while (real.wait4(pid, &status, 0, NULL) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}


/* system() as POSIX has it: SIGINT and SIGQUIT ignored and SIGCHLD blocked
 * in the caller while the shell runs; the shell starts with the caller's
 * signal mask and default actions. */
static int run_system(const char *cmd, const struct shell_call *sc)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigset_t chld, old_mask, defaults;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old_mask);
    sigemptyset(&defaults);
    if (old_int.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGINT);
    if (old_quit.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGQUIT);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int status = spawn_shell(&pid, cmd, sc, NULL, &attr) == 0 ? wait_for(pid) : W_EXITCODE(127, 0);
    int err = errno;
    posix_spawnattr_destroy(&attr);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    errno = err;
    return status;
}

static bool failed(int status)
{
    return status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* With retry.on_exit_nonzero, a command that failed runs again after the
 * tool's backoff, every attempt through the gate, all within
 * timeout_seconds when the tool has one. Refused or simulated, an attempt
 * ends the run as a first attempt would. */
static int system_attempts(const char *cmd, struct shell_call *sc)
{
    uint64_t start = clock_now_ns(CLOCK_MONOTONIC);
    uint64_t seed = start ^ (uint64_t)(uint32_t)shim_thread_id() << 32;
    struct random_source rng = {splitmix64_next, &seed};
    for (uint32_t attempt = 1;; attempt++) {
        if (sc->d.action == GATE_REFUSE)
            return W_EXITCODE(126, 0);
        if (sc->d.action == GATE_SIMULATE)
            return 0;
        int status = run_system(cmd, sc);
        const struct tool *t = sc->tool;
        children_ended(t, status, shim_thread_id());
        if (!t || !t->retry_on_exit_nonzero || !failed(status) ||
            !backoff_should_retry(&t->retry, attempt))
            return status;
        uint64_t delay = backoff_delay_ns(&t->retry, attempt - 1, &rng);
        if (t->timeout_seconds > 0 &&
            clock_now_ns(CLOCK_MONOTONIC) + delay - start >= (uint64_t)(t->timeout_seconds * 1e9))
            return status;
        char detail[112];
        snprintf(detail, sizeof detail, "attempt %u of %u %s %d; the next in %.3f s", attempt,
                 t->retry.max_attempts,
                 status != -1 && WIFSIGNALED(status) ? "was killed by signal" : "exited with",
                 status == -1 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                 (double)delay / 1e9);
        shim_record(&(struct call){.op = "system", .tool = t, .target = sc->path,
                                   .argv = sc->words},
                    "retry", 0, delay, detail);
        net_nap(delay);
        decide_command("system", cmd, sc);
    }
}

EXPORT int system(const char *cmd)
{
    real_ensure();
    const struct enact_config *cfg;
    if (!cmd || !shim_enter(&cfg))
        return real.system(cmd);
    shim_leave();
    struct shell_call sc;
    decide_command("system", cmd, &sc);
    return system_attempts(cmd, &sc);
}
EXPORT int __libc_system(const char *cmd) GLIBC_ALIAS(system);

/* ---- popen -------------------------------------------------------------- */

/* The streams popen() made, for pclose(); pid 0: a simulated one. */
#define STREAMS_MAX 256
static struct stream {
    FILE *file; /* NULL: free */
    pid_t pid;
    const struct tool *tool; /* decided as a popen of this tool, or NULL */
} streams[STREAMS_MAX] BIG_TABLE;

static bool remember(FILE *f, pid_t pid, const struct tool *tool)
{
    for (size_t i = 0; i < STREAMS_MAX; i++) {
        FILE *none = NULL;
        if (__atomic_compare_exchange_n(&streams[i].file, &none, f, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            streams[i].tool = tool;
            __atomic_store_n(&streams[i].pid, pid, __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

/* The stream's shell (and tool), forgotten; -1 when f is not ours. */
static pid_t forget(FILE *f, const struct tool **tool)
{
    for (size_t i = 0; f && i < STREAMS_MAX; i++) {
        if (__atomic_load_n(&streams[i].file, __ATOMIC_ACQUIRE) != f)
            continue;
        pid_t pid = __atomic_load_n(&streams[i].pid, __ATOMIC_ACQUIRE);
        *tool = streams[i].tool;
        __atomic_store_n(&streams[i].file, NULL, __ATOMIC_RELEASE);
        return pid;
    }
    return -1;
}

/* "r" or "w", with an optional 'e' (close on exec); NULL-safe. */
static bool parse_mode(const char *mode, bool *reading, bool *cloexec)
{
    if (!mode || (mode[0] != 'r' && mode[0] != 'w'))
        return false;
    *reading = mode[0] == 'r';
    *cloexec = false;
    for (const char *m = mode + 1; *m; m++) {
        if (*m != 'e')
            return false;
        *cloexec = true;
    }
    return true;
}

static FILE *simulated_stream(bool reading, bool cloexec)
{
    int fd = open("/dev/null", (reading ? O_RDONLY : O_WRONLY) | (cloexec ? O_CLOEXEC : 0));
    FILE *f = fd >= 0 ? fdopen(fd, reading ? "r" : "w") : NULL;
    if (!f) {
        if (fd >= 0)
            real.close(fd);
        return NULL;
    }
    if (!remember(f, 0, NULL)) {
        fclose(f);
        errno = EMFILE;
        return NULL;
    }
    return f;
}

static FILE *run_popen(const char *cmd, bool reading, bool cloexec, const struct shell_call *sc)
{
    int fds[2];
    /* Through syscall(): pipe2 alone would make the shim need GLIBC_2.9,
     * a version the loader checks at every start. */
    if (real.syscall(SYS_pipe2, (long)fds, (long)O_CLOEXEC) != 0)
        return NULL;
    int mine = reading ? fds[0] : fds[1], theirs = reading ? fds[1] : fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, theirs, reading ? STDOUT_FILENO : STDIN_FILENO);
    pid_t pid;
    int err = spawn_shell(&pid, cmd, sc, &actions, NULL);
    posix_spawn_file_actions_destroy(&actions);
    real.close(theirs);
    if (err != 0) {
        real.close(mine);
        errno = err;
        return NULL;
    }
    FILE *f = cloexec || real.fcntl(mine, F_SETFD, 0) == 0 ? fdopen(mine, reading ? "r" : "w")
                                                           : NULL;
    if (f && remember(f, pid, sc->tool))
        return f;
    err = f ? EMFILE : errno;
    if (f)
        fclose(f);
    else
        real.close(mine);
    wait_for(pid); /* its pipe is gone: the shell ends */
    errno = err;
    return NULL;
}

EXPORT FILE *popen(const char *cmd, const char *mode)
{
    real_ensure();
    const struct enact_config *cfg;
    if (!cmd || !shim_enter(&cfg))
        return real.popen(cmd, mode);
    shim_leave();
    bool reading, cloexec;
    if (!parse_mode(mode, &reading, &cloexec)) {
        errno = EINVAL;
        return NULL;
    }
    struct shell_call sc;
    decide_command("popen", cmd, &sc);
    if (sc.d.action == GATE_REFUSE) {
        errno = sc.d.err;
        return NULL;
    }
    if (sc.d.action == GATE_SIMULATE)
        return simulated_stream(reading, cloexec);
    return run_popen(cmd, reading, cloexec, &sc);
}
EXPORT FILE *_IO_popen(const char *cmd, const char *mode) __attribute_malloc__
    GLIBC_ALIAS(popen);

EXPORT int pclose(FILE *f)
{
    real_ensure();
    const struct tool *tool = NULL;
    pid_t pid = forget(f, &tool);
    if (pid < 0)
        return real.pclose(f);
    fclose(f);
    if (pid == 0)
        return 0;
    int status = wait_for(pid);
    children_ended(tool, status, shim_thread_id());
    return status;
}
