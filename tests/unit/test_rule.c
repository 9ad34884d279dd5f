/* Unit tests for rule.c: connect and exec rules, targets, matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "rule.h"

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct parsed {
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
};

static struct parsed parse_ok(const char *text)
{
    struct parsed p;
    char err[256] = "";
    bool ok = connect_rule_parse(text, p.r, &p.n, err, sizeof err);
    if (!ok)
        fail_msg("connect_rule_parse('%s') failed: %s", text, err);
    return p;
}

static void parsed_free(struct parsed *p)
{
    for (size_t i = 0; i < p->n; i++)
        connect_rule_free(&p->r[i]);
}

/* Parses a rule that must fail; returns the message in err. */
static void parse_err(const char *text, char *err, size_t errlen)
{
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n = 99;
    err[0] = '\0';
    assert_false(connect_rule_parse(text, r, &n, err, errlen));
    assert_int_equal(n, 0);
    assert_true(strlen(err) > 0);
}

static void assert_v4_addr(const struct connect_rule *r, const char *dotted)
{
    uint8_t v4[4];
    assert_int_equal(inet_pton(AF_INET, dotted, v4), 1);
    assert_memory_equal(r->addr, V4_MAPPED, 12);
    assert_memory_equal(r->addr + 12, v4, 4);
}

static void assert_v6_addr(const struct connect_rule *r, const char *text)
{
    uint8_t v6[16];
    assert_int_equal(inet_pton(AF_INET6, text, v6), 1);
    assert_memory_equal(r->addr, v6, 16);
}

/* ---- connect_rule_parse -------------------------------------------------- */

static void test_parse_v4_forms(void **state)
{
    (void)state;
    struct parsed p = parse_ok("127.0.0.1");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].kind, TARGET_INET);
    assert_false(p.r[0].any_host);
    assert_v4_addr(&p.r[0], "127.0.0.1");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    assert_null(p.r[0].unix_glob);
    parsed_free(&p);

    p = parse_ok("127.0.0.1:80");
    assert_int_equal(p.n, 1);
    assert_v4_addr(&p.r[0], "127.0.0.1");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_int_equal(p.r[0].port_lo, 80);
    assert_int_equal(p.r[0].port_hi, 80);
    parsed_free(&p);

    p = parse_ok("10.0.0.0/8:8000-8099");
    assert_int_equal(p.n, 1);
    assert_v4_addr(&p.r[0], "10.0.0.0");
    assert_int_equal(p.r[0].prefix_bits, 96 + 8);
    assert_int_equal(p.r[0].port_lo, 8000);
    assert_int_equal(p.r[0].port_hi, 8099);
    parsed_free(&p);

    p = parse_ok("0.0.0.0/0:*");
    assert_int_equal(p.r[0].prefix_bits, 96);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    p = parse_ok("192.168.1.7/32:0-65535");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);
}

static void test_parse_v6_forms(void **state)
{
    (void)state;
    struct parsed p = parse_ok("[::1]:443");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].kind, TARGET_INET);
    assert_v6_addr(&p.r[0], "::1");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_int_equal(p.r[0].port_lo, 443);
    assert_int_equal(p.r[0].port_hi, 443);
    parsed_free(&p);

    p = parse_ok("[2001:db8::/32]:*");
    assert_int_equal(p.n, 1);
    assert_v6_addr(&p.r[0], "2001:db8::");
    assert_int_equal(p.r[0].prefix_bits, 32);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    p = parse_ok("::1"); /* bare IPv6: no port possible */
    assert_int_equal(p.n, 1);
    assert_v6_addr(&p.r[0], "::1");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    p = parse_ok("[fe80::1]");
    assert_v6_addr(&p.r[0], "fe80::1");
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    p = parse_ok("fd00::/8");
    assert_v6_addr(&p.r[0], "fd00::");
    assert_int_equal(p.r[0].prefix_bits, 8);
    parsed_free(&p);
}

