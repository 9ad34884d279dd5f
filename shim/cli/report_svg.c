/* enact report's timelines: inline SVG, one lane per kind of record, a
 * time axis in local time under them, a <title> on every mark. */
#include "report.h"

#include <math.h>
#include <string.h>
#include <time.h>

const struct report_kind_info REPORT_KINDS[RK_COUNT] = {
    [RK_ADMITTED] = {"admitted", "admitted",
                     "admitted: the call went through (allow records, and error records "
                     "without an errno: Enact could not decide and on_error = allow let it "
                     "through)",
                     "#2e7d32"},
    [RK_OBSERVED] = {"observed", "observe",
                     "let through in observe mode: enforcement would have refused it "
                     "(would_deny)",
                     "#6a1b9a"},
    [RK_FAILED] = {"failed", "failed",
                   "failed once admitted: timed out (timeout) or failed and tried again (retry)",
                   "#6d4c41"},
    [RK_REFUSED] = {"refused", "refused",
                    "refused (deny; and error records with an errno: a dry-run connection "
                    "that could not be simulated)",
                    "#c62828"},
    [RK_SIMULATED] = {"simulated", "simulated",
                      "simulated (dry_run): nothing ran, nothing reached the tool", "#ef8f00"},
    [RK_BREAKER] = {"breaker", "breaker", "breaker change (CLOSED, OPEN, HALF_OPEN)", "#1565c0"},
};

/* Geometry, in px. The plot is REPORT_BINS bins of BIN_W from PLOT_X0;
 * the lane labels sit left of it. A lane keeps its top COUNT_H for the
 * count labels, its bars grow up from its baseline to BAR_MAX. */
#define SVG_W 900
#define PLOT_X0 90
#define BIN_W 4
#define PLOT_W (REPORT_BINS * BIN_W)
#define TOP 6
#define LANE_H 30
#define COUNT_H 11
#define BAR_MIN 6
#define BAR_MAX (LANE_H - COUNT_H - 3)
#define AXIS_H 40
#define LABEL_GAP 26 /* between the centres of two count labels of a lane */

void report_html(FILE *out, const char *s)
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

void report_local_time(char *buf, size_t cap, uint64_t ns, const char *fmt, bool ms)
{
    time_t sec = (time_t)(ns / 1000000000u);
    struct tm tm;
    size_t n = localtime_r(&sec, &tm) ? strftime(buf, cap, fmt, &tm) : 0;
    buf[n] = '\0';
    if (ms)
        snprintf(buf + n, cap - n, ".%03u", (unsigned)(ns / 1000000u % 1000u));
}

/* Tick steps in ms: the first that puts at most MAX_TICKS on the span. */
#define MAX_TICKS 8
static const uint64_t STEPS_MS[] = {
    1,       2,       5,       10,      20,       50,       100,      200,      500,
    1000,    2000,    5000,    10000,   15000,    30000,    60000,    120000,   300000,
    600000,  900000,  1800000, 3600000, 7200000,  10800000, 21600000, 43200000, 86400000,
    172800000, 604800000, 2592000000,
};
#define DAY_MS UINT64_C(86400000)

static uint64_t step_ms_for(uint64_t span_ms)
{
    for (size_t i = 0; i < sizeof STEPS_MS / sizeof STEPS_MS[0]; i++)
        if (span_ms / STEPS_MS[i] < MAX_TICKS)
            return STEPS_MS[i];
    return (span_ms / MAX_TICKS / DAY_MS + 1) * DAY_MS;
}

/* The local clock's offset from UTC at ns, in ms: ticks fall on round
 * local times. */
static int64_t local_offset_ms(uint64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000u);
    struct tm tm;
    return localtime_r(&sec, &tm) ? (int64_t)tm.tm_gmtoff * 1000 : 0;
}

static void tick_label(struct report_axis *ax, size_t i, uint64_t step_ms, const char *prev_day)
{
    char day[16];
    report_local_time(day, sizeof day, ax->tick_ns[i], "%Y-%m-%d", false);
    bool new_day = strcmp(day, prev_day) != 0;
    const char *fmt = step_ms >= DAY_MS ? "%m-%d"
                      : step_ms >= 60000 ? (new_day ? "%m-%d %H:%M" : "%H:%M")
                                         : (new_day ? "%m-%d %H:%M:%S" : "%H:%M:%S");
    report_local_time(ax->tick[i], sizeof ax->tick[i], ax->tick_ns[i], fmt, step_ms < 1000);
}

