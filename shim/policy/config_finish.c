/* After the whole file: the defaults that depend on other keys, the
 * compiled policies, and the checks across keys. Keys are named through
 * the key table, never spelt out again. */
#include "config_finish.h"

#include "config_diag.h"
#include "config_errno.h"
#include "config_keys.h"
#include "config_values.h"
#include "../pure/hash.h"
#include "../pure/num.h"
#include "../store/state_control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIT(k) (UINT64_C(1) << (k))
#define NAME(k) config_key_name(k)

/* quota.warn_remaining: N actions left, or N% of the quota (rounded
 * down), which must leave room to warn before the quota is spent. */
static void finish_quota_warn(struct loader *ld, struct quota_spec *q, unsigned line,
                              enum config_key warn, const char *where)
{
    q->warn_at = -1;
    if (!q->warn_remaining || !q->enabled)
        return;
    unsigned long long n = strtoull(q->warn_remaining, NULL, 10);
    bool percent = strchr(q->warn_remaining, '%') != NULL;
    uint64_t at = percent ? q->max_actions * n / 100 : n;
    if (at >= q->max_actions)
        config_error(ld, line, "%s: %s = %s is not below quota.max_actions = %llu", where,
                     NAME(warn), q->warn_remaining, (unsigned long long)q->max_actions);
    else
        q->warn_at = (int64_t)at;
}

void config_finish_quota(struct loader *ld, struct quota_spec *q, const struct section_source *src,
                         enum config_key max, enum config_key window, enum config_key warn,
                         const char *where)
{
    const unsigned *at = src->key_line;
    q->warn_at = -1;
    if ((src->refused & (BIT(max) | BIT(window) | BIT(warn))) ||
        (!at[max] && !at[window] && !at[warn]))
        return;
    if (!at[max]) {
        enum config_key orphan = at[window] ? window : warn;
        config_error(ld, at[orphan], "%s sets %s without %s", where, NAME(orphan), NAME(max));
        return;
    }
    if (!at[window])
        q->window_hours = CONFIG_KEYS[window].dflt;
    if (q->max_actions && !quota_policy_init(&q->policy, q->max_actions, q->window_hours))
        config_error(ld, at[window] ? at[window] : at[max],
                     "%s: quota of %llu per %g h is out of range", where,
                     (unsigned long long)q->max_actions, q->window_hours);
    else
        q->enabled = q->max_actions > 0;
    finish_quota_warn(ld, q, at[warn], warn, where);
}

static void finish_rate(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->src.key_line;
    struct tool_settings *w = &t->written;
    if (at[TK_RATE_BURST] && !at[TK_RATE_PER_MINUTE])
        config_error(ld, at[TK_RATE_BURST], "tool '%s' sets %s without %s", t->name,
                     NAME(TK_RATE_BURST), NAME(TK_RATE_PER_MINUTE));
    if (!at[TK_RATE_PER_MINUTE] || !(w->max_calls_per_minute > 0))
        return;
    if (!at[TK_RATE_BURST])
        w->burst_size = num_ceil_u64(w->max_calls_per_minute);
    if (w->burst_size && !rate_policy_init(&t->rate, w->max_calls_per_minute, w->burst_size))
        config_error(ld, at[TK_RATE_PER_MINUTE],
                     "tool '%s': rate %.6g/min with burst %llu is out of range (a full bucket "
                     "must refill within a century)",
                     t->name, w->max_calls_per_minute, (unsigned long long)w->burst_size);
    else
        t->rate_limited = w->burst_size > 0;
}

