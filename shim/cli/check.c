#include "cli.h"

#include <stdio.h>

static const char HELP[] =
    "usage: enact check [FILE]\n"
    "\n"
    "Validates a config: prints FILE:LINE: message for every problem and exits 1,\n"
    "or summarises the tools and exits 0. FILE defaults to $ENACT_CONFIG, else\n"
    "./enact.ini.\n";

int cmd_check(int argc, char **argv)
{
    if (argc > 2 || cli_wants_help(argv[1])) {
        fputs(HELP, argc > 2 ? stderr : stdout);
        return argc > 2 ? EXIT_USAGE : 0;
    }
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(argc == 2 ? argv[1] : NULL, &failed, &path);
    if (!cfg)
        return failed;
    printf("%s: ok, %zu tool%s\n", path, cfg->ntools, cfg->ntools == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->ntools; i++)
        cli_describe_tool(stdout, cfg, &cfg->tools[i]);
    if (cfg->agent_quota.enabled || cfg->nagents)
        printf("  agents:\n");
    cli_describe_agents(stdout, cfg);
    if (cfg->mode == MODE_OBSERVE)
        printf("  mode:      observe (nothing is refused; refusals are recorded as would_deny)\n");
    if (cfg->strict)
        printf("  strict:    static, setuid and unreadable programs refused; syscall() governed;"
               " io_uring refused (ENOSYS); a state file others could change refused\n");
    printf("  state:     %s (room for %u agents per tool)\n  audit log: %s\n", cfg->state_path,
           cfg->max_agents ? cfg->max_agents : STATE_AGENTS_DEFAULT, cfg->audit_path);
    config_free(cfg);
    return 0;
}