static void ticks(struct report_axis *ax)
{
    uint64_t step = step_ms_for((ax->t1 - ax->t0) / 1000000u);
    int64_t off = local_offset_ms(ax->t0);
    int64_t local0 = (int64_t)(ax->t0 / 1000000u) + off;
    int64_t local1 = (int64_t)(ax->t1 / 1000000u) + off;
    int64_t tick = (local0 + (int64_t)step - 1) / (int64_t)step * (int64_t)step;
    char prev_day[16];
    report_local_time(prev_day, sizeof prev_day, ax->t0, "%Y-%m-%d", false);
    for (ax->nticks = 0; tick <= local1 && ax->nticks < REPORT_TICKS_MAX; tick += (int64_t)step) {
        size_t i = ax->nticks++;
        ax->tick_ns[i] = (uint64_t)(tick - off) * 1000000u;
        tick_label(ax, i, step, prev_day);
        report_local_time(prev_day, sizeof prev_day, ax->tick_ns[i], "%Y-%m-%d", false);
    }
}

void report_axis_for(struct report_axis *ax, uint64_t first, uint64_t last)
{
    const uint64_t second = 1000000000u;
    uint64_t span = last - first < second ? second : last - first;
    uint64_t pad = span / 40; /* so that the first and last marks clear the edges */
    uint64_t before = pad + (span - (last - first)) / 2;
    ax->t0 = first > before ? first - before : 0;
    ax->t1 = ax->t0 + span + 2 * pad;
    ticks(ax);
    char day[16], zone[40];
    report_local_time(day, sizeof day, ax->t0, "%Y-%m-%d", false);
    report_local_time(zone, sizeof zone, ax->t0, "%Z, %z", false);
    snprintf(ax->date, sizeof ax->date, "%s, local time (%s)", day, zone);
}

size_t report_bin_of(const struct report_axis *ax, uint64_t ns)
{
    if (ns <= ax->t0)
        return 0;
    double at = (double)(ns - ax->t0) / (double)(ax->t1 - ax->t0) * REPORT_BINS;
    return at >= REPORT_BINS - 1 ? REPORT_BINS - 1 : (size_t)at;
}

static double x_of(const struct report_axis *ax, uint64_t ns)
{
    return PLOT_X0 + (double)(ns - ax->t0) / (double)(ax->t1 - ax->t0) * PLOT_W;
}

void report_legend(FILE *out)
{
    fputs("<div class=\"legend\"><h2>Legend</h2><ul>\n", out);
    for (int k = 0; k < RK_COUNT; k++)
        fprintf(out, "<li><svg class=\"swatch\" width=\"12\" height=\"12\"><rect width=\"12\" "
                     "height=\"12\" fill=\"%s\"/></svg> <span class=\"%s\">%s</span></li>\n",
                REPORT_KINDS[k].colour, REPORT_KINDS[k].cls, REPORT_KINDS[k].legend);
    fputs("</ul><p>One bar is every record of its kind in one slice of time (1/200 of the "
          "span); its height grows with the logarithm of the count, written above the "
          "bar when it is more than one (where there is room). Hover a bar for its time, "
          "verdict, reason and call.</p></div>\n",
          out);
}

/* A mark's hover text: when, what became of it and why, what was called. */
static void title(FILE *out, const struct report_bin *b, enum report_kind k)
{
    char a[40], z[40];
    report_local_time(a, sizeof a, b->first_ns, "%Y-%m-%d %H:%M:%S", true);
    fputs("<title>", out);
    if (b->count == 1) {
        fprintf(out, "%s %s: ", a, REPORT_KINDS[k].lane);
        report_html(out, b->first);
    } else {
        report_local_time(z, sizeof z, b->last_ns, "%H:%M:%S", true);
        fprintf(out, "%u %s from %s to %s. First: ", b->count, REPORT_KINDS[k].lane, a, z);
        report_html(out, b->first);
        fputs(". Last: ", out);
        report_html(out, b->last);
    }
    fputs("</title>", out);
}

