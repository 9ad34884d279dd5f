/* The table of every INI key, and the one way a "key = value" line of any
 * section is looked up, checked and stored through it. */
#include "config_keys.h"

#include "config_diag.h"
#include "config_loader.h"
#include "config_values.h"
#include "../store/state.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MAX_COUNT 1e9
#define MAX_SECONDS 1e7          /* about 115 days */
#define MAX_WINDOW_HOURS 87840.0 /* ten years */
#define AGENT_NAME_MAX 64

_Static_assert(CONFIG_KEY_COUNT <= 64, "section_source.refused has a bit per key");

/* Where a key's value goes in its section's struct, and how it is typed. */
#define SLOT(T, m)                                                                               \
    .offset = offsetof(T, m), .size = sizeof(((T *)0)->m),                                       \
    .field = _Generic(((T *)0)->m, double: FIELD_DOUBLE, char *: FIELD_STRING,            \
                                   struct config_bytes: FIELD_BYTES, default: FIELD_INT)
#define ENACT(m) SLOT(struct enact_config, m)
#define TOOL(m) SLOT(struct tool, m)
#define QUOTA(m) SLOT(struct quota_spec, m)

#define KEY(n, s) .name = n, .section = s, .hint_edits = 2
#define RULE(n, s, edits) .name = n, .section = s, .hint_edits = edits, .repeatable = true

#define BOOL .parse = KEY_PARSE_BOOL, .expected = "true or false"
#define COUNT_FROM(lo, hi, text) .parse = KEY_PARSE_COUNT, .min = lo, .max = hi, .expected = text
#define COUNT(hi, text) COUNT_FROM(1, hi, text)
#define NUMBER(lo, hi, text) .parse = KEY_PARSE_NUMBER, .min = lo, .max = hi, .expected = text
#define ABOVE_0(hi, text) NUMBER(0, hi, text), .open_min = true
#define SECONDS NUMBER(0.001, MAX_SECONDS, "a number of seconds from 0.001 to 10000000")
#define DELAY NUMBER(0, MAX_SECONDS, "a number of seconds from 0 to 10000000")
#define CHOICE(...) .parse = KEY_PARSE_CHOICE, .choices = {__VA_ARGS__}
#define IMPACT_EXEC(level) .parse = KEY_PARSE_IMPACT_EXEC, .arg = level
#define IMPACT_VERB(level)                                                                       \
    .parse = KEY_PARSE_IMPACT_VERB, .arg = level, .expected = "one word of 1 to 31 letters"

#define QUOTA_MAX_TEXT "a whole number from 1 to 4294967295"
#define QUOTA_WINDOW_TEXT "a number of hours above 0, at most ten years"
#define QUOTA_WARN_TEXT "a number of actions left (e.g. 3) or a percentage of the quota, 1% to 99%"
#define QUOTA_WARN_HELP "a quota_low record when what is left falls to this, once per window"

/* In .rodata1, which the linker puts after all of .rodata: the table (25
 * kB) is read only while an INI is parsed, and amid .rodata it pushed the
 * strings every governed start reads past the 64 kB the kernel maps around
 * one page fault (fault-around; bench/NOTES.md, B6). */
