/* enact report --html FILE: one self-contained page (inline CSS and SVG,
 * no script, no external reference) that says what happened: per tool,
 * when its calls were admitted, refused or simulated and when its breaker
 * changed, read from the audit log; how many calls the quotas admitted,
 * per tool and per agent, read from the state (README "Commands"). */
#include "cli.h"
#include "records.h"
#include "report.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"
#include "../store/clock.h"
#include "../policy/backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact report [-c FILE] --html OUT\n"
    "\n"
    "Writes one self-contained HTML page (inline CSS and SVG, nothing fetched)\n"
    "to OUT: per tool, a timeline in local time of its admitted, refused and\n"
    "simulated calls and of its breaker's changes, read from the audit log,\n"
    "each mark naming its calls; how many calls its quota admitted, per agent,\n"
    "and each agent's own quota ([agent], [agent.NAME]), read from the state.\n"
    "A tool without a quota has no count of admitted calls in the state: the\n"
    "page says so, and how many allow records the log has (log_allowed).\n";

/* What the audit log holds, for the page. */
struct gathered {
    struct report_tool *tools; /* one per cfg->tools, in order */
    struct report_axis axis;
    uint64_t first, last;     /* the first and the last record drawn */
    unsigned long drawn;      /* records of the config's tools */
    unsigned long elsewhere;  /* records of tools the config does not have */
    unsigned long unreadable; /* lines that are no records */
};

/* An error record without errno is a call Enact could not decide that
 * on_error = allow let through; one with errno says what the refused
 * caller saw (a dry-run connection that could not be simulated). */
static enum report_kind kind_of(const struct audit_fields *f)
{
    const char *verdict = f->v[AF_VERDICT];
    if (verdict && strcmp(verdict, "error") == 0)
        return f->v[AF_ERRNO] ? RK_REFUSED : RK_ADMITTED;
    static const struct {
        const char *verdict;
        enum report_kind kind;
    } kinds[] = {
        {"allow", RK_ADMITTED}, {"would_deny", RK_OBSERVED}, {"timeout", RK_FAILED},
        {"retry", RK_FAILED},   {"deny", RK_REFUSED},        {"dry_run", RK_SIMULATED},
        {"breaker", RK_BREAKER},
    };
    for (size_t i = 0; verdict && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(verdict, kinds[i].verdict) == 0)
            return kinds[i].kind;
    return RK_COUNT;
}

/* The record's kind, time and tool (cfg->ntools: one the config does not
 * have); false when it is no call or breaker change of a tool, or has no
 * time. */
static bool placed(const struct enact_config *cfg, const struct audit_fields *f,
                   enum report_kind *k, uint64_t *ns, size_t *tool)
{
    *k = kind_of(f);
    *ns = audit_time_ns(f);
    if (*k == RK_COUNT || !*ns || !f->v[AF_TOOL])
        return false;
    for (*tool = 0; *tool < cfg->ntools; ++*tool)
        if (strcmp(cfg->tools[*tool].name, f->v[AF_TOOL]) == 0)
            break;
    return true;
}

/* The first pass: how many records the timelines show and the time they
 * span. */
static bool span_of(const struct enact_config *cfg, struct gathered *g)
{
    struct records r;
    if (!records_open(&r, cfg->audit_path))
        return errno == ENOENT;
    struct audit_fields f;
    enum report_kind k;
    uint64_t ns;
    size_t tool;
    while (records_next(&r, &f)) {
        if (!placed(cfg, &f, &k, &ns, &tool))
            continue;
        if (tool == cfg->ntools) {
            g->elsewhere++;
            continue;
        }
        g->drawn++;
        g->first = !g->first || ns < g->first ? ns : g->first;
        g->last = ns > g->last ? ns : g->last;
    }
    g->unreadable = r.unreadable;
    records_close(&r);
    return true;
}

/* A record in words for a mark's title: verdict and reason, the call, who
 * made it. */
static void describe(const struct audit_fields *f, char *buf, size_t cap)
{
    char call[REPORT_TEXT];
    const char *what = records_call(f, call, sizeof call);
    const char *reason = f->v[AF_REASON], *host = f->v[AF_HOST], *agent = f->v[AF_AGENT];
    if (f->v[AF_FROM] && f->v[AF_TO]) {
        snprintf(buf, cap, "breaker %s", what);
        return;
    }
    snprintf(buf, cap, "%s%s%s: %s %s%s%s (agent %s)", f->v[AF_VERDICT], reason ? " " : "",
             reason ? reason : "", f->v[AF_OP] ? f->v[AF_OP] : "call", what ? what : "?",
             host ? " " : "", host ? host : "", agent ? agent : "?");
}

