/* Shared by the config's source files only: the loader's state while one
 * file is read. */
#ifndef ENACT_CONFIG_INTERNAL_H
#define ENACT_CONFIG_INTERNAL_H

#include "config.h"

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

/* An error (fails the load) or a warning, at line (0: the whole file). */
void config_error(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_warning(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A path from the INI: relative ones are relative to the config's folder. */
char *config_resolve_path(const struct loader *ld, const char *v);

/* One key of a section; each reports its own problems. */
void config_enact_key(struct loader *ld, const char *name, const char *v);
void config_tool_key(struct loader *ld, struct tool *t, const char *name, const char *v);
void config_agent_key(struct loader *ld, struct quota_spec *q, unsigned key_line[2],
                      const char *section, const char *name, const char *v);
void config_impact_key(struct loader *ld, const char *name, const char *v);

/* After the whole file: defaults, compiled policies, cross-key checks. */
void config_finish_tool(struct loader *ld, struct tool *t);
void config_finish_quota(struct loader *ld, struct quota_spec *q, const unsigned key_line[2],
                         const char *where);

#endif