static void finish_breaker(struct tool *t)
{
    static const enum config_key keys[] = {TK_BREAKER_FAILURES, TK_BREAKER_SUCCESSES,
                                           TK_BREAKER_TIMEOUT};
    const unsigned *at = t->src.key_line;
    if (!at[TK_BREAKER_FAILURES] && !at[TK_BREAKER_SUCCESSES] && !at[TK_BREAKER_TIMEOUT])
        return;
    /* Any breaker key turns it on, with the guide's CircuitBreakerConfig
     * defaults for the others. */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!at[keys[i]])
            config_key_default(keys[i], t);
    const struct tool_settings *w = &t->written;
    /* A probe that never reports back frees its lease after this long. */
    double probe_s = t->timeout_seconds > 0 ? t->timeout_seconds : 30;
    if (w->failure_threshold && w->success_threshold && w->breaker_timeout_seconds > 0 &&
        breaker_policy_init(&t->breaker, w->failure_threshold, w->success_threshold,
                            w->breaker_timeout_seconds, probe_s))
        t->has_breaker = true;
}

static void finish_retry(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->src.key_line;
    struct retry_policy *r = &t->retry;
    /* The guide's RetryConfig defaults; no retry unless max_attempts says.
     * The first delay is no longer than a max_delay written below it. */
    double initial = CONFIG_KEYS[TK_RETRY_INITIAL].dflt;
    if (!at[TK_RETRY_INITIAL])
        r->initial_delay_s = at[TK_RETRY_MAX] && r->max_delay_s < initial ? r->max_delay_s
                                                                          : initial;
    static const enum config_key plain[] = {TK_RETRY_ATTEMPTS, TK_RETRY_MAX, TK_RETRY_BASE,
                                            TK_RETRY_JITTER};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!at[plain[i]])
            config_key_default(plain[i], t);
    if (!(t->src.refused & (BIT(TK_RETRY_INITIAL) | BIT(TK_RETRY_MAX))) &&
        r->initial_delay_s > r->max_delay_s)
        config_error(ld, at[TK_RETRY_INITIAL] ? at[TK_RETRY_INITIAL] : at[TK_RETRY_MAX],
                     "tool '%s': %s (%g s) is above %s (%g s)", t->name, NAME(TK_RETRY_INITIAL),
                     r->initial_delay_s, NAME(TK_RETRY_MAX), r->max_delay_s);
}

/* Keys that cannot apply to a tool without rules of one kind: warned of,
 * so that nobody believes a limit holds when it does not. */
static void warn_inapplicable(struct loader *ld, const struct tool *t)
{
    const struct section_source *src = &t->src;
    const unsigned *at = src->key_line;
    /* Programs are retried only through system(), and only when asked:
     * an exec cannot be undone and tried again. */
    static const enum config_key retry_keys[] = {TK_RETRY_ATTEMPTS, TK_RETRY_INITIAL,
                                                 TK_RETRY_MAX, TK_RETRY_BASE, TK_RETRY_JITTER};
    for (size_t i = 0; t->nexec > 0 && !t->retry_on_exit_nonzero &&
                       i < sizeof retry_keys / sizeof retry_keys[0];
         i++)
        if (key_set(src, retry_keys[i]))
            config_warning(ld, at[retry_keys[i]],
                           "tool '%s': '%s' retries connections; programs are retried only "
                           "through system(), with %s = true",
                           t->name, NAME(retry_keys[i]), NAME(TK_RETRY_ON_EXIT));
    static const enum config_key exec_only[] = {TK_DRY_RUN_EXIT_CODE, TK_RETRY_ON_EXIT};
    for (size_t i = 0; t->nexec == 0 && i < sizeof exec_only / sizeof exec_only[0]; i++)
        if (at[exec_only[i]])
            config_warning(ld, at[exec_only[i]],
                           "tool '%s': '%s' applies to programs, and this tool has no '%s =' "
                           "rule",
                           t->name, NAME(exec_only[i]), NAME(TK_EXEC));
    static const enum config_key socket_only[] = {
        TK_IO_TIMEOUT,       TK_ACTION,           TK_DRY_RUN_RESPONSE, TK_DRY_RUN_PROTOCOL,
        TK_DRY_RUN_HTTP_STATUS, TK_DRY_RUN_HTTP_BODY};
    for (size_t i = 0; t->nconnect == 0 && i < sizeof socket_only / sizeof socket_only[0]; i++)
        if (key_set(src, socket_only[i]))
            config_warning(ld, at[socket_only[i]],
                           "tool '%s': '%s' applies to connections, and this tool has no '%s =' "
                           "rule",
                           t->name, NAME(socket_only[i]), NAME(TK_CONNECT));
    if (t->on_limit == ON_LIMIT_WAIT && t->nexec > 0)
        config_warning(ld, at[TK_ON_LIMIT],
                       "tool '%s': %s = %s governs connections (blocking sockets) only; a "
                       "refused program start fails at once",
                       t->name, NAME(TK_ON_LIMIT), CONFIG_KEYS[TK_ON_LIMIT].choices[ON_LIMIT_WAIT]);
}

