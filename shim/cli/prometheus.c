/* The Prometheus text exposition format, version 0.0.4: a HELP and a TYPE
 * line per metric, then one sample a line. */
#include "prometheus.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"
#include "../store/redis_kills.h"
#include "../store/state_control.h"

#include <string.h>

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

/* A sample with any labels: names[i] = values[i], n of them. */
static void prom_labelled(FILE *out, const char *name, const char *const names[],
                          const char *const values[], int n, double value)
{
    fprintf(out, "enact_%s{", name);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s%s=\"", i ? "," : "", names[i]);
        prom_label(out, values[i]);
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

/* 1 while what is left of a quota is at or below quota.warn_remaining. */
static void prom_quota_low(FILE *out, const struct snapshot *s)
{
    const struct enact_config *cfg = s->cfg;
    prom_header(out, "quota_low", PROM_GAUGE,
                "1 while an agent's quota is at or below quota.warn_remaining (no tool label: "
                "the agent's own quota).");
    for (size_t a = 0; a < s->nagents; a++) {
        uint64_t id = gate_agent_id(s->agents[a]);
        for (size_t i = 0; i < cfg->ntools; i++) {
            const struct tool *t = &cfg->tools[i];
            struct cli_quota q =
                cli_quota_read(s->st, gate_tool_quota_key(id, t), &t->quota, s->real);
            if (q.present && t->quota.warn_at >= 0)
                prom_sample(out, "quota_low", s->agents[a], t->name,
                            q.limit - q.used <= (uint64_t)t->quota.warn_at);
        }
        const struct quota_spec *aq = config_agent_quota(cfg, s->agents[a]);
        struct cli_quota q =
            cli_quota_read(s->st, aq ? gate_agent_quota_key(id, aq) : 0, aq, s->real);
        if (q.present && aq->warn_at >= 0)
            prom_sample(out, "quota_low", s->agents[a], NULL,
                        q.limit - q.used <= (uint64_t)aq->warn_at);
    }
}

/* The switches that are on, this host's and the fleet's, each once. */
struct switches {
    char names[2 * 64][2][STATE_NAME_MAX];
    unsigned n;
};

static void add_switch(struct switches *sw, const char *agent, const char *tool)
{
    const char *a = agent[0] ? agent : "*", *t = tool[0] ? tool : "*";
    for (unsigned i = 0; i < sw->n; i++)
        if (strcmp(sw->names[i][0], a) == 0 && strcmp(sw->names[i][1], t) == 0)
            return;
    if (sw->n == sizeof sw->names / sizeof sw->names[0])
        return;
    snprintf(sw->names[sw->n][0], STATE_NAME_MAX, "%s", a);
    snprintf(sw->names[sw->n++][1], STATE_NAME_MAX, "%s", t);
}

static void host_switch(const struct kill_slot *k, void *ctx)
{
    add_switch(ctx, k->agent, k->tool);
}

static void fleet_switch(const char *agent, const char *tool, uint32_t uid, uint64_t since_ms,
                         const char *reason, void *ctx)
{
    (void)uid, (void)since_ms, (void)reason;
    add_switch(ctx, agent, tool);
}

struct per_agent {
    char names[64][STATE_NAME_MAX];
    unsigned counts[64];
    unsigned n;
};

static void count_process(const struct proc_slot *p, void *ctx)
{
    struct per_agent *pa = ctx;
    unsigned i = 0;
    while (i < pa->n && strcmp(pa->names[i], p->agent) != 0)
        i++;
    if (i == pa->n && pa->n < 64)
        snprintf(pa->names[pa->n++], sizeof pa->names[0], "%s", p->agent);
    if (i < pa->n)
        pa->counts[i]++;
}

/* What operators steer, from this host's state file: the governed
 * processes, the kill switches on. */
static void prom_control(FILE *out, const struct snapshot *s)
{
    prom_header(out, "governed_processes", PROM_GAUGE,
                "Governed processes of an agent running on this host.");
    struct per_agent pa = {.n = 0};
    if (s->host)
        state_proc_each(s->host, state_proc_alive, count_process, &pa);
    for (unsigned i = 0; i < pa.n; i++)
        prom_sample(out, "governed_processes", pa.names[i], NULL, pa.counts[i]);
    prom_header(out, "killed", PROM_GAUGE,
                "1 while a kill switch stops an agent's calls (\"*\": every agent or tool).");
    struct switches sw = {.n = 0};
    if (s->host)
        state_kill_each(s->host, host_switch, &sw);
    if (s->fleet)
        redis_kills_each(s->fleet, fleet_switch, &sw);
    for (unsigned i = 0; i < sw.n; i++)
        prom_sample(out, "killed", sw.names[i][0], sw.names[i][1], 1);
}

/* Decisions by verdict and reason, and outcomes of calls with a breaker,
 * counted by this host's governed processes since its state file was made. */
static void prom_counters(FILE *out, const struct snapshot *s)
{
    static const char *const decision_labels[] = {"tool", "verdict", "reason"};
    static const char *const outcome_labels[] = {"tool", "outcome"};
    prom_header(out, "decisions_total", PROM_COUNTER,
                "Decisions on a tool's calls by verdict and reason, on this host.");
    struct counter_slot c;
    for (size_t i = 0; i < s->cfg->ntools; i++) {
        const struct tool *t = &s->cfg->tools[i];
        bool have = s->host && state_counters_read(s->host, t->name, &c);
        for (int v = 0; v < VERDICT_COUNT; v++)
            for (int r = 0; r < REASON_COUNT; r++) {
                uint64_t n = have ? c.decisions[v][r] : 0;
                /* Every tool has its allow series, so that rates start at 0. */
                if (n == 0 && !(v == VERDICT_ALLOW && r == REASON_NONE))
                    continue;
                const char *values[] = {t->name, verdict_kind_name((enum verdict_kind)v),
                                        reason_kind_name((enum reason_kind)r)};
                prom_labelled(out, "decisions_total", decision_labels, values, 3, (double)n);
            }
    }
    prom_header(out, "outcomes_total", PROM_COUNTER,
                "How admitted calls of a tool with a breaker ended, on this host.");
    for (size_t i = 0; i < s->cfg->ntools; i++) {
        const struct tool *t = &s->cfg->tools[i];
        if (!t->has_breaker)
            continue;
        bool have = s->host && state_counters_read(s->host, t->name, &c);
        for (int k = 0; k < 2; k++) {
            const char *values[] = {t->name, k ? "success" : "failure"};
            prom_labelled(out, "outcomes_total", outcome_labels, values, 2,
                          have ? (double)c.outcomes[k] : 0);
        }
    }
}

void prom_print(FILE *out, const struct snapshot *s)
{
    prom_backend(out, s);
    prom_tools(out, s);
    prom_agents(out, s);
    prom_quota_low(out, s);
    prom_control(out, s);
    prom_counters(out, s);
}
