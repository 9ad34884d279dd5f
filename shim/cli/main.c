#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: enact COMMAND [ARGS]\n"
    "\n"
    "Govern an AI agent's tool calls (connects and program starts) with rate\n"
    "limits, recorded in a JSON-lines audit log, without changing the agent.\n"
    "\n"
    "commands:\n"
    "  run   [-c FILE] [-a AGENT] [--observe] -- CMD [ARGS]   run CMD governed\n"
    "  learn [-o FILE] [--duration 10m] -- CMD | --from LOG   propose a config from what CMD does\n"
    "  check [FILE]                                           validate a config\n"
    "  match [-c FILE] connect ADDR:PORT | exec CMD [ARGS]    which tool a call maps to\n"
    "  status [-c FILE] [--json | --prometheus]               limits as they stand now\n"
    "  metrics [-c FILE] [--listen ADDR:PORT]                 serve them to Prometheus\n"
    "  reset [-c FILE] [--agent A] [--tool T]                 give limits back\n"
    "  doctor PROGRAM                                         can Enact govern it?\n"
    "  keys                                                   every config key, and what it is for\n"
    "  log [-c FILE] [--blocked] [--since 1h] [--follow] ...  the audit log, readable\n"
    "  dry-run [-c FILE] list [--impact LEVEL] | clear        simulated calls\n"
    "  report [-c FILE] --html OUT                            a page per tool, self-contained\n"
    "  ps [-c FILE] [--json]                                  governed processes on this host\n"
    "  kill [-c FILE] [--agent A] [--tool T] [--signal TERM]  stop an agent's calls now\n"
    "  resume [-c FILE] [--agent A] [--tool T] [--all]        let them through again\n"
    "  pending [-c FILE] [--json]                             calls waiting for approval\n"
    "  approve|deny [-c FILE] ID [--note TEXT]                answer one\n"
    "  watch [-c FILE] [--exec CMD] [--min-interval 60s]      follow the log, act on alerts\n"
    "\n"
    "The config is -c FILE, else $ENACT_CONFIG, else ./enact.ini.\n"
    "'enact COMMAND --help' tells more.\n";

/* What `enact` alone prints: the commands people start with. */
static const char SHORT_USAGE[] =
    "usage: enact COMMAND [ARGS]\n"
    "\n"
    "  enact learn -o enact.ini -- CMD        propose a config from what CMD does\n"
    "  enact run -c enact.ini -- CMD [ARGS]   run an agent governed\n"
    "  enact check enact.ini                  validate a config\n"
    "  enact log -c enact.ini --blocked       what was refused, and why\n"
    "  enact status -c enact.ini              the limits as they stand\n"
    "\n"
    "'enact --help' lists every command; 'make demo' in Enact's sources shows them at work.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(SHORT_USAGE, stderr);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argv[1])) {
        fputs(USAGE, stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"run", cmd_run}, {"check", cmd_check}, {"match", cmd_match},
                    {"status", cmd_status},  {"metrics", cmd_metrics}, {"reset", cmd_reset},
                    {"doctor", cmd_doctor},  {"log", cmd_log},         {"dry-run", cmd_dry_run},
                    {"report", cmd_report},  {"keys", cmd_keys},       {"ps", cmd_ps},
                    {"kill", cmd_kill},      {"resume", cmd_resume},   {"watch", cmd_watch},
                    {"pending", cmd_pending}, {"approve", cmd_approve}, {"deny", cmd_deny},
                    {"learn", cmd_learn}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "enact: unknown command '%s'\n\n%s", argv[1], USAGE);
    return EXIT_USAGE;
}
