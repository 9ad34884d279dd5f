/* The enact command: one file per subcommand, sharing these helpers. */
#ifndef ENACT_CLI_H
#define ENACT_CLI_H

#include "../policy/config.h"

#include <stdbool.h>
#include <stdio.h>

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_dry_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_keys(int argc, char **argv);

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

/* Maps the state file of cfg; false (having said why) when there is none
 * yet or it cannot be used. */
struct state_map;
bool cli_open_state(const struct enact_config *cfg, struct state_map *m);

/* The agents recorded in the state (names of up to 71 bytes), malloc'd. */
size_t cli_state_agents(struct state_map *m, char (**names)[72]);

/* True when arg is -h or --help. */
bool cli_wants_help(const char *arg);

#endif
