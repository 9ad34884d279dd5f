/* Unit tests for audit_read.c: records written by audit.c read back, and
 * anything else refused without reading past the line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "audit_sink.h"
#include "audit_read.h"

static void test_round_trip(void **state)
{
    (void)state;
    char *argv[] = {"rm", "-rf", "/tmp/a b", NULL};
    struct audit_event ev = {
        .unix_ns = UINT64_C(1795878808123000000),
        .pid = 4242,
        .agent = "my \"agent\"",
        .exe = "python3",
        .op = "exec",
        .tool = "shell",
        .target = "/usr/bin/rm",
        .argv = argv,
        .verdict = "deny",
        .reason = "rate_limited",
        .errno_name = "EPERM",
        .has_retry_after = true,
        .retry_after_ms = 850,
        .detail = "line1\nline2\ttab \x01 \xff",
    };
    char line[AUDIT_RECORD_MAX];
    size_t n = audit_format(&ev, line, sizeof line);
    assert_true(n > 0);
    struct audit_fields f;
    assert_true(audit_parse(line, n, &f));
    assert_string_equal(f.v[AF_AGENT], "my \"agent\"");
    assert_string_equal(f.v[AF_PID], "4242");
    assert_string_equal(f.v[AF_ARGV], "rm -rf /tmp/a b");
    assert_string_equal(f.v[AF_VERDICT], "deny");
    assert_string_equal(f.v[AF_RETRY_AFTER_MS], "850");
    /* \u0001 comes back as the byte; an invalid byte as U+00FF in UTF-8. */
    assert_string_equal(f.v[AF_DETAIL], "line1\nline2\ttab \x01 \xc3\xbf");
    assert_null(f.v[AF_HOST]);
    assert_null(f.v[AF_WOULD_EXECUTE]);
    assert_int_equal(audit_time_ns(&f), UINT64_C(1795878808123000000));
}

static void test_dry_run_record(void **state)
{
    (void)state;
    const char sent[] = "*1\r\n$8\r\nFLUSHALL\r\n\0x";
    struct audit_event ev = {.unix_ns = 1, .pid = 1, .op = "connect", .tool = "redis",
                             .verdict = "dry_run", .would_execute = sent,
                             .would_execute_len = sizeof sent - 1, .impact = "HIGH",
                             .impact_reason = "Redis FLUSHALL"};
    char line[AUDIT_RECORD_MAX];
    size_t n = audit_format(&ev, line, sizeof line);
    struct audit_fields f;
    assert_true(audit_parse(line, n, &f));
    assert_string_equal(f.v[AF_IMPACT], "HIGH");
    /* The NUL byte cuts the C string: what comes before it is intact. */
    assert_string_equal(f.v[AF_WOULD_EXECUTE], "*1\r\n$8\r\nFLUSHALL\r\n");
}

static void test_not_records(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "{", "}", "[]", "{\"a\":}", "{\"a\":\"x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\" 1}",
        "{\"a\":\"\x01\"}", "{a:1}",
    };
    struct audit_fields f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(audit_parse(bad[i], strlen(bad[i]), &f));
    assert_true(audit_parse("{}", 2, &f));
    assert_true(audit_parse("{\"x\":true,\"ts\":\"bad\"}\n", 21, &f));
    assert_int_equal(audit_time_ns(&f), 0);
    /* A time past 64 bits of nanoseconds is no time, not a wrapped one
     * (found by fuzz_audit_read: 2555 read as 1970-06-13). */
    const char *far = "{\"ts\":\"2555-01-01T00:00:00.000Z\"}";
    assert_true(audit_parse(far, strlen(far), &f));
    assert_int_equal(audit_time_ns(&f), 0);
    const char *near = "{\"ts\":\"2500-12-31T23:59:59.999Z\"}";
    assert_true(audit_parse(near, strlen(near), &f));
    assert_true(audit_time_ns(&f) > UINT64_C(16725225600) * 1000000000u);
    /* A cut line (the length ends inside a string) is refused. */
    const char *whole = "{\"verdict\":\"deny\"}";
    for (size_t n = 0; n < strlen(whole); n++)
        assert_false(audit_parse(whole, n, &f));
}

/* Random bytes and random cuts of a real record: never a crash (run under
 * ASan), and a record is only ever read whole. */
static void test_garbage(void **state)
{
    (void)state;
    uint64_t seed = 7;
    char buf[600];
    struct audit_fields f;
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrt \x01\xff";
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t want = (size_t)(seed >> 33) % sizeof buf;
        buf[len++] = '{';
        while (len < want) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            buf[len++] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        (void)audit_parse(exact, len, &f);
        free(exact);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_dry_run_record),
        cmocka_unit_test(test_not_records),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
