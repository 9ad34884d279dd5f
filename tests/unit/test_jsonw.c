/* Unit tests for jsonw.c: bounded JSON writer and the ISO timestamp. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

/* Writes one string value (no key) into a fresh buffer; returns the
 * completeness flag, the JSON text in out. */
static bool str_json(const char *value, size_t max_out, char *out, size_t cap)
{
    struct jsonw w;
    jw_init(&w, out, cap);
    bool complete = jw_string(&w, NULL, value, max_out);
    assert_true(jw_ok(&w));
    assert_int_equal(w.len, strlen(out));
    return complete;
}

static void expect_str(const char *value, const char *json)
{
    char buf[512];
    assert_true(str_json(value, 0, buf, sizeof buf));
    assert_string_equal(buf, json);
}

static void test_plain_and_empty_strings(void **state)
{
    (void)state;
    expect_str("", "\"\"");
    expect_str("hello world", "\"hello world\"");
    expect_str("/usr/bin/rm -rf", "\"/usr/bin/rm -rf\"");
    expect_str("~!@#$%^&*()_+{}|:<>?`-=[];',./", "\"~!@#$%^&*()_+{}|:<>?`-=[];',./\"");
    /* NULL writes an empty string. */
    char buf[16];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    assert_true(jw_string(&w, NULL, NULL, 0));
    assert_string_equal(buf, "\"\"");
}

static void test_escapes_quote_backslash_whitespace(void **state)
{
    (void)state;
    expect_str("say \"hi\"", "\"say \\\"hi\\\"\"");
    expect_str("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    expect_str("a\nb", "\"a\\nb\"");
    expect_str("a\rb", "\"a\\rb\"");
    expect_str("a\tb", "\"a\\tb\"");
    expect_str("\"\\\n\r\t", "\"\\\"\\\\\\n\\r\\t\"");
}

static void test_escapes_control_bytes(void **state)
{
    (void)state;
    expect_str("\x01", "\"\\u0001\"");
    expect_str("a\x1f" "b", "\"a\\u001fb\"");
    expect_str("\x08\x0c\x0b", "\"\\u0008\\u000c\\u000b\"");
    expect_str("\x1b[31m", "\"\\u001b[31m\"");
    expect_str("\x7f", "\"\\u007f\"");
    /* Every byte 0x01..0x1f other than \n \r \t is \u00XX. */
    for (int c = 1; c < 0x20; c++) {
        if (c == '\n' || c == '\r' || c == '\t')
            continue;
        char in[2] = {(char)c, 0}, want[16], buf[32];
        snprintf(want, sizeof want, "\"\\u%04x\"", c);
        assert_true(str_json(in, 0, buf, sizeof buf));
        assert_string_equal(buf, want);
    }
}