static void test_parse_any_and_localhost(void **state)
{
    (void)state;
    struct parsed p = parse_ok("*:443");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].kind, TARGET_INET);
    assert_true(p.r[0].any_host);
    assert_false(p.r[0].expanded);
    assert_int_equal(p.r[0].port_lo, 443);
    assert_int_equal(p.r[0].port_hi, 443);
    parsed_free(&p);

    p = parse_ok("*");
    assert_int_equal(p.n, 1);
    assert_true(p.r[0].any_host);
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    p = parse_ok("localhost:5432");
    assert_int_equal(p.n, 2);
    assert_v4_addr(&p.r[0], "127.0.0.1");
    assert_int_equal(p.r[0].prefix_bits, 128);
    assert_v6_addr(&p.r[1], "::1");
    assert_int_equal(p.r[1].prefix_bits, 128);
    /* One rule as written: the second matcher says it is the first's. */
    assert_false(p.r[0].expanded);
    assert_true(p.r[1].expanded);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(p.r[i].kind, TARGET_INET);
        assert_false(p.r[i].any_host);
        assert_int_equal(p.r[i].port_lo, 5432);
        assert_int_equal(p.r[i].port_hi, 5432);
    }
    parsed_free(&p);

    p = parse_ok("localhost");
    assert_int_equal(p.n, 2);
    assert_int_equal(p.r[1].port_lo, 0);
    assert_int_equal(p.r[1].port_hi, 65535);
    parsed_free(&p);
}

static void test_parse_unix(void **state)
{
    (void)state;
    struct parsed p = parse_ok("unix:/run/x.sock");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].kind, TARGET_UNIX);
    assert_string_equal(p.r[0].unix_glob, "/run/x.sock");
    parsed_free(&p);
    assert_null(p.r[0].unix_glob); /* free clears the pointer */

    p = parse_ok("unix:@abstract");
    assert_int_equal(p.r[0].kind, TARGET_UNIX);
    assert_string_equal(p.r[0].unix_glob, "@abstract");
    parsed_free(&p);

    p = parse_ok("unix:/run/user/*/bus");
    assert_string_equal(p.r[0].unix_glob, "/run/user/*/bus");
    parsed_free(&p);

    /* 107 characters is the most sun_path holds with its NUL. */
    char text[5 + 108 + 1];
    memcpy(text, "unix:/", 6);
    memset(text + 6, 'p', 106);
    text[5 + 107] = '\0';
    p = parse_ok(text);
    assert_int_equal(strlen(p.r[0].unix_glob), 107);
    parsed_free(&p);
}