static bool bin_add(struct report_tool *t, enum report_kind k, size_t i, uint64_t ns,
                    const char *text)
{
    if (!t->bins[k] && !(t->bins[k] = calloc(REPORT_BINS, sizeof *t->bins[k])))
        return false;
    struct report_bin *b = &t->bins[k][i];
    if (!b->count || ns < b->first_ns) {
        b->first_ns = ns;
        snprintf(b->first, sizeof b->first, "%s", text);
    }
    if (!b->count || ns >= b->last_ns) {
        b->last_ns = ns;
        snprintf(b->last, sizeof b->last, "%s", text);
    }
    b->count++;
    t->counts[k]++;
    return true;
}

/* The second pass: the records the first one counted (not those written
 * since), into their tools' bins. */
static bool bin_records(const struct enact_config *cfg, struct gathered *g)
{
    struct records r;
    if (!g->drawn)
        return true;
    if (!records_open(&r, cfg->audit_path))
        return false;
    struct audit_fields f;
    enum report_kind k;
    uint64_t ns;
    size_t tool;
    unsigned long left = g->drawn;
    bool ok = true;
    while (ok && left && records_next(&r, &f)) {
        if (!placed(cfg, &f, &k, &ns, &tool) || tool == cfg->ntools)
            continue;
        char text[REPORT_TEXT];
        describe(&f, text, sizeof text);
        ok = bin_add(&g->tools[tool], k, report_bin_of(&g->axis, ns), ns, text);
        left--;
    }
    records_close(&r);
    return ok;
}

static bool gather(const struct enact_config *cfg, struct gathered *g)
{
    if (!span_of(cfg, g))
        return false;
    if (g->drawn)
        report_axis_for(&g->axis, g->first, g->last);
    return bin_records(cfg, g);
}

static void gathered_free(struct gathered *g, size_t ntools)
{
    for (size_t i = 0; g->tools && i < ntools; i++)
        for (int k = 0; k < RK_COUNT; k++)
            free(g->tools[i].bins[k]);
    free(g->tools);
}

/* What the page is drawn from. */
struct page {
    const struct enact_config *cfg;
    const struct gathered *g;
    const struct store *st; /* NULL: there is no state file yet */
    char (*agents)[STORE_AGENT_NAME_MAX]; /* those that have run, from the state */
    size_t nagents;
    uint64_t now; /* CLOCK_REALTIME: where the quota windows end */
};

static void head(FILE *out)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>Enact report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222}"
          "h2{margin-top:1.6em}.counts span{margin-right:1.2em}"
          ".admitted{color:#2e7d32}.refused{color:#c62828}.simulated{color:#ef8f00}"
          ".breaker{color:#1565c0}.observed{color:#6a1b9a}.failed{color:#6d4c41}"
          ".legend ul{list-style:none;padding:0}.legend li{margin:.2em 0}"
          "svg.timeline{border:1px solid #ddd;background:#fafafa}"
          "svg text{font-size:11px;fill:#444}svg text.count{font-size:9px;fill:#222}"
          "svg text.tick{font-size:10px}svg text.note{font-style:italic;fill:#777}"
          "table{border-collapse:collapse;margin-top:.6em}td,th{border:1px solid #ddd;"
          "padding:.2em .6em;text-align:left}\n</style></head><body>\n<h1>Enact report</h1>\n",
          out);
}

static void span_words(FILE *out, const struct gathered *g)
{
    if (!g->drawn) {
        fputs(" It has no record of this config's tools.", out);
        return;
    }
    char a[40], b[40], zone[40];
    report_local_time(a, sizeof a, g->first, "%Y-%m-%d %H:%M:%S", false);
    report_local_time(b, sizeof b, g->last, "%Y-%m-%d %H:%M:%S", false);
    report_local_time(zone, sizeof zone, g->first, "%Z, %z", false);
    fprintf(out, " %lu record%s from %s to %s, local time (%s).", g->drawn,
            g->drawn == 1 ? "" : "s", a, b, zone);
    if (g->elsewhere)
        fprintf(out, " %lu record%s of tools this config does not have %s not shown.",
                g->elsewhere, g->elsewhere == 1 ? "" : "s", g->elsewhere == 1 ? "is" : "are");
    if (g->unreadable)
        fprintf(out, " %lu line%s of the log %s no record%s and %s skipped.", g->unreadable,
                g->unreadable == 1 ? "" : "s", g->unreadable == 1 ? "is" : "are",
                g->unreadable == 1 ? "" : "s", g->unreadable == 1 ? "was" : "were");
}

