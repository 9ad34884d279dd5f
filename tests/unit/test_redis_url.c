/* Unit tests for redis_url.c: reading redis://, rediss://, redis+unix:// and
 * unix:// URLs (credentials, IPv6, database) and the address shown for them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "redis_url.h"

static struct redis_url parse_ok(const char *text)
{
    struct redis_url u;
    char why[256] = "";
    if (!redis_url_parse(text, &u, why, sizeof why))
        fail_msg("redis_url_parse('%s') failed: %s", text, why);
    return u;
}

/* Refused, with a sentence saying why. */
static void parse_fails(const char *text)
{
    struct redis_url u;
    char why[256] = "";
    if (redis_url_parse(text, &u, why, sizeof why))
        fail_msg("redis_url_parse('%s') was accepted", text);
    if (strlen(why) < 10)
        fail_msg("redis_url_parse('%s') gave no reason: '%s'", text, why);
}

static void assert_where(const struct redis_url *u, const char *want)
{
    char where[512];
    redis_url_where(u, where, sizeof where);
    assert_string_equal(where, want);
}

static void test_defaults(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://localhost");
    assert_int_equal(u.transport, REDIS_TCP);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_string_equal(u.path, "");

    u = parse_ok("redis://10.0.0.7:7001");
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.port, 7001);

    u = parse_ok("redis://h/");
    assert_int_equal(u.db, 0);
    assert_int_equal(u.port, 6379);
}

static void test_tls(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("rediss://cache.example.com:6380");
    assert_int_equal(u.transport, REDIS_TLS);
    assert_string_equal(u.host, "cache.example.com");
    assert_int_equal(u.port, 6380);
    u = parse_ok("rediss://cache.example.com");
    assert_int_equal(u.transport, REDIS_TLS);
    assert_int_equal(u.port, 6379);
}

static void test_user_and_password(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://enact:s3cret@redis.internal:6390/4");
    assert_string_equal(u.user, "enact");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "redis.internal");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 4);

    /* A colon in the password: the user ends at the first one. */
    u = parse_ok("redis://enact:a:b:c@h");
    assert_string_equal(u.user, "enact");
    assert_string_equal(u.password, "a:b:c");
}

/* redis://:pw@h names only a password; redis://enact@h only a user (an
 * ACL user whose password is read from a file). */
static void test_password_only(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://:pw@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.host, "h");
    u = parse_ok("redis://enact@h");
    assert_string_equal(u.user, "enact");
    assert_string_equal(u.password, "");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 6379);
    u = parse_ok("redis://:@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
}

static void test_percent_encoded(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://:p%40ss%2Fw%3a%25@h");
    assert_string_equal(u.password, "p@ss/w:%");
    assert_string_equal(u.host, "h");
    u = parse_ok("redis://al%69ce:x@h");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "x");
}

/* An unencoded '@' or '/' in a password: the host follows the last '@'. */
static void test_password_with_at_and_slash(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://enact:p@ss/w@rd@10.1.2.3:6380/2");
    assert_string_equal(u.user, "enact");
    assert_string_equal(u.password, "p@ss/w@rd");
    assert_string_equal(u.host, "10.1.2.3");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);

    u = parse_ok("redis://:a/b@h");
    assert_string_equal(u.password, "a/b");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.db, 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://[::1]:6380");
    assert_int_equal(u.transport, REDIS_TCP);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    u = parse_ok("rediss://:pw@[2001:db8::5]/7");
    assert_int_equal(u.transport, REDIS_TLS);
    assert_string_equal(u.host, "2001:db8::5");
    assert_int_equal(u.port, 6379);
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.db, 7);
}

static void test_database(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://h/3");
    assert_int_equal(u.db, 3);
    u = parse_ok("redis://h:6379/15");
    assert_int_equal(u.db, 15);
    assert_int_equal(u.port, 6379);
    u = parse_ok("redis://h?db=9");
    assert_int_equal(u.db, 9);
}

