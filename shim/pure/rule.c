#include "rule.h"

#include "glob.h"
#include "num.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static const uint8_t V4_MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void map_v4(uint8_t out[16], const void *v4)
{
    memcpy(out, V4_MAPPED_PREFIX, 12);
    memcpy(out + 12, v4, 4);
}

/* Strict decimal in [lo, hi]. */
static bool parse_uint_range(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_ports(const char *s, struct connect_rule *r, char *err, size_t errlen)
{
    r->port_lo = 0;
    r->port_hi = 65535;
    if (!s || strcmp(s, "*") == 0)
        return true;
    char buf[32];
    if (strlen(s) >= sizeof buf)
        goto bad;
    strcpy(buf, s);
    char *dash = strchr(buf, '-');
    unsigned long lo, hi;
    if (dash) {
        *dash = '\0';
        if (!parse_uint_range(buf, 0, 65535, &lo) || !parse_uint_range(dash + 1, 0, 65535, &hi) ||
            lo > hi)
            goto bad;
    } else {
        if (!parse_uint_range(buf, 0, 65535, &lo))
            goto bad;
        hi = lo;
    }
    r->port_lo = (uint16_t)lo;
    r->port_hi = (uint16_t)hi;
    return true;
bad:
    snprintf(err, errlen, "bad port '%s' (expected a number 0-65535, a range like 8000-8099, or *)",
             s);
    return false;
}

/* host is an address with an optional /prefix; v6 says which family. */
static bool parse_address(const char *host, bool v6, struct connect_rule *r, char *err,
                          size_t errlen)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(host) >= sizeof buf)
        goto bad;
    strcpy(buf, host);
    unsigned long bits = v6 ? 128 : 32;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        if (!parse_uint_range(slash + 1, 0, v6 ? 128 : 32, &bits)) {
            snprintf(err, errlen, "bad prefix length in '%s' (expected /0-/%d)", host,
                     v6 ? 128 : 32);
            return false;
        }
    }
    if (v6) {
        if (inet_pton(AF_INET6, buf, r->addr) != 1)
            goto bad;
        r->prefix_bits = (unsigned)bits;
    } else {
        uint8_t v4[4];
        if (inet_pton(AF_INET, buf, v4) != 1)
            goto bad;
        map_v4(r->addr, v4);
        r->prefix_bits = 96 + (unsigned)bits;
    }
    return true;
bad:
    snprintf(err, errlen, "bad %s address '%s'", v6 ? "IPv6" : "IPv4", host);
    return false;
}