/* Each mechanism's state is named by the tool and that mechanism's
 * numbers only: editing the quota keeps the bucket, and so on. */
/* The simulated peer's keys must fit the protocol it speaks: a response
 * is a raw peer's, a status and a body an HTTP one's. */
static void check_peer(struct loader *ld, const struct tool *t)
{
    const unsigned *at = t->src.key_line;
    enum peer_protocol p = config_peer_protocol(t);
    if (key_set(&t->src, TK_DRY_RUN_RESPONSE) && p != PEER_RAW)
        config_error(ld, at[TK_DRY_RUN_RESPONSE],
                     "tool '%s': %s is what a raw peer answers, and %s = %s; an HTTP peer "
                     "answers with %s and %s",
                     t->name, NAME(TK_DRY_RUN_RESPONSE), NAME(TK_DRY_RUN_PROTOCOL),
                     peer_protocol_name(p), NAME(TK_DRY_RUN_HTTP_STATUS),
                     NAME(TK_DRY_RUN_HTTP_BODY));
    static const enum config_key http_only[] = {TK_DRY_RUN_HTTP_STATUS, TK_DRY_RUN_HTTP_BODY};
    for (size_t i = 0; i < 2; i++)
        if (at[http_only[i]] && p != PEER_HTTP && p != PEER_AUTO)
            config_warning(ld, at[http_only[i]],
                           "tool '%s': '%s' is for an HTTP peer, and %s = %s", t->name,
                           NAME(http_only[i]), NAME(TK_DRY_RUN_PROTOCOL), peer_protocol_name(p));
}

static void name_state(struct tool *t)
{
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
    t->id = state_tool_id(t->name);
}

static void finish_approval(struct loader *ld, struct tool *t)
{
    static const enum config_key keys[] = {TK_APPROVE_TIMEOUT, TK_APPROVE_ON_TIMEOUT,
                                           TK_APPROVE_COMMAND};
    const unsigned *at = t->src.key_line;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (at[keys[i]] && t->approve == APPROVE_NEVER)
            config_error(ld, at[keys[i]], "tool '%s' sets %s without %s (high, medium or always)",
                         t->name, NAME(keys[i]), NAME(TK_APPROVE));
        else if (!at[keys[i]] && keys[i] != TK_APPROVE_COMMAND)
            config_key_default(keys[i], t);
    }
    if (t->approve != APPROVE_NEVER && t->approve_command && access(t->approve_command, X_OK) != 0)
        config_warning(ld, at[TK_APPROVE_COMMAND],
                       "tool '%s': %s %s cannot be run (%s): requests will only be recorded",
                       t->name, NAME(TK_APPROVE_COMMAND), t->approve_command, strerror(errno));
}

