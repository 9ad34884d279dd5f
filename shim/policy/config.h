/* The INI configuration, parsed once per process into an immutable form.
 *
 * Loading allocates and prints nothing; every problem becomes a
 * "FILE:LINE: message" diagnostic, and so does every warning (a key this
 * build accepts but does not enforce yet). After loading, the structure is
 * only read, so it is safe to use from any thread and from vfork children.
 *
 * Files, each calling only those before it: config_diag.c (diagnostics,
 * paths), config_values.c (the value parsers), config_keys.c (the table of
 * every key: section, parser, where its value goes, bounds, default, help),
 * config_finish.c (defaults and cross-key checks after the file),
 * config.c (reading the file, inih, sections); config_match.c (which tool
 * a call maps to) stands apart. */
#ifndef ENACT_CONFIG_H
#define ENACT_CONFIG_H

#include "connect_index.h"
#include "../pure/backoff.h"
#include "../pure/breaker.h"
#include "../pure/bucket.h"
#include "../pure/impact.h"
#include "../pure/peer.h"
#include "../pure/quota.h"
#include "../pure/redis_url.h"
#include "../pure/rule.h"
#include "../store/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum enact_mode { MODE_ENFORCE, MODE_OBSERVE };
enum on_error_policy { ON_ERROR_DENY, ON_ERROR_ALLOW };
#define REDIS_PREFIX_TEXT_MAX 101

/* What a call gets while a shared backend cannot answer. */
enum on_down_policy { ON_DOWN_LOCAL, ON_DOWN_DENY, ON_DOWN_ALLOW };

/* [enact] backend and backend.*: where limits are kept (README "Running a
 * fleet"). url is NULL for the host's own state file. */
struct backend_spec {
    char *url;               /* as written; credentials may be in it */
    struct redis_url parsed; /* when url is set */
    char *key_prefix;        /* default: enact:CONFIG-NAME; < REDIS_PREFIX_TEXT_MAX */
    uint64_t timeout_ms;
    enum on_down_policy on_down;
    char *password_file; /* absolute */
    char *password_env;  /* the name of a variable */
    char *tls_ca_file;   /* absolute; rediss:// only */
};
enum static_binaries_policy { STATIC_ALLOW, STATIC_AUDIT, STATIC_DENY };
/* What a call of a connect tool is (README "Connections"): auto counts
 * each request of a protocol that has them (peer.h), else the connection. */
enum tool_action { ACTION_AUTO, ACTION_CONNECTION, ACTION_REQUEST };
enum on_limit_policy { ON_LIMIT_FAIL, ON_LIMIT_WAIT };
/* Which calls of a tool wait for a person's approval (README "Operator
 * control"): by the impact of what would run or be sent. */
enum approve_level { APPROVE_NEVER, APPROVE_HIGH, APPROVE_MEDIUM, APPROVE_ALWAYS };
enum approve_timeout_policy { APPROVE_TIMEOUT_DENY, APPROVE_TIMEOUT_ALLOW };
/* What an agent's kill switch stops (README "Operator control"). */
enum kill_scope { KILL_SCOPE_MAPPED, KILL_SCOPE_ALL };

/* Every key of the INI, by section, in the order of the key table
 * (config_keys.c); section sources' key_line[] and refused are by it. */