static void test_parse_errors(void **state)
{
    (void)state;
    char err[256];

    /* Host names are rules now (test_parse_host_names); what is neither
     * an address nor a DNS name is refused. */
    parse_err("db_internal:5432", err, sizeof err);
    assert_non_null(strstr(err, "bad host 'db_internal'"));
    assert_non_null(strstr(err, "a DNS name such as api.example.com"));
    parse_err("exa mple.com", err, sizeof err);
    assert_non_null(strstr(err, "bad host 'exa mple.com'"));

    parse_err("127.0.0.1:70000", err, sizeof err);
    assert_non_null(strstr(err, "bad port '70000'"));
    parse_err("127.0.0.1:9-3", err, sizeof err);
    assert_non_null(strstr(err, "bad port '9-3'"));
    parse_err("127.0.0.1:", err, sizeof err);
    assert_non_null(strstr(err, "bad port"));
    parse_err("127.0.0.1:http", err, sizeof err);
    assert_non_null(strstr(err, "bad port 'http'"));
    parse_err("127.0.0.1:-1", err, sizeof err);
    assert_non_null(strstr(err, "bad port"));
    parse_err("127.0.0.1:80-", err, sizeof err);
    assert_non_null(strstr(err, "bad port"));
    parse_err("[::1]:99999", err, sizeof err);
    assert_non_null(strstr(err, "bad port '99999'"));

    parse_err("10.0.0.0/33", err, sizeof err);
    assert_non_null(strstr(err, "bad prefix length"));
    assert_non_null(strstr(err, "/0-/32"));
    parse_err("[::/129]", err, sizeof err);
    assert_non_null(strstr(err, "bad prefix length"));
    assert_non_null(strstr(err, "/0-/128"));
    parse_err("10.0.0.0/:80", err, sizeof err);
    assert_non_null(strstr(err, "bad prefix length"));

    parse_err("unix:relative.sock", err, sizeof err);
    assert_non_null(strstr(err, "unix:relative.sock"));
    assert_non_null(strstr(err, "unix:/absolute/path"));
    parse_err("unix:", err, sizeof err);
    assert_non_null(strstr(err, "bad unix socket rule"));
    char longpath[5 + 120];
    memcpy(longpath, "unix:/", 6);
    memset(longpath + 6, 'p', sizeof longpath - 7);
    longpath[sizeof longpath - 1] = '\0';
    parse_err(longpath, err, sizeof err);
    assert_non_null(strstr(err, "longer than 107 bytes"));

    parse_err("", err, sizeof err);
    assert_non_null(strstr(err, "empty"));

    parse_err("300.1.1.1", err, sizeof err);
    assert_non_null(strstr(err, "bad IPv4 address '300.1.1.1'"));
    parse_err("[::1", err, sizeof err);
    assert_non_null(strstr(err, "[IPv6]"));
    parse_err("[::1]443", err, sizeof err);
    assert_non_null(strstr(err, "[IPv6]"));
    parse_err("[nonsense]:80", err, sizeof err);
    assert_non_null(strstr(err, "bad IPv6 address 'nonsense'"));

    /* A small err buffer is still NUL-terminated. */
    char tiny[8];
    memset(tiny, 'X', sizeof tiny);
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
    assert_false(connect_rule_parse("host_example", r, &n, tiny, sizeof tiny));
    assert_int_equal(strlen(tiny), 7);
}

static void test_parse_host_names(void **state)
{
    (void)state;
    struct parsed p = parse_ok("DB.Internal:5432");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].kind, TARGET_INET);
    assert_string_equal(p.r[0].host_glob, "db.internal"); /* lower case */
    assert_false(p.r[0].any_host);
    assert_int_equal(p.r[0].port_lo, 5432);
    assert_int_equal(p.r[0].port_hi, 5432);
    parsed_free(&p);
    assert_null(p.r[0].host_glob); /* free clears the pointer */

    p = parse_ok("*.example.com:443-444");
    assert_string_equal(p.r[0].host_glob, "*.example.com");
    assert_int_equal(p.r[0].port_lo, 443);
    assert_int_equal(p.r[0].port_hi, 444);
    parsed_free(&p);

    p = parse_ok("api.example.com");
    assert_int_equal(p.r[0].port_lo, 0);
    assert_int_equal(p.r[0].port_hi, 65535);
    parsed_free(&p);

    /* Numbers stay addresses: a bad one is a bad address, not a name. */
    char err[256];
    parse_err("300.1.1.1", err, sizeof err);
    assert_non_null(strstr(err, "bad IPv4 address"));
    /* 253 characters at most, and some letter. */
    char name[260];
    memset(name, 'a', 253);
    name[253] = '\0';
    p = parse_ok(name);
    assert_int_equal(strlen(p.r[0].host_glob), 253);
    parsed_free(&p);
    name[253] = 'a';
    name[254] = '\0';
    parse_err(name, err, sizeof err);
    assert_non_null(strstr(err, "bad host"));
}

/* ---- targets ------------------------------------------------------------- */

static struct net_target target_v4(const char *dotted, uint16_t port)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    assert_int_equal(inet_pton(AF_INET, dotted, &in.sin_addr), 1);
    struct net_target t;
    assert_true(net_target_from_sockaddr((struct sockaddr *)&in, sizeof in, &t));
    return t;
}

static struct net_target target_v6(const char *text, uint16_t port)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    assert_int_equal(inet_pton(AF_INET6, text, &in6.sin6_addr), 1);
    struct net_target t;
    assert_true(net_target_from_sockaddr((struct sockaddr *)&in6, sizeof in6, &t));
    return t;
}

