/* enact log: the audit log as a readable table, filtered. */
#include "cli.h"
#include "records.h"
#include "../store/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact log [-c FILE] [--blocked] [--tool T] [--agent A] [--verdict V]\n"
    "                 [--since 10m|2h|1d] [--follow] [--json]\n"
    "\n"
    "Prints the config's audit log as a table: time (UTC), agent, tool, op,\n"
    "verdict, reason, and what was called. --blocked keeps refused and timed-out\n"
    "calls; --tool, --agent, --verdict keep those; --since keeps the last\n"
    "seconds (s), minutes (m), hours (h) or days (d); --follow waits for new\n"
    "records (a rotated log is followed); --json prints the records as stored.\n"
    "Colours only on a terminal, and never with NO_COLOR set.\n";

struct filter {
    bool blocked, json, follow, colour;
    const char *tool, *agent, *verdict;
    uint64_t since_ns; /* 0: all */
};

static bool same(const char *value, const char *want)
{
    return !want || (value && strcmp(value, want) == 0);
}

static bool wanted(const struct filter *flt, const struct audit_fields *f)
{
    const char *v = f->v[AF_VERDICT];
    if (flt->blocked && !(same(v, "deny") || same(v, "timeout")))
        return false;
    if (!same(f->v[AF_TOOL], flt->tool) || !same(f->v[AF_AGENT], flt->agent) ||
        !same(v, flt->verdict))
        return false;
    return !flt->since_ns || audit_time_ns(f) >= flt->since_ns;
}

static const char *colour_of(const char *verdict)
{
    static const struct {
        const char *verdict, *code;
    } colours[] = {{"deny", "31"},   {"timeout", "31"}, {"would_deny", "35"}, {"dry_run", "33"},
                   {"breaker", "36"}, {"retry", "34"},  {"error", "1;31"},    {"allow", "32"}};
    for (size_t i = 0; verdict && i < sizeof colours / sizeof colours[0]; i++)
        if (strcmp(verdict, colours[i].verdict) == 0)
            return colours[i].code;
    return NULL;
}

/* At most width bytes of s, control characters shown as spaces; a cut is
 * marked with '~'. */
static void cell(const char *s, int width, bool last)
{
    char out[512];
    size_t n = 0, max = (size_t)width < sizeof out - 1 ? (size_t)width : sizeof out - 1;
    for (const char *p = s ? s : "-"; *p && n < max; p++)
        out[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    if (s && strlen(s) > max && n > 0)
        out[n - 1] = '~';
    out[n] = '\0';
    if (last)
        printf("%s", out);
    else
        printf("%-*s ", width, out);
}

static void print_row(const struct filter *flt, const struct audit_fields *f)
{
    char when[24] = "-";
    const char *ts = f->v[AF_TS];
    if (ts && strlen(ts) >= 19)
        snprintf(when, sizeof when, "%.10s %.8s", ts, ts + 11);
    const char *colour = flt->colour ? colour_of(f->v[AF_VERDICT]) : NULL;
    char what[1024];
    cell(when, 19, false);
    cell(f->v[AF_AGENT], 14, false);
    cell(f->v[AF_TOOL], 14, false);
    cell(f->v[AF_OP], 7, false);
    if (colour)
        printf("\033[%sm", colour);
    cell(f->v[AF_VERDICT], 10, false);
    if (colour)
        printf("\033[0m");
    cell(f->v[AF_REASON], 14, false);
    cell(records_call(f, what, sizeof what), 200, true);
    putchar('\n');
}

static void print_header(void)
{
    printf("%-19s %-14s %-14s %-7s %-10s %-14s %s\n", "TIME (UTC)", "AGENT", "TOOL", "OP",
           "VERDICT", "REASON", "CALL");
}

/* Prints what passes the filter until the end (or, following, for ever). */
static void show(struct records *r, const struct filter *flt)
{
    struct audit_fields f;
    bool header = !flt->json;
    for (;;) {
        while (records_next(r, &f)) {
            if (!wanted(flt, &f))
                continue;
            if (header) {
                print_header();
                header = false;
            }
            if (flt->json)
                fwrite(r->line, 1, r->len, stdout);
            else
                print_row(flt, &f);
        }
        if (!flt->follow)
            return;
        fflush(stdout);
        if (!records_rotated(r))
            usleep(300 * 1000);
    }
}

static bool is_age(const char *s)
{
    return cli_duration_ns(s) != 0;
}

int cmd_log(int argc, char **argv)
{
    const char *config = NULL, *since = NULL;
    struct filter flt = {.colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")};
    int blocked = 0, json = 0, follow = 0;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--blocked", .flag = &blocked, .to = 1},
        {.name = "--json", .flag = &json, .to = 1},
        {.name = "--follow", .alias = "-f", .flag = &follow, .to = 1},
        {.name = "--tool", .value = &flt.tool},
        {.name = "--agent", .value = &flt.agent},
        {.name = "--verdict", .value = &flt.verdict},
        {.name = "--since",
         .value = &since,
         .valid = is_age,
         .invalid = "--since takes a duration such as 30s, 10m, 2h or 1d, not"},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "log", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    flt.blocked = blocked;
    flt.json = json;
    flt.follow = follow;
    if (since) {
        uint64_t age = cli_duration_ns(since), now = clock_now_ns(CLOCK_REALTIME);
        flt.since_ns = now > age ? now - age : 1;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    struct records r;
    if (!records_open(&r, cfg->audit_path)) {
        if (errno == ENOENT && !flt.follow) {
            fprintf(stderr, "enact log: no audit log yet at %s: nothing was refused, simulated "
                            "or recorded\n", cfg->audit_path);
            config_free(cfg);
            return 0;
        }
        if (errno != ENOENT) {
            fprintf(stderr, "enact log: cannot read %s: %s\n", cfg->audit_path, strerror(errno));
            config_free(cfg);
            return EXIT_CONFIG;
        }
        while (!records_open(&r, cfg->audit_path))
            usleep(300 * 1000); /* following a log that does not exist yet */
    }
    show(&r, &flt);
    if (r.unreadable)
        fprintf(stderr, "enact log: %lu line%s of %s %s not audit records; skipped\n",
                r.unreadable, r.unreadable == 1 ? "" : "s", cfg->audit_path,
                r.unreadable == 1 ? "is" : "are");
    records_close(&r);
    config_free(cfg);
    return 0;
}
