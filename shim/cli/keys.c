/* enact keys: every key of the key table, by section, one a line
 * ("[SECTION] KEY  help"). Unlisted in the usage: it is how the tests hold
 * the man page and config/enact.ini to the table. */
#include "cli.h"
#include "../policy/config_keys.h"

#include <stdio.h>

static const char HELP[] = "usage: enact keys\n"
                           "\n"
                           "Lists every config key by section, with what it is for.\n";

int cmd_keys(int argc, char **argv)
{
    if (argc > 1) {
        bool help = argc == 2 && cli_wants_help(argv[1]);
        fputs(HELP, help ? stdout : stderr);
        return help ? 0 : EXIT_USAGE;
    }
    for (int s = 0; s < SECTION_COUNT; s++)
        for (int k = 0; k < CONFIG_KEY_COUNT; k++)
            if (CONFIG_KEYS[k].section == (enum config_section)s)
                printf("%-12s %-26s %s\n", config_section_title((enum config_section)s),
                       CONFIG_KEYS[k].name, CONFIG_KEYS[k].help);
    return 0;
}