static bool rule_matches(const char *rule, const struct net_target *t)
{
    struct parsed p = parse_ok(rule);
    bool hit = false;
    for (size_t i = 0; i < p.n; i++)
        hit |= connect_rule_matches(&p.r[i], t);
    parsed_free(&p);
    return hit;
}

static void test_match_host_names(void **state)
{
    (void)state;
    struct net_target t = target_v4("10.1.2.3", 443);
    assert_null(t.host); /* from a sockaddr alone, no name is known */
    assert_false(rule_matches("api.example.com:443", &t));
    t.host = "api.example.com";
    assert_true(rule_matches("api.example.com:443", &t));
    assert_true(rule_matches("API.example.com", &t));
    assert_true(rule_matches("*.example.com:443", &t));
    assert_false(rule_matches("*.example.com:80", &t));
    assert_false(rule_matches("db.example.com:443", &t));
    /* An address rule still matches by address, name or not. */
    assert_true(rule_matches("10.1.2.3:443", &t));
}

static void test_target_from_inet(void **state)
{
    (void)state;
    struct net_target t = target_v4("127.0.0.1", 8080);
    assert_int_equal(t.kind, TARGET_INET);
    assert_memory_equal(t.addr, V4_MAPPED, 12);
    assert_memory_equal(t.addr + 12, "\x7f\x00\x00\x01", 4);
    assert_int_equal(t.port, 8080);

    t = target_v6("::1", 443);
    assert_int_equal(t.kind, TARGET_INET);
    uint8_t one[16] = {[15] = 1};
    assert_memory_equal(t.addr, one, 16);
    assert_int_equal(t.port, 443);

    /* v4-mapped v6 becomes the same target as the v4 address. */
    struct net_target m = target_v6("::ffff:127.0.0.1", 8080);
    struct net_target v = target_v4("127.0.0.1", 8080);
    assert_memory_equal(m.addr, v.addr, 16);
    assert_int_equal(m.port, v.port);
}

static void test_target_short_or_foreign_rejected(void **state)
{
    (void)state;
    struct net_target t;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(80)};
    assert_false(net_target_from_sockaddr((struct sockaddr *)&in, sizeof in - 1, &t));
    assert_false(net_target_from_sockaddr((struct sockaddr *)&in, 1, &t));
    assert_false(net_target_from_sockaddr((struct sockaddr *)&in, 0, &t));
    assert_false(net_target_from_sockaddr(NULL, sizeof in, &t));
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    assert_false(net_target_from_sockaddr((struct sockaddr *)&in6, sizeof(struct sockaddr_in), &t));
    assert_false(net_target_from_sockaddr((struct sockaddr *)&in6, sizeof in6 - 1, &t));
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    assert_false(net_target_from_sockaddr((struct sockaddr *)&nl, sizeof nl, &t));
    struct sockaddr_storage ss = {.ss_family = AF_PACKET};
    assert_false(net_target_from_sockaddr((struct sockaddr *)&ss, sizeof ss, &t));
    /* An unnamed unix socket address (only the family). */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_false(net_target_from_sockaddr((struct sockaddr *)&un,
                                          offsetof(struct sockaddr_un, sun_path), &t));
}

