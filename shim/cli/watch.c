/* enact watch: follows the audit log (as tail -F does) and hands each alert
 * record to the operator: printed, or given to a command of theirs. */
#include "cli.h"
#include "records.h"
#include "../store/audit_sink.h"
#include "../store/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact watch [-c FILE] [--exec CMD] [--min-interval DURATION] [--from-start]\n"
    "\n"
    "Follows the config's audit log for ever, from its end (--from-start: from\n"
    "its first record), through rotation and truncation, waiting for it if it\n"
    "does not exist yet, and prints each alert record as stored, one JSON line\n"
    "each: verdict breaker, quota_low, kill, resume, approval_requested,\n"
    "backend_down or backend_up. --exec runs /bin/sh -c CMD once per alert\n"
    "instead, the record on its stdin and ENACT_ALERT (the verdict),\n"
    "ENACT_ALERT_KEY, ENACT_ALERT_TOOL, ENACT_ALERT_AGENT and\n"
    "ENACT_ALERT_SUPPRESSED in its environment; it may run 30 s, then it is\n"
    "killed. An alert's key is its verdict/agent/tool (breaker: /to, the new\n"
    "state): --min-interval (default 60s; 30s, 5m, 2h, 1d, or 0 for none)\n"
    "delivers at most one alert per key in each interval, and the next one\n"
    "after it says how many were suppressed. Ends on SIGTERM or SIGINT.\n";

/* A command given an alert may run this long before it is killed. */
#define EXEC_BOUND_NS (UINT64_C(30) * 1000000000u)
/* After SIGTERM, a running command gets this long to end before SIGKILL. */
#define STOP_GRACE_NS (UINT64_C(2) * 1000000000u)
#define POLL_US (200 * 1000)

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

/* When a key was last delivered, and how many of its alerts were not
 * since. */
struct seen {
    char *key;
    uint64_t last_ns; /* CLOCK_MONOTONIC, when watch read it */
    unsigned long suppressed;
};

struct watch {
    const char *exec; /* NULL: print */
    uint64_t interval_ns;
    struct seen *seen;
    size_t n, cap;
};

/* One alert record to deliver. */
struct alert {
    const char *verdict, *agent, *tool;
    char key[768];
    const char *line;
    size_t len;
    unsigned long suppressed; /* of its key, since the last delivered */
};

static bool is_alert(const char *verdict)
{
    static const char *const alerts[] = {"breaker",  "quota_low",          "kill",
                                         "resume",   "approval_requested", "backend_down",
                                         "backend_up"};
    for (size_t i = 0; verdict && i < sizeof alerts / sizeof alerts[0]; i++)
        if (strcmp(verdict, alerts[i]) == 0)
            return true;
    return false;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void alert_of(const struct audit_fields *f, const struct records *r, struct alert *a)
{
    a->verdict = f->v[AF_VERDICT];
    a->agent = or_empty(f->v[AF_AGENT]);
    a->tool = or_empty(f->v[AF_TOOL]);
    a->line = r->line;
    a->len = r->len;
    a->suppressed = 0;
    bool breaker = strcmp(a->verdict, "breaker") == 0;
    snprintf(a->key, sizeof a->key, "%s/%s/%s%s%s", a->verdict, a->agent, a->tool,
             breaker ? "/" : "", breaker ? or_empty(f->v[AF_TO]) : "");
}

static struct seen *seen_of(struct watch *w, const char *key)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->seen[i].key, key) == 0)
            return &w->seen[i];
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        struct seen *grown = realloc(w->seen, cap * sizeof *grown);
        if (!grown)
            return NULL;
        w->seen = grown;
        w->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return NULL;
    w->seen[w->n] = (struct seen){.key = copy};
    return &w->seen[w->n++];
}

/* True when a is to be delivered now (a->suppressed then says how many of
 * its key were not); false when it is one more of its key to suppress. */
static bool admit(struct watch *w, struct alert *a, uint64_t now_ns)
{
    struct seen *s = seen_of(w, a->key);
    if (!s)
        return true; /* out of memory: an alert too many beats one lost */
    if (s->last_ns && now_ns - s->last_ns < w->interval_ns) {
        s->suppressed++;
        return false;
    }
    a->suppressed = s->suppressed;
    s->suppressed = 0;
    s->last_ns = now_ns ? now_ns : 1;
    return true;
}