/* A DNS name, or a glob of one (*.example.com), stored in lower case. */
static bool parse_host_name(const char *host, struct connect_rule *r, char *err, size_t errlen)
{
    size_t n = strlen(host);
    bool letters = false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        letters = letters || isalpha((unsigned char)c);
        if (!isalnum((unsigned char)c) && c != '.' && c != '-' && c != '*' && c != '?') {
            snprintf(err, errlen,
                     "bad host '%s' (expected an address, a CIDR, [IPv6], a DNS name such as "
                     "api.example.com or *.example.com, localhost, * or unix:/path)",
                     host);
            return false;
        }
    }
    if (n > HOST_NAME_MAX_LEN || !letters) {
        snprintf(err, errlen, "bad host '%s'", host);
        return false;
    }
    if (!(r->host_glob = strdup(host))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    for (char *p = r->host_glob; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return true;
}

static bool looks_numeric(const char *host)
{
    for (const char *p = host; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '.' && *p != '/')
            return false;
    return true;
}

static bool parse_unix(const char *path, struct connect_rule *r, char *err, size_t errlen)
{
    if (!*path || (path[0] != '/' && path[0] != '@')) {
        snprintf(err, errlen,
                 "bad unix socket rule 'unix:%s' (expected unix:/absolute/path or unix:@abstract)",
                 path);
        return false;
    }
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "unix socket path longer than %zu bytes",
                 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return false;
    }
    r->kind = TARGET_UNIX;
    r->unix_glob = strdup(path);
    if (!r->unix_glob) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

bool connect_rule_parse(const char *text, struct connect_rule out[CONNECT_RULE_MAX_EXPANSION],
                        size_t *n, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out) * CONNECT_RULE_MAX_EXPANSION);
    *n = 0;
    if (strncmp(text, "unix:", 5) == 0) {
        if (!parse_unix(text + 5, &out[0], err, errlen))
            return false;
        *n = 1;
        return true;
    }

    char buf[256];
    if (!*text || strlen(text) >= sizeof buf) {
        snprintf(err, errlen, "empty or overlong connect rule");
        return false;
    }
    strcpy(buf, text);
    const char *host = buf, *port = NULL;
    bool v6 = false;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(err, errlen, "bad connect rule '%s' (expected [IPv6] or [IPv6]:PORT)", text);
            return false;
        }
        *close = '\0';
        host = buf + 1;
        port = close[1] ? close + 2 : NULL;
        v6 = true;
    } else {
        char *first = strchr(buf, ':'), *last = strrchr(buf, ':');
        if (first && first != last) {
            v6 = true; /* a bare IPv6 address: no port possible */
        } else if (last) {
            *last = '\0';
            port = last + 1;
        }
    }

    struct connect_rule proto = {.kind = TARGET_INET};
    if (!parse_ports(port, &proto, err, errlen))
        return false;
    if (strcmp(host, "*") == 0) {
        out[0] = proto;
        out[0].any_host = true;
        *n = 1;
        return true;
    }
    if (!v6 && strcmp(host, "localhost") == 0) {
        out[0] = out[1] = proto;
        parse_address("127.0.0.1", false, &out[0], err, errlen);
        parse_address("::1", true, &out[1], err, errlen);
        out[1].expanded = true;
        *n = 2;
        return true;
    }
    out[0] = proto;
    bool ok = v6 || looks_numeric(host) ? parse_address(host, v6, &out[0], err, errlen)
                                         : parse_host_name(host, &out[0], err, errlen);
    if (!ok)
        return false;
    *n = 1;
    return true;
}

void connect_rule_free(struct connect_rule *r)
{
    free(r->unix_glob);
    free(r->host_glob);
    r->unix_glob = NULL;
    r->host_glob = NULL;
}

bool net_target_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct net_target *t)
{
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return false;
    memset(t, 0, sizeof *t);
    switch (sa->sa_family) {
    case AF_INET: {
        if (len < (socklen_t)sizeof(struct sockaddr_in))
            return false;
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        t->kind = TARGET_INET;
        map_v4(t->addr, &in->sin_addr);
        t->port = ntohs(in->sin_port);
        return true;
    }
    case AF_INET6: {
        if (len < (socklen_t)sizeof(struct sockaddr_in6))
            return false;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        t->kind = TARGET_INET;
        memcpy(t->addr, &in6->sin6_addr, 16);
        t->port = ntohs(in6->sin6_port);
        return true;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= (socklen_t)off)
            return false; /* unnamed */
        size_t n = (size_t)len - off;
        if (n > sizeof un->sun_path)
            n = sizeof un->sun_path;
        if (n > sizeof t->path - 1)
            n = sizeof t->path - 1;
        t->kind = TARGET_UNIX;
        memcpy(t->path, un->sun_path, n);
        if (t->path[0] == '\0') {
            t->path[0] = '@';
            for (size_t i = 1; i < n; i++)
                if (t->path[i] == '\0')
                    t->path[i] = '@';
        }
        t->path[n] = '\0';
        return true;
    }
    default:
        return false;
    }
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool connect_rule_matches(const struct connect_rule *r, const struct net_target *t)
{
    if (r->kind != t->kind)
        return false;
    if (r->kind == TARGET_UNIX)
        return glob_match(r->unix_glob, t->path);
    if (t->port < r->port_lo || t->port > r->port_hi)
        return false;
    if (r->host_glob)
        return t->host && glob_match(r->host_glob, t->host);
    return r->any_host || prefix_equal(r->addr, t->addr, r->prefix_bits);
}