enum config_key {
    /* [enact] */
    EK_AGENT,
    EK_STATE,
    EK_AUDIT_LOG,
    EK_MODE,
    EK_DRY_RUN,
    EK_ON_ERROR,
    EK_LOG_ALLOWED,
    EK_STATIC_BINARIES,
    EK_STRICT,
    EK_MAX_AGENTS,
    EK_BACKEND,
    EK_BACKEND_KEY_PREFIX,
    EK_BACKEND_TIMEOUT,
    EK_BACKEND_ON_DOWN,
    EK_BACKEND_PASSWORD_FILE,
    EK_BACKEND_PASSWORD_ENV,
    EK_BACKEND_TLS_CA_FILE,
    EK_KILL_SCOPE,
    /* [tool.NAME] */
    TK_CONNECT,
    TK_EXEC,
    TK_RATE_PER_MINUTE,
    TK_RATE_BURST,
    TK_QUOTA_MAX,
    TK_QUOTA_WINDOW,
    TK_QUOTA_WARN,
    TK_BREAKER_FAILURES,
    TK_BREAKER_SUCCESSES,
    TK_BREAKER_TIMEOUT,
    TK_TIMEOUT,
    TK_IO_TIMEOUT,
    TK_RETRY_ATTEMPTS,
    TK_RETRY_INITIAL,
    TK_RETRY_MAX,
    TK_RETRY_BASE,
    TK_RETRY_JITTER,
    TK_RETRY_ON_EXIT,
    TK_DRY_RUN,
    TK_ACTION,
    TK_ON_LIMIT,
    TK_MAX_WAIT,
    TK_ERRNO,
    TK_DRY_RUN_RESPONSE,
    TK_DRY_RUN_PROTOCOL,
    TK_DRY_RUN_HTTP_STATUS,
    TK_DRY_RUN_HTTP_BODY,
    TK_DRY_RUN_EXIT_CODE,
    TK_APPROVE,
    TK_APPROVE_TIMEOUT,
    TK_APPROVE_ON_TIMEOUT,
    TK_APPROVE_COMMAND,
    /* [agent] and [agent.NAME] */
    AK_QUOTA_MAX,
    AK_QUOTA_WINDOW,
    AK_QUOTA_WARN,
    /* [impact] */
    IK_EXEC_HIGH,
    IK_EXEC_MEDIUM,
    IK_EXEC_LOW,
    IK_VERB_HIGH,
    IK_VERB_MEDIUM,
    IK_VERB_LOW,
    CONFIG_KEY_COUNT
};

/* Where one section's keys were written: the loader's bookkeeping, for its
 * cross-key checks and for enact check; the hooks never read it. */
struct section_source {
    unsigned line;                       /* its [header]; 0 for [enact] */
    unsigned rule_lines;                 /* repeatable keys written, valid or not */
    unsigned key_line[CONFIG_KEY_COUNT]; /* of each one-value key; 0: not set */
    uint64_t refused;                    /* bit per key whose value was refused */
};

/* A quota as written (quota.max_actions, quota.window_hours) and compiled. */
struct quota_spec {
    bool enabled;
    uint64_t max_actions;
    double window_hours; /* default 24 */
    char *warn_remaining; /* quota.warn_remaining as written: N or N% */
    int64_t warn_at; /* a quota_low record when what is left falls to this; -1: never */
    struct quota_policy policy;
};

/* A tool's values that only the policies are compiled from, as written;
 * the loader fills in the defaults of those not written. */
struct tool_settings {
    double max_calls_per_minute;
    uint64_t burst_size; /* default: max_calls_per_minute rounded up */
    uint64_t failure_threshold, success_threshold;
    double breaker_timeout_seconds;
};

/* Bytes as a key gave them: escapes undone or a file read whole, so any
 * byte (NUL included) may be among them; data is NUL-terminated too. */
struct config_bytes {
    char *data; /* NULL: not written */
    size_t len;
};

/* What the hooks and the gate read of a tool, then how it was written. */
struct tool {
    char *name;
    struct connect_rule *connect;
    size_t nconnect;
    struct exec_rule *exec;
    size_t nexec;

    bool rate_limited; /* rate.*: a token bucket per (agent, tool) */
    struct rate_policy rate;
    struct quota_spec quota; /* quota.*: per (agent, tool) */
    bool has_breaker;        /* breaker.*: one per tool, shared by all agents */
    struct breaker_policy breaker;

    double timeout_seconds, io_timeout_seconds, max_wait;
    struct retry_policy retry;
    bool retry_on_exit_nonzero;
    bool dry_run;
    enum tool_action action;
    enum on_limit_policy on_limit;
    int deny_errno; /* what a refused call returns (EPERM) */
    struct config_bytes dry_run_response;  /* a raw peer's answer */
    enum peer_protocol dry_run_protocol;  /* as written; config_peer_protocol decides */
    uint32_t dry_run_http_status;
    struct config_bytes dry_run_http_body;
    uint8_t dry_run_exit_code; /* a simulated exec's process ends with it */
    enum approve_level approve;
    double approve_timeout_seconds;
    enum approve_timeout_policy approve_on_timeout;
    char *approve_command; /* absolute, or NULL */