static void test_target_from_unix(void **state)
{
    (void)state;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "/run/x.sock");
    struct net_target t;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1);
    assert_true(net_target_from_sockaddr((struct sockaddr *)&un, len, &t));
    assert_int_equal(t.kind, TARGET_UNIX);
    assert_string_equal(t.path, "/run/x.sock");
    /* Length without the NUL, and the full sizeof, give the same path. */
    assert_true(net_target_from_sockaddr((struct sockaddr *)&un, len - 1, &t));
    assert_string_equal(t.path, "/run/x.sock");
    assert_true(net_target_from_sockaddr((struct sockaddr *)&un, sizeof un, &t));
    assert_string_equal(t.path, "/run/x.sock");

    /* Abstract: leading NUL becomes '@'; the length delimits the name. */
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    memcpy(ab.sun_path, "\0my-abstract", 12);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 12);
    assert_true(net_target_from_sockaddr((struct sockaddr *)&ab, len, &t));
    assert_int_equal(t.kind, TARGET_UNIX);
    assert_string_equal(t.path, "@my-abstract");
    /* Embedded NULs in an abstract name also become '@'. */
    memcpy(ab.sun_path, "\0a\0b", 4);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4);
    assert_true(net_target_from_sockaddr((struct sockaddr *)&ab, len, &t));
    assert_string_equal(t.path, "@a@b");

    /* A path filling all of sun_path without a NUL stays in bounds. */
    struct sockaddr_un full = {.sun_family = AF_UNIX};
    memset(full.sun_path, 'z', sizeof full.sun_path);
    full.sun_path[0] = '/';
    assert_true(net_target_from_sockaddr((struct sockaddr *)&full, sizeof full, &t));
    assert_int_equal(strlen(t.path), sizeof full.sun_path);
    assert_int_equal(t.path[0], '/');
}

static void test_match_inet(void **state)
{
    (void)state;
    struct net_target lo80 = target_v4("127.0.0.1", 80);
    assert_true(rule_matches("127.0.0.1", &lo80));
    assert_true(rule_matches("127.0.0.1:80", &lo80));
    assert_false(rule_matches("127.0.0.1:81", &lo80));
    assert_false(rule_matches("127.0.0.2:80", &lo80));
    assert_true(rule_matches("127.0.0.0/8:1-100", &lo80));
    assert_false(rule_matches("127.0.0.0/8:81-100", &lo80));
    assert_true(rule_matches("*:80", &lo80));
    assert_false(rule_matches("*:443", &lo80));
    assert_true(rule_matches("*", &lo80));
    assert_true(rule_matches("localhost:80", &lo80));
    assert_false(rule_matches("[::1]:80", &lo80));
    assert_false(rule_matches("unix:/*", &lo80));
    assert_true(rule_matches("0.0.0.0/0", &lo80));

    struct net_target ten = target_v4("10.200.3.4", 8050);
    assert_true(rule_matches("10.0.0.0/8:8000-8099", &ten));
    assert_false(rule_matches("10.0.0.0/8:8100-8199", &ten));
    assert_false(rule_matches("11.0.0.0/8:8000-8099", &ten));
    assert_true(rule_matches("10.192.0.0/10", &ten)); /* prefix not on a byte boundary */
    assert_false(rule_matches("10.128.0.0/10", &ten));
    assert_true(rule_matches("10.200.3.5/31", &ten)); /* host bits of the rule ignored */
    assert_false(rule_matches("10.200.3.6/31", &ten));

    /* Port edges. */
    assert_true(rule_matches("10.0.0.0/8:8050-8050", &ten));
    assert_true(rule_matches("10.0.0.0/8:8050-9000", &ten));
    assert_true(rule_matches("10.0.0.0/8:1-8050", &ten));
    assert_false(rule_matches("10.0.0.0/8:8051-9000", &ten));
    struct net_target zero = target_v4("10.0.0.1", 0);
    assert_true(rule_matches("10.0.0.1:0", &zero));
    struct net_target top = target_v4("10.0.0.1", 65535);
    assert_true(rule_matches("10.0.0.1:65535", &top));
    assert_false(rule_matches("10.0.0.1:65534", &top));
}