/* "a.b.c.d:port" without stdio: this runs at every governed connect, and
 * snprintf with inet_ntop cost more than the whole decision. */
static size_t format_v4(const struct net_target *t, char *out, size_t cap)
{
    char text[sizeof "255.255.255.255:65535"];
    size_t n = 0;
    for (int i = 12; i < 16; i++) {
        n += num_format_u64(text + n, t->addr[i]);
        text[n++] = i < 15 ? '.' : ':';
    }
    n += num_format_u64(text + n, t->port);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, text, n);
    out[n] = '\0';
    return n;
}

size_t net_target_format(const struct net_target *t, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    if (t->kind == TARGET_INET && memcmp(t->addr, V4_MAPPED_PREFIX, 12) == 0)
        return format_v4(t, out, cap);
    char addr[INET6_ADDRSTRLEN];
    int n;
    if (t->kind == TARGET_UNIX) {
        n = snprintf(out, cap, "unix:%s", t->path);
    } else {
        inet_ntop(AF_INET6, t->addr, addr, sizeof addr);
        n = snprintf(out, cap, "[%s]:%u", addr, t->port);
    }
    if (n < 0)
        n = 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- exec rules ---------------------------------------------------------- */

/* Splits on blanks; "double quotes" keep blanks inside one token. */
static char **tokenize(const char *text, size_t *count, char *err, size_t errlen)
{
    size_t cap = 4, n = 0;
    char **tokens = calloc(cap, sizeof *tokens);
    char *buf = malloc(strlen(text) + 1);
    if (!tokens || !buf)
        goto oom;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = 0;
        bool quoted = false;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"')
                quoted = !quoted;
            else
                buf[len++] = *p;
            p++;
        }
        if (quoted) {
            snprintf(err, errlen, "unterminated \" in exec rule '%s'", text);
            goto fail;
        }
        buf[len] = '\0';
        if (n + 1 >= cap) {
            char **grown = realloc(tokens, 2 * cap * sizeof *tokens);
            if (!grown)
                goto oom;
            tokens = grown;
            cap *= 2;
        }
        if (!(tokens[n++] = strdup(buf)))
            goto oom;
        tokens[n] = NULL;
    }
    free(buf);
    *count = n;
    return tokens;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    for (size_t i = 0; tokens && i < n; i++)
        free(tokens[i]);
    free(tokens);
    free(buf);
    return NULL;
}

bool exec_rule_parse(const char *text, struct exec_rule *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t n;
    char **words = tokenize(text, &n, err, errlen);
    if (!words)
        return false;
    if (n == 0) {
        free(words);
        snprintf(err, errlen, "empty exec rule (expected PROGRAM [ARG_GLOB...], e.g. 'rm' or "
                              "'kubectl delete *')");
        return false;
    }
    out->words = words;
    out->nargs = n - 1;
    out->by_path = strchr(words[0], '/') != NULL;
    return true;
}

void exec_rule_free(struct exec_rule *r)
{
    for (size_t i = 0; r->words && r->words[i]; i++)
        free(r->words[i]);
    free(r->words);
    memset(r, 0, sizeof *r);
}

bool exec_rule_matches(const struct exec_rule *r, const char *path, char *const argv[])
{
    const char *subject = path;
    if (!r->by_path) {
        const char *slash = strrchr(path, '/');
        subject = slash ? slash + 1 : path;
    }
    if (!glob_match(r->words[0], subject))
        return false;
    if (r->nargs == 0)
        return true;
    if (!argv || !argv[0])
        return false;
    for (size_t i = 1; i <= r->nargs; i++) {
        if (!argv[i] || !glob_match(r->words[i], argv[i]))
            return false;
    }
    return true;
}
