/* fuzz_audit_read: the audit reader behind `enact log`, `enact dry-run` and
 * `enact report` (shim/pure/audit_read.h), and its round trip with the
 * writer (shim/pure/audit_record.h).
 *
 * 1. Arbitrary bytes as a log line: audit_parse never reads past the line
 *    nor writes past its buffer (ASan), every field it returns lies in
 *    that buffer, and what it read survives being written again with jsonw
 *    and read back (as strings; bytes that are not UTF-8 as U+0080..U+00FF).
 *    A time audit_time_ns accepts formats back to the same "ts" when the
 *    date is a real one.
 * 2. The same bytes as an audit event (a record of one of the shapes the
 *    shim writes: connect or exec verdict, breaker change, dry run of a
 *    connect or of an exec), formatted by audit_format: the record always
 *    fits AUDIT_RECORD_MAX (the budget audit.c documents), is one line of
 *    valid JSON, and audit_parse gives back every field: exactly when it
 *    was not capped, else a prefix, with "truncated":true when the target,
 *    argv or would_execute was cut; the time to the millisecond.
 *
 * Event input: a flags byte (shape, which fields are set; bit 4: a parent,
 * the pid's upper bytes), 8 bytes each of time, pid and retry_after_ms, then the strings separated by NUL: agent,
 * exe, op, tool, target, host, verdict, reason, errno, from, to, impact,
 * impact_reason, detail, argv (items separated by 0x1f); the rest is
 * would_execute (bytes, NUL allowed). */
#include "audit_record.h"
#include "audit_read.h"
#include "fuzz.h"
#include "json_check.h"
#include "jsonw.h"

#include <inttypes.h>

/* ---- 1: a line from a damaged or foreign log ------------------------------ */

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static void check_time(const struct audit_fields *f)
{
    uint64_t ns = audit_time_ns(f);
    if (!ns)
        return;
    const char *t = f->v[AF_TS];
    FUZZ_CHECK(t && strlen(t) == 24, "a time from a ts of the wrong form: '%s'", t ? t : "(none)");
    int y = atoi(t), mo = atoi(t + 5), d = atoi(t + 8), s = atoi(t + 17);
    if (d > days_in_month(y, mo) || s == 60)
        return; /* not a real date: normalised, as mktime would */
    FUZZ_CHECK(y <= 2500, "ts '%s' past 2500 read as %" PRIu64 " ns, not refused", t, ns);
    char back[25];
    format_utc_ms(back, ns);
    FUZZ_CHECK(strcmp(back, t) == 0, "ts '%s' read as %" PRIu64 " ns, which is %s", t, ns, back);
}

