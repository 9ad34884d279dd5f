/* What each INI key means, which values it accepts, and what a key that is
 * set implies for the compiled policy. */
#include "../store/audit_sink.h"
#include "config_internal.h"
#include "../pure/num.h"
#include "../store/state.h"
#include "../store/sys.h"

#include "../pure/hash.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COUNT UINT64_C(1000000000)
#define MAX_SECONDS 1e7 /* about 115 days */
#define MAX_WINDOW_HOURS 87840.0 /* ten years */
#define MAX_RESPONSE_BYTES 65536
#define DEFAULT_MAX_WAIT_S 30.0

/* ---- value parsers -------------------------------------------------------- */

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                               "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* A finite number in [min, max] (min excluded when open_min). */
static bool parse_number(const char *v, double min, bool open_min, double max, double *out)
{
    /* Plain decimal only: strtod would also take hex, "inf" and "nan". */
    if (v[strspn(v, "0123456789.eE+-")] != '\0')
        return false;
    errno = 0;
    char *end;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d > max || d < min ||
        (open_min && d == min))
        return false;
    *out = d;
    return true;
}

static bool parse_count(const char *v, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < 1 || n > max)
        return false;
    *out = n;
    return true;
}

/* Index of v in a NULL-terminated list, or -1. */
static int choice(const char *v, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(v, choices[i]) == 0)
            return i;
    return -1;
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

/* ---- key tables ----------------------------------------------------------- */

struct key_info {
    const char *name;
};

static const struct key_info ENACT_KEYS[ENACT_KEY_COUNT] = {
    [EK_AGENT] = {"agent"},
    [EK_STATE] = {"state"},
    [EK_AUDIT_LOG] = {"audit_log"},
    [EK_MODE] = {"mode"},
    [EK_DRY_RUN] = {"dry_run"},
    [EK_ON_ERROR] = {"on_error"},
    [EK_LOG_ALLOWED] = {"log_allowed"},
    [EK_STATIC_BINARIES] = {"static_binaries"},
    [EK_STRICT] = {"strict"},
    [EK_MAX_AGENTS] = {"max_agents"},
};

static const struct key_info TOOL_KEYS[TOOL_KEY_COUNT] = {
    [TK_RATE_PER_MINUTE] = {"rate.max_calls_per_minute"},
    [TK_RATE_BURST] = {"rate.burst_size"},
    [TK_QUOTA_MAX] = {"quota.max_actions"},
    [TK_QUOTA_WINDOW] = {"quota.window_hours"},
    [TK_BREAKER_FAILURES] = {"breaker.failure_threshold"},
    [TK_BREAKER_SUCCESSES] = {"breaker.success_threshold"},
    [TK_BREAKER_TIMEOUT] = {"breaker.timeout_seconds"},
    [TK_TIMEOUT] = {"timeout_seconds"},
    [TK_IO_TIMEOUT] = {"io_timeout_seconds"},
    [TK_RETRY_ATTEMPTS] = {"retry.max_attempts"},
    [TK_RETRY_INITIAL] = {"retry.initial_delay"},
    [TK_RETRY_MAX] = {"retry.max_delay"},
    [TK_RETRY_BASE] = {"retry.exponential_base"},
    [TK_RETRY_JITTER] = {"retry.jitter"},
    [TK_RETRY_ON_EXIT] = {"retry.on_exit_nonzero"},
    [TK_DRY_RUN] = {"dry_run"},
    [TK_ACTION] = {"action"},
    [TK_ON_LIMIT] = {"on_limit"},
    [TK_MAX_WAIT] = {"max_wait"},
    [TK_ERRNO] = {"errno"},
    [TK_DRY_RUN_RESPONSE] = {"dry_run.response"},
    [TK_DRY_RUN_EXIT_CODE] = {"dry_run.exit_code"},
};

static const char *const QUOTA_KEYS[] = {"quota.max_actions", "quota.window_hours", NULL};
static const char *const IMPACT_KEYS[] = {"exec.high", "exec.medium", "exec.low",
                                          "verb.high", "verb.medium", "verb.low", NULL};

