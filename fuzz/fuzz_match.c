/* fuzz_match: rule parsing and matching (shim/pure/rule.h, glob.h,
 * connect_index.h): connect rules (addresses, CIDRs, ports, DNS names,
 * unix sockets), exec rules, globs, and the index config_match_connect uses.
 *
 * Input: lines. Line 1 is tried as a connect rule, an exec rule and a glob
 * pattern; line 2 as a glob's text, an exec command line and raw sockaddr
 * bytes; every line is also a connect rule of a tool (two lines per tool)
 * for the index.
 *
 * Properties beyond "no crash":
 *  - glob: glob_match agrees with a dynamic-programming reference (no
 *    back-tracking shortcuts), and with fnmatch(3) on patterns without
 *    brackets; a literal pattern matches exactly itself; any text matches
 *    its own fully escaped form, and no longer text does;
 *  - connect rules: a rule matches its own address at both ends of its port
 *    range and not just outside it; bits past a CIDR's prefix are free, the
 *    last bit of the prefix is not; a literal DNS-name or unix-path rule
 *    matches that name or path; a refused rule says why;
 *  - net_target_format prints what snprintf and inet_ntop print (its fast
 *    IPv4 path included), cut like snprintf at any buffer size, and what it
 *    prints, read back as a rule, matches the target;
 *  - exec rules: the words are the blank-separated tokens when there are no
 *    quotes, and a rule of literal words matches the command made of them;
 *  - the connect index answers what a plain scan of every rule in file
 *    order answers, for targets at, near and far from every rule. */
#include "config.h"
#include "config_match.h"
#include "connect_index.h"
#include "fuzz.h"
#include "glob.h"
#include "rule.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <sys/un.h>

/* ---- glob ------------------------------------------------------------------ */

enum tok_kind { T_LIT, T_ANY, T_STAR, T_CLASS };
struct tok {
    enum tok_kind kind;
    unsigned char c;
    uint8_t set[32]; /* T_CLASS: bit per byte that matches */
};

/* The pattern as tokens, each matching one byte (T_STAR: any run), as
 * glob.h describes it: '*', '?', '[...]' (ranges, '!' or '^' negates, ']'
 * first is literal, '\' escapes), '\' escapes, and a '[' that opens no
 * class is a literal '['. */
static size_t tokenize_glob(const char *p, struct tok *out)
{
    size_t n = 0;
    while (*p) {
        struct tok *t = &out[n++];
        memset(t, 0, sizeof *t);
        if (*p == '*') {
            t->kind = T_STAR;
            p++;
        } else if (*p == '?') {
            t->kind = T_ANY;
            p++;
        } else if (*p == '\\' && p[1]) {
            t->kind = T_LIT;
            t->c = (unsigned char)p[1];
            p += 2;
        } else if (*p == '[') {
            const char *q = p + 1;
            bool negate = *q == '!' || *q == '^';
            q += negate;
            uint8_t set[32] = {0};
            for (bool first = true; *q && (first || *q != ']'); first = false, q++) {
                unsigned char lo = (unsigned char)*q, hi;
                if (lo == '\\' && q[1])
                    lo = (unsigned char)*++q;
                hi = lo;
                if (q[1] == '-' && q[2] && q[2] != ']') {
                    hi = (unsigned char)q[2];
                    q += 2;
                }
                for (unsigned c = lo; c <= hi; c++)
                    set[c / 8] |= (uint8_t)(1u << (c % 8));
            }
            if (*q != ']') {
                t->kind = T_LIT;
                t->c = '[';
                p++;
            } else {
                t->kind = T_CLASS;
                for (int i = 0; i < 32; i++)
                    t->set[i] = negate ? (uint8_t)~set[i] : set[i];
                p = q + 1;
            }
        } else {
            t->kind = T_LIT;
            t->c = (unsigned char)*p++;
        }
    }
    return n;
}