static void intro(FILE *out, const struct page *p)
{
    fputs("<p>Config <code>", out);
    report_html(out, p->cfg->path);
    fputs("</code>, audit log <code>", out);
    report_html(out, p->cfg->audit_path);
    fputs("</code>, state <code>", out);
    report_html(out, p->cfg->state_path);
    fputs(p->st ? "</code>." : "</code> (none yet).", out);
    span_words(out, p->g);
    fputs("</p>\n", out);
}

/* An agent's own quota: the one of its [agent.NAME] section, else
 * [agent]'s. */
static void agent_row(FILE *out, const struct page *p, const char *name, bool ran)
{
    const struct quota_spec *aq = config_agent_quota(p->cfg, name);
    bool own = false;
    for (size_t i = 0; i < p->cfg->nagents && !own; i++)
        own = strcmp(p->cfg->agents[i].name, name) == 0;
    fputs("<tr><td>", out);
    report_html(out, name);
    fputs("</td><td>", out);
    if (!aq) {
        fputs("none</td><td>-</td><td>-</td></tr>\n", out);
        return;
    }
    if (own) {
        fputs("[agent.", out);
        report_html(out, name);
        fputs("]", out);
    } else {
        fputs("[agent]", out);
    }
    fputs("</td><td>", out);
    if (!p->st || !ran) {
        fprintf(out, "0 of %u (%s)", aq->policy.max_actions,
                p->st ? "has not run" : "no state file");
    } else {
        uint64_t key = gate_agent_quota_key(gate_agent_id(name), aq);
        struct cli_quota q = cli_quota_read(*p->st, key, aq, p->now);
        fprintf(out, "%u of %u", q.used, q.limit);
    }
    fprintf(out, "</td><td>%g h</td></tr>\n", aq->window_hours);
}

static bool has_run(const struct page *p, const char *name)
{
    for (size_t a = 0; a < p->nagents; a++)
        if (strcmp(p->agents[a], name) == 0)
            return true;
    return false;
}

static void agents_section(FILE *out, const struct page *p)
{
    fputs("<section class=\"agents\"><h2>Agents</h2>\n", out);
    if (!p->nagents && !p->cfg->nagents) {
        fputs("<p>No agent has run under this config yet.</p></section>\n", out);
        return;
    }
    fputs("<p>Each agent's own quota, over all its calls of every tool: the calls it "
          "admitted in the rolling window, as the state counts them.</p>\n"
          "<table><tr><th>agent</th><th>quota</th><th>used</th><th>window</th></tr>\n",
          out);
    for (size_t a = 0; a < p->nagents; a++)
        agent_row(out, p, p->agents[a], true);
    for (size_t i = 0; i < p->cfg->nagents; i++)
        if (!has_run(p, p->cfg->agents[i].name))
            agent_row(out, p, p->cfg->agents[i].name, false);
    fputs("</table></section>\n", out);
}

static struct cli_quota tool_quota(const struct page *p, const struct tool *t, const char *agent)
{
    return cli_quota_read(*p->st, gate_tool_quota_key(gate_agent_id(agent), t), &t->quota,
                          p->now);
}

/* Admitted, as the state counted it (the tool's quota, over its agents),
 * or why it cannot say; and how many of the log's records say so. */
static void admitted(FILE *out, const struct page *p, const struct tool *t, unsigned long logged)
{
    fputs("<span class=\"admitted\">admitted: ", out);
    if (!t->quota.enabled) {
        fputs("not counted without a quota (the state counts admitted calls only in quotas)",
              out);
    } else if (!p->st) {
        fputs("not known (no state file)", out);
    } else {
        unsigned long used = 0;
        for (size_t a = 0; a < p->nagents; a++)
            used += tool_quota(p, t, p->agents[a]).used;
        fprintf(out, "%lu in the last %g h (the quota's count in the state)", used,
                t->quota.window_hours);
    }
    fprintf(out, "; %lu in the audit log%s</span>", logged,
            p->cfg->log_allowed ? "" : " (log_allowed = false: allowed calls are not recorded)");
}

/* The kinds a tool's counts and timeline show (bit 1 << kind): what it
 * has records of, and what its config can give (admitted and refused
 * always). */
static unsigned shown_kinds(const struct enact_config *cfg, const struct tool *t,
                            const struct report_tool *rt)
{
    unsigned shown = 1u << RK_ADMITTED | 1u << RK_REFUSED;
    if (config_simulates(cfg, t))
        shown |= 1u << RK_SIMULATED;
    if (t->has_breaker)
        shown |= 1u << RK_BREAKER;
    for (int k = 0; k < RK_COUNT; k++)
        if (rt->counts[k])
            shown |= 1u << k;
    return shown;
}