/* Index of name in a table of n keys, or -1; *hint gets the closest name
 * within two edits. */
static int find_key(const struct key_info *keys, size_t n, const char *name, const char **hint)
{
    size_t best = 3;
    *hint = NULL;
    /* Exact names first: the hint's edit distances were two thirds of
     * loading a config, at every governed program's start. */
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(keys[i].name, name);
        if (d < best) {
            best = d;
            *hint = keys[i].name;
        }
    }
    return -1;
}

static void unknown_key(struct loader *ld, const char *section, const char *name,
                        const char *hint)
{
    if (hint)
        config_error(ld, ld->line, "unknown key '%s' in [%s]; did you mean '%s'?", name, section,
                     hint);
    else
        config_error(ld, ld->line, "unknown key '%s' in [%s]", name, section);
}

/* Records the line of a one-value key; false (reported) when set before. */
static bool first_time(struct loader *ld, unsigned *seen, const char *name)
{
    if (*seen) {
        config_error(ld, ld->line, "'%s' is set twice (first on line %u)", name, *seen);
        return false;
    }
    *seen = ld->line;
    return true;
}

static void bad_value(struct loader *ld, const char *name, const char *v, const char *expected)
{
    config_error(ld, ld->line, "%s must be %s, not '%s'", name, expected, v);
}

/* ---- [enact] -------------------------------------------------------------- */

static void set_path(struct loader *ld, char **slot, const char *v, const char *name)
{
    if (!*v) {
        config_error(ld, ld->line, "'%s' is empty", name);
        return;
    }
    free(*slot);
    if (!(*slot = config_resolve_path(ld, v)))
        config_error(ld, ld->line, "out of memory");
}

void config_enact_key(struct loader *ld, const char *name, const char *v)
{
    static const char *const modes[] = {"enforce", "observe", NULL};
    static const char *const on_errors[] = {"deny", "allow", NULL};
    static const char *const statics[] = {"allow", "audit", "deny", NULL};
    struct enact_config *cfg = ld->cfg;
    const char *hint;
    int k = find_key(ENACT_KEYS, ENACT_KEY_COUNT, name, &hint);
    if (k < 0) {
        unknown_key(ld, "enact", name, hint);
        return;
    }
    if (!first_time(ld, &cfg->key_line[k], name))
        return;
    int c;
    switch ((enum enact_key)k) {
    case EK_AGENT:
        if (!*v || strlen(v) > 64)
            config_error(ld, ld->line, "agent name must be 1 to 64 characters");
        else if (!(cfg->agent = strdup(v)))
            config_error(ld, ld->line, "out of memory");
        break;
    case EK_STATE: set_path(ld, &cfg->state_path, v, name); break;
    case EK_AUDIT_LOG:
        if (strcmp(v, AUDIT_SYSLOG) == 0) {
            free(cfg->audit_path);
            if (!(cfg->audit_path = strdup(v)))
                config_error(ld, ld->line, "out of memory");
        } else {
            set_path(ld, &cfg->audit_path, v, name);
        }
        break;
    case EK_MODE:
        if ((c = choice(v, modes)) < 0)
            bad_value(ld, name, v, "'enforce' or 'observe'");
        else
            cfg->mode = (enum enact_mode)c;
        break;
    case EK_ON_ERROR:
        if ((c = choice(v, on_errors)) < 0)
            bad_value(ld, name, v, "'deny' or 'allow'");
        else
            cfg->on_error = (enum on_error_policy)c;
        break;
    case EK_STATIC_BINARIES:
        if ((c = choice(v, statics)) < 0)
            bad_value(ld, name, v, "'allow', 'audit' or 'deny'");
        else
            cfg->static_binaries = (enum static_binaries_policy)c;
        break;
    case EK_DRY_RUN:
        if (!parse_bool(v, &cfg->dry_run))
            bad_value(ld, name, v, "true or false");
        break;
    case EK_LOG_ALLOWED:
        if (!parse_bool(v, &cfg->log_allowed))
            bad_value(ld, name, v, "true or false");
        break;
    case EK_STRICT:
        if (!parse_bool(v, &cfg->strict))
            bad_value(ld, name, v, "true or false");
        break;
    case EK_MAX_AGENTS: {
        uint64_t n;
        if (!parse_count(v, STATE_AGENTS_MAX, &n))
            bad_value(ld, name, v, "a whole number from 1 to " STATE_AGENTS_MAX_TEXT);
        else
            cfg->max_agents = (uint32_t)n;
        break;
    }
    case ENACT_KEY_COUNT: break;
    }
}

