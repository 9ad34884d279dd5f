#include "learn.h"

#include "../pure/learn_rates.h"
#include "cli.h"

#include <inttypes.h>
#include <string.h>

/* A span as people read it: "12 ms", "45s", "3m20s". */
static const char *span_text(uint64_t ms, char *buf, size_t cap)
{
    if (ms < 1000)
        snprintf(buf, cap, "%" PRIu64 " ms", ms);
    else
        cli_duration_text(ms * 1000000, buf, cap);
    return buf;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* text as comment lines of at most 78 columns (the loader takes lines
 * of up to 198), broken at spaces; a control byte (a newline in an
 * argument would end the comment) is written as a space. */
static void write_wrapped(FILE *out, const char *raw)
{
    char copy[1600];
    snprintf(copy, sizeof copy, "%s", raw);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    const char *text = copy;
    while (*text) {
        size_t len = strlen(text), cut = len;
        if (len > 76) {
            cut = 76;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = 76; /* one word longer than a line: cut in it */
        }
        fprintf(out, "; %.*s\n", (int)cut, text);
        text += cut;
        text += strspn(text, " ");
    }
}

static void write_header(FILE *out, const struct learn_model *m, const struct learn_proposal *p)
{
    const struct learn_summary *sum = learn_model_summary(m);
    char span[32];
    char line[1200];
    snprintf(line, sizeof line, "Proposed by enact learn on %s from %s.", p->today, p->source);
    write_wrapped(out, line);
    fprintf(out, "; Seen: %" PRIu32 " %s over %s, in %" PRIu32 " audit records.\n", sum->calls,
            plural(sum->calls, "call", "calls"), span_text(sum->last_ms - sum->first_ms, span, sizeof span),
            p->records);
    if (p->records > p->allow_records)
        fprintf(out,
                "; %" PRIu32 " of the records are calls that were refused or simulated; they count\n"
                "; as calls the agent made.\n",
                p->records - p->allow_records);
    fprintf(out,
            "; Each rate is the most calls seen in any minute, times %g; each burst the room\n"
            "; a bucket at that rate needed for the densest stretch of calls, times %g.\n",
            p->headroom, p->headroom);
    if (sum->startup || sum->wrapped) {
        char started[96] = "", wrapped[96] = "", line[400];
        if (sum->startup)
            snprintf(started, sizeof started, "%" PRIu32 " program %s that started the command itself",
                     sum->startup, plural(sum->startup, "start", "starts"));
        if (sum->wrapped)
            snprintf(wrapped, sizeof wrapped, "%" PRIu32 " that carried out another program's start",
                     sum->wrapped);
        snprintf(line, sizeof line, "Not governed: %s%s%s (%s).", started,
                 sum->startup && sum->wrapped ? " and " : "", wrapped, sum->startup_programs);
        write_wrapped(out, line);
    }
    if (sum->lookups)
        fprintf(out,
                "; Not governed: %" PRIu32 " %s to port 53 (name lookups): limiting them would fail\n"
                "; every call that needs a name at once.\n",
                sum->lookups, plural(sum->lookups, "connect", "connects"));
    snprintf(line, sizeof line,
             "Check it with `enact check %s`; see what it would refuse, refusing nothing, "
             "with `enact run --observe -c %s -- %s`; then run it without --observe.",
             p->file, p->file, p->command);
    write_wrapped(out, line);
}

static void write_service_evidence(FILE *out, const struct learn_service *s)
{
    char span[32];
    uint64_t over = s->ncalls ? s->ts_ms[s->ncalls - 1] - s->ts_ms[0] : 0;
    const char *over_text = s->ncalls > 1 ? span_text(over, span, sizeof span) : NULL;
    if (s->kind == LEARN_PROGRAM) {
        fprintf(out, "; seen: %" PRIu32 " %s of %s%s%s\n", s->execs,
                plural(s->execs, "start", "starts"), s->rule, over_text ? " over " : "",
                over_text ? over_text : "");
        for (uint32_t i = 0; i < s->nshapes; i++) {
            char line[200];
            snprintf(line, sizeof line, "  %s  (%" PRIu32 ")", s->shapes[i].text, s->shapes[i].count);
            write_wrapped(out, line);
        }
        if (s->other_shapes)
            fprintf(out, ";   and %" PRIu32 " other argument %s\n", s->other_shapes,
                    plural(s->other_shapes, "shape", "shapes"));
        return;
    }
    fprintf(out, "; seen: %" PRIu32 " %s", s->connects, plural(s->connects, "connect", "connects"));
    if (s->requests)
        fprintf(out, " and %" PRIu32 " further %s on them (at most %" PRIu32 " on one connection)",
                s->requests, plural(s->requests, "request", "requests"), s->max_per_connection);
    if (over_text)
        fprintf(out, " over %s", over_text);
    if (s->kind == LEARN_NAMED || s->kind == LEARN_CLUSTER)
        fprintf(out, ", to %" PRIu32 " %s", s->addresses, plural(s->addresses, "address", "addresses"));
    fputc('\n', out);
}

static void write_limits(FILE *out, const struct learn_service *s, double headroom)
{
    struct learn_limits l = learn_limits_of(s->ts_ms, s->ncalls, headroom);
    char span[32];
    uint64_t over = s->ncalls ? s->ts_ms[s->ncalls - 1] - s->ts_ms[0] : 0;
    if (over < 60000)
        fprintf(out, "; peak: %" PRIu32 " %s in a minute (the whole run, shorter than one); x %g\n",
                l.peak, plural(l.peak, "call", "calls"), headroom);
    else
        fprintf(out, "; peak: %" PRIu32 " %s in a minute; x %g\n", l.peak,
                plural(l.peak, "call", "calls"), headroom);
    fprintf(out, "rate.max_calls_per_minute = %" PRIu32 "\n", l.rate);
    if (l.stretch.calls > 1)
        fprintf(out,
                "; densest: %" PRIu32 " calls in %s; at %" PRIu32
                "/min a bucket needs room for %.1f; x %g\n",
                l.stretch.calls, span_text(l.stretch.span_ms, span, sizeof span), l.rate,
                l.stretch.needed, headroom);
    else
        fprintf(out, "; densest: one call at a time; room for 1; x %g\n", headroom);
    fprintf(out, "rate.burst_size = %" PRIu32 "\n", l.burst);
}

static void write_destructive(FILE *out, const struct learn_service *s, bool approve)
{
    char line[300];
    snprintf(line, sizeof line, "impact %s (%s), e.g. %s", impact_level_name(s->impact.level),
             s->impact.reason, s->impact_example);
    if (s->impact.level == IMPACT_MEDIUM)
        write_wrapped(out, line);
    if (s->impact.level != IMPACT_HIGH)
        return;
    write_wrapped(out, line);
    if (approve) {
        fprintf(out, "; so a person approves each such call (enact pending, enact approve ID)\n"
                     "approve = high\n");
    } else {
        fprintf(out, "; so simulated: it reports success and runs nothing (enact dry-run list);\n"
                     "; to have a person approve each such call instead, approve = high\n"
                     "dry_run = true\n");
    }
}

void learn_write_ini(FILE *out, const struct learn_model *m, const struct learn_proposal *p)
{
    write_header(out, m, p);
    for (size_t i = 0; i < learn_service_count(m); i++) {
        const struct learn_service *s = learn_service_at(m, i);
        fprintf(out, "\n[tool.%s]\n", s->name);
        write_service_evidence(out, s);
        fprintf(out, "%s = %s\n", s->kind == LEARN_PROGRAM ? "exec" : "connect", s->rule);
        write_limits(out, s, p->headroom);
        if (s->kind == LEARN_PROGRAM)
            write_destructive(out, s, p->approve_destructive);
    }
}
