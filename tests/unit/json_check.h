/* A strict RFC 8259 validator for the tests: what Python's json.loads (with
 * strict=True) and a UTF-8 decoder would both accept. Checks one value that
 * spans the whole input (no trailing bytes). Not for production. */
#ifndef ENACT_TEST_JSON_CHECK_H
#define ENACT_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jc {
    const unsigned char *p, *end;
    int depth;
};

static bool jc_value(struct jc *c);

static void jc_ws(struct jc *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool jc_lit(struct jc *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool jc_hex4(struct jc *c, unsigned *out)
{
    if (c->end - c->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char h = *c->p++;
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= h - '0';
        else if (h >= 'a' && h <= 'f')
            v |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F')
            v |= h - 'A' + 10;
        else
            return false;
    }
    *out = v;
    return true;
}

/* One UTF-8 sequence, strictly (no overlongs, no surrogates, <= U+10FFFF). */
static bool jc_utf8(struct jc *c)
{
    unsigned char b = *c->p;
    size_t n;
    uint32_t cp;
    if (b < 0x80)
        return c->p++, true;
    if (b >= 0xc2 && b <= 0xdf)
        n = 2, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef)
        n = 3, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4)
        n = 4, cp = b & 0x07;
    else
        return false;
    if ((size_t)(c->end - c->p) < n)
        return false;
    for (size_t i = 1; i < n; i++) {
        if ((c->p[i] & 0xc0) != 0x80)
            return false;
        cp = (cp << 6) | (c->p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    c->p += n;
    return true;
}

static bool jc_string(struct jc *c)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    while (c->p < c->end) {
        unsigned char b = *c->p;
        if (b == '"') {
            c->p++;
            return true;
        }
        if (b < 0x20)
            return false;
        if (b == '\\') {
            c->p++;
            if (c->p >= c->end)
                return false;
            unsigned char e = *c->p++;
            if (e == 'u') {
                unsigned v;
                if (!jc_hex4(c, &v))
                    return false;
                if (v >= 0xd800 && v <= 0xdbff) { /* needs a low surrogate */
                    unsigned lo;
                    if (!jc_lit(c, "\\u") || !jc_hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return false;
                } else if (v >= 0xdc00 && v <= 0xdfff) {
                    return false;
                }
            } else if (!strchr("\"\\/bfnrt", e) || e == 0) {
                return false;
            }
            continue;
        }
        if (!jc_utf8(c))
            return false;
    }
    return false;
}

static bool jc_number(struct jc *c)
{
    const unsigned char *start = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p >= c->end)
        return false;
    if (*c->p == '0') {
        c->p++;
    } else if (*c->p >= '1' && *c->p <= '9') {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    } else {
        return false;
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return false;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return false;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    return c->p > start;
}

static bool jc_value(struct jc *c)
{
    jc_ws(c);
    if (c->p >= c->end || ++c->depth > 64)
        return false;
    bool ok;
    switch (*c->p) {
    case '{':
        c->p++;
        jc_ws(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            ok = true;
            break;
        }
        for (;;) {
            jc_ws(c);
            if (!jc_string(c))
                return false;
            jc_ws(c);
            if (c->p >= c->end || *c->p++ != ':')
                return false;
            if (!jc_value(c))
                return false;
            jc_ws(c);
            if (c->p >= c->end)
                return false;
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p++ != '}')
                return false;
            break;
        }
        ok = true;
        break;
    case '[':
        c->p++;
        jc_ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            ok = true;
            break;
        }
        for (;;) {
            if (!jc_value(c))
                return false;
            jc_ws(c);
            if (c->p >= c->end)
                return false;
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p++ != ']')
                return false;
            break;
        }
        ok = true;
        break;
    case '"':
        ok = jc_string(c);
        break;
    case 't':
        ok = jc_lit(c, "true");
        break;
    case 'f':
        ok = jc_lit(c, "false");
        break;
    case 'n':
        ok = jc_lit(c, "null");
        break;
    default:
        ok = jc_number(c);
        break;
    }
    c->depth--;
    return ok;
}

/* True when s[0..len) is exactly one JSON value, optionally surrounded by
 * whitespace. */
static inline bool json_valid(const char *s, size_t len)
{
    struct jc c = {(const unsigned char *)s, (const unsigned char *)s + len, 0};
    if (!jc_value(&c))
        return false;
    jc_ws(&c);
    return c.p == c.end;
}

#endif
