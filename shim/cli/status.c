/* enact status: what the shared state says right now. Reads only: it never
 * claims an entry, and quota rings are read on a copy. */
#include "cli.h"
#include "prometheus.h"
#include "records.h"
#include "snapshot.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"
#include "../pure/jsonw.h"
#include "../store/redis_kills.h"
#include "../store/state_control.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact status [-c FILE] [--json | --prometheus]\n"
    "\n"
    "Shows the shared state of a config: per tool its breaker and since when;\n"
    "per agent and tool the tokens left in the rate bucket and the tool quota;\n"
    "per agent its own quota: used, left, and when the window frees the next\n"
    "action. --json prints one JSON object; --prometheus the text exposition\n"
    "format (metrics prefixed enact_).\n";

enum format { TABLE, JSON, PROMETHEUS };

/* A JSON string, escaped. */
static void json_str(const char *s)
{
    char buf[512];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_string(&w, NULL, s, 400);
    fputs(buf, stdout);
}

/* The last backend_down or backend_up record of the audit log. */
static void last_backend_change(const struct enact_config *cfg, struct backend_view *b)
{
    struct records r;
    if (!records_open(&r, cfg->audit_path))
        return;
    struct audit_fields *f = malloc(sizeof *f);
    while (f && records_next(&r, f) == 1) {
        const char *op = f->v[AF_OP], *verdict = f->v[AF_VERDICT];
        if (!op || strcmp(op, "backend") != 0 || !verdict)
            continue;
        snprintf(b->last_change, sizeof b->last_change, "%s", verdict);
        b->last_change_ns = audit_time_ns(f);
        b->last_change_pid = f->v[AF_PID] ? strtol(f->v[AF_PID], NULL, 10) : 0;
    }
    free(f);
    records_close(&r);
}

static const char *const ON_DOWN_NAMES[] = {"local", "deny", "allow"};

/* A kill switch that is on, this host's (in its state file) or the
 * fleet's (on Redis), as a line of the table and as JSON. */
struct switch_view {
    const char *agent, *tool, *reason; /* "" for every agent, every tool */
    uint32_t uid;
    uint64_t since_ns;
};

static void print_switch(const struct snapshot *s, const char *where, const struct switch_view *k)
{
    char ago[32];
    const char *a = k->agent, *t = k->tool;
    printf("KILLED%s: %s%s%s, %s%s%s, by uid %u %s ago%s%s%s\n", where,
           a[0] ? "agent '" : "every agent", a, a[0] ? "'" : "", t[0] ? "tool '" : "every tool", t,
           t[0] ? "'" : "", (unsigned)k->uid,
           cli_duration_text(s->real > k->since_ns ? s->real - k->since_ns : 0, ago, sizeof ago),
           k->reason[0] ? ": " : "", k->reason, where[0] ? "" : " (enact resume turns it off)");
}

static void json_switch(int *n, const struct switch_view *k)
{
    printf("%s{\"agent\":", (*n)++ ? "," : "");
    json_str(k->agent[0] ? k->agent : "*");
    printf(",\"tool\":");
    json_str(k->tool[0] ? k->tool : "*");
    printf(",\"uid\":%u,\"since_unix_ms\":%llu,\"reason\":", (unsigned)k->uid,
           (unsigned long long)(k->since_ns / 1000000u));
    json_str(k->reason);
    printf("}");
}

static struct switch_view host_view(const struct kill_slot *k)
{
    return (struct switch_view){k->agent, k->tool, k->reason, k->uid, k->since_ns};
}

static struct switch_view fleet_view(const char *agent, const char *tool, uint32_t uid,
                                     uint64_t since_ms, const char *reason)
{
    return (struct switch_view){agent, tool, reason, uid, since_ms * 1000000u};
}

static void print_kill(const struct kill_slot *k, void *ctx)
{
    struct switch_view v = host_view(k);
    print_switch(ctx, "", &v);
}

static void print_fleet_kill(const char *agent, const char *tool, uint32_t uid, uint64_t since_ms,
                             const char *reason, void *ctx)
{
    struct switch_view v = fleet_view(agent, tool, uid, since_ms, reason);
    print_switch(ctx, " in the fleet", &v);
}

static void json_kill(const struct kill_slot *k, void *ctx)
{
    struct switch_view v = host_view(k);
    json_switch(ctx, &v);
}

static void json_fleet_kill(const char *agent, const char *tool, uint32_t uid, uint64_t since_ms,
                            const char *reason, void *ctx)
{
    struct switch_view v = fleet_view(agent, tool, uid, since_ms, reason);
    json_switch(ctx, &v);
}

/* strict = true's kernel filter in this host's governed processes: the
 * kernel's word for it (Seccomp: 2 in /proc/PID/status, a filter on). */
struct filter_count {
    unsigned processes, filtered;
};

static bool has_seccomp_filter(int32_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    bool on = false;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp:", 8) == 0) {
            on = strtol(line + 8, NULL, 10) == 2;
            break;
        }
    if (f)
        fclose(f);
    return on;
}