static void counts(FILE *out, const struct page *p, const struct tool *t,
                   const struct report_tool *rt)
{
    static const struct {
        enum report_kind kind;
        const char *words;
    } others[] = {
        {RK_REFUSED, "refused"},
        {RK_SIMULATED, "simulated"},
        {RK_BREAKER, "breaker changes"},
        {RK_OBSERVED, "let through in observe mode"},
        {RK_FAILED, "failed once admitted"},
    };
    fputs("<p class=\"counts\">", out);
    admitted(out, p, t, rt->counts[RK_ADMITTED]);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        enum report_kind k = others[i].kind;
        if (shown_kinds(p->cfg, t, rt) & 1u << k)
            fprintf(out, "<span class=\"%s\">%s: %lu</span>", REPORT_KINDS[k].cls,
                    others[i].words, rt->counts[k]);
    }
    fputs("</p>\n", out);
}

static void quota_table(FILE *out, const struct page *p, const struct tool *t)
{
    if (!p->st || !t->quota.enabled)
        return;
    fputs("<table><tr><th>agent</th><th>tool quota used</th></tr>\n", out);
    bool any = false;
    for (size_t a = 0; a < p->nagents; a++) {
        struct cli_quota q = tool_quota(p, t, p->agents[a]);
        if (!q.used)
            continue;
        any = true;
        fputs("<tr><td>", out);
        report_html(out, p->agents[a]);
        fprintf(out, "</td><td>%u of %u in %g h</td></tr>\n", q.used, q.limit,
                t->quota.window_hours);
    }
    if (!any)
        fputs("<tr><td colspan=\"2\">no call is counted in the window</td></tr>\n", out);
    fputs("</table>\n", out);
}

static uint32_t largest_bin(const struct gathered *g, size_t ntools)
{
    uint32_t max = 1;
    for (size_t i = 0; i < ntools; i++)
        for (int k = 0; k < RK_COUNT; k++)
            for (size_t b = 0; g->tools[i].bins[k] && b < REPORT_BINS; b++)
                max = g->tools[i].bins[k][b].count > max ? g->tools[i].bins[k][b].count : max;
    return max;
}

static void tool_section(FILE *out, const struct page *p, size_t i, uint32_t max_count)
{
    const struct tool *t = &p->cfg->tools[i];
    const struct report_tool *rt = &p->g->tools[i];
    fputs("<section class=\"tool\"><h2>", out);
    report_html(out, t->name);
    fputs("</h2>\n", out);
    counts(out, p, t, rt);
    bool any = false;
    for (int k = 0; k < RK_COUNT; k++)
        any = any || rt->counts[k];
    const char *unlogged = "allowed calls are not recorded (log_allowed = false)";
    if (any)
        report_timeline(out, rt, shown_kinds(p->cfg, t, rt), &p->g->axis, max_count,
                        p->cfg->log_allowed ? NULL : unlogged);
    else
        fputs("<p>No recorded calls.</p>\n", out);
    quota_table(out, p, t);
    fputs("</section>\n", out);
}

static void page(FILE *out, const struct page *p)
{
    head(out);
    intro(out, p);
    report_legend(out);
    agents_section(out, p);
    uint32_t max_count = largest_bin(p->g, p->cfg->ntools);
    for (size_t i = 0; i < p->cfg->ntools; i++)
        tool_section(out, p, i, max_count);
    fputs("</body></html>\n", out);
}

/* Writes the page to target; false (said why) when it cannot. */
static bool write_page(const char *target, const struct page *p)
{
    FILE *out = fopen(target, "we");
    if (out) {
        page(out, p);
        if (fclose(out) == 0) {
            printf("wrote %s\n", target);
            return true;
        }
    }
    fprintf(stderr, "enact report: cannot write %s: %s\n", target, strerror(errno));
    return false;
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
    struct gathered g = {.tools = calloc(cfg->ntools ? cfg->ntools : 1, sizeof *g.tools)};
    int rc = 0;
    if (!g.tools || !gather(cfg, &g)) {
        fprintf(stderr, "enact report: cannot read %s: %s\n", cfg->audit_path, strerror(errno));
        rc = EXIT_CONFIG;
    }
    struct cli_store cs;
    struct page p = {.cfg = cfg, .g = &g, .now = clock_now_ns(CLOCK_REALTIME)};
    bool mapped = rc == 0 && (backend_is_shared(cfg) || access(cfg->state_path, F_OK) == 0) &&
                  cli_open_store(cfg, &cs);
    if (mapped) {
        p.st = &cs.st;
        p.nagents = cs.st.ops->agents(cs.st.impl, &p.agents);
    }
    if (rc == 0 && !write_page(target, &p))
        rc = EXIT_CONFIG;
    if (mapped)
        cli_close_store(&cs);
    free(p.agents);
    gathered_free(&g, cfg->ntools);
    config_free(cfg);
    return rc;
}