static void test_valid_utf8_passes_through(void **state)
{
    (void)state;
    expect_str("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9 */
    expect_str("\xc2\x80", "\"\xc2\x80\"");                       /* U+0080, lowest 2-byte */
    expect_str("\xdf\xbf", "\"\xdf\xbf\"");                       /* U+07FF */
    expect_str("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");               /* U+0800, lowest 3-byte */
    expect_str("\xe2\x82\xac", "\"\xe2\x82\xac\"");               /* euro sign */
    expect_str("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");               /* U+D7FF, below surrogates */
    expect_str("\xee\x80\x80", "\"\xee\x80\x80\"");               /* U+E000, above surrogates */
    expect_str("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");               /* U+FFFF */
    expect_str("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");       /* U+10000 */
    expect_str("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");       /* emoji */
    expect_str("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");       /* U+10FFFF */
    expect_str("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
}

static void test_invalid_utf8_is_escaped(void **state)
{
    (void)state;
    expect_str("\xff", "\"\\u00ff\"");
    expect_str("\xfe", "\"\\u00fe\"");
    expect_str("a\x80z", "\"a\\u0080z\"");                  /* lone continuation */
    expect_str("\xc3", "\"\\u00c3\"");                       /* truncated at the end */
    expect_str("\xc3z", "\"\\u00c3z\"");                     /* truncated mid-string */
    expect_str("\xe2\x82", "\"\\u00e2\\u0082\"");            /* 3-byte cut short */
    expect_str("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\""); /* 4-byte cut short */
    /* Latin-1 text: each byte on its own. */
    expect_str("caf\xe9!", "\"caf\\u00e9!\"");
}

static void test_overlong_and_surrogates_rejected(void **state)
{
    (void)state;
    expect_str("\xc0\x80", "\"\\u00c0\\u0080\"");                    /* overlong NUL */
    expect_str("\xc1\xbf", "\"\\u00c1\\u00bf\"");                    /* overlong '?' */
    expect_str("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");         /* overlong '/' */
    expect_str("\xe0\x9f\xbf", "\"\\u00e0\\u009f\\u00bf\"");         /* overlong U+07FF */
    expect_str("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\""); /* overlong '/' */
    expect_str("\xf0\x8f\xbf\xbf", "\"\\u00f0\\u008f\\u00bf\\u00bf\""); /* overlong U+FFFF */
    expect_str("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");         /* U+D800 */
    expect_str("\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"");         /* U+DFFF */
    expect_str("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* U+110000 */
    expect_str("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\""); /* lead above F4 */
}

static void test_max_out_truncation(void **state)
{
    (void)state;
    char buf[128];
    /* Fits exactly: complete. */
    assert_true(str_json("abcde", 5, buf, sizeof buf));
    assert_string_equal(buf, "\"abcde\"");
    /* One over: cut, flagged. */
    assert_false(str_json("abcdef", 5, buf, sizeof buf));
    assert_string_equal(buf, "\"abcde\"");
    /* An escape that would straddle the cap is left out whole. */
    assert_false(str_json("abcd\x01", 6, buf, sizeof buf));
    assert_string_equal(buf, "\"abcd\"");
    assert_false(str_json("abcd\"", 5, buf, sizeof buf));
    assert_string_equal(buf, "\"abcd\"");
    assert_true(str_json("abcd\"", 6, buf, sizeof buf));
    assert_string_equal(buf, "\"abcd\\\"\"");
    assert_false(str_json("\x01\x02", 11, buf, sizeof buf));
    assert_string_equal(buf, "\"\\u0001\"");
    /* A multi-byte UTF-8 character is never split. */
    assert_false(str_json("ab\xe2\x82\xac", 4, buf, sizeof buf));
    assert_string_equal(buf, "\"ab\"");
    assert_true(str_json("ab\xe2\x82\xac", 5, buf, sizeof buf));
    assert_string_equal(buf, "\"ab\xe2\x82\xac\"");
    /* Property: for every cap, the output is a whole prefix of escapes. */
    const char *hostile = "a\"b\\c\x01\xe2\x82\xac\xff\n";
    const char *full = "a\\\"b\\\\c\\u0001\xe2\x82\xac\\u00ff\\n";
    size_t full_len = strlen(full);
    for (size_t cap = 1; cap <= full_len + 2; cap++) {
        bool complete = str_json(hostile, cap, buf, sizeof buf);
        size_t inner = strlen(buf) - 2;
        assert_true(inner <= cap);
        assert_int_equal(complete, cap >= full_len);
        assert_int_equal(buf[0], '"');
        assert_int_equal(buf[inner + 1], '"');
        assert_memory_equal(buf + 1, full, inner);
        /* The cut falls on an escape boundary: the next escape would not fit. */
        const size_t bounds[] = {0, 1, 3, 4, 6, 7, 13, 16, 22, 24};
        bool on_boundary = false;
        for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++)
            on_boundary |= inner == bounds[k];
        assert_true(on_boundary);
    }
}

static void test_buffer_overflow_turns_not_ok(void **state)
{
    (void)state;
    char buf[64];
    struct jsonw w;
    /* Exactly fits ("{}" + NUL = 3 bytes). */
    jw_init(&w, buf, 3);
    jw_object_begin(&w);
    jw_object_end(&w);
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "{}");
    /* One byte short. */
    memset(buf, 'X', sizeof buf);
    jw_init(&w, buf, 2);
    jw_object_begin(&w);
    jw_object_end(&w);
    assert_false(jw_ok(&w));
    assert_int_equal(buf[2], 'X'); /* nothing written past cap */
    /* A long string into a small buffer. */
    memset(buf, 'X', sizeof buf);
    jw_init(&w, buf, 16);
    jw_object_begin(&w);
    jw_string(&w, "k", "a fairly long value that cannot fit", 0);
    jw_object_end(&w);
    assert_false(jw_ok(&w));
    assert_true(w.len < 16);
    for (size_t i = 16; i < sizeof buf; i++)
        assert_int_equal(buf[i], 'X');
    /* Once overflowed it stays so, even if later pieces would fit. */
    jw_raw(&w, "", 0);
    jw_bool(&w, NULL, true);
    assert_false(jw_ok(&w));
    /* Zero capacity is never ok. */
    jw_init(&w, buf, 0);
    assert_false(jw_ok(&w));
    jw_object_begin(&w);
    assert_false(jw_ok(&w));
}

static void test_object_and_array_layout(void **state)
{
    (void)state;
    char buf[256];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_object_begin(&w);
    jw_uint(&w, "v", 1);
    jw_string(&w, "s", "x", 0);
    jw_array_begin(&w, "a");
    jw_string(&w, NULL, "p", 0);
    jw_string(&w, NULL, "q", 0);
    jw_uint(&w, NULL, 7);
    jw_array_end(&w);
    jw_array_begin(&w, "empty");
    jw_array_end(&w);
    jw_bool(&w, "t", true);
    jw_bool(&w, "f", false);
    jw_int(&w, "n", -5);
    jw_object_end(&w);
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "{\"v\":1,\"s\":\"x\",\"a\":[\"p\",\"q\",7],\"empty\":[],"
                             "\"t\":true,\"f\":false,\"n\":-5}");
    assert_int_equal(w.len, strlen(buf));
}

static void test_numbers(void **state)
{
    (void)state;
    char buf[256];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_array_begin(&w, NULL);
    jw_int(&w, NULL, 0);
    jw_int(&w, NULL, -1);
    jw_int(&w, NULL, 42);
    jw_int(&w, NULL, INT64_MAX);
    jw_int(&w, NULL, INT64_MIN);
    jw_int(&w, NULL, INT64_MIN + 1);
    jw_uint(&w, NULL, 0);
    jw_uint(&w, NULL, 10);
    jw_uint(&w, NULL, UINT64_MAX);
    jw_array_end(&w);
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "[0,-1,42,9223372036854775807,-9223372036854775808,"
                             "-9223372036854775807,0,10,18446744073709551615]");
}