static bool tok_matches(const struct tok *t, unsigned char c)
{
    switch (t->kind) {
    case T_LIT: return t->c == c;
    case T_ANY: return true;
    case T_CLASS: return (t->set[c / 8] >> (c % 8)) & 1;
    default: return false;
    }
}

/* Whether the tokens match the whole text: dp[j] = tokens i.. match text j.. */
static bool ref_glob(const char *pattern, const char *text)
{
    size_t plen = strlen(pattern), tlen = strlen(text);
    struct tok *toks = malloc((plen + 1) * sizeof *toks);
    bool *dp = malloc(tlen + 1), *nx = malloc(tlen + 1);
    size_t n = tokenize_glob(pattern, toks);
    for (size_t j = 0; j <= tlen; j++)
        nx[j] = j == tlen;
    for (size_t i = n; i-- > 0;) {
        dp[tlen] = toks[i].kind == T_STAR && nx[tlen];
        for (size_t j = tlen; j-- > 0;)
            dp[j] = toks[i].kind == T_STAR ? nx[j] || dp[j + 1]
                                           : tok_matches(&toks[i], (unsigned char)text[j]) &&
                                                 nx[j + 1];
        bool *tmp = dp;
        dp = nx;
        nx = tmp;
    }
    bool r = nx[0];
    free(toks);
    free(dp);
    free(nx);
    return r;
}

/* Whether p ends in an odd run of backslashes: its last '\\' escapes
 * nothing. glob.h reads it as a literal '\\'; fnmatch(3) matches nothing. */
static bool ends_in_lone_escape(const char *p)
{
    size_t run = 0;
    for (size_t i = strlen(p); i > 0 && p[i - 1] == '\\'; i--)
        run++;
    return run % 2 == 1;
}

static void check_glob(const char *p, const char *t)
{
    bool got = glob_match(p, t);
    FUZZ_CHECK(got == ref_glob(p, t), "glob_match(\"%s\", \"%s\") = %d, the reference says %d",
               p, t, got, !got);
    if (!strchr(p, '[') && !ends_in_lone_escape(p))
        FUZZ_CHECK(got == (fnmatch(p, t, 0) == 0), "glob_match(\"%s\", \"%s\") = %d, fnmatch %d", p,
                   t, got, fnmatch(p, t, 0) == 0);
    if (glob_is_literal(p))
        FUZZ_CHECK(got == (strcmp(p, t) == 0), "literal \"%s\" vs \"%s\": %d", p, t, got);
    /* every byte of t escaped: matches t, and nothing longer */
    size_t tl = strlen(t);
    char *esc = malloc(2 * tl + 1), *longer = malloc(tl + 2);
    for (size_t i = 0; i < tl; i++) {
        esc[2 * i] = '\\';
        esc[2 * i + 1] = t[i];
    }
    esc[2 * tl] = '\0';
    memcpy(longer, t, tl);
    memcpy(longer + tl, "x", 2);
    FUZZ_CHECK(glob_match(esc, t), "\"%s\" does not match its escaped self \"%s\"", t, esc);
    FUZZ_CHECK(!glob_match(esc, longer), "\"%s\" matches \"%s\"", esc, longer);
    FUZZ_CHECK(glob_match("*", t) && glob_is_literal(t) == !strpbrk(t, "*?[\\"), "\"%s\"", t);
    free(esc);
    free(longer);
}

/* ---- connect rules ----------------------------------------------------------- */