/* Every slot is kept: status only reads (ps drops the dead ones). */
static bool keep_slot(int32_t pid, uint64_t boot_ns)
{
    (void)pid, (void)boot_ns;
    return true;
}

static void count_filter(const struct proc_slot *p, void *ctx)
{
    struct filter_count *n = ctx;
    int32_t pid = (int32_t)p->key;
    if (!state_proc_alive(pid, p->boot_ns))
        return;
    n->processes++;
    n->filtered += has_seccomp_filter(pid);
}

static struct filter_count count_filters(const struct snapshot *s)
{
    struct filter_count n = {0};
    if (s->host)
        state_proc_each(s->host, keep_slot, count_filter, &n);
    return n;
}

static void print_table(const struct snapshot *s)
{
    const struct enact_config *cfg = s->cfg;
    char d[32];
    int last_errno;
    uint64_t failures = s->st.ops->audit_failures(s->st.impl, &last_errno);
    const struct backend_view *b = &s->backend;
    if (!b->shared)
        printf("backend: local (this host's state file)\n");
    else if (b->up)
        printf("backend: redis at %s, keys {%s}:*: answering (Redis %s, round trip %.2f ms)\n",
               b->where, cfg->backend.key_prefix, b->version[0] ? b->version : "?", b->rtt_ms);
    else
        printf("backend: redis at %s, keys {%s}:*: NOT answering (%s); governed programs decide "
               "by backend.on_down = %s\n",
               b->where, cfg->backend.key_prefix, b->why, ON_DOWN_NAMES[cfg->backend.on_down]);
    if (b->shared && b->last_change[0]) {
        char ago[32];
        uint64_t now = s->real, at = b->last_change_ns;
        printf("         last change seen by a governed process: %s, %s ago (pid %ld)\n",
               b->last_change, cli_duration_text(now > at ? now - at : 0, ago, sizeof ago),
               b->last_change_pid);
    } else if (b->shared) {
        printf("         no governed process has recorded it down\n");
    }
    if (cfg->strict) {
        struct filter_count n = count_filters(s);
        printf("strict: on; the seccomp filter that refuses io_uring is on in %u of %u governed "
               "processes\n",
               n.filtered, n.processes);
    }
    printf("state: %s\naudit log: %s", cfg->state_path, cfg->audit_path);
    if (failures)
        printf(" (%llu record%s could not be written; the last: %s)",
               (unsigned long long)failures, failures == 1 ? "" : "s", strerror(last_errno));
    printf("\n");
    if (s->host)
        state_kill_each(s->host, print_kill, (void *)s);
    if (s->fleet)
        redis_kills_each(s->fleet, print_fleet_kill, (void *)s);
    printf("\n%-24s %-10s %s\n", "TOOL", "BREAKER", "SINCE");
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        if (!t->has_breaker) {
            printf("%-24s %-10s %s\n", t->name, "-", "-");
            continue;
        }
        struct breaker_view b = snapshot_breaker(s, t);
        if (b.seconds < 0)
            printf("%-24s %-10s %s\n", t->name, b.state, "start");
        else
            printf("%-24s %-10s %s ago\n", t->name, b.state,
                   cli_duration_text((uint64_t)(b.seconds * 1e9), d, sizeof d));
    }
    printf("\n%-20s %-20s %-10s %-14s %s\n", "AGENT", "TOOL", "TOKENS", "QUOTA USED", "FREES IN");
    if (s->nagents == 0)
        printf("(no agent has run under this config yet)\n");
    for (size_t a = 0; a < s->nagents; a++) {
        const char *agent = s->agents[a];
        uint64_t id = gate_agent_id(agent);
        for (size_t i = 0; i < cfg->ntools; i++) {
            const struct tool *t = &cfg->tools[i];
            struct cli_quota q =
                cli_quota_read(s->st, gate_tool_quota_key(id, t), &t->quota, s->real);
            if (!t->rate_limited && !q.present)
                continue;
            char tokens[32] = "-", used[32] = "-";
            if (t->rate_limited)
                snprintf(tokens, sizeof tokens, "%llu/%llu",
                         (unsigned long long)snapshot_tokens(s, id, t),
                         (unsigned long long)t->written.burst_size);
            if (q.present)
                snprintf(used, sizeof used, "%u/%u", q.used, q.limit);
            printf("%-20s %-20s %-10s %-14s %s\n", agent, t->name, tokens, used,
                   cli_duration_text(q.frees_in_ns, d, sizeof d));
        }
        const struct quota_spec *aq = config_agent_quota(cfg, agent);
        struct cli_quota q =
            cli_quota_read(s->st, aq ? gate_agent_quota_key(id, aq) : 0, aq, s->real);
        if (q.present) {
            char used[32];
            snprintf(used, sizeof used, "%u/%u", q.used, q.limit);
            printf("%-20s %-20s %-10s %-14s %s\n", agent, "(all tools)", "-", used,
                   cli_duration_text(q.frees_in_ns, d, sizeof d));
        }
    }
}