__attribute__((section(".rodata1"))) const struct key_def CONFIG_KEYS[CONFIG_KEY_COUNT] = {
    [EK_AGENT] = {KEY("agent", SECTION_ENACT), .parse = KEY_PARSE_AGENT_NAME, ENACT(agent),
                  .max = AGENT_NAME_MAX, .help = "whose limits these are, 1 to 64 characters"},
    [EK_STATE] = {KEY("state", SECTION_ENACT), .parse = KEY_PARSE_PATH, ENACT(state_path),
                  .help = "the shared state file (default: under $XDG_RUNTIME_DIR/enact/)"},
    [EK_AUDIT_LOG] = {KEY("audit_log", SECTION_ENACT), .parse = KEY_PARSE_AUDIT_LOG,
                      ENACT(audit_path),
                      .help = "the JSON-lines audit log, or syslog (default: "
                              "enact-audit.jsonl next to the config)"},
    [EK_MODE] = {KEY("mode", SECTION_ENACT), CHOICE("enforce", "observe"), ENACT(mode),
                 .dflt = MODE_ENFORCE, .expected = "'enforce' or 'observe'",
                 .help = "observe: refuse nothing, record what would have been refused"},
    [EK_DRY_RUN] = {KEY("dry_run", SECTION_ENACT), BOOL, ENACT(dry_run),
                    .help = "simulate every mapped tool"},
    [EK_ON_ERROR] = {KEY("on_error", SECTION_ENACT), CHOICE("deny", "allow"), ENACT(on_error),
                     .dflt = ON_ERROR_DENY, .expected = "'deny' or 'allow'",
                     .help = "what a mapped call gets when Enact cannot decide"},
    [EK_LOG_ALLOWED] = {KEY("log_allowed", SECTION_ENACT), BOOL, ENACT(log_allowed),
                        .help = "also record the calls that were allowed"},
    [EK_STATIC_BINARIES] = {KEY("static_binaries", SECTION_ENACT),
                            CHOICE("allow", "audit", "deny"), ENACT(static_binaries),
                            .dflt = STATIC_AUDIT, .expected = "'allow', 'audit' or 'deny'",
                            .help = "programs the preload cannot follow inside (default audit)"},
    [EK_STRICT] = {KEY("strict", SECTION_ENACT), BOOL, ENACT(strict),
                   .help = "close what a preload library can: static programs, syscall(), "
                           "io_uring"},
    [EK_MAX_AGENTS] = {KEY("max_agents", SECTION_ENACT),
                       COUNT(STATE_AGENTS_MAX, "a whole number from 1 to " STATE_AGENTS_MAX_TEXT),
                       ENACT(max_agents),
                       .help = "agents a new state file has room for before it grows (default 64)"},
    [EK_BACKEND] = {KEY("backend", SECTION_ENACT), .parse = KEY_PARSE_BACKEND,
                    ENACT(backend.url),
                    .help = "where limits are kept: local (this host's state file), or "
                            "redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://..., "
                            "redis+unix:///PATH for a whole fleet"},
    [EK_BACKEND_KEY_PREFIX] = {KEY("backend.key_prefix", SECTION_ENACT),
                               .parse = KEY_PARSE_KEY_PREFIX, ENACT(backend.key_prefix),
                               .max = 100,
                               .expected = "1 to 100 characters without spaces or braces",
                               .help = "the fleet's keys are {PREFIX}:... (default: "
                                       "enact:CONFIG-NAME)"},
    [EK_BACKEND_TIMEOUT] = {KEY("backend.timeout_ms", SECTION_ENACT),
                            COUNT(60000, "a whole number of milliseconds from 1 to 60000"),
                            ENACT(backend.timeout_ms), .dflt = 50,
                            .help = "the longest a call waits for the backend (default 50)"},
    [EK_BACKEND_ON_DOWN] = {KEY("backend.on_down", SECTION_ENACT),
                            CHOICE("local", "deny", "allow"), ENACT(backend.on_down),
                            .dflt = ON_DOWN_LOCAL, .expected = "'local', 'deny' or 'allow'",
                            .help = "while the backend cannot answer: keep limits on this "
                                    "host's state (default), refuse, or allow"},
    [EK_BACKEND_PASSWORD_FILE] = {KEY("backend.password_file", SECTION_ENACT),
                                  .parse = KEY_PARSE_PATH, ENACT(backend.password_file),
                                  .help = "a file holding the backend's password (its first "
                                          "line)"},
    [EK_BACKEND_PASSWORD_ENV] = {KEY("backend.password_env", SECTION_ENACT),
                                 .parse = KEY_PARSE_ENV_NAME, ENACT(backend.password_env),
                                 .expected = "the name of an environment variable",
                                 .help = "an environment variable holding the backend's "
                                         "password"},
    [EK_BACKEND_TLS_CA_FILE] = {KEY("backend.tls_ca_file", SECTION_ENACT),
                                .parse = KEY_PARSE_PATH, ENACT(backend.tls_ca_file),
                                .help = "rediss://: the CA certificates (PEM) to trust "
                                        "(default: the system's)"},
    [EK_KILL_SCOPE] = {KEY("kill_scope", SECTION_ENACT), CHOICE("mapped", "all"),
                       ENACT(kill_scope), .dflt = KILL_SCOPE_MAPPED,
                       .expected = "'mapped' or 'all'",
                       .help = "what enact kill stops: the agent's mapped calls (default), or "
                               "every connect and program start"},

    [TK_CONNECT] = {RULE("connect", SECTION_TOOL, 2), .parse = KEY_PARSE_CONNECT,
                    .help = "connects the tool governs: HOST[:PORT], CIDR, [IPv6], a name "
                            "glob, unix:PATH"},
    [TK_EXEC] = {RULE("exec", SECTION_TOOL, 1), .parse = KEY_PARSE_EXEC,
                 .help = "program starts the tool governs: PROGRAM [ARG...], globs"},
    [TK_RATE_PER_MINUTE] = {KEY("rate.max_calls_per_minute", SECTION_TOOL),
                            ABOVE_0(1e12, "a number of calls above 0 (e.g. 60 or 0.5)"),
                            TOOL(written.max_calls_per_minute),
                            .help = "a token bucket per agent, refilled at this many calls "
                                    "a minute"},
    [TK_RATE_BURST] = {KEY("rate.burst_size", SECTION_TOOL),
                       COUNT(MAX_COUNT, "a whole number from 1 to 1000000000"),
                       TOOL(written.burst_size),
                       .help = "the bucket's capacity (default: the rate rounded up)"},
    [TK_QUOTA_MAX] = {KEY("quota.max_actions", SECTION_TOOL), COUNT(UINT32_MAX, QUOTA_MAX_TEXT),
                      TOOL(quota.max_actions),
                      .help = "at most this many calls per agent in any rolling window"},
    [TK_QUOTA_WINDOW] = {KEY("quota.window_hours", SECTION_TOOL),
                         ABOVE_0(MAX_WINDOW_HOURS, QUOTA_WINDOW_TEXT), TOOL(quota.window_hours),
                         .dflt = 24, .help = "the quota's window, in hours (default 24)"},
    [TK_QUOTA_WARN] = {KEY("quota.warn_remaining", SECTION_TOOL), .parse = KEY_PARSE_QUOTA_WARN,
                       TOOL(quota.warn_remaining), .expected = QUOTA_WARN_TEXT,
                       .help = QUOTA_WARN_HELP},
    [TK_BREAKER_FAILURES] = {KEY("breaker.failure_threshold", SECTION_TOOL),
                             COUNT(MAX_COUNT, "a whole number from 1 to 1000000000"),
                             TOOL(written.failure_threshold), .dflt = 5,
                             .help = "consecutive failures that open the breaker (default 5)"},
    [TK_BREAKER_SUCCESSES] = {KEY("breaker.success_threshold", SECTION_TOOL),
                              COUNT(BREAKER_MAX_PROBES, "a whole number from 1 to 16"),
                              TOOL(written.success_threshold), .dflt = 2,
                              .help = "half-open probes at a time, and successes that close "
                                      "it (default 2)"},
    [TK_BREAKER_TIMEOUT] = {KEY("breaker.timeout_seconds", SECTION_TOOL), SECONDS,
                            TOOL(written.breaker_timeout_seconds), .dflt = 60,
                            .help = "how long the breaker stays open (default 60)"},
    [TK_TIMEOUT] = {KEY("timeout_seconds", SECTION_TOOL), SECONDS, TOOL(timeout_seconds),
                    .help = "a blocking connect gives up, a program is ended, after this long"},
    [TK_IO_TIMEOUT] = {KEY("io_timeout_seconds", SECTION_TOOL), SECONDS,
                       TOOL(io_timeout_seconds),
                       .help = "each read and write on a blocking connection gives up after "
                               "this long"},
    [TK_RETRY_ATTEMPTS] = {KEY("retry.max_attempts", SECTION_TOOL),
                           COUNT(100, "a whole number from 1 to 100 (it counts the first "
                                      "attempt)"),
                           TOOL(retry.max_attempts), .dflt = 1,
                           .help = "attempts of a blocking connect, the first included "
                                   "(default 1)"},
    [TK_RETRY_INITIAL] = {KEY("retry.initial_delay", SECTION_TOOL), DELAY,
                          TOOL(retry.initial_delay_s), .dflt = 1.0,
                          .help = "the first wait between attempts (default 1.0, or max_delay)"},
    [TK_RETRY_MAX] = {KEY("retry.max_delay", SECTION_TOOL), DELAY, TOOL(retry.max_delay_s),
                      .dflt = 60.0, .help = "the longest wait between attempts (default 60)"},
    [TK_RETRY_BASE] = {KEY("retry.exponential_base", SECTION_TOOL),
                       NUMBER(1, 100, "a number from 1 to 100"), TOOL(retry.base), .dflt = 2.0,
                       .help = "each wait is this many times the one before (default 2.0)"},
    [TK_RETRY_JITTER] = {KEY("retry.jitter", SECTION_TOOL), BOOL, TOOL(retry.jitter),
                         .dflt = true, .help = "wait a random time up to the delay (default true)"},
    [TK_RETRY_ON_EXIT] = {KEY("retry.on_exit_nonzero", SECTION_TOOL), BOOL,
                          TOOL(retry_on_exit_nonzero),
                          .help = "run a system() command that exits non-zero again"},
    [TK_DRY_RUN] = {KEY("dry_run", SECTION_TOOL), BOOL, TOOL(dry_run),
                    .help = "simulate the tool's calls"},
    [TK_ACTION] = {KEY("action", SECTION_TOOL), CHOICE("auto", "connection", "request"),
                   TOOL(action), .dflt = ACTION_AUTO,
                   .expected = "'auto', 'connection' or 'request'",
                   .help = "what a call is: each request (HTTP, Redis, PostgreSQL) or each "
                           "connection; auto: by the protocol (default)"},
    [TK_ON_LIMIT] = {KEY("on_limit", SECTION_TOOL), CHOICE("fail", "wait"), TOOL(on_limit),
                     .dflt = ON_LIMIT_FAIL, .expected = "'fail' or 'wait'",
                     .help = "wait: a refused blocking connect waits for the limit to end"},
    [TK_MAX_WAIT] = {KEY("max_wait", SECTION_TOOL), SECONDS, TOOL(max_wait), .dflt = 30,
                     .help = "the longest wait with on_limit = wait (default 30)"},
    [TK_ERRNO] = {KEY("errno", SECTION_TOOL), .parse = KEY_PARSE_ERRNO, TOOL(deny_errno),
                  .dflt = EPERM,
                  .expected = "one of EPERM, EACCES, ECONNREFUSED, ECONNRESET, ENETUNREACH, "
                              "EHOSTUNREACH, ETIMEDOUT",
                  .help = "what a refused call fails with (default EPERM)"},
    [TK_DRY_RUN_RESPONSE] = {KEY("dry_run.response", SECTION_TOOL), .parse = KEY_PARSE_BYTES,
                             TOOL(dry_run_response),
                             .help = "what a raw simulated peer answers each request: TEXT "
                                     "(escapes \\r \\n \\t \\0 \\xHH) or @FILE"},
    [TK_DRY_RUN_PROTOCOL] = {KEY("dry_run.protocol", SECTION_TOOL),
                             CHOICE("auto", "http", "redis", "postgresql", "raw"),
                             TOOL(dry_run_protocol), .dflt = PEER_AUTO,
                             .expected = "'auto', 'http', 'redis', 'postgresql' or 'raw'",
                             .help = "what a simulated peer speaks (default auto: by the port "
                                     "and the first bytes)"},
    [TK_DRY_RUN_HTTP_STATUS] = {KEY("dry_run.http_status", SECTION_TOOL),
                                COUNT_FROM(200, 599, "an HTTP status from 200 to 599"),
                                TOOL(dry_run_http_status), .dflt = 200,
                                .help = "the status a simulated HTTP peer answers (default 200)"},
    [TK_DRY_RUN_HTTP_BODY] = {KEY("dry_run.http_body", SECTION_TOOL), .parse = KEY_PARSE_BYTES,
                              TOOL(dry_run_http_body),
                              .help = "the body a simulated HTTP peer answers: TEXT or @FILE "
                                      "(default a JSON object saying it was simulated)"},
    [TK_DRY_RUN_EXIT_CODE] = {KEY("dry_run.exit_code", SECTION_TOOL),
                              COUNT_FROM(0, 255, "a whole number from 0 to 255"),
                              TOOL(dry_run_exit_code),
                              .help = "the status a simulated program start ends with"},

    [TK_APPROVE] = {KEY("approve", SECTION_TOOL), CHOICE("never", "high", "medium", "always"),
                    TOOL(approve), .dflt = APPROVE_NEVER,
                    .expected = "'never', 'high', 'medium' or 'always'",
                    .help = "calls of this impact (or above) wait for enact approve"},
    [TK_APPROVE_TIMEOUT] = {KEY("approve.timeout_seconds", SECTION_TOOL), SECONDS,
                            TOOL(approve_timeout_seconds), .dflt = 300,
                            .help = "how long a call waits for a person (default 300)"},
    [TK_APPROVE_ON_TIMEOUT] = {KEY("approve.on_timeout", SECTION_TOOL), CHOICE("deny", "allow"),
                               TOOL(approve_on_timeout), .dflt = APPROVE_TIMEOUT_DENY,
                               .expected = "'deny' or 'allow'",
                               .help = "what a call no one answered gets (default deny)"},
    [TK_APPROVE_COMMAND] = {KEY("approve.command", SECTION_TOOL), .parse = KEY_PARSE_PATH,
                            TOOL(approve_command),
                            .help = "a program run once per request, the request as JSON on "
                                    "its stdin"},

    [AK_QUOTA_MAX] = {KEY("quota.max_actions", SECTION_AGENT), COUNT(UINT32_MAX, QUOTA_MAX_TEXT),
                      QUOTA(max_actions),
                      .help = "at most this many mapped calls per agent in any rolling window"},
    [AK_QUOTA_WINDOW] = {KEY("quota.window_hours", SECTION_AGENT),
                         ABOVE_0(MAX_WINDOW_HOURS, QUOTA_WINDOW_TEXT), QUOTA(window_hours),
                         .dflt = 24, .help = "the quota's window, in hours (default 24)"},
    [AK_QUOTA_WARN] = {KEY("quota.warn_remaining", SECTION_AGENT), .parse = KEY_PARSE_QUOTA_WARN,
                       QUOTA(warn_remaining), .expected = QUOTA_WARN_TEXT,
                       .help = QUOTA_WARN_HELP},

    [IK_EXEC_HIGH] = {RULE("exec.high", SECTION_IMPACT, 2), IMPACT_EXEC(IMPACT_HIGH),
                      .help = "a command of HIGH impact, written as an exec rule"},
    [IK_EXEC_MEDIUM] = {RULE("exec.medium", SECTION_IMPACT, 2), IMPACT_EXEC(IMPACT_MEDIUM),
                        .help = "a command of MEDIUM impact, written as an exec rule"},
    [IK_EXEC_LOW] = {RULE("exec.low", SECTION_IMPACT, 2), IMPACT_EXEC(IMPACT_LOW),
                     .help = "a command of LOW impact, written as an exec rule"},
    [IK_VERB_HIGH] = {RULE("verb.high", SECTION_IMPACT, 2), IMPACT_VERB(IMPACT_HIGH),
                      .help = "a protocol verb of HIGH impact (an HTTP method, ...)"},
    [IK_VERB_MEDIUM] = {RULE("verb.medium", SECTION_IMPACT, 2), IMPACT_VERB(IMPACT_MEDIUM),
                        .help = "a protocol verb of MEDIUM impact"},
    [IK_VERB_LOW] = {RULE("verb.low", SECTION_IMPACT, 2), IMPACT_VERB(IMPACT_LOW),
                     .help = "a protocol verb of LOW impact"},
};

