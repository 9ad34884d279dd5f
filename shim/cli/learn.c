/* enact learn: runs a command governed in observe mode with every call
 * recorded, or reads an audit log, and proposes a config from what it saw
 * (README "Learning a config"). */
#include "cli.h"
#include "learn.h"
#include "records.h"
#include "../pure/learn_model.h"
#include "../store/clock.h"
#include "../store/state.h"
#include "../store/state_control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact learn [-o FILE] [--duration D] [-a AGENT] [--log FILE] [--headroom X]\n"
    "                   [--destructive dry-run|approve] -- CMD [ARGS]\n"
    "       enact learn [-o FILE] [--headroom X] [--destructive dry-run|approve] --from LOG\n"
    "\n"
    "Runs CMD governed in observe mode (nothing is refused), with every\n"
    "connection and program start of CMD and its children recorded, then\n"
    "proposes a config: one tool per service it talked to (a DNS name and port,\n"
    "an address and port, a CIDR for a cluster of addresses, a unix socket) and\n"
    "one per program it started, with rates and bursts from what was seen, each\n"
    "key under a comment giving the evidence. Programs that delete or destroy\n"
    "(impact HIGH) are simulated. The proposal passes enact check; run CMD\n"
    "under it as it ran here and nothing is refused.\n"
    "\n"
    "  -o FILE          write the proposal to FILE (not there yet); default: stdout\n"
    "  --duration D     stop CMD after D (30s, 10m, 2h): SIGTERM to every process\n"
    "                   it started, SIGKILL 2 s later; default: until CMD exits.\n"
    "                   Ctrl-C stops it the same way, and the proposal is still made\n"
    "  -a AGENT         the agent's name while learning (default: CMD's name)\n"
    "  --from LOG       propose from an audit log instead of a run (a log with\n"
    "                   log_allowed = true holds every mapped call)\n"
    "  --log FILE       keep the run's records in FILE (default: a temporary file)\n"
    "  --headroom X     limits are what was seen times X (default 2; 1 to 100)\n"
    "  --destructive dry-run|approve\n"
    "                   what becomes of programs of impact HIGH: simulated\n"
    "                   (dry_run = true, the default) or held for a person (approve = high)\n";

/* dir/name into out; false when it does not fit. */
static bool path_in(char out[PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n > 0 && n < PATH_MAX;
}

/* ---- the records ---------------------------------------------------------- */

static bool op_of(const char *op, enum learn_op *out)
{
    static const struct {
        const char *name;
        enum learn_op op;
    } ops[] = {{"connect", LEARN_CONNECT}, {"send", LEARN_REQUEST}, {"exec", LEARN_EXEC},
               {"spawn", LEARN_EXEC},      {"system", LEARN_EXEC},  {"popen", LEARN_EXEC}};
    for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i].name) == 0) {
            *out = ops[i].op;
            return true;
        }
    return false;
}

/* The verdicts of a call the agent made: let through (allow, would_deny),
 * or not (deny, dry_run, error). Others (breaker, timeout, retry, ...)
 * are about a call already counted, or about none. */
static int call_verdict(const char *v)
{
    if (!v)
        return -1;
    if (strcmp(v, "allow") == 0 || strcmp(v, "would_deny") == 0)
        return 1;
    if (strcmp(v, "deny") == 0 || strcmp(v, "dry_run") == 0 || strcmp(v, "error") == 0)
        return 0;
    return -1;
}

/* Adds every call of the log at path; false (said why) when it cannot be
 * read or memory runs out. */
static bool read_log(const char *path, struct learn_model *m, struct learn_proposal *p)
{
    struct records r;
    if (!records_open(&r, path)) {
        fprintf(stderr, "enact learn: %s: %s\n", path, strerror(errno));
        return false;
    }
    struct audit_fields f;
    bool ok = true;
    while (ok && records_next(&r, &f) == 1) {
        enum learn_op op;
        int through = call_verdict(f.v[AF_VERDICT]);
        if (through < 0 || !op_of(f.v[AF_OP], &op) || !f.v[AF_TARGET])
            continue;
        struct learn_obs o = {.ts_ms = audit_time_ns(&f) / 1000000,
                              .pid = f.v[AF_PID] ? (int32_t)strtol(f.v[AF_PID], NULL, 10) : 0,
                              .parent = f.v[AF_PARENT] ? (int32_t)strtol(f.v[AF_PARENT], NULL, 10) : 0,
                              .op = op,
                              .target = f.v[AF_TARGET],
                              .host = f.v[AF_HOST],
                              .argv = f.v[AF_ARGV],
                              .exe = f.v[AF_EXE]};
        errno = 0;
        if (learn_model_add(m, &o)) {
            p->records++;
            p->allow_records += (uint32_t)through;
        } else if (errno == ENOMEM) {
            fprintf(stderr, "enact learn: out of memory reading %s\n", path);
            ok = false;
        }
    }
    if (r.unreadable)
        fprintf(stderr, "enact learn: %s: %lu lines are no audit record; skipped\n", path,
                r.unreadable);
    records_close(&r);
    return ok;
}

