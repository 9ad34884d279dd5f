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
    const char *path = cli_config_path(argc == 2 ? argv[1] : NULL);
    if (!path)
        return EXIT_USAGE;
    struct enact_config *cfg = cli_load_config(path);
    if (!cfg)
        return EXIT_CONFIG;
    printf("%s: ok, %zu tool%s\n", path, cfg->ntools, cfg->ntools == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        printf("  %-20s %zu connect rule%s, %zu exec rule%s, ", t->name, t->nconnect,
               t->nconnect == 1 ? "" : "s", t->nexec, t->nexec == 1 ? "" : "s");
        if (t->rate_limited)
            printf("rate %g/min, burst %llu\n", t->max_calls_per_minute,
                   (unsigned long long)t->burst_size);
        else
            printf("no rate limit\n");
    }
    printf("  state:     %s\n  audit log: %s\n", cfg->state_path, cfg->audit_path);
    config_free(cfg);
    return 0;
}