static void seen_free(struct watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->seen[i].key);
    free(w->seen);
}

/* ---- the operator's command ------------------------------------------- */

static void set_env_ul(const char *name, unsigned long v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lu", v);
    setenv(name, buf, 1);
}

static _Noreturn void run_child(const struct watch *w, const struct alert *a, int in)
{
    setpgid(0, 0); /* its own group: a timeout ends what it started too */
    signal(SIGPIPE, SIG_DFL); /* an ignored signal stays ignored across exec */
    if (dup2(in, STDIN_FILENO) < 0)
        _exit(126);
    setenv("ENACT_ALERT", a->verdict, 1);
    setenv("ENACT_ALERT_KEY", a->key, 1);
    setenv("ENACT_ALERT_TOOL", a->tool, 1);
    setenv("ENACT_ALERT_AGENT", a->agent, 1);
    set_env_ul("ENACT_ALERT_SUPPRESSED", a->suppressed);
    execl("/bin/sh", "sh", "-c", w->exec, (char *)NULL);
    _exit(127);
}

/* A command running for an alert. */
struct run {
    pid_t pid;
    int in;           /* the write end of its stdin, or -1 once all is written */
    const char *rest; /* what is still to write */
    size_t left;
    int status;       /* its wait status, once reaped */
    bool forwarded;   /* a stop was passed on to it */
    bool killed;      /* it ran over its time */
};

/* Writes what the command's stdin takes now (non-blocking: one that does
 * not read cannot hold the watch past its bound); one that ends or closes
 * it unread is no error. */
static void feed(struct run *c)
{
    while (c->in >= 0 && c->left > 0) {
        ssize_t n = write(c->in, c->rest, c->left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        c->rest += n;
        c->left -= (size_t)n;
    }
    if (c->in >= 0)
        close(c->in);
    c->in = -1;
}

static void signal_group(pid_t pid, int sig)
{
    if (kill(-pid, sig) != 0)
        kill(pid, sig);
}

/* Waits for the command; its group is killed once it runs over
 * EXEC_BOUND_NS, or over STOP_GRACE_NS after a stop. */
static void reap(struct run *c)
{
    uint64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + EXEC_BOUND_NS;
    for (;;) {
        feed(c);
        pid_t got = waitpid(c->pid, &c->status, WNOHANG);
        if (got == c->pid || (got < 0 && errno != EINTR))
            break;
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        if (stop && !c->forwarded) {
            signal_group(c->pid, SIGTERM);
            c->forwarded = true;
            if (deadline > now + STOP_GRACE_NS)
                deadline = now + STOP_GRACE_NS;
        }
        if (now >= deadline && !c->killed) {
            signal_group(c->pid, SIGKILL);
            c->killed = !c->forwarded;
        }
        usleep(20 * 1000);
    }
    if (c->in >= 0)
        close(c->in);
}

static void report_end(const struct watch *w, const struct alert *a, const struct run *c)
{
    int status = c->status;
    if (c->killed)
        fprintf(stderr, "enact watch: %s ran over %d s for %s alert %s; killed\n", w->exec,
                (int)(EXEC_BOUND_NS / 1000000000u), a->verdict, a->key);
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        fprintf(stderr, "enact watch: %s exited %d for %s alert %s\n", w->exec,
                WEXITSTATUS(status), a->verdict, a->key);
    else if (WIFSIGNALED(status) && !c->forwarded)
        fprintf(stderr, "enact watch: %s was ended by signal %d for %s alert %s\n", w->exec,
                WTERMSIG(status), a->verdict, a->key);
}

static void run_command(const struct watch *w, const struct alert *a)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "enact watch: cannot run %s: %s\n", w->exec, strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        run_child(w, a, pipefd[0]);
    close(pipefd[0]);
    if (pid < 0) {
        fprintf(stderr, "enact watch: cannot run %s: %s\n", w->exec, strerror(errno));
        close(pipefd[1]);
        return;
    }
    setpgid(pid, pid);
    fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
    struct run c = {.pid = pid, .in = pipefd[1], .rest = a->line, .left = a->len};
    reap(&c);
    report_end(w, a, &c);
}