/* ---- the run -------------------------------------------------------------- */

/* What enact learn's own config records: every connection (with the names
 * addresses came from: a rule by name makes the shim keep them) and every
 * program start, refusing nothing. */
static bool write_learn_config(const char *path, const char *log)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f,
            "; enact learn's own config: every connection and program start recorded,\n"
            "; nothing refused.\n"
            "[enact]\n"
            "mode = observe\n"
            "log_allowed = true\n"
            "state = learn.state\n"
            "audit_log = %s\n"
            "\n"
            "[tool.learn-connect]\n"
            "connect = *\n"
            "connect = unix:/*\n"
            "connect = unix:@*\n"
            "; a rule by DNS name (.invalid: never a real one): the shim then keeps\n"
            "; the name each address came from\n"
            "connect = enact-learn.invalid\n"
            "\n"
            "[tool.learn-exec]\n"
            "exec = *\n",
            log);
    return fclose(f) == 0;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct stop {
    int sig;
    unsigned sent;
};

static void signal_one(const struct proc_slot *p, void *ctx)
{
    struct stop *s = ctx;
    if ((pid_t)p->key != getpid() && kill((pid_t)p->key, s->sig) == 0)
        s->sent++;
}

/* Signals every process registered in the learning state, and child. */
static unsigned signal_run(const char *state_path, const struct enact_config *cfg, pid_t child,
                           int sig)
{
    struct stop s = {.sig = sig};
    struct state_map m;
    char msg[256];
    struct state_sizes sizes = config_state_sizes(cfg);
    if (access(state_path, F_OK) == 0 &&
        state_open(state_path, &sizes, &m, msg, sizeof msg) != STATE_FAILED) {
        state_proc_each(&m, state_proc_alive, signal_one, &s);
        state_close(&m);
    }
    if (child > 0 && kill(child, sig) == 0)
        s.sent++;
    return s.sent;
}

/* Waits for child until it exits, the deadline (0: none) passes or ^C;
 * then stops what it started. Returns its wait status, or -1. */