static key_parser *const PARSERS[KEY_PARSE_KINDS] = {
    [KEY_PARSE_BOOL] = parse_bool_key,
    [KEY_PARSE_CHOICE] = parse_choice_key,
    [KEY_PARSE_COUNT] = parse_count_key,
    [KEY_PARSE_NUMBER] = parse_number_key,
    [KEY_PARSE_PATH] = parse_path_key,
    [KEY_PARSE_QUOTA_WARN] = parse_quota_warn_key,
    [KEY_PARSE_AUDIT_LOG] = parse_audit_log_key,
    [KEY_PARSE_AGENT_NAME] = parse_agent_name_key,
    [KEY_PARSE_BACKEND] = parse_backend_key,
    [KEY_PARSE_KEY_PREFIX] = parse_key_prefix_key,
    [KEY_PARSE_ENV_NAME] = parse_env_name_key,
    [KEY_PARSE_ERRNO] = parse_errno_key,
    [KEY_PARSE_BYTES] = parse_bytes_key,
    [KEY_PARSE_CONNECT] = parse_connect_key,
    [KEY_PARSE_EXEC] = parse_exec_key,
    [KEY_PARSE_IMPACT_EXEC] = parse_impact_exec_key,
    [KEY_PARSE_IMPACT_VERB] = parse_impact_verb_key,
};

