/* Tools and their policies in words, for `enact check` and `enact match`. */
#include "cli.h"
#include "../policy/config_errno.h"
#include "../policy/config_keys.h"
#include "../policy/config_match.h"

#include <stdio.h>

static void quota_line(FILE *out, const char *label, const struct quota_spec *q)
{
    if (!q->enabled)
        return;
    fprintf(out, "    %-8s %llu actions per %g h (rolling)", label,
            (unsigned long long)q->max_actions, q->window_hours);
    if (q->warn_at >= 0)
        fprintf(out, "; quota_low when %lld are left", (long long)q->warn_at);
    fputc('\n', out);
}

/* What a dry-run connection of t is answered with. */
static void describe_peer(FILE *out, const struct tool *t)
{
    enum peer_protocol p = config_peer_protocol(t);
    fprintf(out, "    dry-run  simulated: connections never reach the tool; ");
    if (p == PEER_RAW && t->dry_run_response.data)
        fprintf(out, "each request is answered with the %zu byte%s of %s\n",
                t->dry_run_response.len, t->dry_run_response.len == 1 ? "" : "s",
                config_key_name(TK_DRY_RUN_RESPONSE));
    else if (p == PEER_RAW)
        fprintf(out, "the peer hangs up at once (no %s)\n", config_key_name(TK_DRY_RUN_RESPONSE));
    else
        fprintf(out, "a simulated %s server answers each request (%s)\n",
                p == PEER_AUTO ? "HTTP, Redis or PostgreSQL" : peer_protocol_name(p),
                p == PEER_AUTO ? "told by the first bytes and the port" : "dry_run.protocol");
}

/* Connect rules as written: a localhost line is one, matched as two. */
static size_t connect_rules_written(const struct tool *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nconnect; i++)
        n += !t->connect[i].expanded;
    return n;
}

void cli_describe_tool(FILE *out, const struct enact_config *cfg, const struct tool *t)
{
    size_t nconnect = connect_rules_written(t);
    fprintf(out, "  tool %s (line %u): %zu connect rule%s, %zu exec rule%s\n", t->name, t->src.line,
            nconnect, nconnect == 1 ? "" : "s", t->nexec, t->nexec == 1 ? "" : "s");
    if (config_simulates(cfg, t) && t->nexec > 0)
        fprintf(out, "    dry-run  simulated: nothing runs, the audit log says what would\n");
    if (config_simulates(cfg, t) && t->nconnect > 0)
        describe_peer(out, t);
    if (t->nconnect > 0)
        fprintf(out, "    counts   one call per %s\n",
                t->action == ACTION_REQUEST      ? "request (a send after a receive)"
                : t->action == ACTION_CONNECTION ? "connection"
                                                 : "request of HTTP, Redis, PostgreSQL or TLS "
                                                   "(auto); per connection of any other "
                                                   "protocol");
    if (t->rate_limited)
        fprintf(out, "    rate     %g calls/min, burst %llu, per agent\n",
                t->written.max_calls_per_minute, (unsigned long long)t->written.burst_size);
    quota_line(out, "quota", &t->quota);
    if (t->has_breaker)
        fprintf(out, "    breaker  opens after %llu failures, half-open after %g s, closes after "
                     "%llu successes\n",
                (unsigned long long)t->written.failure_threshold,
                t->written.breaker_timeout_seconds, (unsigned long long)t->written.success_threshold);
    if (!t->rate_limited && !t->quota.enabled && !t->has_breaker && !config_simulates(cfg, t))
        fprintf(out, "    no limit of its own\n");
    if (t->timeout_seconds > 0 && t->nconnect > 0)
        fprintf(out, "    timeout  a connect gives up after %g s in all (blocking sockets)\n",
                t->timeout_seconds);
    if (t->timeout_seconds > 0 && t->nexec > 0)
        fprintf(out, "    timeout  a program is ended after %g s (SIGTERM, then SIGKILL)\n",
                t->timeout_seconds);
    if (t->io_timeout_seconds > 0)
        fprintf(out, "    timeout  each read or write gives up after %g s (blocking sockets)\n",
                t->io_timeout_seconds);
    if (t->retry.max_attempts > 1 && (t->nconnect > 0 || t->retry_on_exit_nonzero))
        fprintf(out, "    retry    up to %u attempts %s, waiting %s%g s x%g per retry, at most %g s\n",
                t->retry.max_attempts,
                t->nconnect == 0 ? "of a system() command that exits non-zero"
                : t->retry_on_exit_nonzero
                    ? "on refused/unreachable/timed out, and of a failed system() command"
                    : "on refused/unreachable/timed out",
                t->retry.jitter ? "up to " : "", t->retry.initial_delay_s, t->retry.base,
                t->retry.max_delay_s);
    if (t->dry_run_exit_code && t->nexec > 0)
        fprintf(out, "    dry-run  a simulated exec ends its process with %u (a spawn's child, 0)\n",
                t->dry_run_exit_code);
    if (t->on_limit == ON_LIMIT_WAIT)
        fprintf(out, "    on limit wait up to %g s (blocking connects), then refuse\n", t->max_wait);
    if (t->approve != APPROVE_NEVER) {
        static const char *const which[] = {
            [APPROVE_HIGH] = "HIGH-impact", [APPROVE_MEDIUM] = "MEDIUM- and HIGH-impact",
            [APPROVE_ALWAYS] = "all"};
        fprintf(out, "    approve  %s program starts and requests wait for enact approve, up to "
                     "%g s, then %s%s%s\n",
                which[t->approve], t->approve_timeout_seconds,
                t->approve_on_timeout == APPROVE_TIMEOUT_ALLOW ? "allowed" : "refused",
                t->approve_command ? "; each request runs " : "",
                t->approve_command ? t->approve_command : "");
    }
    fprintf(out, "    refused  -1, errno %s\n", config_errno_name(t->deny_errno));
}

void cli_describe_written(FILE *out, const struct tool *t)
{
    /* In the order of the file's lines. */
    enum config_key keys[CONFIG_KEY_COUNT];
    size_t n = 0;
    for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
        const struct key_def *d = &CONFIG_KEYS[k];
        if (d->section != SECTION_TOOL || d->repeatable || !key_set(&t->src, (enum config_key)k))
            continue;
        size_t at = n++;
        while (at > 0 && t->src.key_line[keys[at - 1]] > t->src.key_line[k]) {
            keys[at] = keys[at - 1];
            at--;
        }
        keys[at] = (enum config_key)k;
    }
    for (size_t i = 0; i < n; i++) {
        char value[96];
        config_key_format(keys[i], t, value, sizeof value);
        fprintf(out, "    written  %s = %s (line %u)\n", config_key_name(keys[i]), value,
                t->src.key_line[keys[i]]);
    }
}

void cli_describe_agents(FILE *out, const struct enact_config *cfg)
{
    quota_line(out, "[agent]", &cfg->agent_quota);
    for (size_t i = 0; i < cfg->nagents; i++) {
        char label[80];
        snprintf(label, sizeof label, "[agent.%s]", cfg->agents[i].name);
        quota_line(out, label, &cfg->agents[i].quota);
    }
}
