/* The Prometheus text exposition format, version 0.0.4: a HELP and a TYPE
 * line per metric, then one sample a line. */
#include "prometheus.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"

enum prom_type { PROM_GAUGE, PROM_COUNTER };

/* A label value: \, " and newline escaped. */
static void prom_label(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static void prom_header(FILE *out, const char *name, enum prom_type type, const char *help)
{
    fprintf(out, "# HELP enact_%s %s\n# TYPE enact_%s %s\n", name, help, name,
            type == PROM_COUNTER ? "counter" : "gauge");
}

/* agent and tool may be NULL: no such label. */
static void prom_sample(FILE *out, const char *name, const char *agent, const char *tool,
                        double value)
{
    fprintf(out, "enact_%s{", name);
    if (agent) {
        fputs("agent=\"", out);
        prom_label(out, agent);
        fputc('"', out);
    }
    if (tool) {
        fputs(agent ? ",tool=\"" : "tool=\"", out);
        prom_label(out, tool);
        fputc('"', out);
    }
    fprintf(out, "} %.17g\n", value);
}

static void prom_backend(FILE *out, const struct snapshot *s)
{
    int last_errno;
    uint64_t failures = s->st.ops->audit_failures(s->st.impl, &last_errno);
    if (s->backend.shared) {
        prom_header(out, "backend_up", PROM_GAUGE,
                    "Whether the shared backend answered enact status: 1 or 0.");
        fprintf(out, "enact_backend_up %d\n", s->backend.up ? 1 : 0);
    }
    /* A counter: it only grows while the state file lives, and promtool
     * check metrics refuses a gauge whose name ends in _total. */
    prom_header(out, "audit_write_failures_total", PROM_COUNTER,
                "Audit records that could not be written.");
    fprintf(out, "enact_audit_write_failures_total %llu\n", (unsigned long long)failures);
}

static void prom_tools(FILE *out, const struct snapshot *s)
{
    const struct enact_config *cfg = s->cfg;
    prom_header(out, "breaker_state", PROM_GAUGE,
                "Circuit breaker state per tool: 0 closed, 1 open, 2 half-open.");
    for (size_t i = 0; i < cfg->ntools; i++)
        if (cfg->tools[i].has_breaker)
            prom_sample(out, "breaker_state", NULL, cfg->tools[i].name,
                        snapshot_breaker(s, &cfg->tools[i]).code);
    prom_header(out, "tokens_remaining", PROM_GAUGE,
                "Tokens left in an agent's rate bucket for a tool.");
    for (size_t a = 0; a < s->nagents; a++)
        for (size_t i = 0; i < cfg->ntools; i++)
            if (cfg->tools[i].rate_limited)
                prom_sample(out, "tokens_remaining", s->agents[a], cfg->tools[i].name,
                            (double)snapshot_tokens(s, gate_agent_id(s->agents[a]),
                                                    &cfg->tools[i]));
    prom_header(out, "tool_quota_remaining", PROM_GAUGE,
                "Actions left in an agent's quota for a tool.");
    for (size_t a = 0; a < s->nagents; a++) {
        uint64_t id = gate_agent_id(s->agents[a]);
        for (size_t i = 0; i < cfg->ntools; i++) {
            const struct tool *t = &cfg->tools[i];
            struct cli_quota q =
                cli_quota_read(s->st, gate_tool_quota_key(id, t), &t->quota, s->real);
            if (q.present)
                prom_sample(out, "tool_quota_remaining", s->agents[a], t->name,
                            q.limit - q.used);
        }
    }
}

static void prom_agents(FILE *out, const struct snapshot *s)
{
    static const char *const agent_metrics[][2] = {
        {"agent_quota_remaining", "Actions left in an agent's own quota."},
        {"agent_quota_used", "Actions counted in an agent's own quota window."},
    };
    for (size_t k = 0; k < 2; k++) {
        prom_header(out, agent_metrics[k][0], PROM_GAUGE, agent_metrics[k][1]);
        for (size_t a = 0; a < s->nagents; a++) {
            const struct quota_spec *aq = config_agent_quota(s->cfg, s->agents[a]);
            uint64_t id = gate_agent_id(s->agents[a]);
            struct cli_quota q =
                cli_quota_read(s->st, aq ? gate_agent_quota_key(id, aq) : 0, aq, s->real);
            if (q.present)
                prom_sample(out, agent_metrics[k][0], s->agents[a], NULL,
                            k == 0 ? q.limit - q.used : q.used);
        }
    }
}

void prom_print(FILE *out, const struct snapshot *s)
{
    prom_backend(out, s);
    prom_tools(out, s);
    prom_agents(out, s);
}