const char *config_section_title(enum config_section s)
{
    static const char *const titles[SECTION_COUNT] = {"[enact]", "[tool.NAME]", "[agent]",
                                                      "[impact]"};
    return titles[s];
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A name cut short (rate.burst for rate.burst_size) is as near a miss as
 * one edit, however much it left out; shorter names than this say too
 * little to hint from. */
#define HINT_PREFIX_MIN 4

static size_t hint_distance(const char *key, const char *name)
{
    size_t n = strlen(name);
    if (n >= HINT_PREFIX_MIN && n < strlen(key) && strncasecmp(key, name, n) == 0)
        return 1;
    return edit_distance(key, name);
}

/* The key of a section by its exact name, or NULL with *hint the name it
 * is most likely a misspelling of: the closest one-value key (the first of
 * equals), else the closest repeatable one (the last of equals: [impact]'s
 * hints read so). */
static const struct key_def *find_key(enum config_section s, const char *name,
                                         const char **hint)
{
    *hint = NULL;
    /* Exact names first: the hint's edit distances were two thirds of
     * loading a config, at every governed program's start. */
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        if (CONFIG_KEYS[i].section == s && strcmp(CONFIG_KEYS[i].name, name) == 0)
            return &CONFIG_KEYS[i];
    size_t best = SIZE_MAX;
    for (int repeatable = 0; repeatable < 2 && !*hint; repeatable++) {
        for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
            const struct key_def *k = &CONFIG_KEYS[i];
            if (k->section != s || k->repeatable != repeatable)
                continue;
            size_t d = hint_distance(k->name, name);
            if (d <= k->hint_edits && (d < best || (repeatable && d == best))) {
                best = d;
                *hint = k->name;
            }
        }
    }
    return NULL;
}

