/* enact report's parts: what the audit log says per tool, binned in time
 * (report.c), and the SVG timeline drawn from it (report_svg.c). */
#ifndef ENACT_CLI_REPORT_H
#define ENACT_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What became of a call, or of a tool's breaker: one lane of a timeline
 * each, in lane order. */
enum report_kind {
    RK_ADMITTED,  /* allow; error without errno (on_error = allow let it through) */
    RK_OBSERVED,  /* would_deny: observe mode let it through */
    RK_FAILED,    /* timeout, retry: admitted, then failed */
    RK_REFUSED,   /* deny; error with errno (a simulation that could not be made) */
    RK_SIMULATED, /* dry_run */
    RK_BREAKER,   /* breaker: a state change */
    RK_COUNT
};

struct report_kind_info {
    const char *cls;    /* the marks' class */
    const char *lane;   /* the lane's label */
    const char *legend; /* what the mark means, in the legend */
    const char *colour;
};
extern const struct report_kind_info REPORT_KINDS[RK_COUNT];

/* A timeline is REPORT_BINS slices of time across its width; the records
 * of one kind in one slice are one mark, however many they are. */
#define REPORT_BINS 200
/* One record in words: verdict, reason, the call, the agent (truncated). */
#define REPORT_TEXT 256

struct report_bin {
    uint32_t count;
    uint64_t first_ns, last_ns; /* since the epoch */
    char first[REPORT_TEXT], last[REPORT_TEXT];
};

/* What the log says of one tool: records per kind, and bins[kind]
 * (REPORT_BINS of them, allocated once the kind has a record). */
struct report_tool {
    unsigned long counts[RK_COUNT];
    struct report_bin *bins[RK_COUNT];
};

/* The time every timeline of the page spans, and its ticks: ns since the
 * epoch, t0 < t1. */
#define REPORT_TICKS_MAX 16
struct report_axis {
    uint64_t t0, t1;
    size_t nticks;
    uint64_t tick_ns[REPORT_TICKS_MAX];
    char tick[REPORT_TICKS_MAX][24]; /* local time, as precise as the step needs */
    char date[80];                   /* t0's day and the zone, said once */
};

/* The axis for records from first to last (ns since the epoch; a span
 * shorter than a second is widened to one, around them). */
void report_axis_for(struct report_axis *ax, uint64_t first, uint64_t last);

/* Which bin ns falls in: 0 .. REPORT_BINS - 1. */
size_t report_bin_of(const struct report_axis *ax, uint64_t ns);

/* ns since the epoch as local time by strftime's fmt, with ".mmm" after it
 * when ms. */
void report_local_time(char *buf, size_t cap, uint64_t ns, const char *fmt, bool ms);

/* s as HTML text (or attribute value); control characters as spaces. */
void report_html(FILE *out, const char *s);

/* What each mark and colour means. */
void report_legend(FILE *out);

/* One tool's timeline: a lane per kind in lanes (bit 1 << kind), the axis
 * under them. max_count: the largest bin of the page, which sets
 * the bars' scale, so that the page's timelines compare. admitted_note:
 * said in the admitted lane when it has no mark (NULL: nothing). */
void report_timeline(FILE *out, const struct report_tool *t, unsigned lanes,
                     const struct report_axis *ax, uint32_t max_count, const char *admitted_note);

#endif