    /* Name this tool's state in the state file, one per mechanism:
     * editing a tool's limits gives that mechanism fresh state and leaves
     * every other one alone. */
    uint64_t rate_id, quota_id, breaker_id;
    uint64_t id; /* state_tool_id(name): its kill switches and counters */

    struct tool_settings written;
    struct section_source src;
};

/* [agent.NAME]: the guide's set_quota. */
struct agent_override {
    char *name;
    struct quota_spec quota;
    struct section_source src;
};

struct enact_config {
    char *path;       /* absolute */
    char *agent;      /* [enact] agent, or NULL */
    char *state_path; /* absolute */
    char *audit_path; /* absolute */
    enum enact_mode mode;
    bool dry_run;
    enum on_error_policy on_error;
    bool log_allowed;
    enum static_binaries_policy static_binaries;
    bool strict;
    uint32_t max_agents; /* room in a new state file; 0: STATE_AGENTS_DEFAULT */
    enum kill_scope kill_scope;
    struct backend_spec backend;
    struct tool *tools; /* in file order: the first match wins */
    size_t ntools;
    bool has_name_rules; /* some connect rule names a DNS name */
    struct connect_index connect_index; /* over tools[].connect */
    struct quota_spec agent_quota; /* [agent]: every agent's, unless overridden */
    struct agent_override *agents;
    size_t nagents;
    struct impact_table impact; /* [impact] */
    struct section_source enact_src, agent_src; /* [enact], [agent] */
    /* Loading read files the INI names (dry_run.response = @FILE): an
     * image of it (config_image.h) would not see them change. */
    bool read_other_files;
    /* The mapped image this config lives in (config_cache.h), which
     * config_free unmaps; NULL for a config read from its INI. */
    void *image;
    size_t image_len;
};

/* Diagnostics, each a line "FILE:LINE: message" (or "FILE: message"), in
 * line order; at[i] is the line of lines[i] (0: the whole file). Warnings
 * read "FILE:LINE: warning: ..." and do not fail the load. */
struct config_diag {
    char **lines;
    unsigned *at;
    size_t n;
    size_t warnings;
};

/* NULL on any error, with diag filled; diag may be NULL. */
struct enact_config *config_load(const char *path, struct config_diag *diag);

/* Whether a program's kind (static, setuid, unreadable) is checked before
 * it starts: static_binaries other than allow, or strict mode. */
static inline bool config_checks_programs(const struct enact_config *cfg)
{
    return cfg->static_binaries != STATIC_ALLOW || cfg->strict;
}

/* How big a new state file for cfg is (state_sizes_for). */
struct state_sizes config_state_sizes(const struct enact_config *cfg);
void config_free(struct enact_config *cfg);
void config_diag_free(struct config_diag *diag);

/* Where the state file lives when [enact] state is not set:
 * $XDG_RUNTIME_DIR/enact/, else /var/tmp/enact-$UID/, one file per config. */
bool config_default_state_path(const char *config_abs_path, char *out, size_t cap);
/* A file of that folder for the config: NAME-HASH followed by suffix. */
bool config_default_file(const char *config_abs_path, const char *suffix, char *out, size_t cap);

/* The protocol a dry-run connection of t speaks: as written, except that
 * auto with a dry_run.response is raw (the response says what to answer). */
static inline enum peer_protocol config_peer_protocol(const struct tool *t)
{
    return t->dry_run_protocol == PEER_AUTO && t->dry_run_response.data ? PEER_RAW
                                                                         : t->dry_run_protocol;
}

/* Whether calls of this tool are simulated (its dry_run, or [enact]). */
static inline bool config_simulates(const struct enact_config *cfg, const struct tool *t)
{
    return cfg->dry_run || t->dry_run;
}

#endif
