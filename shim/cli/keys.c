/* enact keys: every key of the key table, by section, one a line
 * ("[SECTION] KEY  help"). Unlisted in the usage: it is how the tests hold
 * the man page and config/enact.ini to the table. */
#include "cli.h"

#include "../policy/config_keys.h"

#include <stdio.h>

int cmd_keys(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fputs("usage: enact keys\n", stderr);
        return EXIT_USAGE;
    }
    for (int s = 0; s < SECTION_COUNT; s++)
        for (int k = 0; k < CONFIG_KEY_COUNT; k++)
            if (CONFIG_KEYS[k].section == (enum config_section)s)
                printf("%-12s %-26s %s\n", config_section_title((enum config_section)s),
                       CONFIG_KEYS[k].name, CONFIG_KEYS[k].help);
    return 0;
}