static void flip_bit(uint8_t addr[16], unsigned bit)
{
    addr[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
}

static void check_rule_against_itself(const struct connect_rule *r, const char *text)
{
    struct net_target t = {.kind = r->kind};
    if (r->kind == TARGET_UNIX) {
        FUZZ_CHECK(r->unix_glob && strlen(r->unix_glob) < sizeof t.path, "unix rule '%s'", text);
        if (glob_is_literal(r->unix_glob)) {
            strcpy(t.path, r->unix_glob);
            FUZZ_CHECK(connect_rule_matches(r, &t), "'%s' misses its own path", text);
        }
        return;
    }
    FUZZ_CHECK(r->port_lo <= r->port_hi, "'%s': ports %u-%u", text, r->port_lo, r->port_hi);
    memcpy(t.addr, r->addr, 16);
    if (r->host_glob) {
        if (!glob_is_literal(r->host_glob))
            return;
        t.host = r->host_glob;
    }
    t.port = r->port_lo;
    FUZZ_CHECK(connect_rule_matches(r, &t), "'%s' misses its own address, port %u", text, t.port);
    t.port = r->port_hi;
    FUZZ_CHECK(connect_rule_matches(r, &t), "'%s' misses its own address, port %u", text, t.port);
    if (r->port_lo > 0) {
        t.port = (uint16_t)(r->port_lo - 1);
        FUZZ_CHECK(!connect_rule_matches(r, &t), "'%s' matches port %u", text, t.port);
    }
    if (r->port_hi < 65535) {
        t.port = (uint16_t)(r->port_hi + 1);
        FUZZ_CHECK(!connect_rule_matches(r, &t), "'%s' matches port %u", text, t.port);
    }
    t.port = r->port_lo;
    if (r->host_glob) {
        t.host = NULL;
        FUZZ_CHECK(!connect_rule_matches(r, &t), "'%s' matches a target without a name", text);
        return;
    }
    if (r->any_host)
        return;
    FUZZ_CHECK(r->prefix_bits <= 128, "'%s': /%u", text, r->prefix_bits);
    if (r->prefix_bits < 128) {
        flip_bit(t.addr, r->prefix_bits);
        flip_bit(t.addr, 127);
        FUZZ_CHECK(connect_rule_matches(r, &t), "'%s' cares about bits past /%u", text,
                   r->prefix_bits);
        memcpy(t.addr, r->addr, 16);
    }
    if (r->prefix_bits > 0) {
        flip_bit(t.addr, r->prefix_bits - 1);
        FUZZ_CHECK(!connect_rule_matches(r, &t), "'%s' ignores bit %u of /%u", text,
                   r->prefix_bits - 1, r->prefix_bits);
    }
}

static void check_connect_rule(const char *text)
{
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n = 99;
    char err[256] = "";
    if (!connect_rule_parse(text, r, &n, err, sizeof err)) {
        FUZZ_CHECK(err[0] && memchr(err, 0, sizeof err), "'%s' refused without a message", text);
        return;
    }
    FUZZ_CHECK(n >= 1 && n <= CONNECT_RULE_MAX_EXPANSION, "'%s' gave %zu rules", text, n);
    for (size_t i = 0; i < n; i++) {
        check_rule_against_itself(&r[i], text);
        connect_rule_free(&r[i]);
    }
}

/* net_target_format against snprintf + inet_ntop, at buffer size cap. */
static void check_format(const struct net_target *t, size_t cap)
{
    char want[256], addr[INET6_ADDRSTRLEN];
    int wn;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (t->kind == TARGET_UNIX) {
        wn = snprintf(want, sizeof want, "unix:%s", t->path);
    } else if (memcmp(t->addr, mapped, 12) == 0) {
        inet_ntop(AF_INET, t->addr + 12, addr, sizeof addr);
        wn = snprintf(want, sizeof want, "%s:%u", addr, t->port);
    } else {
        inet_ntop(AF_INET6, t->addr, addr, sizeof addr);
        wn = snprintf(want, sizeof want, "[%s]:%u", addr, t->port);
    }
    char *out = malloc(cap ? cap : 1); /* exact: ASan sees a write past it */
    size_t got = net_target_format(t, out, cap);
    if (cap == 0) {
        FUZZ_CHECK(got == 0, "net_target_format with cap 0 returned %zu", got);
    } else {
        size_t expect = (size_t)wn < cap ? (size_t)wn : cap - 1;
        FUZZ_CHECK(got == expect && memcmp(out, want, got) == 0 && out[got] == '\0',
                   "net_target_format gave '%.*s' (%zu) at cap %zu, snprintf '%s'",
                   (int)(got < cap ? got : cap), out, got, cap, want);
    }
    free(out);

    /* What it prints, read as a rule, matches the target. */
    if (t->kind == TARGET_UNIX && !glob_is_literal(t->path))
        return;
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
    char err[256];
    if (!connect_rule_parse(want, r, &n, err, sizeof err)) {
        FUZZ_CHECK(t->kind == TARGET_UNIX, "'%s', printed, is no rule: %s", want, err);
        return; /* a unix path a rule cannot name (relative, too long, ...) */
    }
    bool hit = false;
    for (size_t i = 0; i < n; i++) {
        hit = hit || connect_rule_matches(&r[i], t);
        connect_rule_free(&r[i]);
    }
    FUZZ_CHECK(hit, "the rule '%s' misses the target it was printed from", want);
}

/* A sockaddr of the family and length the bytes pick. */
static void check_sockaddr(const uint8_t *b, size_t n)
{
    if (n < 2)
        return;
    static const sa_family_t families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK};
    sa_family_t fam = families[b[0] % 4];
    size_t len = b[1] % (sizeof(struct sockaddr_un) + 8);
    uint8_t *sa = calloc(1, len ? len : 1);
    size_t k = n - 2 < len ? n - 2 : len;
    memcpy(sa, b + 2, k);
    if (len >= sizeof fam)
        memcpy(sa, &fam, sizeof fam);
    struct net_target t;
    if (!net_target_from_sockaddr((struct sockaddr *)sa, (socklen_t)len, &t)) {
        free(sa);
        return;
    }
    if (t.kind == TARGET_UNIX)
        FUZZ_CHECK(memchr(t.path, 0, sizeof t.path), "a unix path without its NUL");
    check_format(&t, b[1] % 64);
    check_format(&t, 256);
    free(sa);
}

