/* Unit tests for resp.c: encoding commands, parsing replies (whole, partial,
 * malformed, pipelined), and reading MOVED/ASK and other error codes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* Parses a whole reply that must take exactly len bytes. */
static void parse_whole(const char *buf, size_t len, struct resp_reply *r)
{
    long took = resp_parse(buf, len, r);
    if (took != (long)len)
        fail_msg("resp_parse took %ld of %zu bytes", took, len);
}

static void assert_text(const struct resp_item *it, const char *want)
{
    assert_int_equal(it->len, strlen(want));
    assert_memory_equal(it->text, want, it->len);
}

/* An error item over a literal, as resp_parse would give it. */
static struct resp_item error_item(const char *text)
{
    return (struct resp_item){.type = RESP_ERROR, .text = text, .len = strlen(text)};
}

/* ---- resp_command ---- */

static void test_command_three_arguments(void **state)
{
    (void)state;
    const char *argv[] = {"SADD", "enact:{fleet}:agents", "host-1"};
    const size_t lens[] = {4, 20, 6};
    const char want[] = "*3\r\n$4\r\nSADD\r\n$20\r\nenact:{fleet}:agents\r\n$6\r\nhost-1\r\n";
    char out[128];
    memset(out, 'x', sizeof out);
    size_t n = resp_command(out, sizeof out, 3, argv, lens);
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(out, want, n);
    /* What it encodes parses back as the same array. */
    struct resp_reply r;
    parse_whole(out, n, &r);
    assert_int_equal(r.value.type, RESP_ARRAY);
    assert_int_equal(r.n, 3);
    assert_text(&r.items[0], "SADD");
    assert_text(&r.items[1], "enact:{fleet}:agents");
    assert_text(&r.items[2], "host-1");
}

/* Lengths, not terminators: NUL and CRLF inside an argument go through as data. */
static void test_command_binary_argument(void **state)
{
    (void)state;
    const char bin[] = {'a', '\0', 'b', '\r', '\n', 'c'};
    const char *argv[] = {"SET", "k", bin, ""};
    const size_t lens[] = {3, 1, sizeof bin, 0};
    const char want[] = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\0b\r\nc\r\n$0\r\n\r\n";
    char out[64];
    size_t n = resp_command(out, sizeof out, 4, argv, lens);
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(out, want, n);
    struct resp_reply r;
    parse_whole(out, n, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.items[2].type, RESP_BULK);
    assert_int_equal(r.items[2].len, sizeof bin);
    assert_memory_equal(r.items[2].text, bin, sizeof bin);
    assert_int_equal(r.items[3].type, RESP_BULK);
    assert_int_equal(r.items[3].len, 0);
}

/* Every capacity below the exact length is refused, without writing past it
 * (each buffer is exactly cap bytes on the heap, so ASan sees any overrun);
 * the exact length is enough. */
static void test_command_capacity(void **state)
{
    (void)state;
    const char *argv[] = {"EVALSHA", "0123456789abcdef0123456789abcdef01234567", "1", "{f}:k"};
    const size_t lens[] = {7, 40, 1, 5};
    char ref[256];
    size_t exact = resp_command(ref, sizeof ref, 4, argv, lens);
    assert_true(exact > 0);
    for (size_t cap = 0; cap < exact; cap++) {
        char *out = malloc(cap ? cap : 1);
        assert_non_null(out);
        if (resp_command(out, cap, 4, argv, lens) != 0)
            fail_msg("cap %zu of %zu was accepted", cap, exact);
        free(out);
    }
    char *out = malloc(exact);
    assert_non_null(out);
    assert_int_equal(resp_command(out, exact, 4, argv, lens), exact);
    assert_memory_equal(out, ref, exact);
    free(out);
}

/* ---- resp_parse: single values ---- */

static void test_parse_status_and_error(void **state)
{
    (void)state;
    struct resp_reply r;
    parse_whole(LIT("+OK\r\n"), &r);
    assert_int_equal(r.value.type, RESP_STATUS);
    assert_text(&r.value, "OK");
    assert_int_equal(r.n, 0);

    parse_whole(LIT("-ERR unknown command 'FOO'\r\n"), &r);
    assert_int_equal(r.value.type, RESP_ERROR);
    assert_text(&r.value, "ERR unknown command 'FOO'");

    parse_whole(LIT("+\r\n"), &r);
    assert_int_equal(r.value.type, RESP_STATUS);
    assert_int_equal(r.value.len, 0);
}

