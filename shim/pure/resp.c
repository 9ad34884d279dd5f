#include "resp.h"

#include <stdio.h>
#include <string.h>

size_t resp_command(char *out, size_t cap, int argc, const char *const argv[],
                    const size_t lens[])
{
    size_t n = 0;
    int w = snprintf(out, cap, "*%d\r\n", argc);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    n = (size_t)w;
    for (int i = 0; i < argc; i++) {
        w = snprintf(out + n, cap - n, "$%zu\r\n", lens[i]);
        if (w < 0 || (size_t)w >= cap - n || lens[i] + 2 > cap - n - (size_t)w)
            return 0;
        n += (size_t)w;
        memcpy(out + n, argv[i], lens[i]);
        n += lens[i];
        out[n++] = '\r';
        out[n++] = '\n';
    }
    return n;
}

/* The line at p (up to "\r\n"): its length, or -1 when not complete. */
static long line_length(const char *p, const char *end)
{
    for (const char *q = p; q + 1 < end; q++)
        if (q[0] == '\r' && q[1] == '\n')
            return q - p;
    return -1;
}

/* A signed decimal of the whole line [p, p+n). */
static bool integer(const char *p, long n, int64_t *out)
{
    bool neg = n > 0 && *p == '-';
    long i = neg ? 1 : 0;
    if (i >= n || n - i > 19)
        return false;
    uint64_t v = 0; /* 19 digits never overflow 64 unsigned bits */
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

/* One value at *p, not an array. Returns 1 when parsed (*p moved past it),
 * 0 when incomplete, -1 when malformed. */
static int value(const char **p, const char *end, struct resp_item *it)
{
    if (*p >= end)
        return 0;
    char kind = **p;
    const char *body = *p + 1;
    long n = line_length(body, end);
    if (n < 0)
        return end - body > 64 && kind != '+' && kind != '-' ? -1 : 0;
    const char *next = body + n + 2;
    switch (kind) {
    case '+':
    case '-':
        *it = (struct resp_item){.type = kind == '+' ? RESP_STATUS : RESP_ERROR, .text = body,
                                 .len = (size_t)n};
        break;
    case ':':
        it->type = RESP_INTEGER;
        if (!integer(body, n, &it->integer))
            return -1;
        break;
    case '$': {
        int64_t len;
        if (!integer(body, n, &len) || len < -1)
            return -1;
        if (len == -1) {
            *it = (struct resp_item){.type = RESP_NIL};
            break;
        }
        if ((uint64_t)(end - next) < (uint64_t)len + 2)
            return 0;
        if (next[len] != '\r' || next[len + 1] != '\n')
            return -1;
        *it = (struct resp_item){.type = RESP_BULK, .text = next, .len = (size_t)len};
        next += len + 2;
        break;
    }
    default:
        return -1;
    }
    *p = next;
    return 1;
}

long resp_parse(const char *buf, size_t len, struct resp_reply *out)
{
    const char *p = buf, *end = buf + len;
    out->n = 0;
    if (len == 0)
        return 0;
    if (*p != '*') {
        int r = value(&p, end, &out->value);
        return r > 0 ? p - buf : r;
    }
    long n = line_length(p + 1, end);
    if (n < 0)
        return len > 32 ? -1 : 0;
    int64_t count;
    if (!integer(p + 1, n, &count) || count < -1 || count > RESP_ITEMS_MAX)
        return -1;
    p += n + 3;
    if (count == -1) {
        out->value = (struct resp_item){.type = RESP_NIL};
        return p - buf;
    }
    out->value = (struct resp_item){.type = RESP_ARRAY};
    for (int64_t i = 0; i < count; i++) {
        if (p < end && *p == '*')
            return -1; /* nested: nothing Enact asks for answers so */
        int r = value(&p, end, &out->items[i]);
        if (r <= 0)
            return r;
    }
    out->n = (size_t)count;
    return p - buf;
}

bool resp_error_is(const struct resp_item *err, const char *code)
{
    size_t n = strlen(code);
    return err->type == RESP_ERROR && err->len >= n && memcmp(err->text, code, n) == 0 &&
           (err->len == n || err->text[n] == ' ');
}

bool resp_redirect(const struct resp_item *err, bool *ask, char *host, size_t cap,
                   uint16_t *port)
{
    *ask = resp_error_is(err, "ASK");
    if (!*ask && !resp_error_is(err, "MOVED"))
        return false;
    const char *p = memchr(err->text, ' ', err->len);
    const char *end = err->text + err->len;
    p = p ? memchr(p + 1, ' ', (size_t)(end - p - 1)) : NULL;
    if (!p)
        return false;
    const char *node = p + 1;
    const char *colon = NULL;
    for (const char *q = node; q < end; q++)
        if (*q == ':')
            colon = q; /* the last: an IPv6 node has colons of its own */
    if (!colon || colon == node || (size_t)(colon - node) >= cap)
        return false;
    int64_t v;
    if (!integer(colon + 1, end - colon - 1, &v) || v < 1 || v > 65535)
        return false;
    memcpy(host, node, (size_t)(colon - node));
    host[colon - node] = '\0';
    *port = (uint16_t)v;
    return true;
}
