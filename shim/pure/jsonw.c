#include "jsonw.h"

#include "num.h"

#include <string.h>

void jw_init(struct jsonw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = cap == 0;
    w->need_comma = false;
}

bool jw_ok(const struct jsonw *w)
{
    return !w->overflow;
}

void jw_raw(struct jsonw *w, const char *s, size_t n)
{
    if (w->overflow)
        return;
    if (n >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void put_key(struct jsonw *w, const char *key)
{
    if (w->need_comma)
        jw_raw(w, ",", 1);
    w->need_comma = true;
    if (key) {
        jw_raw(w, "\"", 1);
        jw_raw(w, key, strlen(key));
        jw_raw(w, "\":", 2);
    }
}

void jw_object_begin(struct jsonw *w)
{
    jw_raw(w, "{", 1);
    w->need_comma = false;
}

void jw_object_end(struct jsonw *w)
{
    jw_raw(w, "}", 1);
    w->need_comma = true;
}

void jw_array_begin(struct jsonw *w, const char *key)
{
    put_key(w, key);
    jw_raw(w, "[", 1);
    w->need_comma = false;
}

void jw_array_end(struct jsonw *w)
{
    jw_raw(w, "]", 1);
    w->need_comma = true;
}

/* Length of the valid UTF-8 sequence at s (1..4, within avail bytes), or 0
 * when invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Escaped form of the byte or sequence at s (avail bytes left) into out (at
 * most 6 bytes); *consumed gets the input length. */
static size_t escape_one(const unsigned char *s, size_t avail, char out[6], size_t *consumed)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    *consumed = 1;
    switch (c) {
    case '"': memcpy(out, "\\\"", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    if (c >= 0x80) {
        size_t n = utf8_seq_len(s, avail);
        if (n > 0) {
            memcpy(out, s, n);
            *consumed = n;
            return n;
        }
    }
    memcpy(out, "\\u00", 4);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 0xf];
    return 6;
}

bool jw_string(struct jsonw *w, const char *key, const char *value, size_t max_out)
{
    return jw_bytes(w, key, value ? value : "", value ? strlen(value) : 0, max_out);
}

bool jw_bytes(struct jsonw *w, const char *key, const void *data, size_t len, size_t max_out)
{
    put_key(w, key);
    jw_raw(w, "\"", 1);
    const unsigned char *s = data, *end = s + len;
    size_t written = 0;
    bool complete = true;
    while (s < end) {
        char esc[6];
        size_t consumed;
        size_t n = escape_one(s, (size_t)(end - s), esc, &consumed);
        if (max_out && written + n > max_out) {
            complete = false;
            break;
        }
        jw_raw(w, esc, n);
        written += n;
        s += consumed;
    }
    jw_raw(w, "\"", 1);
    return complete;
}

void jw_uint(struct jsonw *w, const char *key, uint64_t value)
{
    char num[20];
    put_key(w, key);
    jw_raw(w, num, num_format_u64(num, value));
}

void jw_int(struct jsonw *w, const char *key, int64_t value)
{
    char num[21];
    size_t n = 0;
    uint64_t mag = (uint64_t)value;
    if (value < 0) {
        num[n++] = '-';
        mag = 0 - mag;
    }
    n += num_format_u64(num + n, mag);
    put_key(w, key);
    jw_raw(w, num, n);
}

void jw_bool(struct jsonw *w, const char *key, bool value)
{
    put_key(w, key);
    if (value)
        jw_raw(w, "true", 4);
    else
        jw_raw(w, "false", 5);
}

static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * civil_from_days); gmtime_r takes the timezone lock, which a vfork child
 * must not. */
size_t format_utc_ms(char *out, uint64_t unix_ns)
{
    uint64_t secs = unix_ns / 1000000000u;
    unsigned ms = (unsigned)(unix_ns / 1000000u % 1000u);
    int64_t days = (int64_t)(secs / 86400u);
    unsigned sod = (unsigned)(secs % 86400u);

    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    if (month <= 2)
        year++;

    put_digits(out, (unsigned)year, 4);
    out[4] = '-';
    put_digits(out + 5, month, 2);
    out[7] = '-';
    put_digits(out + 8, day, 2);
    out[10] = 'T';
    put_digits(out + 11, sod / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, sod / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, sod % 60, 2);
    out[19] = '.';
    put_digits(out + 20, ms, 3);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}

void jw_timestamp(struct jsonw *w, const char *key, uint64_t unix_ns)
{
    char ts[25];
    size_t n = format_utc_ms(ts, unix_ns);
    put_key(w, key);
    jw_raw(w, "\"", 1);
    jw_raw(w, ts, n);
    jw_raw(w, "\"", 1);
}
