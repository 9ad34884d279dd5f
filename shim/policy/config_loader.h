/* The loader's state while one config file is read, shared by the config's
 * source files only. Calls among them go one way: config.c ->
 * config_finish.c -> config_keys.c -> config_values.c -> config_diag.c,
 * never back; each has a header of its own. */
#ifndef ENACT_CONFIG_LOADER_H
#define ENACT_CONFIG_LOADER_H

#include "config.h"
#include "config_keys.h"

struct loader {
    struct enact_config *cfg;
    struct config_diag *diag;
    const char *display_path; /* as the user named the file */
    char *dir;                /* directory of the config, for relative paths */
    unsigned line;            /* line inih is at */
    unsigned section_line;    /* line of the last [section] header */
    bool section_bad;         /* that header was reported: skip its keys */
    struct tool *tool;        /* the [tool.NAME] being read, or NULL */
    struct agent_override *agent; /* the [agent.NAME] being read, or NULL */
    unsigned errors;
    unsigned syntax_errors; /* found by read_line */
};

#endif