static void check_line(const uint8_t *data, size_t size)
{
    static struct audit_fields f, again;
    static char rec[65536], want[16384];
    char *line = malloc(size ? size : 1); /* exact: ASan sees a read past it */
    if (size)
        memcpy(line, data, size);
    bool ok = audit_parse(line, size, &f);
    free(line);
    if (!ok)
        return;
    size_t need = 0;
    for (int k = 0; k < AF_COUNT; k++) {
        if (!f.v[k])
            continue;
        FUZZ_CHECK(f.v[k] >= f.buf && f.v[k] < f.buf + sizeof f.buf, "field %d outside buf", k);
        size_t n = strnlen(f.v[k], (size_t)(f.buf + sizeof f.buf - f.v[k]));
        FUZZ_CHECK(f.v[k] + n < f.buf + sizeof f.buf, "field %d not terminated in buf", k);
        need += 2 * n + 1;
    }
    check_time(&f);
    if (need > sizeof f.buf)
        return; /* written again, it would not fit the reader */

    /* Written again (every value as a string, argv as one item) and read. */
    static const char *const keys[AF_COUNT] = {
        [AF_TS] = "ts",           [AF_PID] = "pid",       [AF_PARENT] = "parent",
        [AF_AGENT] = "agent",     [AF_EXE] = "exe",       [AF_OP] = "op",
        [AF_TOOL] = "tool",       [AF_TARGET] = "target", [AF_HOST] = "host",
        [AF_ARGV] = "argv",       [AF_VERDICT] = "verdict", [AF_REASON] = "reason",
        [AF_ERRNO] = "errno",     [AF_RETRY_AFTER_MS] = "retry_after_ms",
        [AF_FROM] = "from",       [AF_TO] = "to",         [AF_WOULD_EXECUTE] = "would_execute",
        [AF_IMPACT] = "impact",   [AF_IMPACT_REASON] = "impact_reason",
        [AF_DETAIL] = "detail"};
    struct jsonw w;
    jw_init(&w, rec, sizeof rec);
    jw_object_begin(&w);
    for (int k = 0; k < AF_COUNT; k++) {
        if (!f.v[k])
            continue;
        if (k == AF_ARGV) {
            jw_array_begin(&w, "argv");
            if (f.v[k][0])
                jw_string(&w, NULL, f.v[k], 0);
            jw_array_end(&w);
        } else {
            jw_string(&w, keys[k], f.v[k], 0);
        }
    }
    jw_object_end(&w);
    FUZZ_CHECK(jw_ok(&w), "the record written again did not fit 64 KiB");
    FUZZ_CHECK(fz_json_valid(rec, w.len), "written again, not valid JSON: %s", rec);
    FUZZ_CHECK(audit_parse(rec, w.len, &again), "written again, refused: %s", rec);
    for (int k = 0; k < AF_COUNT; k++) {
        FUZZ_CHECK(!f.v[k] == !again.v[k], "field %s lost or gained: %s", keys[k], rec);
        if (!f.v[k])
            continue;
        fz_json_roundtrip_expect((const uint8_t *)f.v[k], strlen(f.v[k]), want);
        FUZZ_CHECK(strcmp(again.v[k], want) == 0, "field %s: '%s' came back as '%s'", keys[k],
                   want, again.v[k]);
    }
}

/* ---- 2: an event written and read back ------------------------------------ */

enum shape { CONNECT_VERDICT, EXEC_VERDICT, BREAKER, DRY_RUN_CONNECT, DRY_RUN_EXEC, SHAPES };

enum str { S_AGENT, S_EXE, S_OP, S_TOOL, S_TARGET, S_HOST, S_VERDICT, S_REASON, S_ERRNO,
           S_FROM, S_TO, S_IMPACT, S_IMPACT_REASON, S_DETAIL, S_ARGV, S_COUNT };

/* Caps audit.c documents for each value (escaped bytes). */
#define NAME_CAP 128
#define TARGET_CAP 512
#define DETAIL_CAP 256

static size_t escaped_len(const void *v, size_t n)
{
    static char buf[8 * 65536];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_bytes(&w, NULL, v, n, 0);
    return w.len - 2;
}

/* The value read back for a value written with a cap. */
static void check_value(const char *what, const char *got, const void *v, size_t n, size_t cap,
                        bool must_be_whole, const char *rec)
{
    static char want[2 * 65536 + 1];
    size_t wn = fz_json_roundtrip_expect(v, n, want);
    FUZZ_CHECK(got, "%s missing from %s", what, rec);
    size_t gn = strlen(got);
    bool whole = escaped_len(v, n) <= cap;
    FUZZ_CHECK(gn <= wn && memcmp(got, want, gn) == 0, "%s: '%s' is not a prefix of '%s' in %s",
               what, got, want, rec);
    if (whole || must_be_whole)
        FUZZ_CHECK(gn == wn, "%s cut to '%s' (of '%s') in %s", what, got, want, rec);
}

static void check_event(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    uint8_t flags = take_u8(&c);
    uint16_t present = (uint16_t)(take_u8(&c) | take_u8(&c) << 8);
    uint64_t nums[3] = {0};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++)
            nums[i] = nums[i] << 8 | take_u8(&c);
    size_t slen[S_COUNT];
    char *s[S_COUNT];
    for (int i = 0; i < S_COUNT; i++)
        s[i] = take_until(&c, 0, &slen[i]);
    /* argv: items separated by 0x1f, at most 100 */
    char *argv[101];
    size_t argc = 0;
    for (char *p = s[S_ARGV], *q; argc < 100; p = q + 1) {
        argv[argc++] = p;
        if (!(q = strchr(p, 0x1f)))
            break;
        *q = '\0';
    }
    argv[argc] = NULL;
    uint8_t *would = malloc(c.n ? c.n : 1);
    if (c.n)
        memcpy(would, c.p, c.n);

    enum shape shape = (enum shape)(flags % SHAPES);
