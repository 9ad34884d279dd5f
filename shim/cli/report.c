/* enact report --html FILE: one self-contained page (inline CSS and SVG,
 * no external reference) that shows, per tool, when its calls were
 * admitted, refused or simulated, when its breaker changed state, and the
 * quota its agents have used. */
#include "cli.h"
#include "records.h"
#include "../policy/gate.h"
#include "../pure/jsonw.h"
#include "../store/clock.h"
#include "../store/local_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact report [-c FILE] --html OUT\n"
    "\n"
    "Writes one self-contained HTML page (inline CSS and SVG, nothing fetched)\n"
    "to OUT: per tool, a timeline of admitted, refused and simulated calls and\n"
    "of breaker changes, read from the audit log, and its agents' quota use,\n"
    "read from the state.\n";

enum kind { K_ADMITTED, K_DENIED, K_SIMULATED, K_BREAKER, K_COUNT };
static const char *const KIND_NAMES[K_COUNT] = {"admitted", "refused", "simulated", "breaker"};
static const char *const KIND_COLOURS[K_COUNT] = {"#2e7d32", "#c62828", "#ef8f00", "#1565c0"};

struct event {
    uint64_t ns;
    enum kind kind;
    char label[96];
};

struct tool_events {
    struct event *ev;
    size_t n, cap;
    unsigned long counts[K_COUNT];
};

static enum kind kind_of(const char *verdict)
{
    if (!verdict)
        return K_COUNT;
    if (strcmp(verdict, "deny") == 0 || strcmp(verdict, "timeout") == 0)
        return K_DENIED;
    if (strcmp(verdict, "dry_run") == 0)
        return K_SIMULATED;
    if (strcmp(verdict, "breaker") == 0)
        return K_BREAKER;
    if (strcmp(verdict, "allow") == 0 || strcmp(verdict, "would_deny") == 0 ||
        strcmp(verdict, "retry") == 0)
        return K_ADMITTED;
    return K_COUNT;
}

static void html(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
        }
    }
}

static bool add(struct tool_events *t, const struct event *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct event *grown = realloc(t->ev, cap * sizeof *grown);
        if (!grown)
            return false;
        t->ev = grown;
        t->cap = cap;
    }
    t->ev[t->n++] = *e;
    t->counts[e->kind]++;
    return true;
}

static const struct tool *tool_named(const struct enact_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntools; i++)
        if (strcmp(cfg->tools[i].name, name) == 0)
            return &cfg->tools[i];
    return NULL;
}

/* Reads the log into per-tool events; first/last: the time span. */
static bool gather(const struct enact_config *cfg, struct tool_events *tools, uint64_t *first,
                   uint64_t *last)
{
    struct records r;
    if (!records_open(&r, cfg->audit_path))
        return errno == ENOENT;
    struct audit_fields f;
    while (records_next(&r, &f)) {
        enum kind k = kind_of(f.v[AF_VERDICT]);
        uint64_t ns = audit_time_ns(&f);
        const struct tool *t = f.v[AF_TOOL] ? tool_named(cfg, f.v[AF_TOOL]) : NULL;
        if (k == K_COUNT || !ns || !t)
            continue;
        struct event e = {.ns = ns, .kind = k};
        if (k == K_BREAKER)
            snprintf(e.label, sizeof e.label, "%s -> %s", f.v[AF_FROM] ? f.v[AF_FROM] : "?",
                     f.v[AF_TO] ? f.v[AF_TO] : "?");
        else
            snprintf(e.label, sizeof e.label, "%s %s", f.v[AF_VERDICT],
                     f.v[AF_REASON] ? f.v[AF_REASON] : f.v[AF_IMPACT] ? f.v[AF_IMPACT] : "");
        if (!add(&tools[t - cfg->tools], &e))
            break;
        *first = !*first || ns < *first ? ns : *first;
        *last = ns > *last ? ns : *last;
    }
    records_close(&r);
    return true;
}

#define SVG_W 900
#define SVG_H 90

static void timeline(FILE *out, const struct tool_events *t, uint64_t first, uint64_t last)
{
    double span = last > first ? (double)(last - first) : 1.0;
    fprintf(out, "<svg class=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fprintf(out, "<line x1=\"10\" y1=\"70\" x2=\"%d\" y2=\"70\" stroke=\"#999\"/>\n", SVG_W - 10);
    for (size_t i = 0; i < t->n; i++) {
        const struct event *e = &t->ev[i];
        double x = 10 + (SVG_W - 20) * (double)(e->ns - first) / span;
        int row = e->kind == K_BREAKER ? 10 : 20 + 14 * (int)e->kind;
        fprintf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"3\" height=\"%d\" "
                     "fill=\"%s\"><title>",
                KIND_NAMES[e->kind], x, row, e->kind == K_BREAKER ? 60 : 12,
                KIND_COLOURS[e->kind]);
        html(out, e->label);
        fputs("</title></rect>\n", out);
    }
    fputs("</svg>\n", out);
}

