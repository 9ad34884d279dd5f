/* See doctor_chain.h. A wrapper cannot be read, only run: pyenv's shim
 * execs pyenv, a bash program that picks the interpreter from files and
 * variables. So it is run as a user would run it, without arguments and
 * with its output discarded, under ptrace: each exec of the process is
 * stopped; env and shells (the wrapper's own machinery) go on, and the
 * first other program is killed at its exec stop, before its first
 * instruction, and judged. Programs the wrapper's shell forks are not
 * traced: they run as they would. */
#include "doctor_chain.h"
#include "../store/binfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Scripts of scripts: Linux follows #! 4 deep. */
#define CHAIN_HOPS 4
/* A wrapper's own run: pyenv's takes about 0.1 s. */
#define TRACE_SECONDS 10
#define TEXT(x) #x
#define NUMBER(x) TEXT(x)
/* Child exit statuses that say the trace never began. */
#define TRACE_REFUSED 126
#define TRACE_NO_EXEC 127

bool doctor_find_in(const char *dirs, const char *name, char out[PATH_MAX])
{
    for (const char *p = dirs; p && *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && len + 1 + strlen(name) < PATH_MAX) {
            snprintf(out, PATH_MAX, "%.*s/%s", (int)len, p, name);
            if (access(out, R_OK) == 0)
                return true;
        }
        p += len + (p[len] == ':');
    }
    return false;
}

bool doctor_resolve(const char *name, char out[PATH_MAX])
{
    if (strchr(name, '/'))
        return realpath(name, out) != NULL;
    char found[PATH_MAX];
    const char *path = getenv("PATH");
    return doctor_find_in(path ? path : "/usr/bin:/bin", name, found) && realpath(found, out);
}

static bool named(const char *path, const char *const names[])
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(base, names[i]) == 0)
            return true;
    return false;
}

static const char *const ENV[] = {"env", NULL};
static const char *const SHELLS[] = {"sh",  "bash", "dash", "zsh",     "ksh",
                                     "mksh", "ash", "yash", "busybox", NULL};

/* The program a script's #! line runs: its interpreter, or for
 * `#!/usr/bin/env [-S] [VAR=VALUE...] NAME` the NAME env finds in PATH. */
static bool script_program(const char *path, char out[PATH_MAX])
{
    FILE *f = fopen(path, "re");
    char line[PATH_MAX + 8];
    bool ok = f && fgets(line, sizeof line, f) && line[0] == '#' && line[1] == '!';
    if (f)
        fclose(f);
    if (!ok)
        return false;
    char *interp = line + 2 + strspn(line + 2, " \t");
    char *rest = interp + strcspn(interp, " \t\n");
    bool more = *rest != '\0' && *rest != '\n';
    *rest = '\0';
    if (*interp != '/')
        return false;
    if (!named(interp, ENV))
        return doctor_resolve(interp, out);
    char *save = NULL;
    for (char *w = more ? strtok_r(rest + 1, " \t\n", &save) : NULL; w;
         w = strtok_r(NULL, " \t\n", &save))
        if (w[0] != '-' && !strchr(w, '='))
            return doctor_resolve(w, out);
    return false;
}

/* Whether a command line execs a program: `exec PROGRAM ...`, not only
 * redirections (`exec >log 2>&1`, `exec 3<file`). */
static bool execs_program(const char *line)
{
    if (strncmp(line, "exec", 4) != 0 || (line[4] != ' ' && line[4] != '\t'))
        return false;
    const char *word = line + 4 + strspn(line + 4, " \t");
    const char *after_fd = word + strspn(word, "0123456789");
    return *word != '\n' && *word != '\0' && *after_fd != '<' && *after_fd != '>';
}

/* A wrapper: a shell script whose last command execs another program. */
static bool is_wrapper(const char *path, const char *interpreter)
{
    if (!named(interpreter, SHELLS))
        return false;
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[4096];
    bool execs = false;
    while (fgets(line, sizeof line, f)) {
        const char *p = line + strspn(line, " \t");
        if (*p != '\n' && *p != '#' && *p != '\0')
            execs = execs_program(p);
    }
    fclose(f);
    return execs;
}

static void trace_child(const char *path)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2(null, fd);
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(TRACE_REFUSED);
    raise(SIGSTOP); /* the tracer sets its options before the exec */
    execl(path, path, (char *)NULL);
    _exit(TRACE_NO_EXEC);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* pid's next stop or end, waiting until deadline (now_s); false on time out. */
static bool next_event(pid_t pid, int *status, double deadline)
{
    const struct timespec nap = {0, 5 * 1000 * 1000};
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if ((r < 0 && errno != EINTR) || now_s() >= deadline)
            return false;
        nanosleep(&nap, NULL);
    }
}

static bool image_of(pid_t pid, char out[PATH_MAX])
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    if (n <= 0)
        return false;
    out[n] = '\0';
    return true;
}

/* Follows pid's execs (see the top of the file) into program: true when
 * the program was reached, else *why says what happened. */
static bool follow(pid_t pid, char program[PATH_MAX], const char **why)
{
    int status = 0;
    double deadline = now_s() + TRACE_SECONDS;
    long options = PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (!next_event(pid, &status, deadline) || !WIFSTOPPED(status) ||
        ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)options) != 0) {
        *why = WIFEXITED(status) && WEXITSTATUS(status) == TRACE_REFUSED
                   ? "ptrace is not allowed here"
                   : "it could not be traced";
        return false;
    }
    long deliver = 0;
    for (;;) {
        if (ptrace(PTRACE_CONT, pid, NULL, (void *)deliver) != 0 ||
            !next_event(pid, &status, deadline)) {
            *why = "it started no other program within " NUMBER(TRACE_SECONDS) " s";
            return false;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            *why = "it ended without starting another program";
            return false;
        }
        deliver = 0;
        if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
            deliver = WSTOPSIG(status); /* the wrapper's own signal */
            continue;
        }
        char image[PATH_MAX];
        if (!image_of(pid, image)) {
            *why = "its program could not be told";
            return false;
        }
        if (!named(image, ENV) && !named(image, SHELLS)) {
            snprintf(program, PATH_MAX, "%s", image);
            return true;
        }
    }
}

/* Runs the wrapper at path until it starts its program (see the top). */
static bool trace_wrapper(const char *path, char program[PATH_MAX], const char **why)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        *why = strerror(errno);
        return false;
    }
    if (pid == 0)
        trace_child(path);
    bool found = follow(pid, program, why);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return found;
}

void doctor_chase(const char *path, char program[PATH_MAX])
{
    snprintf(program, PATH_MAX, "%s", path);
    for (int hop = 0; hop < CHAIN_HOPS; hop++) {
        char next[PATH_MAX];
        if (!binfmt_of(program).script || !script_program(program, next))
            return;
        const char *why = NULL;
        char started[PATH_MAX];
        if (is_wrapper(program, next) && trace_wrapper(program, started, &why)) {
            printf("%s: a wrapper script (it ends in exec): run without arguments, it started "
                   "%s, stopped before its first instruction; judged by it\n",
                   program, started);
            snprintf(program, PATH_MAX, "%s", started);
            return;
        }
        if (why)
            printf("%s: a wrapper script (it ends in exec), not followed: %s\n", program, why);
        printf("%s: a script for %s, judged by it\n", program, next);
        snprintf(program, PATH_MAX, "%s", next);
    }
}