/* ---- [tool.NAME] ---------------------------------------------------------- */

static void add_connect(struct loader *ld, struct tool *t, const char *v)
{
    struct connect_rule parsed[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
    char err[256];
    if (!connect_rule_parse(v, parsed, &n, err, sizeof err)) {
        config_error(ld, ld->line, "%s", err);
        return;
    }
    struct connect_rule *grown = realloc(t->connect, (t->nconnect + n) * sizeof *grown);
    if (!grown) {
        for (size_t i = 0; i < n; i++)
            connect_rule_free(&parsed[i]);
        config_error(ld, ld->line, "out of memory");
        return;
    }
    t->connect = grown;
    memcpy(t->connect + t->nconnect, parsed, n * sizeof *parsed);
    t->nconnect += n;
}

static void add_exec(struct loader *ld, struct tool *t, const char *v)
{
    struct exec_rule rule;
    char err[256];
    if (!exec_rule_parse(v, &rule, err, sizeof err)) {
        config_error(ld, ld->line, "%s", err);
        return;
    }
    struct exec_rule *grown = realloc(t->exec, (t->nexec + 1) * sizeof *grown);
    if (!grown) {
        exec_rule_free(&rule);
        config_error(ld, ld->line, "out of memory");
        return;
    }
    t->exec = grown;
    t->exec[t->nexec++] = rule;
}

/* errno values a refused call may report: each is one connect(2) or
 * execve(2) can return anyway, so callers handle it. */
static const struct {
    const char *name;
    int value;
    bool exec_ok;
} ERRNOS[] = {
    {"EPERM", EPERM, true},           {"EACCES", EACCES, true},
    {"ECONNREFUSED", ECONNREFUSED, false}, {"ECONNRESET", ECONNRESET, false},
    {"ENETUNREACH", ENETUNREACH, false},   {"EHOSTUNREACH", EHOSTUNREACH, false},
    {"ETIMEDOUT", ETIMEDOUT, false},
};

const char *config_errno_name(int value)
{
    for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++)
        if (ERRNOS[i].value == value)
            return ERRNOS[i].name;
    return "EPERM";
}

/* "a\r\nb" escapes, or @file (relative to the config) read whole. */
/* The whole of a regular file, at most MAX_RESPONSE_BYTES; NULL (and a
 * message in err) otherwise. A FIFO or a terminal would block every governed
 * process at start: refused. */