static void test_match_inet6(void **state)
{
    (void)state;
    struct net_target v6 = target_v6("::1", 443);
    assert_true(rule_matches("[::1]:443", &v6));
    assert_true(rule_matches("::1", &v6));
    assert_true(rule_matches("localhost:443", &v6));
    assert_false(rule_matches("127.0.0.1:443", &v6));
    assert_false(rule_matches("[::1]:80", &v6));
    assert_true(rule_matches("*:443", &v6));
    assert_false(rule_matches("0.0.0.0/0", &v6)); /* v4 CIDR never matches native v6 */

    struct net_target doc = target_v6("2001:db8:1234::5", 8443);
    assert_true(rule_matches("[2001:db8::/32]:*", &doc));
    assert_false(rule_matches("[2001:db9::/32]:*", &doc));
    assert_true(rule_matches("[2001:db8:1200::/42]", &doc));
    assert_false(rule_matches("[2001:db8:1200::/43]", &doc));
    assert_true(rule_matches("[::/0]:8443", &doc));

    /* v4-mapped v6 is the v4 address for matching. */
    struct net_target mapped = target_v6("::ffff:127.0.0.1", 5432);
    assert_true(rule_matches("127.0.0.1", &mapped));
    assert_true(rule_matches("127.0.0.1:5432", &mapped));
    assert_true(rule_matches("127.0.0.0/8:5432", &mapped));
    assert_true(rule_matches("localhost:5432", &mapped));
    assert_false(rule_matches("127.0.0.2", &mapped));
    assert_false(rule_matches("[::1]:5432", &mapped));
}

static void test_match_unix(void **state)
{
    (void)state;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "/run/postgresql/.s.PGSQL.5432");
    struct net_target t;
    assert_true(net_target_from_sockaddr((struct sockaddr *)&un, sizeof un, &t));
    assert_true(rule_matches("unix:/run/postgresql/.s.PGSQL.5432", &t));
    assert_true(rule_matches("unix:/run/postgresql/*", &t));
    assert_true(rule_matches("unix:/*", &t));
    assert_false(rule_matches("unix:/run/mysqld/*", &t));
    assert_false(rule_matches("unix:@/run/postgresql/.s.PGSQL.5432", &t));
    assert_false(rule_matches("*", &t)); /* an inet wildcard is not a unix rule */

    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    memcpy(ab.sun_path, "\0dbus-session", 13);
    assert_true(net_target_from_sockaddr(
        (struct sockaddr *)&ab, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 13), &t));
    assert_true(rule_matches("unix:@dbus-session", &t));
    assert_true(rule_matches("unix:@dbus-*", &t));
    assert_false(rule_matches("unix:/dbus-session", &t));
    assert_false(rule_matches("unix:@dbus", &t));
}

static void test_target_format(void **state)
{
    (void)state;
    char out[128];
    struct net_target t = target_v4("127.0.0.1", 8080);
    assert_int_equal(net_target_format(&t, out, sizeof out), 14);
    assert_string_equal(out, "127.0.0.1:8080");

    t = target_v6("::1", 443);
    assert_int_equal(net_target_format(&t, out, sizeof out), 9);
    assert_string_equal(out, "[::1]:443");

    t = target_v6("2001:db8::5", 0);
    net_target_format(&t, out, sizeof out);
    assert_string_equal(out, "[2001:db8::5]:0");

    t = target_v6("::ffff:10.1.2.3", 65535);
    net_target_format(&t, out, sizeof out);
    assert_string_equal(out, "10.1.2.3:65535");

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "/run/x.sock");
    assert_true(net_target_from_sockaddr((struct sockaddr *)&un, sizeof un, &t));
    assert_int_equal(net_target_format(&t, out, sizeof out), 16);
    assert_string_equal(out, "unix:/run/x.sock");

    memcpy(un.sun_path, "\0abs", 4);
    assert_true(net_target_from_sockaddr(
        (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4), &t));
    net_target_format(&t, out, sizeof out);
    assert_string_equal(out, "unix:@abs");

    /* Truncation: returns what was written, always terminated. */
    t = target_v4("127.0.0.1", 8080);
    char small[6];
    assert_int_equal(net_target_format(&t, small, sizeof small), 5);
    assert_string_equal(small, "127.0");
    assert_int_equal(net_target_format(&t, small, 0), 0);
}

/* IPv4 is formatted without stdio: the same text inet_ntop and snprintf
 * give, for every octet value and for ports from 0 to 65535, whole and cut. */