static void test_unix_socket(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis+unix:///run/redis.sock?db=2");
    assert_int_equal(u.transport, REDIS_UNIX);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.host, "");
    assert_string_equal(u.password, "");

    u = parse_ok("unix:///var/run/redis/redis-server.sock");
    assert_int_equal(u.transport, REDIS_UNIX);
    assert_string_equal(u.path, "/var/run/redis/redis-server.sock");
    assert_int_equal(u.db, 0);

    u = parse_ok("redis+unix://enact:p%40ss@/run/redis.sock?db=1");
    assert_string_equal(u.user, "enact");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.path, "/run/redis.sock");
    assert_int_equal(u.db, 1);

    u = parse_ok("unix://:pw@/tmp/r.sock");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.path, "/tmp/r.sock");

    /* The longest path sun_path holds (107 bytes and its NUL) fits. */
    char text[160] = "redis+unix://";
    size_t n = strlen(text);
    text[n] = '/';
    memset(text + n + 1, 'p', REDIS_PATH_MAX - 2);
    text[n + REDIS_PATH_MAX - 1] = '\0';
    u = parse_ok(text);
    assert_int_equal(strlen(u.path), REDIS_PATH_MAX - 1);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "local",
        "http://h:6379",
        "redis:/h",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:abc",
        "redis://h:",
        "redis://h:-1",
        "redis://h:99999999999",
        "redis://",
        "redis://:6379",
        "redis://:pw@",
        "redis://:pw@:6379",
        "redis:///0",
        "redis://[::1",
        "redis://[::1:6379",
        "redis://[]:6379",
        "redis://[::1]x",
        "redis://[::1]6379",
        "redis://h/x",
        "redis://h/-1",
        "redis://h/1a",
        "redis://h/99999999999",
        "redis://h/3/4",
        "redis://h?database=1",
        "redis://h?db=",
        "redis://h?db=x",
        "redis://h?db=1&x=2",
        "redis://h?timeout=1",
        "redis+unix:///run/r.sock?foo=1",
        "redis://:%zz@h",
        "redis://:%4@h",
        "redis://:pw%@h",
        "redis://:%00@h",
        "redis://%zz:pw@h",
        "redis+unix://:%zz@/run/r.sock",
        "redis+unix://",
        "redis+unix://run/r.sock",
        "redis+unix://host/run/r.sock",
        "redis://h%20x",
        "redis://h x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_fails(bad[i]);

    /* A socket path too long for sun_path. */
    char text[200] = "redis+unix://";
    size_t n = strlen(text);
    text[n] = '/';
    memset(text + n + 1, 'p', REDIS_PATH_MAX - 1);
    text[n + REDIS_PATH_MAX] = '\0';
    parse_fails(text);

    /* A host, a user and a password longer than 255 characters. */
    char big[400];
    memset(big, 'h', sizeof big);
    memcpy(big, "redis://", 8);
    big[8 + REDIS_HOST_MAX] = '\0';
    parse_fails(big);
    memcpy(big, "redis://:", 9);
    memset(big + 9, 'p', REDIS_SECRET_MAX);
    memcpy(big + 9 + REDIS_SECRET_MAX, "@h", 3);
    parse_fails(big);
    memcpy(big, "redis://", 8);
    memset(big + 8, 'u', REDIS_SECRET_MAX);
    memcpy(big + 8 + REDIS_SECRET_MAX, ":p@h", 5);
    parse_fails(big);
    /* 255 of them is fine. */
    memcpy(big, "redis://:", 9);
    memset(big + 9, 'p', REDIS_SECRET_MAX - 1);
    memcpy(big + 9 + REDIS_SECRET_MAX - 1, "@h", 3);
    struct redis_url u = parse_ok(big);
    assert_int_equal(strlen(u.password), REDIS_SECRET_MAX - 1);
}

/* Each error says something different enough to act on. */
static void test_error_sentences(void **state)
{
    (void)state;
    struct redis_url u;
    char why[256];
    assert_false(redis_url_parse("memcached://h", &u, why, sizeof why));
    assert_non_null(strstr(why, "redis://"));
    assert_false(redis_url_parse("redis://h:65536", &u, why, sizeof why));
    assert_non_null(strstr(why, "port"));
    assert_false(redis_url_parse("redis://[::1", &u, why, sizeof why));
    assert_non_null(strstr(why, "]"));
    assert_false(redis_url_parse("redis://h?x=1", &u, why, sizeof why));
    assert_non_null(strstr(why, "db"));
    assert_false(redis_url_parse("redis://:%zz@h", &u, why, sizeof why));
    assert_non_null(strstr(why, "password"));
    /* A small why is cut, still terminated. */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    assert_false(redis_url_parse("redis://h:0", &u, tiny, sizeof tiny));
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

static void test_where(void **state)
{
    (void)state;
    struct redis_url u = parse_ok("redis://127.0.0.1");
    assert_where(&u, "127.0.0.1:6379");
    u = parse_ok("rediss://[::1]:6380/2");
    assert_where(&u, "[::1]:6380");
    u = parse_ok("redis+unix:///run/redis.sock?db=3");
    assert_where(&u, "unix:/run/redis.sock");

    /* Never the credentials, in any form. */
    static const char *const secret[] = {
        "redis://enact:hunter2@cache:6390/1",
        "redis://:hunter2@cache",
        "rediss://:hunter2@[fd00::9]:6380",
        "redis+unix://enact:hunter2@/run/redis.sock",
    };
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        u = parse_ok(secret[i]);
        assert_string_equal(u.password, "hunter2");
        char where[512];
        redis_url_where(&u, where, sizeof where);
        if (strstr(where, "hunter2") || strchr(where, '@'))
            fail_msg("'%s' is shown as '%s'", secret[i], where);
    }
    u = parse_ok("redis://enact:hunter2@cache:6390/1");
    assert_where(&u, "cache:6390");

    /* A small buffer is cut, still terminated. */
    char small[6];
    u = parse_ok("redis://127.0.0.1");
    redis_url_where(&u, small, sizeof small);
    assert_string_equal(small, "127.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_user_and_password),
        cmocka_unit_test(test_password_only),
        cmocka_unit_test(test_percent_encoded),
        cmocka_unit_test(test_password_with_at_and_slash),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_database),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_sentences),
        cmocka_unit_test(test_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
