/* Shared by the config's source files only: the loader's state while one
 * file is read, and what each file offers the ones above it. Calls go one
 * way: config.c -> config_finish.c -> config_keys.c -> config_values.c ->
 * config_diag.c, never back. */
#ifndef ENACT_CONFIG_INTERNAL_H
#define ENACT_CONFIG_INTERNAL_H

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

/* ---- config_diag.c ---- */

/* An error (fails the load) or a warning, at line (0: the whole file). */
void config_error(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_warning(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A path from the INI: relative ones are relative to the config's folder. */
char *config_resolve_path(const struct loader *ld, const char *v);

/* ---- config_values.c: the parsers the key table names ---- */

key_parser parse_bool_key, parse_choice_key, parse_count_key, parse_number_key, parse_path_key,
    parse_audit_log_key, parse_agent_name_key, parse_errno_key, parse_response_key,
    parse_connect_key, parse_exec_key, parse_impact_exec_key, parse_impact_verb_key;

/* Whether a refused program start may fail with this errno. */
bool config_errno_fits_exec(int value);

/* Stores k's default (dflt) into the section's struct at base. */
void config_value_default(const struct key_def *k, void *base);

/* ---- config_keys.c ---- */

/* One "name = v" line of a section whose values go into base; label names
 * the section in messages ("tool.api"). src is NULL for a section of
 * repeatable keys only. Reports its own problems. */
void config_key_apply(struct loader *ld, enum config_section section, const char *label,
                      void *base, struct section_source *src, const char *name, const char *v);

/* Stores the table's default of k into the section's struct at base. */
void config_key_default(enum config_key k, void *base);

/* Whether k was written (and its value kept). */
static inline bool key_set(const struct section_source *src, enum config_key k)
{
    return src->key_line[k] && !(src->refused >> k & 1);
}

/* ---- config_finish.c: after the whole file ---- */

void config_finish_tool(struct loader *ld, struct tool *t);
/* max and window: the section's quota.max_actions and quota.window_hours. */
void config_finish_quota(struct loader *ld, struct quota_spec *q, const struct section_source *src,
                         enum config_key max, enum config_key window, const char *where);

#endif