static void test_raw(void **state)
{
    (void)state;
    char buf[16];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_raw(&w, "{\"a\":", 5);
    jw_raw(&w, "null}", 5);
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "{\"a\":null}");
    jw_raw(&w, "123456", 6); /* 10 + 6 = 16: no room for the NUL */
    assert_false(jw_ok(&w));
    assert_int_equal(w.len, 10);
}

static void expect_utc(uint64_t ns, const char *want)
{
    char out[32];
    memset(out, 'X', sizeof out);
    size_t n = format_utc_ms(out, ns);
    assert_int_equal(n, 24);
    assert_string_equal(out, want);
    assert_int_equal(out[25], 'X'); /* wrote 25 bytes, no more */
}

static void test_format_utc_ms(void **state)
{
    (void)state;
    const uint64_t S = 1000000000u;
    expect_utc(0, "1970-01-01T00:00:00.000Z");
    expect_utc(999999, "1970-01-01T00:00:00.000Z"); /* ms truncated, not rounded */
    expect_utc(1000000, "1970-01-01T00:00:00.001Z");
    expect_utc(999999999, "1970-01-01T00:00:00.999Z");
    expect_utc(86399 * S, "1970-01-01T23:59:59.000Z");
    expect_utc(86400 * S, "1970-01-02T00:00:00.000Z");
    expect_utc(951782400123000000u, "2000-02-29T00:00:00.123Z");
    expect_utc(951782399 * S + 999000000, "2000-02-28T23:59:59.999Z");
    expect_utc(951868800 * S, "2000-03-01T00:00:00.000Z");
    expect_utc(1795878808 * S + 123456789, "2026-11-28T15:13:28.123Z");
    expect_utc(UINT64_C(4107542399) * S, "2100-02-28T23:59:59.000Z");
    expect_utc(UINT64_C(4107542400) * S, "2100-03-01T00:00:00.000Z"); /* 2100: no Feb 29 */
    expect_utc(UINT64_C(4102444800) * S, "2100-01-01T00:00:00.000Z");
    expect_utc(1709164800 * S, "2024-02-29T00:00:00.000Z");
    expect_utc(1735689599 * S + 500000000, "2024-12-31T23:59:59.500Z");
    expect_utc(UINT64_MAX, "2554-07-21T23:34:33.709Z");
}

static void test_timestamp_field(void **state)
{
    (void)state;
    char buf[64];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    jw_object_begin(&w);
    jw_timestamp(&w, "ts", 951782400123000000u);
    jw_object_end(&w);
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "{\"ts\":\"2000-02-29T00:00:00.123Z\"}");
}
/* Bytes with NUL inside, and a UTF-8 sequence cut by the length, are
 * escaped byte by byte: nothing is read past len. */
static void test_bytes_with_nul_and_cut_sequence(void **state)
{
    (void)state;
    char buf[128];
    struct jsonw w;
    jw_init(&w, buf, sizeof buf);
    static const char data[] = {'Q', 0, 0, 0, 9, 'D', 'E', (char)0xc3, (char)0xa9};
    assert_true(jw_bytes(&w, NULL, data, sizeof data - 1, 0));
    assert_true(jw_ok(&w));
    assert_string_equal(buf, "\"Q\\u0000\\u0000\\u0000\\tDE\\u00c3\"");
    jw_init(&w, buf, sizeof buf);
    assert_true(jw_bytes(&w, NULL, data, sizeof data, 0));
    assert_string_equal(buf, "\"Q\\u0000\\u0000\\u0000\\tDE\xc3\xa9\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_empty_strings),
        cmocka_unit_test(test_escapes_quote_backslash_whitespace),
        cmocka_unit_test(test_escapes_control_bytes),
        cmocka_unit_test(test_valid_utf8_passes_through),
        cmocka_unit_test(test_invalid_utf8_is_escaped),
        cmocka_unit_test(test_overlong_and_surrogates_rejected),
        cmocka_unit_test(test_max_out_truncation),
        cmocka_unit_test(test_buffer_overflow_turns_not_ok),
        cmocka_unit_test(test_object_and_array_layout),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_format_utc_ms),
        cmocka_unit_test(test_timestamp_field),
        cmocka_unit_test(test_bytes_with_nul_and_cut_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
