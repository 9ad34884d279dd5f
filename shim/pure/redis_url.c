#include "redis_url.h"

#include <stdio.h>
#include <string.h>

static bool fail(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return false;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into out (NUL-terminated); false when it does
 * not fit or a %XX is malformed or decodes to NUL. */
static bool decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (k + 1 >= cap)
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    return true;
}

/* A whole decimal number in [lo, hi] from [s, s+n). */
static bool number(const char *s, size_t n, unsigned long lo, unsigned long hi,
                   unsigned long *out)
{
    if (n == 0 || n > 10)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* [[USER]:PASSWORD@] at the start of the authority [a, end): advances *a. */
static bool credentials(const char **a, const char *end, struct redis_url *u, char *why,
                        size_t cap)
{
    const char *at = NULL;
    for (const char *p = *a; p < end; p++)
        if (*p == '@')
            at = p; /* the last one: a password may hold an unencoded '@' */
    if (!at)
        return true;
    const char *colon = memchr(*a, ':', (size_t)(at - *a));
    const char *user_end = colon ? colon : at;
    if (!decode(*a, (size_t)(user_end - *a), u->user, sizeof u->user))
        return fail(why, cap, "the user name is malformed or longer than 255 characters");
    if (colon && !decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof u->password))
        return fail(why, cap, "the password is malformed or longer than 255 characters");
    *a = at + 1;
    return true;
}

static bool tcp_authority(const char *a, const char *end, struct redis_url *u, char *why,
                          size_t cap)
{
    if (!credentials(&a, end, u, why, cap))
        return false;
    const char *host = a, *host_end, *port = NULL;
    if (*a == '[') {
        const char *close = memchr(a, ']', (size_t)(end - a));
        if (!close)
            return fail(why, cap, "an IPv6 address opened with '[' is not closed with ']'");
        host = a + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return fail(why, cap, "after ']' only ':PORT' may follow");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', (size_t)(end - a));
        host_end = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
    }
    size_t n = (size_t)(host_end - host);
    if (n == 0)
        return fail(why, cap, "the host is missing (redis://HOST:PORT)");
    if (n >= sizeof u->host)
        return fail(why, cap, "the host is longer than 255 characters");
    memcpy(u->host, host, n);
    u->host[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (u->host[i] == '/' || u->host[i] == '@' || u->host[i] == ' ' || u->host[i] == '%')
            return fail(why, cap, "the host holds a character no host name has");
    unsigned long p = 6379;
    if (port && !number(port, (size_t)(end - port), 1, 65535, &p))
        return fail(why, cap, "the port must be a number from 1 to 65535");
    u->port = (uint16_t)p;
    return true;
}

bool redis_url_parse(const char *text, struct redis_url *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    static const struct {
        char scheme[14]; /* "redis+unix://" and its NUL, not a pointer: a relocation */
        enum redis_transport transport;
    } schemes[] = {{"redis://", REDIS_TCP}, {"rediss://", REDIS_TLS},
                   {"redis+unix://", REDIS_UNIX}, {"unix://", REDIS_UNIX}};
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && !rest; i++) {
        size_t n = strlen(schemes[i].scheme);
        if (strncmp(text, schemes[i].scheme, n) == 0) {
            rest = text + n;
            out->transport = schemes[i].transport;
        }
    }
    if (!rest)
        return fail(why, cap,
                    "the backend must be 'local' or a URL: redis://HOST:PORT, rediss://HOST:PORT "
                    "or redis+unix:///PATH");
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    unsigned long db = 0;
    if (out->transport == REDIS_UNIX) {
        const char *slash = memchr(rest, '/', (size_t)(end - rest));
        if (!slash)
            return fail(why, cap, "a unix socket URL needs an absolute path: redis+unix:///PATH");
        if (slash > rest) {
            const char *a = rest;
            if (!credentials(&a, slash, out, why, cap))
                return false;
            if (a != slash)
                return fail(why, cap, "a unix socket URL has no host: redis+unix:///PATH");
        }
        size_t n = (size_t)(end - slash);
        if (n >= sizeof out->path)
            return fail(why, cap, "the socket path is longer than 107 characters");
        memcpy(out->path, slash, n);
        out->path[n] = '\0';
    } else {
        const char *slash = memchr(rest, '/', (size_t)(end - rest));
        const char *auth_end = slash ? slash : end;
        const char *at = NULL;
        for (const char *p = rest; p < end; p++)
            if (*p == '@')
                at = p;
        if (at && slash && slash < at) { /* a '/' in the password */
            slash = memchr(at, '/', (size_t)(end - at));
            auth_end = slash ? slash : end;
        }
        if (!tcp_authority(rest, auth_end, out, why, cap))
            return false;
        if (slash && slash + 1 < end &&
            !number(slash + 1, (size_t)(end - slash - 1), 0, 1u << 30, &db))
            return fail(why, cap, "the database after '/' must be a number (redis://HOST/0)");
    }
    if (query) {
        if (strncmp(query, "?db=", 4) != 0 ||
            !number(query + 4, strlen(query + 4), 0, 1u << 30, &db))
            return fail(why, cap, "the only query the URL may have is ?db=NUMBER");
    }
    out->db = (uint32_t)db;
    return true;
}

void redis_url_where(const struct redis_url *u, char *out, size_t cap)
{
    if (u->transport == REDIS_UNIX)
        snprintf(out, cap, "unix:%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(out, cap, "[%s]:%u", u->host, u->port);
    else
        snprintf(out, cap, "%s:%u", u->host, u->port);
}
