/* A strict JSON (RFC 8259) validator and a UTF-8 (RFC 3629) checker for
 * the fuzz targets, written from the RFCs rather than from jsonw.c, so that
 * a bug in the writer is not mirrored here. */
#ifndef ENACT_FUZZ_JSON_CHECK_H
#define ENACT_FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of
 * Unicode), or 0 when it is not one. */
static inline size_t fz_utf8_len(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c == 0xe0)
        n = 3, lo = 0xa0;
    else if (c == 0xed)
        n = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef)
        n = 3;
    else if (c == 0xf0)
        n = 4, lo = 0x90;
    else if (c == 0xf4)
        n = 4, hi = 0x8f;
    else if (c >= 0xf1 && c <= 0xf3)
        n = 4;
    else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

struct fz_json {
    const unsigned char *p, *end;
    int depth;
};

static inline void fz_ws(struct fz_json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static inline int fz_hex(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A string at j->p (which is '"'). Lone surrogate escapes are refused:
 * they are not characters. */
static inline bool fz_json_string(struct fz_json *j)
{
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return false;
            unsigned char e = j->p[1];
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                e == 'r' || e == 't') {
                j->p += 2;
                continue;
            }
            if (e != 'u' || j->end - j->p < 6)
                return false;
            unsigned cp = 0;
            for (int i = 2; i < 6; i++) {
                int d = fz_hex(j->p[i]);
                if (d < 0)
                    return false;
                cp = cp << 4 | (unsigned)d;
            }
            j->p += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return false;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
                    return false;
                unsigned lo = 0;
                for (int i = 2; i < 6; i++) {
                    int d = fz_hex(j->p[i]);
                    if (d < 0)
                        return false;
                    lo = lo << 4 | (unsigned)d;
                }
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
                j->p += 6;
            }
            continue;
        }
        size_t n = fz_utf8_len(j->p, (size_t)(j->end - j->p));
        if (n == 0)
            return false;
        j->p += n;
    }
    return false;
}

static inline bool fz_digits(struct fz_json *j)
{
    const unsigned char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start;
}

static inline bool fz_json_number(struct fz_json *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!fz_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!fz_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!fz_digits(j))
            return false;
    }
    return true;
}

static inline bool fz_json_literal(struct fz_json *j, const char *word)
{
    size_t n = 0;
    while (word[n])
        n++;
    if ((size_t)(j->end - j->p) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (j->p[i] != (unsigned char)word[i])
            return false;
    j->p += n;
    return true;
}

static inline bool fz_json_value(struct fz_json *j)
{
    fz_ws(j);
    if (j->p >= j->end || ++j->depth > 64)
        return false;
    bool ok;
    unsigned char c = *j->p;
    if (c == '{') {
        j->p++;
        fz_ws(j);
        ok = true;
        if (j->p < j->end && *j->p == '}') {
            j->p++;
        } else {
            for (;;) {
                fz_ws(j);
                if (j->p >= j->end || *j->p != '"' || !fz_json_string(j)) {
                    ok = false;
                    break;
                }
                fz_ws(j);
                if (j->p >= j->end || *j->p++ != ':' || !fz_json_value(j)) {
                    ok = false;
                    break;
                }
                fz_ws(j);
                if (j->p < j->end && *j->p == ',') {
                    j->p++;
                    continue;
                }
                ok = j->p < j->end && *j->p++ == '}';
                break;
            }
        }
    } else if (c == '[') {
        j->p++;
        fz_ws(j);
        ok = true;
        if (j->p < j->end && *j->p == ']') {
            j->p++;
        } else {
            for (;;) {
                if (!fz_json_value(j)) {
                    ok = false;
                    break;
                }
                fz_ws(j);
                if (j->p < j->end && *j->p == ',') {
                    j->p++;
                    continue;
                }
                ok = j->p < j->end && *j->p++ == ']';
                break;
            }
        }
    } else if (c == '"') {
        ok = fz_json_string(j);
    } else if (c == 't') {
        ok = fz_json_literal(j, "true");
    } else if (c == 'f') {
        ok = fz_json_literal(j, "false");
    } else if (c == 'n') {
        ok = fz_json_literal(j, "null");
    } else {
        ok = fz_json_number(j);
    }
    j->depth--;
    return ok;
}

/* Whether s[0..len) is exactly one JSON value, with optional blanks around. */
static inline bool fz_json_valid(const char *s, size_t len)
{
    struct fz_json j = {(const unsigned char *)s, (const unsigned char *)s + len, 0};
    if (!fz_json_value(&j))
        return false;
    fz_ws(&j);
    return j.p == j.end;
}

/* What audit_read gives back for a string jsonw wrote from these bytes:
 * well-formed UTF-8 as is, any other byte B >= 0x80 as U+00B in UTF-8 (jsonw
 * writes it as \u00XX), the rest as is; cut at the first NUL (a C string).
 * out needs 2 * len + 1 bytes; returns the length. */
static inline size_t fz_json_roundtrip_expect(const unsigned char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == 0)
            break;
        size_t n = s[i] >= 0x80 ? fz_utf8_len(s + i, len - i) : 1;
        if (n == 0) {
            out[o++] = (char)(0xc0 | s[i] >> 6);
            out[o++] = (char)(0x80 | (s[i] & 0x3f));
            i++;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            out[o++] = (char)s[i + k];
        i += n;
    }
    out[o] = '\0';
    return o;
}

#endif
