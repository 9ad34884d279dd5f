/* enact kill and enact resume: an operator's switch that stops an agent's
 * calls, from its next call on, in every process of the agent (README
 * "Operator control"). The switch lives in the state file, which every
 * governed process reads at each decision; with a shared backend, in the
 * fleet's Redis too, which processes on other hosts read within a second. */
#include "cli.h"
#include "../policy/backend.h"
#include "../store/audit_sink.h"
#include "../store/clock.h"
#include "../store/redis_kills.h"
#include "../store/state_control.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char KILL_HELP[] =
    "usage: enact kill [-c FILE] [--agent A] [--tool T] [--reason TEXT] [--signal TERM|KILL]\n"
    "\n"
    "Stops agent A (default: every agent of the config): from its next call\n"
    "on, every mapped call (or only those of tool T) is refused, reason\n"
    "killed, in every process of the agent, those already running included.\n"
    "With [enact] kill_scope = all, its unmapped connects and program starts\n"
    "are refused too. The switch stays on until enact resume. --signal also\n"
    "sends SIGTERM or SIGKILL to the agent's governed processes on this host\n"
    "(enact ps lists them). The record says who did it. Exits 1 when a shared\n"
    "backend did not take the switch (it then holds on this host only).\n";

static const char RESUME_HELP[] =
    "usage: enact resume [-c FILE] [--agent A] [--tool T] [--all]\n"
    "\n"
    "Turns off the kill switch that enact kill turned on for agent A (default:\n"
    "the switch for every agent) and tool T (default: the switch for every\n"
    "tool). --all turns off every switch of agent A, or every switch.\n";

static bool signal_name_valid(const char *v)
{
    return strcmp(v, "TERM") == 0 || strcmp(v, "KILL") == 0 || strcmp(v, "SIGTERM") == 0 ||
           strcmp(v, "SIGKILL") == 0;
}

static void record_switch(const struct enact_config *cfg, const char *verdict, const char *agent,
                          const char *tool, const char *signal, const char *detail)
{
    struct audit_event ev = {
        .unix_ns = clock_now_ns(CLOCK_REALTIME),
        .pid = getpid(),
        .agent = agent,
        .exe = "enact",
        .op = verdict,
        .tool = tool,
        .verdict = verdict,
        .has_uid = true,
        .uid = getuid(),
        .signal = signal,
        .detail = detail,
    };
    int err = audit_log(cfg->audit_path, &ev);
    if (err)
        fprintf(stderr, "enact %s: the audit record could not be written to %s: %s\n", verdict,
                cfg->audit_path, strerror(err));
}

/* The state file, created when no agent has run yet: a switch turned on
 * before the agent starts holds from its first call. */
static bool open_state(const struct enact_config *cfg, struct state_map *m, const char *cmd)
{
    char msg[512];
    struct state_sizes sizes = config_state_sizes(cfg);
    enum state_open_result r = state_open(cfg->state_path, &sizes, m, msg, sizeof msg);
    if (r != STATE_OPENED)
        fprintf(stderr, "enact %s: %s\n", cmd, msg);
    return r != STATE_FAILED;
}

#define SIGNALLED_MAX 256

struct signalled {
    const char *agent;
    int sig;
    unsigned sent, failed;
    pid_t done[SIGNALLED_MAX];
    char pids[512];
};

static bool signalled_before(const struct signalled *s, pid_t pid)
{
    for (unsigned i = 0; i < s->sent && i < SIGNALLED_MAX; i++)
        if (s->done[i] == pid)
            return true;
    return false;
}

static void send_signal(const struct proc_slot *p, void *ctx)
{
    struct signalled *s = ctx;
    pid_t pid = (pid_t)p->key;
    if ((s->agent && strcmp(s->agent, p->agent) != 0) || pid == getpid() ||
        signalled_before(s, pid))
        return;
    if (kill((pid_t)p->key, s->sig) != 0) {
        fprintf(stderr, "enact kill: cannot signal %llu (%s): %s\n", (unsigned long long)p->key,
                p->program, strerror(errno));
        s->failed++;
        return;
    }
    size_t n = strlen(s->pids);
    snprintf(s->pids + n, sizeof s->pids - n, "%s%llu", s->sent ? " " : "",
             (unsigned long long)p->key);
    if (s->sent < SIGNALLED_MAX)
        s->done[s->sent] = pid;
    s->sent++;
}

/* Signals the agent's processes, and again those that registered in the
 * next moments: a program start the gate admitted just before the switch
 * went on registers after the first look. */
static void signal_agent(struct state_map *m, struct signalled *s)
{
    for (int round = 0; round < 3; round++) {
        if (round > 0)
            nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        state_proc_each(m, state_proc_alive, send_signal, s);
    }
}

/* A shared backend: the switch for the whole fleet. False (said why) when
 * the backend cannot be reached; the host's switch holds meanwhile. */