#define OPT(i) ((present >> (i)) & 1 ? s[i] : NULL)
    struct audit_event ev = {
        .unix_ns = nums[0],
        .pid = (long)nums[1],
        /* Written only when positive: some events have none. */
        .parent = (flags >> 4) & 1 ? (long)(nums[1] >> 8) : 0,
        .agent = OPT(S_AGENT),
        .exe = OPT(S_EXE),
        .op = OPT(S_OP),
        .tool = OPT(S_TOOL),
        .target = OPT(S_TARGET),
        .verdict = OPT(S_VERDICT),
        .has_retry_after = (flags >> 3) & 1,
        .retry_after_ms = nums[2],
    };
    bool exec = shape == EXEC_VERDICT || shape == DRY_RUN_EXEC;
    if (exec)
        ev.argv = argv;
    else
        ev.host = OPT(S_HOST);
    if (shape == BREAKER) {
        ev.from = OPT(S_FROM);
        ev.to = OPT(S_TO);
    } else {
        ev.reason = OPT(S_REASON);
        ev.errno_name = OPT(S_ERRNO);
    }
    if (shape == CONNECT_VERDICT || shape == EXEC_VERDICT)
        ev.detail = OPT(S_DETAIL);
    if (shape == DRY_RUN_CONNECT) {
        ev.would_execute = c.n ? (const char *)would : "";
        ev.would_execute_len = c.n;
    } else if (shape == DRY_RUN_EXEC) {
        ev.would_execute = (const char *)would; /* a C string: up to its NUL */
        if (!memchr(would, 0, c.n))
            ev.would_execute = s[S_DETAIL];
    }
    if (shape == DRY_RUN_CONNECT || shape == DRY_RUN_EXEC) {
        ev.impact = OPT(S_IMPACT);
        ev.impact_reason = OPT(S_IMPACT_REASON);
    }

    char *rec = malloc(AUDIT_RECORD_MAX); /* exact: ASan sees a write past it */
    size_t len = audit_format(&ev, rec, AUDIT_RECORD_MAX);
    FUZZ_CHECK(len > 0, "a record of shape %d did not fit AUDIT_RECORD_MAX (%d bytes)", shape,
               AUDIT_RECORD_MAX);
    FUZZ_CHECK(len < AUDIT_RECORD_MAX && rec[len - 1] == '\n' && !memchr(rec, '\n', len - 1),
               "not one line: %.*s", (int)len, rec);
    FUZZ_CHECK(fz_json_valid(rec, len - 1), "not valid JSON: %.*s", (int)len, rec);
    static struct audit_fields f;
    FUZZ_CHECK(audit_parse(rec, len, &f), "audit_parse refused a record: %s", rec);
    bool truncated = len > 19 && memcmp(rec + len - 19, ",\"truncated\":true}\n", 19) == 0;

    FUZZ_CHECK(audit_time_ns(&f) ==
                   (ev.unix_ns >= FZ_TIME_LIMIT_NS ? 0 : ev.unix_ns - ev.unix_ns % 1000000u),
               "ts %s for %" PRIu64,
               f.v[AF_TS], ev.unix_ns);
    char num[32];
    snprintf(num, sizeof num, "%ld", ev.pid);
    FUZZ_CHECK(f.v[AF_PID] && strcmp(f.v[AF_PID], num) == 0, "pid %s for %s", f.v[AF_PID], num);
    FUZZ_CHECK(!f.v[AF_PARENT] == !(ev.parent > 0), "parent: %s", rec);
    if (ev.parent > 0) {
        snprintf(num, sizeof num, "%ld", ev.parent);
        FUZZ_CHECK(strcmp(f.v[AF_PARENT], num) == 0, "parent %s for %s", f.v[AF_PARENT], num);
    }
    FUZZ_CHECK(!f.v[AF_RETRY_AFTER_MS] == !ev.has_retry_after, "retry_after_ms: %s", rec);
    if (ev.has_retry_after) {
        snprintf(num, sizeof num, "%" PRIu64, ev.retry_after_ms);
        FUZZ_CHECK(strcmp(f.v[AF_RETRY_AFTER_MS], num) == 0, "retry_after_ms %s for %s",
                   f.v[AF_RETRY_AFTER_MS], num);
    }

    const struct {
        enum audit_field field;
        const char *v;
        size_t cap;
        bool sets_truncated;
    } strings[] = {
        {AF_AGENT, ev.agent, NAME_CAP, false},     {AF_EXE, ev.exe, NAME_CAP, false},
        {AF_OP, ev.op, NAME_CAP, false},           {AF_TOOL, ev.tool, NAME_CAP, false},
        {AF_TARGET, ev.target, TARGET_CAP, true},  {AF_HOST, ev.host, TARGET_CAP, false},
        {AF_VERDICT, ev.verdict, NAME_CAP, false}, {AF_REASON, ev.reason, NAME_CAP, false},
        {AF_ERRNO, ev.errno_name, NAME_CAP, false}, {AF_FROM, ev.from, NAME_CAP, false},
        {AF_TO, ev.to, NAME_CAP, false},           {AF_IMPACT, ev.impact, NAME_CAP, false},
        {AF_IMPACT_REASON, ev.impact_reason, NAME_CAP, false},
        {AF_DETAIL, ev.detail, DETAIL_CAP, false},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const char *v = strings[i].v;
        if (!v) {
            FUZZ_CHECK(!f.v[strings[i].field], "field %d set but not written: %s",
                       strings[i].field, rec);
            continue;
        }
        check_value("a string field", f.v[strings[i].field], v, strlen(v), strings[i].cap,
                    strings[i].sets_truncated && !truncated, rec);
        if (strings[i].sets_truncated && escaped_len(v, strlen(v)) > strings[i].cap)
            FUZZ_CHECK(truncated, "target cut without \"truncated\":true: %s", rec);
    }

    if (ev.would_execute) {
        size_t n = ev.would_execute_len ? ev.would_execute_len : strlen(ev.would_execute);
        check_value("would_execute", f.v[AF_WOULD_EXECUTE], ev.would_execute, n, TARGET_CAP,
                    !truncated, rec);
        if (escaped_len(ev.would_execute, n) > TARGET_CAP)
            FUZZ_CHECK(truncated, "would_execute cut without \"truncated\":true: %s", rec);
        FUZZ_CHECK(!f.v[AF_ARGV], "argv written beside would_execute: %s", rec);
    } else if (ev.argv) {
        /* The items joined by spaces, as the reader gives them. */
        static char joined[65536];
        size_t jn = 0;
        for (size_t i = 0; argv[i]; i++) {
            if (i)
                joined[jn++] = ' ';
            memcpy(joined + jn, argv[i], strlen(argv[i]));
            jn += strlen(argv[i]);
        }
        static char want[2 * 65536 + 1];
        fz_json_roundtrip_expect((const uint8_t *)joined, jn, want);
        FUZZ_CHECK(f.v[AF_ARGV], "argv missing: %s", rec);
        if (!truncated) /* else each item may be cut: no prefix of the whole */
            FUZZ_CHECK(strcmp(f.v[AF_ARGV], want) == 0, "argv '%s' came back as '%s' in %s",
                       want, f.v[AF_ARGV], rec);
        if (argc > 64)
            FUZZ_CHECK(truncated, "%zu arguments, not all written, no \"truncated\": %s", argc,
                       rec);
    } else {
        FUZZ_CHECK(!f.v[AF_ARGV] && !f.v[AF_WOULD_EXECUTE], "argv from nowhere: %s", rec);
    }

    free(rec);
    free(would);
    for (int i = 0; i < S_COUNT; i++)
        free(s[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_line(data, size);
    check_event(data, size);
    return 0;
}