static int watch_run(pid_t child, uint64_t deadline_ns, const struct enact_config *cfg)
{
    int status = -1;
    bool stopping = false;
    uint64_t kill_at = 0;
    for (;;) {
        pid_t got = waitpid(child, &status, WNOHANG);
        if (got == child)
            break;
        if (got < 0 && errno != EINTR)
            return -1;
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        if (!stopping && (interrupted || (deadline_ns && now >= deadline_ns))) {
            fprintf(stderr, "enact learn: %s: stopping the command\n",
                    interrupted ? "interrupted" : "--duration is over");
            signal_run(cfg->state_path, cfg, child, SIGTERM);
            stopping = true;
            kill_at = now + 2000000000ull;
        }
        if (stopping && now >= kill_at) {
            signal_run(cfg->state_path, cfg, child, SIGKILL);
            kill_at = UINT64_MAX;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    if (stopping)
        signal_run(cfg->state_path, cfg, 0, SIGKILL);
    return status;
}

/* Runs argv through `enact run` under the learning config in dir. */
static bool learn_from_run(const char *dir, const char *log, const char *agent,
                           uint64_t duration_ns, char **argv, struct learn_model *m,
                           struct learn_proposal *p)
{
    char ini[PATH_MAX];
    if (!path_in(ini, dir, "learn.ini") || !write_learn_config(ini, log)) {
        fprintf(stderr, "enact learn: cannot write %s: %s\n", ini, strerror(errno));
        return false;
    }
    int failed;
    struct enact_config *cfg = cli_config(ini, &failed, NULL);
    if (!cfg)
        return false;
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    uint64_t deadline = duration_ns ? clock_now_ns(CLOCK_MONOTONIC) + duration_ns : 0;
    pid_t child = fork();
    if (child == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        size_t n = 0;
        while (argv[n])
            n++;
        char **args = calloc(n + 8, sizeof *args);
        if (!args)
            _exit(126);
        size_t k = 0;
        args[k++] = "enact";
        args[k++] = "run";
        args[k++] = "--observe";
        args[k++] = "-c";
        args[k++] = ini;
        if (agent) {
            args[k++] = "-a";
            args[k++] = (char *)agent;
        }
        args[k++] = "--";
        memcpy(args + k, argv, n * sizeof *args);
        /* By its path, not /proc/self/exe: under valgrind that names
         * valgrind's own program, and its readlink is this one's. */
        char self[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        self[len > 0 ? len : 0] = '\0';
        execv(len > 0 ? self : "/proc/self/exe", args);
        fprintf(stderr, "enact learn: cannot start enact run: %s\n", strerror(errno));
        _exit(126);
    }
    if (child < 0) {
        fprintf(stderr, "enact learn: fork: %s\n", strerror(errno));
        config_free(cfg);
        return false;
    }
    int status = watch_run(child, deadline, cfg);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    config_free(cfg);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        fprintf(stderr, "enact learn: %s exited %d; proposing from what it did\n", argv[0],
                WEXITSTATUS(status));
    else if (WIFSIGNALED(status) && !interrupted && !duration_ns)
        fprintf(stderr, "enact learn: %s ended by signal %d; proposing from what it did\n",
                argv[0], WTERMSIG(status));
    if (access(log, F_OK) != 0) {
        fprintf(stderr, "enact learn: %s made no connection and started no program\n", argv[0]);
        return false;
    }
    return read_log(log, m, p);
}

/* ---- the proposal --------------------------------------------------------- */

/* Writes the proposal into dir, loads it as enact check would (it must
 * pass: a failure is enact's own fault), then to out_path (a new file) or
 * stdout. */
static int write_proposal(const char *dir, const char *out_path, const struct learn_model *m,
                          const struct learn_proposal *p)
{
    char draft[PATH_MAX];
    FILE *f = path_in(draft, dir, "proposal.ini") ? fopen(draft, "w") : NULL;
    if (!f) {
        fprintf(stderr, "enact learn: cannot write %s: %s\n", draft, strerror(errno));
        return EXIT_CONFIG;
    }
    learn_write_ini(f, m, p);
    if (fclose(f) != 0) {
        fprintf(stderr, "enact learn: cannot write %s: %s\n", draft, strerror(errno));
        return EXIT_CONFIG;
    }
    int failed;
    struct enact_config *cfg = cli_config(draft, &failed, NULL);
    if (!cfg) {
        fprintf(stderr, "enact learn: the proposal above does not load; this is a bug of "
                        "enact learn, please report it with the command that made it\n");
        return EXIT_CONFIG;
    }
    config_free(cfg);
    FILE *in = fopen(draft, "r");
    int fd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : 1;
    if (!in || fd < 0) {
        fprintf(stderr, "enact learn: %s: %s\n", out_path ? out_path : draft, strerror(errno));
        if (in)
            fclose(in);
        return EXIT_CONFIG;
    }
    char buf[8192];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = write(fd, buf, n) == (ssize_t)n;
    fclose(in);
    if ((out_path && close(fd) != 0) || !ok) {
        fprintf(stderr, "enact learn: writing %s: %s\n", out_path ? out_path : "stdout",
                strerror(errno));
        return EXIT_CONFIG;
    }
    return 0;
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"learn.ini", "learn.state", "learn.jsonl",
                                        "proposal.ini"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX];
        if (path_in(path, dir, names[i]))
            unlink(path);
    }
    rmdir(dir);
}

static bool headroom_valid(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    return *v && !*end && x >= 1 && x <= 100;
}

static bool destructive_valid(const char *v)
{
    return strcmp(v, "dry-run") == 0 || strcmp(v, "approve") == 0;
}

static bool duration_valid(const char *v)
{
    return cli_duration_ns(v) > 0;
}

/* argv as one line: python3 agent.py. */
static void command_text(char **argv, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; argv[i] && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? " " : "", argv[i]);
}