static void test_parse_integers(void **state)
{
    (void)state;
    struct resp_reply r;
    parse_whole(LIT(":0\r\n"), &r);
    assert_int_equal(r.value.type, RESP_INTEGER);
    assert_int_equal(r.value.integer, 0);
    parse_whole(LIT(":1000\r\n"), &r);
    assert_int_equal(r.value.integer, 1000);
    parse_whole(LIT(":-42\r\n"), &r);
    assert_int_equal(r.value.type, RESP_INTEGER);
    assert_true(r.value.integer == -42);
    parse_whole(LIT(":9223372036854775807\r\n"), &r);
    assert_true(r.value.integer == INT64_MAX);
    parse_whole(LIT(":-9223372036854775807\r\n"), &r);
    assert_true(r.value.integer == -INT64_MAX);
    parse_whole(LIT(":-9223372036854775808\r\n"), &r);
    assert_true(r.value.integer == INT64_MIN);
}

/* Too many digits for an int64 is malformed, not a wrapped (or undefined) value. */
static void test_parse_integer_overflow(void **state)
{
    (void)state;
    struct resp_reply r;
    assert_int_equal(resp_parse(LIT(":9223372036854775808\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":-9223372036854775809\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":9999999999999999999\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":-9999999999999999999\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":99999999999999999999\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("$9999999999999999999\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*9999999999999999999\r\n"), &r), -1);
}

static void test_parse_bulk_and_nil(void **state)
{
    (void)state;
    struct resp_reply r;
    const char buf[] = "$5\r\nhello\r\n";
    parse_whole(buf, sizeof buf - 1, &r);
    assert_int_equal(r.value.type, RESP_BULK);
    assert_text(&r.value, "hello");
    assert_ptr_equal(r.value.text, buf + 4); /* in place, not copied */

    const char crlf[] = "$4\r\na\r\nb\r\n"; /* CRLF inside a bulk is data */
    parse_whole(crlf, sizeof crlf - 1, &r);
    assert_int_equal(r.value.len, 4);
    assert_memory_equal(r.value.text, "a\r\nb", 4);

    parse_whole(LIT("$0\r\n\r\n"), &r);
    assert_int_equal(r.value.type, RESP_BULK);
    assert_int_equal(r.value.len, 0);

    parse_whole(LIT("$-1\r\n"), &r);
    assert_int_equal(r.value.type, RESP_NIL);

    parse_whole(LIT("*-1\r\n"), &r);
    assert_int_equal(r.value.type, RESP_NIL);
    assert_int_equal(r.n, 0);
}

/* ---- resp_parse: arrays ---- */

/* What the limits script answers: seven integers. */
static void test_parse_array_of_integers(void **state)
{
    (void)state;
    struct resp_reply r;
    const char buf[] = "*7\r\n:1\r\n:0\r\n:-1\r\n:1700000000123\r\n:5\r\n:60000\r\n:2\r\n";
    parse_whole(buf, sizeof buf - 1, &r);
    assert_int_equal(r.value.type, RESP_ARRAY);
    assert_int_equal(r.n, 7);
    const int64_t want[] = {1, 0, -1, 1700000000123, 5, 60000, 2};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(r.items[i].type, RESP_INTEGER);
        assert_true(r.items[i].integer == want[i]);
    }
}

/* HGETALL: names and values as bulk strings, a nil among them. */
static void test_parse_array_of_bulks(void **state)
{
    (void)state;
    struct resp_reply r;
    const char buf[] = "*5\r\n$5\r\nstate\r\n$6\r\nclosed\r\n$8\r\nfailures\r\n$1\r\n3\r\n$-1\r\n";
    parse_whole(buf, sizeof buf - 1, &r);
    assert_int_equal(r.value.type, RESP_ARRAY);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.items[0].type, RESP_BULK);
    assert_text(&r.items[0], "state");
    assert_text(&r.items[1], "closed");
    assert_text(&r.items[2], "failures");
    assert_text(&r.items[3], "3");
    assert_int_equal(r.items[4].type, RESP_NIL);

    parse_whole(LIT("*0\r\n"), &r);
    assert_int_equal(r.value.type, RESP_ARRAY);
    assert_int_equal(r.n, 0);
}

/* Exactly RESP_ITEMS_MAX items is fine; one more is refused. */
static void test_parse_array_width(void **state)
{
    (void)state;
    char buf[1024];
    struct resp_reply r;
    for (int width = RESP_ITEMS_MAX; width <= RESP_ITEMS_MAX + 1; width++) {
        size_t n = (size_t)snprintf(buf, sizeof buf, "*%d\r\n", width);
        for (int i = 0; i < width; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ":%d\r\n", i);
        assert_true(n < sizeof buf);
        long took = resp_parse(buf, n, &r);
        if (width == RESP_ITEMS_MAX) {
            assert_int_equal(took, (long)n);
            assert_int_equal(r.n, RESP_ITEMS_MAX);
            assert_int_equal(r.items[RESP_ITEMS_MAX - 1].integer, RESP_ITEMS_MAX - 1);
        } else {
            assert_int_equal(took, -1);
        }
    }
    /* The header alone is enough to refuse it. */
    assert_int_equal(resp_parse(LIT("*81\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*1000000\r\n"), &r), -1);
}

static void test_parse_nested_array(void **state)
{
    (void)state;
    struct resp_reply r;
    assert_int_equal(resp_parse(LIT("*2\r\n*1\r\n:1\r\n:2\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*2\r\n:1\r\n*-1\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*1\r\n*0\r\n"), &r), -1);
}

/* ---- resp_parse: partial input ---- */

/* Every proper prefix of a valid reply is "not yet" (0), never malformed. */
static void test_parse_every_prefix_is_incomplete(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "+OK\r\n",
        "-NOSCRIPT No matching script. Please use EVAL.\r\n",
        ":-1234567\r\n",
        "$12\r\nhello\r\nworld\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*7\r\n:1\r\n:0\r\n:-1\r\n:1700000000123\r\n:5\r\n:60000\r\n:2\r\n",
        "*4\r\n$5\r\nstate\r\n$6\r\nclosed\r\n$-1\r\n+OK\r\n",
        "*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n", /* TIME */
    };
    for (size_t k = 0; k < sizeof replies / sizeof replies[0]; k++) {
        size_t len = strlen(replies[k]);
        for (size_t cut = 0; cut < len; cut++) {
            /* A heap copy of just the prefix: reading past it is an ASan error. */
            char *p = malloc(cut ? cut : 1);
            assert_non_null(p);
            memcpy(p, replies[k], cut);
            struct resp_reply r;
            long took = resp_parse(p, cut, &r);
            free(p);
            if (took != 0)
                fail_msg("reply %zu cut at %zu of %zu: %ld, not 0", k, cut, len, took);
        }
        struct resp_reply r;
        parse_whole(replies[k], len, &r);
    }
}