static void bar(FILE *out, const struct report_bin *b, enum report_kind k, size_t i, int base,
                uint32_t max_count)
{
    double h = max_count > 1 ? BAR_MIN + (BAR_MAX - BAR_MIN) * log(b->count) / log(max_count)
                             : BAR_MAX;
    fprintf(out, "<rect class=\"%s\" x=\"%zu\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
                 "fill=\"%s\" data-count=\"%u\">",
            REPORT_KINDS[k].cls, PLOT_X0 + i * BIN_W, base - h, BIN_W - 1, h,
            REPORT_KINDS[k].colour, b->count);
    title(out, b, k);
    fputs("</rect>\n", out);
}

/* Counts above the bars of more than one record, the largest first, each
 * where it clears the labels already placed. */
static void count_labels(FILE *out, const struct report_bin *bins, int top)
{
    size_t order[REPORT_BINS], n = 0;
    for (size_t i = 0; i < REPORT_BINS; i++) {
        if (bins[i].count < 2)
            continue;
        size_t at = n++;
        for (; at > 0 && bins[order[at - 1]].count < bins[i].count; at--)
            order[at] = order[at - 1];
        order[at] = i;
    }
    size_t placed[REPORT_BINS], nplaced = 0;
    for (size_t j = 0; j < n; j++) {
        bool clear = true;
        for (size_t p = 0; p < nplaced && clear; p++)
            clear = (order[j] > placed[p] ? order[j] - placed[p] : placed[p] - order[j]) * BIN_W >=
                    LABEL_GAP;
        if (!clear)
            continue;
        placed[nplaced++] = order[j];
        fprintf(out, "<text class=\"count\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%u</text>\n",
                PLOT_X0 + order[j] * BIN_W + (BIN_W - 1) / 2.0, top + COUNT_H - 2,
                bins[order[j]].count);
    }
}

static void lane(FILE *out, const struct report_tool *t, enum report_kind k, int top,
                 uint32_t max_count, const char *note)
{
    int base = top + LANE_H - 2;
    fprintf(out, "<text class=\"lane\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
            PLOT_X0 - 6, base - 2, REPORT_KINDS[k].lane);
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>\n", PLOT_X0,
            base, PLOT_X0 + PLOT_W, base);
    if (!t->bins[k]) {
        if (note) {
            fprintf(out, "<text class=\"note\" x=\"%d\" y=\"%d\">", PLOT_X0 + 4, base - 4);
            report_html(out, note);
            fputs("</text>\n", out);
        }
        return;
    }
    for (size_t i = 0; i < REPORT_BINS; i++)
        if (t->bins[k][i].count)
            bar(out, &t->bins[k][i], k, i, base, max_count);
    count_labels(out, t->bins[k], top);
}

/* Tick lines through the lanes, from top to the axis at y. */
static void grid(FILE *out, const struct report_axis *ax, int y)
{
    for (size_t i = 0; i < ax->nticks; i++)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e6e6e6\"/>\n",
                x_of(ax, ax->tick_ns[i]), TOP, x_of(ax, ax->tick_ns[i]), y);
}

static void axis(FILE *out, const struct report_axis *ax, int y)
{
    fprintf(out, "<g class=\"axis\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                 "stroke=\"#666\"/>\n",
            PLOT_X0, y, PLOT_X0 + PLOT_W, y);
    for (size_t i = 0; i < ax->nticks; i++) {
        double x = x_of(ax, ax->tick_ns[i]);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#666\"/>"
                     "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, y, x, y + 5, x, y + 17, ax->tick[i]);
    }
    fprintf(out, "<text class=\"date\" x=\"%d\" y=\"%d\">", PLOT_X0, y + 33);
    report_html(out, ax->date);
    fputs("</text></g>\n", out);
}

void report_timeline(FILE *out, const struct report_tool *t, unsigned lanes,
                     const struct report_axis *ax, uint32_t max_count, const char *admitted_note)
{
    enum report_kind shown[RK_COUNT];
    int n = 0;
    for (int k = 0; k < RK_COUNT; k++)
        if (lanes & 1u << k)
            shown[n++] = (enum report_kind)k;
    int axis_y = TOP + n * LANE_H, h = axis_y + AXIS_H;
    fprintf(out, "<svg class=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\">\n",
            SVG_W, h, SVG_W, h);
    grid(out, ax, axis_y);
    for (int i = 0; i < n; i++)
        lane(out, t, shown[i], TOP + i * LANE_H, max_count,
             shown[i] == RK_ADMITTED ? admitted_note : NULL);
    axis(out, ax, axis_y);
    fputs("</svg>\n", out);
}