static void quota_table(FILE *out, const struct tool *t, const struct store *st,
                        char (*agents)[STORE_AGENT_NAME_MAX], size_t nagents)
{
    if (!st || !t->quota.enabled)
        return;
    uint64_t now = clock_now_ns(CLOCK_REALTIME);
    fputs("<table><tr><th>agent</th><th>quota used</th></tr>\n", out);
    for (size_t a = 0; a < nagents; a++) {
        uint64_t key = gate_tool_quota_key(gate_agent_id(agents[a]), t);
        struct quota_ring copy;
        if (!st->ops->read_quota(st->impl, key, &copy))
            continue;
        uint32_t limit = (uint32_t)t->quota.policy.max_actions;
        uint32_t used = limit - quota_remaining(&copy, &t->quota.policy, now);
        fputs("<tr><td>", out);
        html(out, agents[a]);
        fprintf(out, "</td><td>%u of %u in %g h</td></tr>\n", used, limit,
                t->quota.window_hours);
    }
    fputs("</table>\n", out);
}

static void page(FILE *out, const struct enact_config *cfg, struct tool_events *tools,
                 uint64_t first, uint64_t last, const struct store *st,
                 char (*agents)[STORE_AGENT_NAME_MAX],
                 size_t nagents)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>Enact report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222}"
          "h2{margin-top:1.6em}.counts span{margin-right:1.2em}"
          ".admitted{color:#2e7d32}.refused{color:#c62828}.simulated{color:#ef8f00}"
          ".breaker{color:#1565c0}svg.timeline{border:1px solid #ddd;background:#fafafa}"
          "table{border-collapse:collapse;margin-top:.6em}td,th{border:1px solid #ddd;"
          "padding:.2em .6em;text-align:left}\n</style></head><body>\n<h1>Enact report</h1>\n",
          out);
    fputs("<p>Config <code>", out);
    html(out, cfg->path);
    fputs("</code>, audit log <code>", out);
    html(out, cfg->audit_path);
    fputs("</code>.", out);
    if (first) {
        char a[32] = {0}, b[32] = {0};
        format_utc_ms(a, first);
        format_utc_ms(b, last);
        fprintf(out, " From %s to %s (UTC).", a, b);
    }
    fputs("</p>\n", out);
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        const struct tool_events *te = &tools[i];
        fputs("<section class=\"tool\"><h2>", out);
        html(out, t->name);
        fputs("</h2>\n<p class=\"counts\">", out);
        for (int k = 0; k < K_COUNT; k++)
            fprintf(out, "<span class=\"%s\">%s: %lu</span>", KIND_NAMES[k], KIND_NAMES[k],
                    te->counts[k]);
        fputs("</p>\n", out);
        if (te->n)
            timeline(out, te, first, last);
        else
            fputs("<p>No recorded calls.</p>\n", out);
        quota_table(out, t, st, agents, nagents);
        fputs("</section>\n", out);
    }
    fputs("</body></html>\n", out);
}

int cmd_report(int argc, char **argv)
{
    const char *config = NULL, *target = NULL;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--html", .value = &target},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "report", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    if (!target) {
        fprintf(stderr, "enact report: say where with --html FILE\n\n%s", HELP);
        return EXIT_USAGE;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    struct tool_events *tools = calloc(cfg->ntools ? cfg->ntools : 1, sizeof *tools);
    uint64_t first = 0, last = 0;
    int rc = 0;
    if (!tools || !gather(cfg, tools, &first, &last)) {
        fprintf(stderr, "enact report: cannot read %s: %s\n", cfg->audit_path, strerror(errno));
        rc = EXIT_CONFIG;
    }
    struct state_map m;
    char(*agents)[STORE_AGENT_NAME_MAX] = NULL;
    size_t nagents = 0;
    bool mapped = rc == 0 && access(cfg->state_path, F_OK) == 0 && cli_open_state(cfg, &m);
    struct store st = local_store(mapped ? &m : NULL);
    if (mapped)
        nagents = st.ops->agents(st.impl, &agents);
    FILE *out = rc == 0 ? fopen(target, "we") : NULL;
    if (rc == 0 && !out) {
        fprintf(stderr, "enact report: cannot write %s: %s\n", target, strerror(errno));
        rc = EXIT_CONFIG;
    }
    if (out) {
        page(out, cfg, tools, first, last, mapped ? &st : NULL, agents, nagents);
        if (fclose(out) != 0) {
            fprintf(stderr, "enact report: cannot write %s: %s\n", target, strerror(errno));
            rc = EXIT_CONFIG;
        } else {
            printf("wrote %s\n", target);
        }
    }
    if (mapped)
        state_close(&m);
    free(agents);
    for (size_t i = 0; tools && i < cfg->ntools; i++)
        free(tools[i].ev);
    free(tools);
    config_free(cfg);
    return rc;
}