static void test_target_format_v4_matches_stdio(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct net_target t = {.kind = TARGET_INET, .port = (uint16_t)(i < 256 ? (uint64_t)i : x >> 48)};
        t.addr[10] = t.addr[11] = 0xff;
        for (int k = 0; k < 4; k++)
            t.addr[12 + k] = (uint8_t)(i < 256 ? (uint64_t)i : x >> (8 * k));
        char addr[INET_ADDRSTRLEN], want[32], got[32];
        inet_ntop(AF_INET, t.addr + 12, addr, sizeof addr);
        int n = snprintf(want, sizeof want, "%s:%u", addr, t.port);
        assert_int_equal(net_target_format(&t, got, sizeof got), n);
        assert_string_equal(got, want);
        size_t cap = 1 + x % (size_t)(n + 1);
        assert_int_equal(net_target_format(&t, got, cap), cap - 1);
        assert_memory_equal(got, want, cap - 1);
        assert_int_equal(got[cap - 1], '\0');
    }
}

/* ---- exec rules ---------------------------------------------------------- */

static void test_exec_parse_tokens(void **state)
{
    (void)state;
    struct exec_rule r;
    char err[256];
    assert_true(exec_rule_parse("rm", &r, err, sizeof err));
    assert_string_equal(r.words[0], "rm");
    assert_null(r.words[1]);
    assert_int_equal(r.nargs, 0);
    assert_false(r.by_path);
    exec_rule_free(&r);
    assert_null(r.words);

    assert_true(exec_rule_parse("  kubectl   delete\t* ", &r, err, sizeof err));
    assert_int_equal(r.nargs, 2);
    assert_string_equal(r.words[0], "kubectl");
    assert_string_equal(r.words[1], "delete");
    assert_string_equal(r.words[2], "*");
    assert_null(r.words[3]);
    exec_rule_free(&r);

    assert_true(exec_rule_parse("/usr/bin/git push \"origin main\" x\"y z\"w \"\"", &r, err,
                                sizeof err));
    assert_true(r.by_path);
    assert_int_equal(r.nargs, 4);
    assert_string_equal(r.words[0], "/usr/bin/git");
    assert_string_equal(r.words[1], "push");
    assert_string_equal(r.words[2], "origin main");
    assert_string_equal(r.words[3], "xy zw");
    assert_string_equal(r.words[4], "");
    assert_null(r.words[5]);
    exec_rule_free(&r);

    /* Many words (growth of the token array). */
    assert_true(exec_rule_parse("p a b c d e f g h i j k l m n o p q r s t", &r, err, sizeof err));
    assert_int_equal(r.nargs, 20);
    assert_string_equal(r.words[20], "t");
    assert_null(r.words[21]);
    exec_rule_free(&r);
}

static void test_exec_parse_errors(void **state)
{
    (void)state;
    struct exec_rule r;
    char err[256];
    assert_false(exec_rule_parse("rm \"unterminated", &r, err, sizeof err));
    assert_non_null(strstr(err, "unterminated \""));
    assert_null(r.words);
    assert_false(exec_rule_parse("", &r, err, sizeof err));
    assert_non_null(strstr(err, "empty exec rule"));
    assert_false(exec_rule_parse("   \t ", &r, err, sizeof err));
    assert_non_null(strstr(err, "empty exec rule"));
    assert_null(r.words);
}

static bool exec_matches(const char *rule, const char *path, char *const argv[])
{
    struct exec_rule r;
    char err[256];
    if (!exec_rule_parse(rule, &r, err, sizeof err))
        fail_msg("exec_rule_parse('%s'): %s", rule, err);
    bool hit = exec_rule_matches(&r, path, argv);
    exec_rule_free(&r);
    return hit;
}