int cmd_learn(int argc, char **argv)
{
    const char *out_path = NULL, *duration = NULL, *agent = NULL, *from = NULL, *keep_log = NULL,
               *headroom = "2", *destructive = "dry-run";
    const struct cli_option options[] = {
        {.name = "-o", .value = &out_path},
        {.name = "--duration", .value = &duration, .valid = duration_valid,
         .invalid = "--duration takes a positive number and a unit (30s, 10m, 2h), not"},
        {.name = "-a", .value = &agent},
        {.name = "--from", .value = &from},
        {.name = "--log", .value = &keep_log},
        {.name = "--headroom", .value = &headroom, .valid = headroom_valid,
         .invalid = "--headroom takes a number from 1 to 100, not"},
        {.name = "--destructive", .value = &destructive, .valid = destructive_valid,
         .invalid = "--destructive takes dry-run or approve, not"},
        {0},
    };
    int i;
    int parsed = cli_parse(&(struct cli_command){.name = "learn", .help = HELP, .options = options,
                                                 .until_command = true},
                           argc, argv, &i);
    if (parsed >= 0)
        return parsed;
    if ((i >= argc) == !from) {
        fprintf(stderr, "enact learn: give a command (-- CMD ...) or --from LOG, not %s\n\n%s",
                from ? "both" : "neither", HELP);
        return EXIT_USAGE;
    }
    if (from && (duration || agent || keep_log)) {
        fprintf(stderr, "enact learn: --duration, -a and --log are for a run, not --from\n");
        return EXIT_USAGE;
    }
    if (out_path && access(out_path, F_OK) == 0) {
        fprintf(stderr, "enact learn: %s exists; remove it or name another file with -o\n",
                out_path);
        return EXIT_USAGE;
    }
    char dir[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/enact-learn.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "enact learn: cannot make a folder %s: %s\n", dir, strerror(errno));
        return EXIT_CONFIG;
    }
    /* The run's config names the log: an absolute path, since the
     * config's own folder is the temporary one. */
    char log[PATH_MAX], cwd[PATH_MAX], command[900], source[1024], today[16];
    bool log_ok = !keep_log                ? path_in(log, dir, "learn.jsonl")
                  : keep_log[0] == '/'     ? path_in(log, "", keep_log + 1)
                                           : getcwd(cwd, sizeof cwd) && path_in(log, cwd, keep_log);
    if (!log_ok) {
        fprintf(stderr, "enact learn: the path of the log is too long\n");
        rmdir(dir);
        return EXIT_USAGE;
    }
    time_t now = time(NULL);
    strftime(today, sizeof today, "%Y-%m-%d", localtime(&now));
    if (from) {
        snprintf(command, sizeof command, "CMD");
        snprintf(source, sizeof source, "the audit log %s", from);
    } else {
        command_text(argv + i, command, sizeof command);
        snprintf(source, sizeof source, "`%s`", command);
    }
    struct learn_proposal p = {.headroom = strtod(headroom, NULL),
                               .approve_destructive = strcmp(destructive, "approve") == 0,
                               .source = source,
                               .file = out_path ? out_path : "FILE",
                               .command = command,
                               .today = today};
    struct learn_model *m = learn_model_new();
    bool ok = m && (from ? read_log(from, m, &p)
                         : learn_from_run(dir, log, agent,
                                          duration ? cli_duration_ns(duration) : 0, argv + i, m,
                                          &p));
    int rc = EXIT_CONFIG;
    if (ok && !learn_model_finish(m)) {
        fprintf(stderr, "enact learn: out of memory\n");
    } else if (ok && learn_service_count(m) == 0) {
        fprintf(stderr, "enact learn: no call to propose a tool for (%u records read)\n",
                (unsigned)p.records);
    } else if (ok) {
        rc = write_proposal(dir, out_path, m, &p);
        if (rc == 0) {
            const struct learn_summary *sum = learn_model_summary(m);
            fprintf(stderr, "enact learn: %zu tools from %u calls%s%s\n", learn_service_count(m),
                    (unsigned)sum->calls, out_path ? "; wrote " : "", out_path ? out_path : "");
            if (out_path)
                fprintf(stderr, "  next: enact check %s, then enact run -c %s -- CMD\n", out_path,
                        out_path);
        }
    }
    learn_model_free(m);
    remove_dir(dir);
    return rc;
}