static char *read_small_file(const char *path, size_t *len, const char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    char *buf = NULL;
    *err = NULL;
    if (fd < 0 || fstat(fd, &st) != 0)
        *err = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        *err = "not a regular file";
    else if (st.st_size > MAX_RESPONSE_BYTES)
        *err = "larger than 64 KiB";
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        *err = "out of memory";
    size_t n = 0;
    while (!*err && n < (size_t)st.st_size) {
        ssize_t got = sys_read(fd, buf + n, (size_t)st.st_size - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* shrank meanwhile: what was there */
        n += (size_t)got;
    }
    if (fd >= 0)
        sys_close(fd);
    if (*err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* "a\r\nb" escapes, or @file (relative to the config) read whole. */
static bool set_response(struct loader *ld, struct tool *t, const char *v)
{
    char *buf = NULL;
    size_t len = 0;
    if (v[0] == '@') {
        char *path = config_resolve_path(ld, v + 1);
        const char *err = "out of memory";
        buf = path ? read_small_file(path, &len, &err) : NULL;
        if (!buf)
            config_error(ld, ld->line, "dry_run.response: cannot read %s: %s", path ? path : v,
                         err);
        free(path);
        if (!buf)
            return false;
    } else {
        buf = malloc(strlen(v) + 1);
        if (!buf)
            return false;
        for (const char *p = v; *p; p++) {
            if (p[0] == '\\' && (p[1] == 'r' || p[1] == 'n' || p[1] == 't' || p[1] == '\\')) {
                buf[len++] = p[1] == 'r' ? '\r' : p[1] == 'n' ? '\n' : p[1] == 't' ? '\t' : '\\';
                p++;
            } else {
                buf[len++] = *p;
            }
        }
    }
    buf[len] = '\0';
    free(t->dry_run_response);
    t->dry_run_response = buf;
    t->dry_run_response_len = len;
    return true;
}

static void tool_value(struct loader *ld, struct tool *t, enum tool_key k, const char *name,
                       const char *v);

void config_tool_key(struct loader *ld, struct tool *t, const char *name, const char *v)
{
    if (strcmp(name, "connect") == 0 || strcmp(name, "exec") == 0) {
        t->rule_lines++;
        (name[0] == 'c' ? add_connect : add_exec)(ld, t, v);
        return;
    }
    const char *hint;
    int k = find_key(TOOL_KEYS, TOOL_KEY_COUNT, name, &hint);
    if (k < 0) {
        char section[64];
        snprintf(section, sizeof section, "tool.%s", t->name);
        if (!hint && edit_distance(name, "connect") < 3)
            hint = "connect";
        if (!hint && edit_distance(name, "exec") < 2)
            hint = "exec";
        unknown_key(ld, section, name, hint);
        return;
    }
    if (!first_time(ld, &t->key_line[k], name))
        return;
    unsigned errors_before = ld->errors;
    tool_value(ld, t, (enum tool_key)k, name, v);
    if (ld->errors > errors_before) {
        t->refused_keys |= 1u << k;
        t->quota.refused = t->quota.refused || k == TK_QUOTA_MAX || k == TK_QUOTA_WINDOW;
    }
}

/* Parses and stores the value of one scalar key of a tool. */
static void tool_value(struct loader *ld, struct tool *t, enum tool_key k, const char *name,
                       const char *v)
{
    static const char *const actions[] = {"connection", "request", NULL};
    static const char *const limits[] = {"fail", "wait", NULL};
    uint64_t count;
    int c;
    switch (k) {
    case TK_RATE_PER_MINUTE:
        if (!parse_number(v, 0, true, 1e12, &t->max_calls_per_minute))
            bad_value(ld, name, v, "a number of calls above 0 (e.g. 60 or 0.5)");
        return;
    case TK_RATE_BURST:
        if (!parse_count(v, MAX_COUNT, &t->burst_size))
            bad_value(ld, name, v, "a whole number from 1 to 1000000000");
        return;
    case TK_QUOTA_MAX:
        if (!parse_count(v, UINT32_MAX, &t->quota.max_actions))
            bad_value(ld, name, v, "a whole number from 1 to 4294967295");
        return;
    case TK_QUOTA_WINDOW:
        if (!parse_number(v, 0, true, MAX_WINDOW_HOURS, &t->quota.window_hours))
            bad_value(ld, name, v, "a number of hours above 0, at most ten years");
        return;
    case TK_BREAKER_FAILURES:
        if (!parse_count(v, MAX_COUNT, &t->failure_threshold))
            bad_value(ld, name, v, "a whole number from 1 to 1000000000");
        return;
    case TK_BREAKER_SUCCESSES:
        if (!parse_count(v, BREAKER_MAX_PROBES, &t->success_threshold))
            bad_value(ld, name, v, "a whole number from 1 to 16");
        return;
    case TK_BREAKER_TIMEOUT:
        if (!parse_number(v, 0.001, false, MAX_SECONDS, &t->breaker_timeout_seconds))
            bad_value(ld, name, v, "a number of seconds from 0.001 to 10000000");
        return;
    case TK_TIMEOUT:
    case TK_IO_TIMEOUT:
    case TK_MAX_WAIT: {
        double *slot = k == TK_TIMEOUT      ? &t->timeout_seconds
                       : k == TK_IO_TIMEOUT ? &t->io_timeout_seconds
                                            : &t->max_wait;
        if (!parse_number(v, 0.001, false, MAX_SECONDS, slot))
            bad_value(ld, name, v, "a number of seconds from 0.001 to 10000000");
        return;
    }
    case TK_RETRY_ATTEMPTS:
        if (!parse_count(v, 100, &count))
            bad_value(ld, name, v, "a whole number from 1 to 100 (it counts the first attempt)");
        else
            t->retry.max_attempts = (uint32_t)count;
        return;
    case TK_RETRY_INITIAL:
        if (!parse_number(v, 0, false, MAX_SECONDS, &t->retry.initial_delay_s))
            bad_value(ld, name, v, "a number of seconds from 0 to 10000000");
        return;
    case TK_RETRY_MAX:
        if (!parse_number(v, 0, false, MAX_SECONDS, &t->retry.max_delay_s))
            bad_value(ld, name, v, "a number of seconds from 0 to 10000000");
        return;
    case TK_RETRY_BASE:
        if (!parse_number(v, 1, false, 100, &t->retry.base))
            bad_value(ld, name, v, "a number from 1 to 100");
        return;
    case TK_RETRY_JITTER:
        if (!parse_bool(v, &t->retry.jitter))
            bad_value(ld, name, v, "true or false");
        return;
    case TK_RETRY_ON_EXIT:
        if (!parse_bool(v, &t->retry_on_exit_nonzero))
            bad_value(ld, name, v, "true or false");
        return;
    case TK_DRY_RUN:
        if (!parse_bool(v, &t->dry_run))
            bad_value(ld, name, v, "true or false");
        return;
    case TK_ACTION:
        if ((c = choice(v, actions)) < 0)
            bad_value(ld, name, v, "'connection' or 'request'");
        else
            t->action = (enum tool_action)c;
        return;
    case TK_ON_LIMIT:
        if ((c = choice(v, limits)) < 0)
            bad_value(ld, name, v, "'fail' or 'wait'");
        else
            t->on_limit = (enum on_limit_policy)c;
        return;
    case TK_ERRNO:
        for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++) {
            if (strcmp(v, ERRNOS[i].name) == 0) {
                t->deny_errno = ERRNOS[i].value;
                return;
            }
        }
        bad_value(ld, name, v,
                  "one of EPERM, EACCES, ECONNREFUSED, ECONNRESET, ENETUNREACH, EHOSTUNREACH, "
                  "ETIMEDOUT");
        return;
    case TK_DRY_RUN_RESPONSE:
        set_response(ld, t, v);
        return;
    case TK_DRY_RUN_EXIT_CODE: {
        uint64_t code = 0;
        if (strcmp(v, "0") == 0 || parse_count(v, 255, &code))
            t->dry_run_exit_code = (uint8_t)code;
        else
            bad_value(ld, name, v, "a whole number from 0 to 255");
        return;
    }
    case TOOL_KEY_COUNT: break;
    }
}

/* ---- [agent] and [agent.NAME] --------------------------------------------- */

void config_agent_key(struct loader *ld, struct quota_spec *q, unsigned key_line[2],
                      const char *section, const char *name, const char *v)
{
    int k = choice(name, QUOTA_KEYS);
    if (k < 0) {
        const char *hint = NULL;
        for (int i = 0; QUOTA_KEYS[i]; i++)
            if (edit_distance(QUOTA_KEYS[i], name) < 3)
                hint = QUOTA_KEYS[i];
        unknown_key(ld, section, name, hint);
        return;
    }
    if (!first_time(ld, &key_line[k], name))
        return;
    if (k == 0 && !parse_count(v, UINT32_MAX, &q->max_actions)) {
        bad_value(ld, name, v, "a whole number from 1 to 4294967295");
        q->refused = true;
    }
    if (k == 1 && !parse_number(v, 0, true, MAX_WINDOW_HOURS, &q->window_hours)) {
        bad_value(ld, name, v, "a number of hours above 0, at most ten years");
        q->refused = true;
    }
}

/* ---- [impact] ------------------------------------------------------------- */

void config_impact_key(struct loader *ld, const char *name, const char *v)
{
    int k = choice(name, IMPACT_KEYS);
    if (k < 0) {
        const char *hint = NULL;
        for (int i = 0; IMPACT_KEYS[i]; i++)
            if (edit_distance(IMPACT_KEYS[i], name) < 3)
                hint = IMPACT_KEYS[i];
        unknown_key(ld, "impact", name, hint);
        return;
    }
    static const enum impact_level levels[] = {IMPACT_HIGH, IMPACT_MEDIUM, IMPACT_LOW};
    enum impact_level level = levels[k % 3];
    struct impact_table *tab = &ld->cfg->impact;
    char err[256];
    if (k < 3) {
        struct exec_rule rule;
        if (!exec_rule_parse(v, &rule, err, sizeof err)) {
            config_error(ld, ld->line, "%s", err);
            return;
        }
        struct impact_exec_entry *grown = realloc(tab->exec, (tab->nexec + 1) * sizeof *grown);
        if (!grown) {
            exec_rule_free(&rule);
            config_error(ld, ld->line, "out of memory");
            return;
        }
        tab->exec = grown;
        tab->exec[tab->nexec++] = (struct impact_exec_entry){.level = level, .rule = rule};
        return;
    }
    size_t n = strlen(v);
    bool letters = n > 0;
    for (size_t i = 0; i < n; i++)
        letters = letters && isalpha((unsigned char)v[i]);
    if (!letters || n >= sizeof tab->verbs[0].verb) {
        config_error(ld, ld->line, "%s must be one word of 1 to 31 letters, not '%s'", name, v);
        return;
    }
    struct impact_verb_entry *grown = realloc(tab->verbs, (tab->nverbs + 1) * sizeof *grown);
    if (!grown) {
        config_error(ld, ld->line, "out of memory");
        return;
    }
    tab->verbs = grown;
    struct impact_verb_entry *e = &tab->verbs[tab->nverbs++];
    e->level = level;
    for (size_t i = 0; i <= n; i++)
        e->verb[i] = (char)toupper((unsigned char)v[i]);
}

/* ---- after the file -------------------------------------------------------- */

void config_finish_quota(struct loader *ld, struct quota_spec *q, const unsigned key_line[2],
                         const char *where)
{
    if (q->refused || (!key_line[0] && !key_line[1]))
        return;
    if (!key_line[0]) {
        config_error(ld, key_line[1], "%s sets quota.window_hours without quota.max_actions",
                     where);
        return;
    }
    if (!key_line[1])
        q->window_hours = 24;
    if (q->max_actions && !quota_policy_init(&q->policy, q->max_actions, q->window_hours))
        config_error(ld, key_line[1] ? key_line[1] : key_line[0],
                     "%s: quota of %llu per %g h is out of range", where,
                     (unsigned long long)q->max_actions, q->window_hours);
    else
        q->enabled = q->max_actions > 0;
}

static void finish_rate(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->key_line;
    if (at[TK_RATE_BURST] && !at[TK_RATE_PER_MINUTE])
        config_error(ld, at[TK_RATE_BURST],
                     "tool '%s' sets rate.burst_size without rate.max_calls_per_minute", t->name);
    if (!at[TK_RATE_PER_MINUTE] || !(t->max_calls_per_minute > 0))
        return;
    if (!at[TK_RATE_BURST])
        t->burst_size = num_ceil_u64(t->max_calls_per_minute);
    if (t->burst_size && !rate_policy_init(&t->rate, t->max_calls_per_minute, t->burst_size))
        config_error(ld, at[TK_RATE_PER_MINUTE],
                     "tool '%s': rate %.6g/min with burst %llu is out of range (a full bucket "
                     "must refill within a century)",
                     t->name, t->max_calls_per_minute, (unsigned long long)t->burst_size);
    else
        t->rate_limited = t->burst_size > 0;
}

static void finish_breaker(struct tool *t)
{
    const unsigned *at = t->key_line;
    unsigned first = at[TK_BREAKER_FAILURES] ? at[TK_BREAKER_FAILURES]
                     : at[TK_BREAKER_SUCCESSES] ? at[TK_BREAKER_SUCCESSES]
                                                : at[TK_BREAKER_TIMEOUT];
    if (!first)
        return;
    /* The guide's CircuitBreakerConfig defaults. */
    if (!at[TK_BREAKER_FAILURES])
        t->failure_threshold = 5;
    if (!at[TK_BREAKER_SUCCESSES])
        t->success_threshold = 2;
    if (!at[TK_BREAKER_TIMEOUT])
        t->breaker_timeout_seconds = 60;
    /* A probe that never reports back frees its lease after this long. */
    double probe_s = t->timeout_seconds > 0 ? t->timeout_seconds : 30;
    if (t->failure_threshold && t->success_threshold && t->breaker_timeout_seconds > 0 &&
        breaker_policy_init(&t->breaker, t->failure_threshold, t->success_threshold,
                            t->breaker_timeout_seconds, probe_s))
        t->has_breaker = true;
}

static void finish_retry(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->key_line;
    struct retry_policy *r = &t->retry;
    /* The guide's RetryConfig defaults; no retry unless max_attempts says. */
    if (!at[TK_RETRY_ATTEMPTS])
        r->max_attempts = 1;
    if (!at[TK_RETRY_INITIAL])
        r->initial_delay_s = at[TK_RETRY_MAX] && r->max_delay_s < 1.0 ? r->max_delay_s : 1.0;
    if (!at[TK_RETRY_MAX])
        r->max_delay_s = 60.0;
    if (!at[TK_RETRY_BASE])
        r->base = 2.0;
    if (!at[TK_RETRY_JITTER])
        r->jitter = true;
    uint32_t delays = 1u << TK_RETRY_INITIAL | 1u << TK_RETRY_MAX;
    if (!(t->refused_keys & delays) && r->initial_delay_s > r->max_delay_s)
        config_error(ld, at[TK_RETRY_INITIAL] ? at[TK_RETRY_INITIAL] : at[TK_RETRY_MAX],
                     "tool '%s': retry.initial_delay (%g s) is above retry.max_delay (%g s)",
                     t->name, r->initial_delay_s, r->max_delay_s);
}

static bool errno_fits_exec(int value)
{
    for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++)
        if (ERRNOS[i].value == value)
            return ERRNOS[i].exec_ok;
    return false;
}

void config_finish_tool(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->key_line;
    if (t->rule_lines == 0)
        config_error(ld, t->line,
                     "tool '%s' has no 'connect =' or 'exec =' rule, so no call can map to it",
                     t->name);
    for (size_t i = 0; i < t->nconnect; i++)
        ld->cfg->has_name_rules = ld->cfg->has_name_rules || t->connect[i].host_glob;
    finish_rate(ld, t);
    char where[80];
    snprintf(where, sizeof where, "tool '%s'", t->name);
    unsigned quota_lines[2] = {at[TK_QUOTA_MAX], at[TK_QUOTA_WINDOW]};
    config_finish_quota(ld, &t->quota, quota_lines, where);
    finish_breaker(t);
    finish_retry(ld, t);
    if (!at[TK_ERRNO] || (t->refused_keys & 1u << TK_ERRNO))
        t->deny_errno = EPERM;
    else if (t->nexec > 0 && !errno_fits_exec(t->deny_errno))
        config_error(ld, at[TK_ERRNO],
                     "tool '%s' has exec rules: a refused program start can only fail with "
                     "EPERM or EACCES",
                     t->name);
    if (at[TK_MAX_WAIT] && t->on_limit != ON_LIMIT_WAIT)
        config_error(ld, at[TK_MAX_WAIT], "tool '%s' sets max_wait without on_limit = wait",
                     t->name);
    /* Programs are retried only through system(), and only when asked:
     * an exec cannot be undone and tried again. */
    static const enum tool_key retry_keys[] = {TK_RETRY_ATTEMPTS, TK_RETRY_INITIAL, TK_RETRY_MAX,
                                               TK_RETRY_BASE, TK_RETRY_JITTER};
    for (size_t i = 0; t->nexec > 0 && !t->retry_on_exit_nonzero &&
                       i < sizeof retry_keys / sizeof retry_keys[0];
         i++)
        if (at[retry_keys[i]] && !(t->refused_keys & 1u << retry_keys[i]))
            config_warning(ld, at[retry_keys[i]],
                           "tool '%s': '%s' retries connections; programs are retried only "
                           "through system(), with retry.on_exit_nonzero = true",
                           t->name, TOOL_KEYS[retry_keys[i]].name);
    if (at[TK_DRY_RUN_EXIT_CODE] && t->nexec == 0)
        config_warning(ld, at[TK_DRY_RUN_EXIT_CODE],
                       "tool '%s': 'dry_run.exit_code' applies to programs, and this tool has no "
                       "'exec =' rule",
                       t->name);
    if (at[TK_RETRY_ON_EXIT] && t->nexec == 0)
        config_warning(ld, at[TK_RETRY_ON_EXIT],
                       "tool '%s': 'retry.on_exit_nonzero' applies to programs, and this tool "
                       "has no 'exec =' rule",
                       t->name);
    static const enum tool_key socket_only[] = {TK_IO_TIMEOUT, TK_ACTION, TK_DRY_RUN_RESPONSE};
    for (size_t i = 0; t->nconnect == 0 && i < sizeof socket_only / sizeof socket_only[0]; i++)
        if (at[socket_only[i]] && !(t->refused_keys & 1u << socket_only[i]))
            config_warning(ld, at[socket_only[i]],
                           "tool '%s': '%s' applies to connections, and this tool has no "
                           "'connect =' rule",
                           t->name, TOOL_KEYS[socket_only[i]].name);
    if (t->on_limit == ON_LIMIT_WAIT) {
        if (!at[TK_MAX_WAIT])
            t->max_wait = DEFAULT_MAX_WAIT_S;
        if (t->nexec > 0)
            config_warning(ld, at[TK_ON_LIMIT],
                           "tool '%s': on_limit = wait governs connections (blocking sockets) "
                           "only; a refused program start fails at once",
                           t->name);
    }

    /* Each mechanism's state is named by the tool and that mechanism's
     * numbers only: editing the quota keeps the bucket, and so on. */
    uint64_t base = fnv64_str(FNV64_OFFSET, t->name);
    uint64_t rate[] = {t->rate.interval_ns, t->rate.tolerance_ns};
    uint64_t quota[] = {t->quota.policy.max_actions, t->quota.policy.slot_ns};
    /* Not probe_ns: how long a probe may take is no reason to forget the
     * breaker's state. */
    uint64_t breaker[] = {t->breaker.failure_threshold, t->breaker.success_threshold,
                          t->breaker.open_ns};
    t->rate_id = fnv64_bytes(fnv64_str(base, "rate"), rate, sizeof rate);
    t->quota_id = fnv64_bytes(fnv64_str(base, "quota"), quota, sizeof quota);
    t->breaker_id = fnv64_bytes(fnv64_str(base, "breaker"), breaker, sizeof breaker);
}