void config_finish_tool(struct loader *ld, struct tool *t)
{
    const unsigned *at = t->src.key_line;
    if (t->src.rule_lines == 0)
        config_error(ld, t->src.line,
                     "tool '%s' has no '%s =' or '%s =' rule, so no call can map to it", t->name,
                     NAME(TK_CONNECT), NAME(TK_EXEC));
    for (size_t i = 0; i < t->nconnect; i++)
        ld->cfg->has_name_rules = ld->cfg->has_name_rules || t->connect[i].host_glob;
    finish_rate(ld, t);
    char where[80];
    snprintf(where, sizeof where, "tool '%s'", t->name);
    config_finish_quota(ld, &t->quota, &t->src, TK_QUOTA_MAX, TK_QUOTA_WINDOW, TK_QUOTA_WARN,
                        where);
    finish_breaker(t);
    finish_retry(ld, t);
    finish_approval(ld, t);
    if (!key_set(&t->src, TK_ERRNO))
        config_key_default(TK_ERRNO, t);
    else if (t->nexec > 0 && !config_errno_fits_exec(t->deny_errno))
        config_error(ld, at[TK_ERRNO],
                     "tool '%s' has exec rules: a refused program start can only fail with "
                     "EPERM or EACCES",
                     t->name);
    if (at[TK_MAX_WAIT] && t->on_limit != ON_LIMIT_WAIT)
        config_error(ld, at[TK_MAX_WAIT], "tool '%s' sets %s without %s = %s", t->name,
                     NAME(TK_MAX_WAIT), NAME(TK_ON_LIMIT),
                     CONFIG_KEYS[TK_ON_LIMIT].choices[ON_LIMIT_WAIT]);
    warn_inapplicable(ld, t);
    check_peer(ld, t);
    if (t->on_limit == ON_LIMIT_WAIT && !at[TK_MAX_WAIT])
        config_key_default(TK_MAX_WAIT, t);
    name_state(t);
}

/* enact:NAME from the config's file name, without its extension, so that
 * two fleets with different configs never share keys. */
static char *default_key_prefix(const char *config_path)
{
    const char *base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    char out[REDIS_PREFIX_TEXT_MAX];
    int n = snprintf(out, sizeof out, "enact:%s", base);
    char *dot = strrchr(out + 6, '.');
    if (dot && dot > out + 6)
        *dot = '\0';
    for (char *p = out; n > 0 && *p; p++)
        if (*p <= ' ' || *p == '{' || *p == '}' || *p == 0x7f)
            *p = '_';
    return strdup(out);
}

void config_finish_backend(struct loader *ld, struct enact_config *cfg)
{
    struct backend_spec *b = &cfg->backend;
    const struct section_source *src = &cfg->enact_src;
    static const enum config_key redis_only[] = {EK_BACKEND_KEY_PREFIX, EK_BACKEND_TIMEOUT,
                                                 EK_BACKEND_ON_DOWN, EK_BACKEND_PASSWORD_FILE,
                                                 EK_BACKEND_PASSWORD_ENV, EK_BACKEND_TLS_CA_FILE};
    for (size_t i = 0; !b->url && i < sizeof redis_only / sizeof redis_only[0]; i++)
        if (key_set(src, redis_only[i]))
            config_warning(ld, src->key_line[redis_only[i]],
                           "'%s' applies to a Redis backend, and backend is local",
                           NAME(redis_only[i]));
    if (key_set(src, EK_BACKEND_PASSWORD_FILE) && key_set(src, EK_BACKEND_PASSWORD_ENV))
        config_error(ld, src->key_line[EK_BACKEND_PASSWORD_ENV],
                     "'%s' and '%s' both say where the password is; keep one",
                     NAME(EK_BACKEND_PASSWORD_FILE), NAME(EK_BACKEND_PASSWORD_ENV));
    if (b->url && b->parsed.password[0] &&
        (key_set(src, EK_BACKEND_PASSWORD_FILE) || key_set(src, EK_BACKEND_PASSWORD_ENV)))
        config_error(ld, src->key_line[EK_BACKEND],
                     "the backend URL holds a password and '%s' names another; keep one",
                     NAME(key_set(src, EK_BACKEND_PASSWORD_FILE) ? EK_BACKEND_PASSWORD_FILE
                                                                 : EK_BACKEND_PASSWORD_ENV));
    if (b->url && b->tls_ca_file && b->parsed.transport != REDIS_TLS)
        config_warning(ld, src->key_line[EK_BACKEND_TLS_CA_FILE],
                       "'%s' applies to a rediss:// backend, and this one is not TLS",
                       NAME(EK_BACKEND_TLS_CA_FILE));
    if (b->url && !b->key_prefix && !(b->key_prefix = default_key_prefix(cfg->path)))
        config_error(ld, 0, "out of memory");
}
