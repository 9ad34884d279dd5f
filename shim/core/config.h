/* The INI configuration, parsed once per process into an immutable form.
 *
 * Loading allocates and may print nothing; every problem becomes a
 * "FILE:LINE: message" diagnostic. After loading, the structure is only
 * read, so it is safe to use from any thread and from vfork children. */
#ifndef ENACT_CONFIG_H
#define ENACT_CONFIG_H

#include "bucket.h"
#include "rule.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum enact_mode { MODE_ENFORCE, MODE_OBSERVE };
enum on_error_policy { ON_ERROR_DENY, ON_ERROR_ALLOW };

struct tool {
    char *name;
    unsigned line;       /* its [tool.NAME] header */
    unsigned rule_lines; /* connect/exec lines written, valid or not */
    struct connect_rule *connect;
    size_t nconnect;
    struct exec_rule *exec;
    size_t nexec;
    bool rate_limited;
    struct rate_policy rate;
    double max_calls_per_minute;
    uint64_t burst_size;
    unsigned rate_line, burst_line; /* 0: not set */
    /* Names this tool's policy in the state file: editing the tool's limits
     * gives it fresh state and leaves every other tool's alone. */
    uint64_t policy_id;
};

struct enact_config {
    char *path;       /* absolute */
    char *agent;      /* [enact] agent, or NULL */
    char *state_path; /* absolute */
    char *audit_path; /* absolute */
    enum enact_mode mode;
    enum on_error_policy on_error;
    bool log_allowed;
    struct tool *tools; /* in file order: the first match wins */
    size_t ntools;
};

/* Diagnostics, each a line "FILE:LINE: message" (or "FILE: message"),
 * in line order; at[i] is the line of lines[i] (0: the whole file). */
struct config_diag {
    char **lines;
    unsigned *at;
    size_t n;
};

/* NULL on any error, with diag filled; diag may be NULL. */
struct enact_config *config_load(const char *path, struct config_diag *diag);
void config_free(struct enact_config *cfg);
void config_diag_free(struct config_diag *diag);

/* Where the state file lives when [enact] state is not set:
 * $XDG_RUNTIME_DIR/enact/, else /var/tmp/enact-$UID/, one file per config. */
bool config_default_state_path(const char *config_abs_path, char *out, size_t cap);

/* The first tool (file order) with a rule matching the call, or NULL. */
const struct tool *config_match_connect(const struct enact_config *cfg,
                                        const struct net_target *t);
const struct tool *config_match_exec(const struct enact_config *cfg, const char *path,
                                     char *const argv[]);

#endif