/* ---- resp_parse: malformed ---- */

static void test_parse_malformed(void **state)
{
    (void)state;
    struct resp_reply r;
    /* A type byte RESP does not have (or a RESP3 one Enact does not speak). */
    assert_int_equal(resp_parse(LIT("!oops\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("%1\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("OK\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*1\r\n?x\r\n"), &r), -1);
    /* Bad lengths and numbers. */
    assert_int_equal(resp_parse(LIT("$abc\r\nabc\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("$-2\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("$\r\n\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("$+3\r\nabc\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*x\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*-2\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":12a\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(":-\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT(": 1\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("*2\r\n:1\r\n:x\r\n"), &r), -1);
    /* A bulk whose bytes are not followed by CRLF. */
    assert_int_equal(resp_parse(LIT("$3\r\nabcd\r\n"), &r), -1);
    assert_int_equal(resp_parse(LIT("$3\r\nabc\n\r"), &r), -1);
    assert_int_equal(resp_parse(LIT("$3\r\nabcXY"), &r), -1);
    assert_int_equal(resp_parse(LIT("*1\r\n$1\r\nab\r\n"), &r), -1);
    /* A number line that never ends is not waited for forever. */
    char longline[200];
    longline[0] = ':';
    memset(longline + 1, '1', sizeof longline - 1);
    assert_int_equal(resp_parse(longline, sizeof longline, &r), -1);
    longline[0] = '*';
    assert_int_equal(resp_parse(longline, sizeof longline, &r), -1);
}

/* ---- resp_parse: pipelining ---- */

static void test_parse_pipelined(void **state)
{
    (void)state;
    const char buf[] = "+OK\r\n*2\r\n:1\r\n$3\r\nabc\r\n-NOAUTH Authentication required.\r\n:7";
    size_t len = sizeof buf - 1, at = 0;
    struct resp_reply r;

    long took = resp_parse(buf + at, len - at, &r);
    assert_int_equal(took, 5);
    assert_int_equal(r.value.type, RESP_STATUS);
    assert_text(&r.value, "OK");
    at += (size_t)took;

    took = resp_parse(buf + at, len - at, &r);
    assert_int_equal(took, 17);
    assert_int_equal(r.value.type, RESP_ARRAY);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.items[0].integer, 1);
    assert_text(&r.items[1], "abc");
    at += (size_t)took;

    took = resp_parse(buf + at, len - at, &r);
    assert_true(took > 0);
    assert_int_equal(r.value.type, RESP_ERROR);
    assert_text(&r.value, "NOAUTH Authentication required.");
    at += (size_t)took;

    /* The fourth has not arrived whole. */
    assert_int_equal(resp_parse(buf + at, len - at, &r), 0);
    assert_int_equal(len - at, 2);
}

/* ---- resp_redirect, resp_error_is ---- */

static void test_redirect_moved(void **state)
{
    (void)state;
    struct resp_item e = error_item("MOVED 3999 127.0.0.1:6381");
    bool ask = true;
    char host[64];
    uint16_t port = 0;
    assert_true(resp_redirect(&e, &ask, host, sizeof host, &port));
    assert_false(ask);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6381);

    e = error_item("MOVED 0 redis-node-3.internal:65535");
    assert_true(resp_redirect(&e, &ask, host, sizeof host, &port));
    assert_string_equal(host, "redis-node-3.internal");
    assert_int_equal(port, 65535);
}

/* IPv6 nodes come without brackets: the port is after the last colon. */
static void test_redirect_ask_ipv6(void **state)
{
    (void)state;
    struct resp_item e = error_item("ASK 12 ::1:7000");
    bool ask = false;
    char host[64];
    uint16_t port = 0;
    assert_true(resp_redirect(&e, &ask, host, sizeof host, &port));
    assert_true(ask);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7000);

    e = error_item("ASK 16383 2001:db8::17:6379");
    assert_true(resp_redirect(&e, &ask, host, sizeof host, &port));
    assert_true(ask);
    assert_string_equal(host, "2001:db8::17");
    assert_int_equal(port, 6379);
}

static void test_redirect_refused(void **state)
{
    (void)state;
    static const char *const not_redirects[] = {
        "ERR wrong number of arguments",
        "NOSCRIPT No matching script",
        "MOVEDX 1 h:1",
        "ASKING 1 h:1",
        "MOVED",
        "MOVED 3999",
        "MOVED 3999 ",
        "MOVED 3999 127.0.0.1",
        "MOVED 3999 :6379",
        "MOVED 3999 h:",
        "MOVED 3999 h:abc",
        "MOVED 3999 h:63a9",
        "MOVED 3999 h:0",
        "MOVED 3999 h:65536",
        "MOVED 3999 h:-1",
        "ASK 1 h:9999999999999999999",
        "ASK 1 h:99999999999999999999",
    };
    for (size_t i = 0; i < sizeof not_redirects / sizeof not_redirects[0]; i++) {
        struct resp_item e = error_item(not_redirects[i]);
        bool ask;
        char host[64] = "untouched";
        uint16_t port = 1234;
        if (resp_redirect(&e, &ask, host, sizeof host, &port))
            fail_msg("'%s' was read as a redirect to %s:%u", not_redirects[i], host, port);
        assert_int_equal(port, 1234);
    }
    /* A status, not an error, is no redirect even if its text reads like one. */
    struct resp_item s = {.type = RESP_STATUS, .text = "MOVED 1 h:1", .len = 11};
    bool ask;
    char host[64];
    uint16_t port;
    assert_false(resp_redirect(&s, &ask, host, sizeof host, &port));
    /* A host that does not fit is refused, not cut. */
    struct resp_item e = error_item("MOVED 1 abcdefgh:6379");
    assert_false(resp_redirect(&e, &ask, host, 8, &port));
    assert_true(resp_redirect(&e, &ask, host, 9, &port));
    assert_string_equal(host, "abcdefgh");
}

static void test_error_is(void **state)
{
    (void)state;
    struct resp_item e = error_item("NOSCRIPT No matching script. Please use EVAL.");
    assert_true(resp_error_is(&e, "NOSCRIPT"));
    assert_false(resp_error_is(&e, "NOSCRIPTX"));
    assert_false(resp_error_is(&e, "NOSCRIP"));
    assert_false(resp_error_is(&e, "NOAUTH"));
    e = error_item("NOSCRIPTX something");
    assert_false(resp_error_is(&e, "NOSCRIPT"));
    e = error_item("NOAUTH");
    assert_true(resp_error_is(&e, "NOAUTH"));
    e = error_item("NO");
    assert_false(resp_error_is(&e, "NOAUTH"));
    struct resp_item s = {.type = RESP_STATUS, .text = "NOSCRIPT x", .len = 10};
    assert_false(resp_error_is(&s, "NOSCRIPT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_three_arguments),
        cmocka_unit_test(test_command_binary_argument),
        cmocka_unit_test(test_command_capacity),
        cmocka_unit_test(test_parse_status_and_error),
        cmocka_unit_test(test_parse_integers),
        cmocka_unit_test(test_parse_integer_overflow),
        cmocka_unit_test(test_parse_bulk_and_nil),
        cmocka_unit_test(test_parse_array_of_integers),
        cmocka_unit_test(test_parse_array_of_bulks),
        cmocka_unit_test(test_parse_array_width),
        cmocka_unit_test(test_parse_nested_array),
        cmocka_unit_test(test_parse_every_prefix_is_incomplete),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_pipelined),
        cmocka_unit_test(test_redirect_moved),
        cmocka_unit_test(test_redirect_ask_ipv6),
        cmocka_unit_test(test_redirect_refused),
        cmocka_unit_test(test_error_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