/* ---- following the log ------------------------------------------------- */

/* False when stdout is gone: nobody reads the alerts any more. */
static bool deliver(const struct watch *w, const struct alert *a)
{
    if (a->suppressed)
        fprintf(stderr, "enact watch: %s: %lu alert%s suppressed within --min-interval\n",
                a->key, a->suppressed, a->suppressed == 1 ? " was" : "s were");
    if (w->exec) {
        run_command(w, a);
        return true;
    }
    fwrite(a->line, 1, a->len, stdout);
    return fflush(stdout) == 0;
}

/* Reads the records there are; delivers the alerts among them unless
 * skipping. False when delivering can no longer be done. */
static bool drain(struct watch *w, struct records *r, bool skip)
{
    struct audit_fields f;
    while (!stop && records_next(r, &f)) {
        if (skip || !is_alert(f.v[AF_VERDICT]))
            continue;
        struct alert a;
        alert_of(&f, r, &a);
        if (admit(w, &a, clock_now_ns(CLOCK_MONOTONIC)) && !deliver(w, &a))
            return false;
    }
    return true;
}

/* A log cut short in place (truncate, copytruncate) is read again from
 * its start. */
static void follow_truncation(struct records *r)
{
    struct stat st;
    off_t at = ftello(r->file);
    if (fstat(fileno(r->file), &st) == 0 && at > st.st_size)
        fseeko(r->file, 0, SEEK_SET);
}

static bool path_moved(const struct records *r)
{
    struct stat st;
    return stat(r->path, &st) == 0 && st.st_ino != r->ino;
}

static bool follow(struct watch *w, struct records *r)
{
    while (!stop) {
        if (!drain(w, r, false))
            return false;
        follow_truncation(r);
        if (path_moved(r)) {
            /* What was written to the old file before the rename is read
             * before the new file is. */
            if (!drain(w, r, false))
                return false;
            if (records_rotated(r))
                continue;
        }
        usleep(POLL_US);
    }
    return true;
}

/* The log opened, at its end unless from_start; one that does not exist
 * yet is waited for and read from its start. False (said why) when it
 * cannot be read, or on a stop while waiting. */
static bool open_log(struct watch *w, struct records *r, const char *path, bool from_start)
{
    if (records_open(r, path))
        return from_start || drain(w, r, true);
    if (errno == ENOENT)
        fprintf(stderr, "enact watch: waiting for %s to be written\n", path);
    while (errno == ENOENT && !stop) {
        usleep(POLL_US);
        if (records_open(r, path))
            return true;
    }
    if (!stop)
        fprintf(stderr, "enact watch: cannot read %s: %s\n", path, strerror(errno));
    return false;
}

static bool is_interval(const char *s)
{
    return strcmp(s, "0") == 0 || cli_duration_ns(s) != 0;
}

static void catch_stops(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int watch_log(struct watch *w, const char *path, bool from_start)
{
    struct records r = {0};
    if (!open_log(w, &r, path, from_start)) {
        records_close(&r);
        return stop ? 0 : EXIT_CONFIG;
    }
    bool ok = follow(w, &r) || stop; /* a write cut short by the stop is no failure */
    int err = errno;
    records_close(&r);
    if (!ok)
        fprintf(stderr, "enact watch: cannot write the alerts: %s\n", strerror(err));
    return ok ? 0 : EXIT_CONFIG;
}

int cmd_watch(int argc, char **argv)
{
    const char *config = NULL, *interval = "60s";
    int from_start = 0;
    struct watch w = {0};
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--exec", .value = &w.exec},
        {.name = "--min-interval",
         .value = &interval,
         .valid = is_interval,
         .invalid = "--min-interval takes a duration such as 30s, 5m or 1h, or 0, not"},
        {.name = "--from-start", .flag = &from_start, .to = 1},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "watch", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    w.interval_ns = cli_duration_ns(interval);
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    int status = EXIT_CONFIG;
    if (strcmp(cfg->audit_path, AUDIT_SYSLOG) == 0)
        fprintf(stderr, "enact watch: audit_log = syslog: there is no log file to follow\n");
    else {
        catch_stops();
        status = watch_log(&w, cfg->audit_path, from_start);
    }
    seen_free(&w);
    config_free(cfg);
    return status;
}