/* ---- exec rules ---------------------------------------------------------------- */

static void check_exec_rule(const char *text, const char *command)
{
    struct exec_rule r;
    char err[256] = "";
    if (!exec_rule_parse(text, &r, err, sizeof err)) {
        FUZZ_CHECK(err[0], "exec rule '%s' refused without a message", text);
        return;
    }
    size_t n = 0;
    while (r.words[n])
        n++;
    FUZZ_CHECK(n == r.nargs + 1, "'%s': %zu words, nargs %zu", text, n, r.nargs);
    if (!strchr(text, '"')) {
        char *copy = strdup(text), *save = NULL;
        size_t i = 0;
        for (char *w = strtok_r(copy, " \t\n\v\f\r", &save); w;
             w = strtok_r(NULL, " \t\n\v\f\r", &save), i++)
            FUZZ_CHECK(i < n && strcmp(w, r.words[i]) == 0, "'%s': word %zu is '%s', not '%s'",
                       text, i, i < n ? r.words[i] : "(none)", w);
        FUZZ_CHECK(i == n, "'%s': %zu words, %zu tokens", text, n, i);
        free(copy);
    }
    /* A rule of literal words matches the command made of them. */
    bool literal = true;
    for (size_t i = 0; i < n; i++)
        literal = literal && glob_is_literal(r.words[i]);
    if (literal) {
        char *path = malloc(strlen(r.words[0]) + 10);
        sprintf(path, r.by_path ? "%s" : "/usr/bin/%s", r.words[0]);
        FUZZ_CHECK(exec_rule_matches(&r, path, r.words), "'%s' misses its own command", text);
        free(path);
    }
    /* The command line, split at blanks, for coverage. */
    char *copy = strdup(command), *argv[64], *save = NULL;
    size_t argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 63; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    exec_rule_matches(&r, argc ? argv[0] : "", argc ? argv : NULL);
    free(copy);
    exec_rule_free(&r);
}

/* ---- the connect index --------------------------------------------------------- */

static long scan(const struct tool *tools, size_t ntools, const struct net_target *t)
{
    for (size_t i = 0; i < ntools; i++)
        for (size_t j = 0; j < tools[i].nconnect; j++)
            if (connect_rule_matches(&tools[i].connect[j], t))
                return (long)i;
    return -1;
}