static void json_quota(const struct cli_quota *q)
{
    printf("{\"limit\":%u,\"used\":%u,\"remaining\":%u,\"frees_next_in_ms\":%llu}", q->limit,
           q->used, q->limit - q->used, (unsigned long long)(q->frees_in_ns / 1000000u));
}

static void print_json(const struct snapshot *s)
{
    const struct enact_config *cfg = s->cfg;
    int last_errno;
    uint64_t failures = s->st.ops->audit_failures(s->st.impl, &last_errno);
    const struct backend_view *b = &s->backend;
    printf("{\"backend\":{\"kind\":\"%s\"", b->shared ? "redis" : "local");
    if (b->shared) {
        printf(",\"where\":");
        json_str(b->where);
        printf(",\"key_prefix\":");
        json_str(cfg->backend.key_prefix);
        printf(",\"answering\":%s,\"on_down\":\"%s\"", b->up ? "true" : "false",
               ON_DOWN_NAMES[cfg->backend.on_down]);
        if (b->up)
            printf(",\"redis_version\":\"%s\",\"round_trip_ms\":%.3f", b->version, b->rtt_ms);
        else {
            printf(",\"error\":");
            json_str(b->why);
        }
        if (b->last_change[0])
            printf(",\"last_change\":{\"verdict\":\"%s\",\"unix_ms\":%llu,\"pid\":%ld}",
                   b->last_change, (unsigned long long)(b->last_change_ns / 1000000),
                   b->last_change_pid);
    }
    printf("},\"state\":");
    json_str(cfg->state_path);
    printf(",\"audit_log\":");
    json_str(cfg->audit_path);
    printf(",\"audit_failures\":%llu", (unsigned long long)failures);
    struct filter_count n = count_filters(s);
    printf(",\"strict\":{\"on\":%s,\"filtered\":%u,\"processes\":%u}",
           cfg->strict ? "true" : "false", n.filtered, n.processes);
    printf(",\"killed\":[");
    int nkills = 0;
    if (s->host)
        state_kill_each(s->host, json_kill, &nkills);
    printf("]");
    if (s->fleet) {
        int nfleet = 0;
        printf(",\"fleet_killed\":[");
        redis_kills_each(s->fleet, json_fleet_kill, &nfleet);
        printf("]");
    }
    printf(",\"tools\":[");
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        printf("%s{\"name\":", i ? "," : "");
        json_str(t->name);
        if (t->has_breaker) {
            struct breaker_view b = snapshot_breaker(s, t);
            printf(",\"breaker\":{\"state\":\"%s\",\"seconds_in_state\":", b.state);
            if (b.seconds < 0)
                printf("null}");
            else
                printf("%.3f}", b.seconds);
        }
        printf("}");
    }
    printf("],\"agents\":[");
    for (size_t a = 0; a < s->nagents; a++) {
        const char *agent = s->agents[a];
        uint64_t id = gate_agent_id(agent);
        printf("%s{\"name\":", a ? "," : "");
        json_str(agent);
        const struct quota_spec *aq = config_agent_quota(cfg, agent);
        struct cli_quota q =
            cli_quota_read(s->st, aq ? gate_agent_quota_key(id, aq) : 0, aq, s->real);
        if (q.present) {
            printf(",\"quota\":");
            json_quota(&q);
        }
        printf(",\"tools\":[");
        bool first = true;
        for (size_t i = 0; i < cfg->ntools; i++) {
            const struct tool *t = &cfg->tools[i];
            struct cli_quota tq =
                cli_quota_read(s->st, gate_tool_quota_key(id, t), &t->quota, s->real);
            if (!t->rate_limited && !tq.present)
                continue;
            printf("%s{\"name\":", first ? "" : ",");
            first = false;
            json_str(t->name);
            if (t->rate_limited)
                printf(",\"tokens\":%llu,\"burst\":%llu",
                       (unsigned long long)snapshot_tokens(s, id, t),
                       (unsigned long long)t->written.burst_size);
            if (tq.present) {
                printf(",\"quota\":");
                json_quota(&tq);
            }
            printf("}");
        }
        printf("]}");
    }
    printf("]}\n");
}

int cmd_status(int argc, char **argv)
{
    const char *config = NULL;
    int format = TABLE;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--json", .flag = &format, .to = JSON},
        {.name = "--prometheus", .flag = &format, .to = PROMETHEUS},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "status", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    struct cli_store cs;
    struct snapshot s;
    if (!snapshot_take(&s, cfg, &cs)) {
        config_free(cfg);
        return EXIT_CONFIG;
    }
    if (s.backend.shared && format != PROMETHEUS)
        last_backend_change(cfg, &s.backend);
    if (format == JSON)
        print_json(&s);
    else if (format == PROMETHEUS)
        prom_print(stdout, &s);
    else
        print_table(&s);
    snapshot_release(&s, &cs);
    config_free(cfg);
    return 0;
}