static bool fleet_switch(const struct enact_config *cfg, const char *cmd,
                         const struct kill_entry *on, const char *agent, const char *tool,
                         bool all)
{
    if (!backend_is_shared(cfg))
        return true;
    struct redis_store *rs = calloc(1, sizeof *rs);
    if (!rs)
        return false;
    struct redis_options opt;
    backend_options(cfg, "", &opt);
    redis_store_init(rs, &opt, (struct redis_fallback){0}, 0);
    char why[256] = "";
    bool ok = on ? redis_kills_set(rs, on, why, sizeof why)
                 : redis_kills_clear(rs, agent, tool, all, why, sizeof why) >= 0;
    if (!ok)
        fprintf(stderr,
                "enact %s: the fleet's backend did not take the switch (%s): it holds on this "
                "host only\n",
                cmd, why);
    redis_store_close(rs);
    free(rs);
    return ok;
}

int cmd_kill(int argc, char **argv)
{
    const char *config = NULL, *agent = NULL, *tool = NULL, *reason = NULL, *signame = NULL;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--agent", .value = &agent},
        {.name = "--tool", .value = &tool},
        {.name = "--reason", .value = &reason},
        {.name = "--signal", .value = &signame, .valid = signal_name_valid,
         .invalid = "--signal must be TERM or KILL, not"},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "kill", .help = KILL_HELP,
                                                 .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(config, &failed, &path);
    if (!cfg)
        return failed;
    int status = 0;
    struct state_map m;
    int sig = signame && strstr(signame, "KILL") ? SIGKILL : signame ? SIGTERM : 0;
    const char *sigword = sig == SIGKILL ? "KILL" : sig ? "TERM" : NULL;
    struct kill_entry e = {.agent = agent, .tool = tool, .reason = reason, .uid = getuid(),
                           .signal = sig, .since_ns = clock_now_ns(CLOCK_REALTIME)};
    int err = 0;
    if (tool && !cli_find_tool(cfg, tool)) {
        fprintf(stderr, "enact kill: no tool '%s' in %s\n", tool, path);
        status = EXIT_USAGE;
    } else if (!open_state(cfg, &m, "kill")) {
        status = EXIT_CONFIG;
    } else if (!state_kill_set(&m, &e, (int32_t)gettid(), &err)) {
        fprintf(stderr, "enact kill: cannot turn the switch on in %s: %s\n", cfg->state_path,
                err == ENOSPC ? "every kill slot is in use (enact resume --all frees them)"
                              : strerror(err));
        state_close(&m);
        status = EXIT_CONFIG;
    } else {
        bool fleet = fleet_switch(cfg, "kill", &e, NULL, NULL, false);
        char what[160];
        const char *every = cfg->kill_scope == KILL_SCOPE_ALL
                                ? "every connect and program start (kill_scope = all)"
                                : "every mapped call";
        snprintf(what, sizeof what, "%s%s%s", tool ? "calls of tool '" : every,
                 tool ? tool : "", tool ? "'" : "");
        printf("enact kill: %s of %s%s%s refused from the next call on%s\n", what,
               agent ? "agent '" : "every agent", agent ? agent : "", agent ? "'" : "",
               backend_is_shared(cfg) && fleet ? ", in the whole fleet" : "");
        struct signalled s = {.agent = agent, .sig = sig};
        if (sig) {
            signal_agent(&m, &s);
            printf("enact kill: SIG%s sent to %u process%s%s%s\n", sigword, s.sent,
                   s.sent == 1 ? "" : "es", s.sent ? ": " : "", s.pids);
        }
        /* Half done is not done: a script that stops a fleet must see it. */
        status = s.failed || !fleet ? EXIT_CONFIG : 0;
        record_switch(cfg, "kill", agent, tool, sigword, reason);
        state_close(&m);
    }
    config_free(cfg);
    return status;
}

int cmd_resume(int argc, char **argv)
{
    const char *config = NULL, *agent = NULL, *tool = NULL;
    int all = 0;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--agent", .value = &agent},
        {.name = "--tool", .value = &tool},
        {.name = "--all", .flag = &all, .to = 1},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "resume", .help = RESUME_HELP,
                                                 .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    if (cli_refuse_governed("resume"))
        return EXIT_CONFIG;
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(config, &failed, &path);
    if (!cfg)
        return failed;
    int status = 0;
    struct state_map m;
    if (tool && all) {
        fprintf(stderr, "enact resume: --all turns off every switch; it takes no --tool\n");
        status = EXIT_USAGE;
    } else if (!open_state(cfg, &m, "resume")) {
        status = EXIT_CONFIG;
    } else {
        int n = state_kill_clear(&m, agent, tool, all, (int32_t)gettid());
        bool fleet = fleet_switch(cfg, "resume", NULL, agent, tool, all);
        status = fleet ? 0 : EXIT_CONFIG;
        if (n < 0) {
            fprintf(stderr, "enact resume: the kill switches of %s are locked\n",
                    cfg->state_path);
            status = EXIT_CONFIG;
        } else {
            printf("enact resume: %d switch%s turned off (agent %s, tool %s)\n", n,
                   n == 1 ? "" : "es", agent ? agent : "all", all ? "any" : tool ? tool : "all");
            record_switch(cfg, "resume", agent, tool, NULL, NULL);
        }
        state_close(&m);
    }
    config_free(cfg);
    return status;
}