void config_key_apply(struct loader *ld, enum config_section section, const char *kind,
                      const char *label, void *base, struct section_source *src,
                      const char *name, const char *v)
{
    const char *hint;
    const struct key_def *k = find_key(section, name, &hint);
    if (!k) {
        if (hint)
            config_error(ld, ld->line, "unknown key '%s' in [%s%s]; did you mean '%s'?", name,
                         kind, label, hint);
        else
            config_error(ld, ld->line, "unknown key '%s' in [%s%s]", name, kind, label);
        return;
    }
    size_t id = (size_t)(k - CONFIG_KEYS);
    if (k->repeatable) {
        if (src)
            src->rule_lines++;
    } else if (src->key_line[id]) {
        config_error(ld, ld->line, "'%s' is set twice (first on line %u)", k->name,
                     src->key_line[id]);
        return;
    } else {
        src->key_line[id] = ld->line;
    }
    unsigned errors_before = ld->errors;
    if (PARSERS[k->parse](ld, k, base, v) == KEY_BAD_VALUE)
        config_error(ld, ld->line, "%s must be %s, not '%s'", k->name, k->expected, v);
    if (ld->errors > errors_before && src)
        src->refused |= UINT64_C(1) << id;
}

void config_key_default(enum config_key k, void *base)
{
    config_value_default(&CONFIG_KEYS[k], base);
}

void config_key_format(enum config_key k, const void *base, char *out, size_t cap)
{
    config_value_format(&CONFIG_KEYS[k], base, out, cap);
}
