/* Unit tests for tls_frame.c: following TLS record framing from outside. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tls_frame.h"

/* A record of type with a body of n bytes (value fill) into out; returns its size. */
static size_t record(uint8_t *out, uint8_t type, uint16_t n, uint8_t fill)
{
    out[0] = type;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    memset(out + 5, fill, n);
    return 5u + n;
}

static void test_whole_records_report_their_type(void **state)
{
    (void)state;
    uint8_t buf[600];
    struct tls_stream s = {0};
    size_t n = record(buf, TLS_HANDSHAKE, 100, 0x17);
    assert_int_equal(tls_stream_feed(&s, buf, n), TLS_HANDSHAKE);
    n = record(buf, TLS_CHANGE_CIPHER_SPEC, 1, 1);
    n += record(buf + n, TLS_APPLICATION_DATA, 300, 0x16);
    assert_int_equal(tls_stream_feed(&s, buf, n), TLS_CHANGE_CIPHER_SPEC);
    n = record(buf, TLS_APPLICATION_DATA, 20, 0);
    assert_int_equal(tls_stream_feed(&s, buf, n), TLS_APPLICATION_DATA);
    assert_false(s.broken);
}

/* OpenSSL reads a header (5 bytes) and then the body: every piece is known. */
static void test_split_header_and_body(void **state)
{
    (void)state;
    uint8_t buf[600];
    struct tls_stream s = {0};
    size_t n = record(buf, TLS_APPLICATION_DATA, 500, TLS_HANDSHAKE);
    n += record(buf + n, TLS_HANDSHAKE, 10, 0);
    assert_int_equal(tls_stream_feed(&s, buf, 2), TLS_APPLICATION_DATA);
    assert_int_equal(tls_stream_feed(&s, buf + 2, 3), TLS_APPLICATION_DATA);
    assert_int_equal(tls_stream_feed(&s, buf + 5, 500), TLS_APPLICATION_DATA);
    assert_int_equal(tls_stream_feed(&s, buf + 505, 1), TLS_HANDSHAKE);
    assert_int_equal(tls_stream_feed(&s, buf + 506, n - 506), TLS_HANDSHAKE);
    assert_int_equal(s.left, 0);
    assert_int_equal(s.have, 0);
}

static void test_plain_text_is_not_tls(void **state)
{
    (void)state;
    struct tls_stream s = {0};
    const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(tls_stream_feed(&s, http, sizeof http - 1), 0);
    assert_true(s.broken);
    assert_int_equal(tls_stream_feed(&s, http, 5), 0);
    /* A known type with an impossible length breaks it too. */
    struct tls_stream t = {0};
    const uint8_t huge[] = {TLS_APPLICATION_DATA, 3, 3, 0xff, 0xff};
    assert_int_equal(tls_stream_feed(&t, huge, sizeof huge), 0);
    assert_true(t.broken);
    assert_int_equal(tls_stream_feed(&t, "", 0), 0);
}

static void test_handshake_start(void **state)
{
    (void)state;
    const uint8_t hello[] = {TLS_HANDSHAKE, 3, 1, 0, 200, 1};
    assert_true(tls_starts_handshake(hello, sizeof hello));
    assert_false(tls_starts_handshake(hello, 2));
    assert_false(tls_starts_handshake("GET / HTTP/1.1", 14));
    const uint8_t ssl2ish[] = {TLS_HANDSHAKE, 2, 0};
    assert_false(tls_starts_handshake(ssl2ish, sizeof ssl2ish));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_records_report_their_type),
        cmocka_unit_test(test_split_header_and_body),
        cmocka_unit_test(test_plain_text_is_not_tls),
        cmocka_unit_test(test_handshake_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