static void test_exec_match_program(void **state)
{
    (void)state;
    char *rm[] = {"rm", "-rf", "/", NULL};
    assert_true(exec_matches("rm", "/bin/rm", rm));
    assert_true(exec_matches("rm", "rm", rm));
    assert_true(exec_matches("r?", "/usr/bin/rm", rm));
    assert_false(exec_matches("rm", "/bin/rmdir", rm));
    assert_false(exec_matches("rm", "/bin/xrm", rm));
    /* By path when the glob has a '/'. */
    assert_true(exec_matches("/usr/bin/*", "/usr/bin/rm", rm));
    assert_false(exec_matches("/usr/bin/*", "/bin/rm", rm));
    assert_false(exec_matches("/bin/rm", "rm", rm));
    assert_true(exec_matches("*/rm", "/usr/local/bin/rm", rm));
    /* Basename globs never see the folder. */
    assert_false(exec_matches("bin*", "/usr/bin/rm", rm));
    /* The program is matched on path, not argv[0]. */
    char *fake[] = {"ls", NULL};
    assert_true(exec_matches("rm", "/bin/rm", fake));
    assert_false(exec_matches("ls", "/bin/rm", fake));
}

static void test_exec_match_arguments(void **state)
{
    (void)state;
    char *del[] = {"kubectl", "delete", "pod", "web-1", NULL};
    char *get[] = {"kubectl", "get", "pod", NULL};
    char *bare[] = {"kubectl", "delete", NULL};
    char *only0[] = {"kubectl", NULL};
    assert_true(exec_matches("kubectl delete *", "/usr/bin/kubectl", del));
    assert_false(exec_matches("kubectl delete *", "/usr/bin/kubectl", get));
    /* Extra arguments are allowed. */
    assert_true(exec_matches("kubectl delete", "/usr/bin/kubectl", del));
    /* Missing arguments are not matched, even by '*'. */
    assert_false(exec_matches("kubectl delete *", "/usr/bin/kubectl", bare));
    assert_false(exec_matches("kubectl delete", "/usr/bin/kubectl", only0));
    /* Positional: the globs apply to argv[1], argv[2], ... in order. */
    assert_true(exec_matches("kubectl * pod", "/usr/bin/kubectl", del));
    assert_false(exec_matches("kubectl pod delete", "/usr/bin/kubectl", del));
    assert_true(exec_matches("kubectl d* p?d web-[0-9]", "/usr/bin/kubectl", del));
    assert_false(exec_matches("kubectl d* p?d web-[2-9]", "/usr/bin/kubectl", del));
    /* Quoted argument with a space. */
    char *git[] = {"git", "commit", "-m", "fix it", NULL};
    assert_true(exec_matches("git commit -m \"fix it\"", "/usr/bin/git", git));
    assert_false(exec_matches("git commit -m fix", "/usr/bin/git", git));
    /* No argument globs: argv is not looked at, even NULL. */
    assert_true(exec_matches("kubectl", "/usr/bin/kubectl", NULL));
    char *empty[] = {NULL};
    assert_true(exec_matches("kubectl", "/usr/bin/kubectl", empty));
    /* Argument globs with NULL or empty argv: no match, no crash. */
    assert_false(exec_matches("kubectl delete", "/usr/bin/kubectl", NULL));
    assert_false(exec_matches("kubectl delete", "/usr/bin/kubectl", empty));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_v4_forms),
        cmocka_unit_test(test_parse_v6_forms),
        cmocka_unit_test(test_parse_any_and_localhost),
        cmocka_unit_test(test_parse_unix),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_host_names),
        cmocka_unit_test(test_match_host_names),
        cmocka_unit_test(test_target_from_inet),
        cmocka_unit_test(test_target_short_or_foreign_rejected),
        cmocka_unit_test(test_target_from_unix),
        cmocka_unit_test(test_match_inet),
        cmocka_unit_test(test_match_inet6),
        cmocka_unit_test(test_match_unix),
        cmocka_unit_test(test_target_format),
        cmocka_unit_test(test_target_format_v4_matches_stdio),
        cmocka_unit_test(test_exec_parse_tokens),
        cmocka_unit_test(test_exec_parse_errors),
        cmocka_unit_test(test_exec_match_program),
        cmocka_unit_test(test_exec_match_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
