#include "audit_read.h"

#include <string.h>

/* Tables of words hold the words, not pointers to them: each pointer
 * is a relocation the loader applies at every governed start. */
static const char NAMES[AF_COUNT][15] = {
    [AF_TS] = "ts",         [AF_PID] = "pid",       [AF_PARENT] = "parent", [AF_AGENT] = "agent",
    [AF_EXE] = "exe",       [AF_OP] = "op",         [AF_TOOL] = "tool",
    [AF_TARGET] = "target", [AF_HOST] = "host",     [AF_ARGV] = "argv",
    [AF_VERDICT] = "verdict", [AF_REASON] = "reason", [AF_ERRNO] = "errno",
    [AF_RETRY_AFTER_MS] = "retry_after_ms", [AF_FROM] = "from", [AF_TO] = "to",
    [AF_WOULD_EXECUTE] = "would_execute", [AF_IMPACT] = "impact",
    [AF_IMPACT_REASON] = "impact_reason", [AF_DETAIL] = "detail",
};

struct reader {
    const char *p, *end;
    char *out, *out_end; /* where unescaped values go */
};

static void skip_space(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
        r->p++;
}

static bool take(struct reader *r, char c)
{
    skip_space(r);
    if (r->p >= r->end || *r->p != c)
        return false;
    r->p++;
    return true;
}

static bool put(struct reader *r, char c)
{
    if (r->out >= r->out_end)
        return false;
    *r->out++ = c;
    return true;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A code point as UTF-8 (a lone surrogate as U+FFFD). */
static bool put_utf8(struct reader *r, unsigned cp)
{
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd;
    if (cp < 0x80)
        return put(r, (char)cp);
    if (cp < 0x800)
        return put(r, (char)(0xc0 | cp >> 6)) && put(r, (char)(0x80 | (cp & 0x3f)));
    return put(r, (char)(0xe0 | cp >> 12)) && put(r, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
           put(r, (char)(0x80 | (cp & 0x3f)));
}

/* A JSON string, unescaped into out (not terminated). */
static bool string_body(struct reader *r)
{
    if (!take(r, '"'))
        return false;
    while (r->p < r->end) {
        char c = *r->p++;
        if (c == '"')
            return true;
        if ((unsigned char)c < 0x20)
            return false;
        if (c != '\\') {
            if (!put(r, c))
                return false;
            continue;
        }
        if (r->p >= r->end)
            return false;
        char e = *r->p++;
        const char *plain = strchr("\"\\/bfnrt", e);
        if (plain && e) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            if (!put(r, to[plain - "\"\\/bfnrt"]))
                return false;
            continue;
        }
        if (e != 'u' || r->end - r->p < 4)
            return false;
        unsigned cp = 0;
        for (int i = 0; i < 4; i++) {
            int d = hex_digit(*r->p++);
            if (d < 0)
                return false;
            cp = cp << 4 | (unsigned)d;
        }
        if (!put_utf8(r, cp))
            return false;
    }
    return false;
}

/* A number, true, false or null: copied as written. */
static bool scalar(struct reader *r)
{
    skip_space(r);
    const char *start = r->p;
    while (r->p < r->end && strchr("0123456789+-.eEtruefalsn", *r->p) && *r->p)
        r->p++;
    if (r->p == start)
        return false;
    for (const char *q = start; q < r->p; q++)
        if (!put(r, *q))
            return false;
    return true;
}

static bool array_of_strings(struct reader *r)
{
    if (!take(r, '['))
        return false;
    if (take(r, ']'))
        return true;
    for (bool first = true;; first = false) {
        if (!first && !put(r, ' '))
            return false;
        if (!string_body(r))
            return false;
        if (take(r, ']'))
            return true;
        if (!take(r, ','))
            return false;
    }
}

static int field_of(const char *key, size_t n)
{
    for (int i = 0; i < AF_COUNT; i++)
        if (strlen(NAMES[i]) == n && memcmp(NAMES[i], key, n) == 0)
            return i;
    return -1;
}

bool audit_parse(const char *line, size_t len, struct audit_fields *f)
{
    memset(f->v, 0, sizeof f->v);
    struct reader r = {line, line + len, f->buf, f->buf + sizeof f->buf};
    if (!take(&r, '{'))
        return false;
    if (take(&r, '}'))
        goto done;
    for (;;) {
        char *key = r.out;
        if (!string_body(&r))
            return false;
        int k = field_of(key, (size_t)(r.out - key));
        r.out = key; /* keys are not kept */
        if (!take(&r, ':'))
            return false;
        skip_space(&r);
        char *value = r.out;
        bool ok = r.p < r.end && (*r.p == '"'   ? string_body(&r)
                                  : *r.p == '[' ? array_of_strings(&r)
                                                : scalar(&r));
        if (!ok || !put(&r, '\0'))
            return false;
        if (k >= 0)
            f->v[k] = value;
        else
            r.out = value;
        if (take(&r, '}'))
            break;
        if (!take(&r, ','))
            return false;
    }
done:
    skip_space(&r);
    return r.p == r.end;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t audit_time_ns(const struct audit_fields *f)
{
    const char *t = f->v[AF_TS];
    int y, mo, d, h, mi, s, ms;
    if (!t || strlen(t) != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
        t[16] != ':' || t[19] != '.' || t[23] != 'Z' || !digits(t, 4, &y) ||
        !digits(t + 5, 2, &mo) || !digits(t + 8, 2, &d) || !digits(t + 11, 2, &h) ||
        !digits(t + 14, 2, &mi) || !digits(t + 17, 2, &s) || !digits(t + 20, 3, &ms) ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970 ||
        y > 2500) /* 2554 would not fit in 64 bits of nanoseconds */
        return 0;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return (uint64_t)secs * 1000000000u + (uint64_t)ms * 1000000u;
}