static void check_one(const struct connect_index *ix, const struct tool *tools, size_t ntools,
                      const struct net_target *t)
{
    long got = connect_index_match(ix, t), want = scan(tools, ntools, t);
    char text[160];
    net_target_format(t, text, sizeof text);
    FUZZ_CHECK(got == want, "the index maps %s (host %s) to tool %ld, a scan to tool %ld", text,
               t->host ? t->host : "-", got, want);
}

static void check_index(char **lines, size_t nlines, const uint8_t *raw, size_t rawlen)
{
    size_t ntools = (nlines + 1) / 2;
    struct tool *tools = calloc(ntools ? ntools : 1, sizeof *tools);
    for (size_t i = 0; i < nlines; i++) {
        struct tool *tl = &tools[i / 2];
        struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
        size_t n;
        char err[256];
        if (!connect_rule_parse(lines[i], r, &n, err, sizeof err))
            continue;
        tl->connect = realloc(tl->connect, (tl->nconnect + n) * sizeof *tl->connect);
        memcpy(tl->connect + tl->nconnect, r, n * sizeof *r);
        tl->nconnect += n;
    }
    struct connect_index ix;
    FUZZ_CHECK(connect_index_build(&ix, tools, ntools), "connect_index_build failed");

    /* Targets at, next to and around every rule, and from the raw bytes. */
    for (size_t i = 0; i < ntools; i++)
        for (size_t j = 0; j < tools[i].nconnect; j++) {
            const struct connect_rule *r = &tools[i].connect[j];
            struct net_target t = {.kind = r->kind, .port = r->port_lo, .host = r->host_glob};
            if (r->kind == TARGET_UNIX) {
                snprintf(t.path, sizeof t.path, "%s", r->unix_glob);
                check_one(&ix, tools, ntools, &t);
                continue;
            }
            memcpy(t.addr, r->addr, 16);
            check_one(&ix, tools, ntools, &t);
            t.host = NULL;
            check_one(&ix, tools, ntools, &t);
            t.port = r->port_hi;
            flip_bit(t.addr, 127);
            check_one(&ix, tools, ntools, &t);
            flip_bit(t.addr, 127);
            flip_bit(t.addr, r->prefix_bits < 128 ? r->prefix_bits : 120);
            check_one(&ix, tools, ntools, &t);
        }
    for (size_t off = 0; off + 18 <= rawlen; off += 18) {
        struct net_target t = {.kind = raw[off] & 1 ? TARGET_UNIX : TARGET_INET};
        memcpy(t.addr, raw + off + 2, 16);
        if (raw[off] & 2) /* v4-mapped */
            memcpy(t.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
        t.port = (uint16_t)(raw[off + 1] * 257u);
        if (t.kind == TARGET_UNIX)
            snprintf(t.path, sizeof t.path, "/%.16s", (const char *)raw + off + 2);
        check_one(&ix, tools, ntools, &t);
    }
    connect_index_free(&ix);
    for (size_t i = 0; i < ntools; i++) {
        for (size_t j = 0; j < tools[i].nconnect; j++)
            connect_rule_free(&tools[i].connect[j]);
        free(tools[i].connect);
    }
    free(tools);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    char *lines[64];
    size_t nlines = 0, len;
    while (c.n > 0 && nlines < 64)
        lines[nlines++] = take_until(&c, '\n', &len);
    const char *rule = nlines > 0 ? lines[0] : "";
    const char *cand = nlines > 1 ? lines[1] : "";
    const uint8_t *raw = data, *nl = memchr(data, '\n', size);
    size_t rawlen = size;
    if (nl) {
        raw = nl + 1;
        rawlen = size - (size_t)(raw - data);
    }

    if (strlen(rule) <= 200 && strlen(cand) <= 200)
        check_glob(rule, cand);
    check_connect_rule(rule);
    check_exec_rule(rule, cand);
    check_sockaddr(raw, rawlen);
    check_index(lines, nlines, raw, rawlen);

    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    return 0;
}
