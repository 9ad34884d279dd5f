/* The enact command: one file per subcommand, sharing these helpers. */
#ifndef ENACT_CLI_H
#define ENACT_CLI_H

#include "../policy/config.h"
#include "../store/redis_store.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stdio.h>

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_dry_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_pending(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_deny(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_learn(int argc, char **argv);

/* Exit statuses of the CLI's own failures (run passes on CMD's). */
#define EXIT_CONFIG 1
#define EXIT_USAGE 2

/* The config named by -c FILE, else $ENACT_CONFIG, else ./enact.ini,
 * loaded and validated, its diagnostics (errors and warnings) printed on
 * stderr. NULL when there is none or it has errors; *exit_status then
 * says how the command should exit. used_path (may be NULL) gets the path
 * as named. */
struct enact_config *cli_config(const char *flag_value, int *exit_status,
                                const char **used_path);

/* A tool's policies, and the agents' quotas, in words. */
void cli_describe_tool(FILE *out, const struct enact_config *cfg, const struct tool *t);
void cli_describe_agents(FILE *out, const struct enact_config *cfg);
/* Every key the tool's section sets, its value and line, read through the
 * key table (config_keys.h). */
void cli_describe_written(FILE *out, const struct tool *t);

/* Maps the state file of cfg; false (having said why) when there is none
 * yet or it cannot be used. */
struct state_map;
bool cli_open_state(const struct enact_config *cfg, struct state_map *m);

/* Where cfg's limits are, opened for reading and resetting: this host's
 * state file, or the fleet's Redis (with the state file, when there is
 * one, for what each host keeps: audit failures). */
struct cli_store {
    struct store st;
    struct state_map m;
    bool mapped;              /* m holds the state file */
    struct redis_store *redis; /* a shared backend, or NULL */
};

/* false (said why) when there is nothing to read: no state file and no
 * shared backend. */
bool cli_open_store(const struct enact_config *cfg, struct cli_store *cs);
void cli_close_store(struct cli_store *cs);

/* One quota as it stands in the state at real_ns (CLOCK_REALTIME): its
 * limit, the actions counted in the rolling window, and when the next of
 * them leaves it. Not present when q is NULL or not enabled; used 0 when
 * no process has charged the entry (key) yet. Reads a copy: the state is
 * not changed. */
struct cli_quota {
    bool present;
    uint32_t limit, used;
    uint64_t frees_in_ns;
};
struct cli_quota cli_quota_read(struct store st, uint64_t key, const struct quota_spec *q,
                                uint64_t real_ns);

/* True when this enact runs governed (the shim is loaded into it: it is a
 * program an agent started). Commands that answer for an operator
 * (approve, resume) refuse then, saying so on stderr with cmd's name:
 * an agent must not approve its own calls or lift its own kill switch. */
bool cli_refuse_governed(const char *cmd);

/* The tool of cfg named name, or NULL. */
const struct tool *cli_find_tool(const struct enact_config *cfg, const char *name);

/* A duration as enact log --since takes it ("30s", "10m", "2h", "1d"; a
 * positive number and one unit) in nanoseconds; 0 when it is not one. */
uint64_t cli_duration_ns(const char *s);
/* ns as people read it: "45s", "3m20s", "3h20m"; "-" for 0. Returns buf. */
const char *cli_duration_text(uint64_t ns, char *buf, size_t cap);

/* True when arg is -h or --help. */
bool cli_wants_help(const char *arg);

/* One option of a subcommand. A table of them ends with an entry without
 * a name. */
struct cli_option {
    const char *name;
    const char *alias; /* another spelling, or NULL */
    /* An option with a value takes the next argument (without one it is an
     * unknown argument) and stores it here... */
    const char **value;
    /* ...refused as "INVALID 'VALUE'" when valid (if set) says no. */
    bool (*valid)(const char *value);
    const char *invalid;
    /* A switch sets *flag to `to` (the last one given wins). */
    int *flag;
    int to;
};

/* A subcommand's arguments: -h or --help anywhere (the help on stdout),
 * its options, and at most one of `words` (stored in *word). */
struct cli_command {
    const char *name; /* as the messages say it: "enact NAME: ..." */
    const char *help;
    const struct cli_option *options;
    const char *const *words; /* NULL-terminated, or NULL: none; "*": any that is no option */
    const char **word;
    /* enact run: the arguments end at "--" or at the first that is no
     * option (the command), and an unknown one is an "unknown option". */
    bool until_command;
};

/* Parses argv[1] on: -1 to go on, else the status the command exits with
 * (0 after the help; EXIT_USAGE after "enact NAME: unknown argument 'ARG'"
 * and the help on stderr). *next (may be NULL) gets the index of the first
 * argument left: argc, or (until_command) the command's. */
int cli_parse(const struct cli_command *cmd, int argc, char **argv, int *next);

#endif
