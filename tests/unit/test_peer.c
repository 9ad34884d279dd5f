/* The simulated peer (shim/pure/peer.h): each protocol framed as its
 * clients send it (whole, byte by byte, pipelined), answered as the real
 * server would frame it, and each request handed over once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char out[16384];
    size_t out_len;
    unsigned replies; /* reply calls: answers are gathered, not written piecewise */
    char texts[16][PEER_TEXT_MAX + 1];
    enum impact_level levels[16];
    size_t requests;
    unsigned hang_ups;
};

static void on_reply(void *ctx, const void *b, size_t n)
{
    struct seen *s = ctx;
    assert_true(s->out_len + n <= sizeof s->out);
    memcpy(s->out + s->out_len, b, n);
    s->out_len += n;
    s->replies++;
}

static void on_request(void *ctx, const struct peer_request *rq)
{
    struct seen *s = ctx;
    assert_true(s->requests < 16);
    memcpy(s->texts[s->requests], rq->text, rq->len);
    s->texts[s->requests][rq->len] = '\0';
    s->levels[s->requests++] = rq->impact.level;
}

static void on_hang_up(void *ctx)
{
    ((struct seen *)ctx)->hang_ups++;
}

struct rig {
    struct peer peer;
    struct seen seen;
    struct peer_settings settings;
    struct peer_sink sink;
};

static struct rig *rig_new(enum peer_protocol protocol, uint16_t port)
{
    struct rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->sink = (struct peer_sink){on_reply, on_request, on_hang_up, &r->seen};
    peer_open(&r->peer, protocol, port, &r->settings, &r->sink);
    return r;
}

static void feed(struct rig *r, const void *b, size_t n)
{
    peer_feed(&r->peer, &r->settings, b, n, &r->sink);
}

static void feed_text(struct rig *r, const char *text)
{
    feed(r, text, strlen(text));
}

/* The same bytes one at a time: framing must not depend on how sends cut them. */
static void feed_bytewise(struct rig *r, const void *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        feed(r, (const char *)b + i, 1);
}

static void assert_out(struct rig *r, const void *expected, size_t n)
{
    if (r->seen.out_len != n || memcmp(r->seen.out, expected, n) != 0) {
        fprintf(stderr, "got %zu bytes: ", r->seen.out_len);
        fwrite(r->seen.out, 1, r->seen.out_len, stderr);
        fprintf(stderr, "\n");
        fail_msg("the peer's answer differs");
    }
}

#define ASSERT_OUT(r, literal) assert_out(r, literal, sizeof literal - 1)

/* ---- detection ----------------------------------------------------------- */

static void test_detect(void **state)
{
    (void)state;
    static const unsigned char ssl[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    static const unsigned char tls[5] = {0x16, 0x03, 0x01, 0x02, 0x00};
    assert_int_equal(peer_detect(ssl, 8), PEER_POSTGRESQL);
    assert_int_equal(peer_detect(tls, 5), PEER_TLS);
    assert_int_equal(peer_detect("GET / HTTP/1.1\r\n", 16), PEER_HTTP);
    assert_int_equal(peer_detect("*1\r\n$4\r\nPING\r\n", 14), PEER_REDIS);
    assert_int_equal(peer_detect("PING\r\n", 6), PEER_REDIS);
    assert_int_equal(peer_detect("howdy there\n", 12), PEER_AUTO);
    assert_int_equal(peer_protocol_of_port(6379), PEER_REDIS);
    assert_int_equal(peer_protocol_of_port(5432), PEER_POSTGRESQL);
    assert_int_equal(peer_protocol_of_port(12345), PEER_AUTO);
}

static void test_begins_request(void **state)
{
    (void)state;
    assert_true(peer_begins_request(PEER_HTTP, "GET /x HTTP/1.1\r\n", 17));
    assert_false(peer_begins_request(PEER_HTTP, "{\"body\":1}", 10));
    assert_true(peer_begins_request(PEER_REDIS, "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n", 20));
    assert_false(peer_begins_request(PEER_REDIS, "*2\r\n$4\r\nAUTH\r\n$1\r\np\r\n", 21));
    assert_false(peer_begins_request(PEER_REDIS, "*1\r\n$4\r\nPING\r\n", 14));
    assert_true(peer_begins_request(PEER_POSTGRESQL, "Q\0\0\0\x0dSELECT 1\0", 14));
    assert_false(peer_begins_request(PEER_POSTGRESQL, "X\0\0\0\x04", 5));
    assert_false(peer_begins_request(PEER_POSTGRESQL, "p\0\0\0\x09pass\0", 10));
}

/* ---- HTTP ---------------------------------------------------------------- */

static const char DEFAULT_ANSWER[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 37\r\n"
    "X-Enact-Dry-Run: simulated\r\nConnection: keep-alive\r\n\r\n"
    "{\"enact\":\"dry_run\",\"simulated\":true}\n";

static void test_http_keep_alive(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_AUTO, 18080);
    feed_text(r, "DELETE /items/7 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(r->seen.requests, 1);
    assert_string_equal(r->seen.texts[0], "DELETE /items/7 HTTP/1.1");
    assert_int_equal(r->seen.levels[0], IMPACT_HIGH);
    ASSERT_OUT(r, DEFAULT_ANSWER);
    r->seen.out_len = 0;
    const char post[] = "POST /items HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    feed_bytewise(r, post, sizeof post - 1);
    assert_int_equal(r->seen.requests, 2);
    assert_int_equal(r->seen.levels[1], IMPACT_MEDIUM);
    ASSERT_OUT(r, DEFAULT_ANSWER);
    assert_int_equal(r->seen.hang_ups, 0);
    free(r);
}

static void test_http_body_waits_for_the_whole_request(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_HTTP, 1);
    feed_text(r, "PUT /a HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    ASSERT_OUT(r, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(r->seen.requests, 0);
    feed_text(r, "0123456789");
    assert_int_equal(r->seen.requests, 1);
    free(r);
}

static void test_http_chunked_and_close(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_HTTP, 1);
    r->settings.http_status = 204;
    feed_text(r, "PATCH /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n");
    assert_int_equal(r->seen.requests, 1);
    ASSERT_OUT(r, "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n"
                  "Content-Length: 0\r\nX-Enact-Dry-Run: simulated\r\nConnection: close\r\n\r\n");
    assert_int_equal(r->seen.hang_ups, 1);
    free(r);
}

static void test_http_custom_body_and_head(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_HTTP, 1);
    r->settings.http_body = "done";
    r->settings.http_body_len = 4;
    feed_text(r, "HEAD / HTTP/1.0\r\n\r\n");
    ASSERT_OUT(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                  "X-Enact-Dry-Run: simulated\r\nConnection: close\r\n\r\n");
    assert_int_equal(r->seen.levels[0], IMPACT_LOW);
    free(r);
}

static void test_http_head_too_long(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_HTTP, 1);
    char big[PEER_HEAD_MAX + 100];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    feed(r, big, sizeof big);
    assert_int_equal(r->seen.hang_ups, 1);
    assert_memory_equal(r->seen.out, "HTTP/1.1 431 ", 13);
    free(r);
}

/* ---- Redis --------------------------------------------------------------- */

static void test_redis_commands(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_AUTO, 6379);
    const char pipeline[] = "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n"
                            "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"
                            "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                            "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
                            "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$2\r\n-5\r\n"
                            "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n"
                            "*1\r\n$4\r\nPING\r\n"
                            "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$3\r\nGET\r\n";
    feed_bytewise(r, pipeline, sizeof pipeline - 1);
    ASSERT_OUT(r, ":2\r\n+OK\r\n$-1\r\n:1\r\n:-5\r\n*2\r\n$-1\r\n$-1\r\n+PONG\r\n$-1\r\n");
    assert_int_equal(r->seen.requests, 7); /* PING is chatter */
    assert_string_equal(r->seen.texts[0], "DEL a b");
    assert_int_equal(r->seen.levels[0], IMPACT_HIGH);
    assert_string_equal(r->seen.texts[1], "SET k v");
    assert_int_equal(r->seen.levels[1], IMPACT_MEDIUM);
    assert_int_equal(r->seen.levels[2], IMPACT_LOW);
    free(r);
}

static void test_redis_answers_a_pipeline_at_once(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_REDIS, 1);
    const char two[] = "*1\r\n$8\r\nFLUSHALL\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    feed(r, two, sizeof two - 1);
    ASSERT_OUT(r, "+OK\r\n$-1\r\n");
    assert_int_equal(r->seen.replies, 1);
    assert_int_equal(r->seen.levels[0], IMPACT_HIGH);
    free(r);
}

static void test_redis_multi_exec(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_REDIS, 1);
    feed_text(r, "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n"
                 "*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n");
    ASSERT_OUT(r, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n");
    assert_int_equal(r->seen.requests, 2);
    assert_string_equal(r->seen.texts[1], "DEL x");
    free(r);
}

static void test_redis_inline_and_big_values(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_AUTO, 1);
    feed_text(r, "FLUSHALL\r\n");
    ASSERT_OUT(r, "+OK\r\n");
    r->seen.out_len = 0;
    /* A value far larger than the buffer: answered once whole, text cut. */
    size_t big = 3 * PEER_HEAD_MAX;
    char head[64];
    int n = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", big);
    feed(r, head, (size_t)n);
    char *value = malloc(big + 2);
    memset(value, 'v', big);
    memcpy(value + big, "\r\n", 2);
    feed(r, value, big + 2);
    ASSERT_OUT(r, "+OK\r\n");
    assert_int_equal(r->seen.requests, 2);
    size_t len = strlen(r->seen.texts[1]);
    assert_true(len < PEER_TEXT_MAX);
    assert_memory_equal(r->seen.texts[1] + len - 3, "...", 3);
    free(value);
    free(r);
}

static void test_redis_protocol_error(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_REDIS, 1);
    feed_text(r, "*2\r\n:oops\r\n");
    ASSERT_OUT(r, "-ERR Protocol error\r\n");
    assert_int_equal(r->seen.hang_ups, 1);
    free(r);
}

/* ---- PostgreSQL ---------------------------------------------------------- */

static size_t pg_message(char *out, char type, const char *body, size_t len)
{
    out[0] = type;
    uint32_t n = (uint32_t)len + 4;
    out[1] = (char)(n >> 24), out[2] = (char)(n >> 16), out[3] = (char)(n >> 8), out[4] = (char)n;
    memcpy(out + 5, body, len);
    return len + 5;
}

/* A start-up packet: length, protocol 3.0, user and database. */
static size_t pg_startup(char *out, const char *user)
{
    size_t n = 8;
    const char *params[] = {"user", user, "database", "shop"};
    for (size_t i = 0; i < 4; i++) {
        memcpy(out + n, params[i], strlen(params[i]) + 1);
        n += strlen(params[i]) + 1;
    }
    out[n++] = '\0';
    const unsigned char head[8] = {0, 0, (unsigned char)(n >> 8), (unsigned char)n, 0, 3, 0, 0};
    memcpy(out, head, 8);
    return n;
}

static size_t pg_query(char *out, const char *sql)
{
    return pg_message(out, 'Q', sql, strlen(sql) + 1);
}

/* The types of the messages in the peer's answer, in order. */
static void message_types(const struct seen *s, char *types, size_t cap)
{
    size_t k = 0, at = 0;
    while (at + 5 <= s->out_len && k + 1 < cap) {
        if (s->out[at] == 'N' && at + 5 > s->out_len) {
            break;
        }
        const unsigned char *u = (const unsigned char *)s->out + at;
        uint32_t n = (uint32_t)u[1] << 24 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 8 | u[4];
        types[k++] = (char)u[0];
        at += 1 + n;
    }
    types[k] = '\0';
}

static void test_postgresql_startup_and_simple_query(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_AUTO, 15432);
    static const unsigned char ssl[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    feed(r, ssl, 8);
    ASSERT_OUT(r, "N");
    r->seen.out_len = 0;
    char startup[64];
    feed(r, startup, pg_startup(startup, "alice"));
    char types[64];
    message_types(&r->seen, types, sizeof types);
    assert_string_equal(types, "RSSSSSSSSSSKZ");
    assert_int_equal(r->seen.requests, 0);
    r->seen.out_len = 0;
    char q[256];
    size_t n = pg_query(q, "BEGIN; DELETE FROM t WHERE note = 'a;b'; SELECT * FROM t; COMMIT");
    feed_bytewise(r, q, n);
    message_types(&r->seen, types, sizeof types);
    assert_string_equal(types, "CCTCCZ");
    assert_int_equal(r->seen.requests, 2);
    assert_string_equal(r->seen.texts[0], "DELETE FROM t WHERE note = 'a;b'");
    assert_int_equal(r->seen.levels[0], IMPACT_HIGH);
    assert_string_equal(r->seen.texts[1], "SELECT * FROM t");
    assert_int_equal(r->seen.levels[1], IMPACT_LOW);
    /* Each CommandComplete names its verb: "BEGIN", "DELETE 0", "SELECT 0", "COMMIT". */
    assert_non_null(memmem(r->seen.out, r->seen.out_len, "DELETE 0\0", 9));
    assert_non_null(memmem(r->seen.out, r->seen.out_len, "SELECT 0\0", 9));
    assert_int_equal(r->seen.out[r->seen.out_len - 1], 'I'); /* idle after COMMIT */
    free(r);
}

static void test_postgresql_extended_query(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_POSTGRESQL, 1);
    char startup[64];
    feed(r, startup, pg_startup(startup, "bob"));
    r->seen.out_len = 0;
    char flight[512];
    size_t n = 0;
    const char parse[] = "\0DROP TABLE t WHERE id = $1\0\0\0";
    n += pg_message(flight + n, 'P', parse, sizeof parse - 1);
    n += pg_message(flight + n, 'D', "S", 2);
    n += pg_message(flight + n, 'B', "\0\0\0\0\0\0\0\0\0\0", 10);
    n += pg_message(flight + n, 'E', "\0\0\0\0\0", 5);
    n += pg_message(flight + n, 'S', "", 0);
    feed(r, flight, n);
    char types[64];
    message_types(&r->seen, types, sizeof types);
    assert_string_equal(types, "1tn2CZ");
    assert_int_equal(r->seen.requests, 1);
    assert_string_equal(r->seen.texts[0], "DROP TABLE t WHERE id = $1");
    assert_non_null(memmem(r->seen.out, r->seen.out_len, "DROP TABLE\0", 11));
    n = pg_message(flight, 'X', "", 0);
    feed(r, flight, n);
    assert_int_equal(r->seen.hang_ups, 1);
    free(r);
}

static void test_postgresql_long_statement_is_cut_not_lost(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_POSTGRESQL, 1);
    char startup[64];
    feed(r, startup, pg_startup(startup, "bob"));
    size_t len = 3 * PEER_HEAD_MAX;
    char *sql = malloc(len + 1);
    memset(sql, ' ', len);
    memcpy(sql, "INSERT INTO t VALUES ('", 23);
    memcpy(sql + len - 2, "')", 2);
    sql[len] = '\0';
    char *q = malloc(len + 16);
    size_t n = pg_query(q, sql);
    feed(r, q, n);
    r->seen.out_len = 0;
    n = pg_query(q, "SELECT 1");
    feed(r, q, n);
    assert_int_equal(r->seen.requests, 2);
    assert_int_equal(r->seen.levels[0], IMPACT_MEDIUM);
    assert_string_equal(r->seen.texts[1], "SELECT 1");
    free(sql);
    free(q);
    free(r);
}

/* ---- raw, TLS, close ----------------------------------------------------- */

static void test_raw_answers_each_request_and_shows_nul(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof *r);
    r->settings.response = "ok\n";
    r->settings.response_len = 3;
    r->sink = (struct peer_sink){on_reply, on_request, on_hang_up, &r->seen};
    peer_open(&r->peer, PEER_RAW, 1, &r->settings, &r->sink);
    assert_int_equal(r->seen.out_len, 0); /* it never speaks first */
    feed(r, "a\0b", 3);
    ASSERT_OUT(r, "ok\n");
    feed(r, "c", 1);
    ASSERT_OUT(r, "ok\n");
    peer_flush(&r->peer, &r->settings, &r->sink);
    assert_int_equal(r->seen.requests, 1);
    assert_string_equal(r->seen.texts[0], "a\\x00bc");
    feed(r, "d", 1);
    ASSERT_OUT(r, "ok\nok\n");
    free(r);
}

static void test_raw_without_response_hangs_up(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_RAW, 1);
    assert_int_equal(r->seen.hang_ups, 1);
    free(r);
}

static void test_tls_and_nothing_sent_close_with_one_record(void **state)
{
    (void)state;
    struct rig *r = rig_new(PEER_AUTO, 1);
    static const unsigned char hello[6] = {0x16, 0x03, 0x01, 0x00, 0x01, 0x01};
    feed(r, hello, sizeof hello);
    assert_int_equal(r->seen.hang_ups, 1);
    peer_close(&r->peer, &r->settings, &r->sink);
    assert_int_equal(r->seen.requests, 1);
    free(r);
    r = rig_new(PEER_AUTO, 6379);
    peer_close(&r->peer, &r->settings, &r->sink);
    assert_int_equal(r->seen.requests, 1);
    assert_string_equal(r->seen.texts[0], "");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_begins_request),
        cmocka_unit_test(test_http_keep_alive),
        cmocka_unit_test(test_http_body_waits_for_the_whole_request),
        cmocka_unit_test(test_http_chunked_and_close),
        cmocka_unit_test(test_http_custom_body_and_head),
        cmocka_unit_test(test_http_head_too_long),
        cmocka_unit_test(test_redis_commands),
        cmocka_unit_test(test_redis_answers_a_pipeline_at_once),
        cmocka_unit_test(test_redis_multi_exec),
        cmocka_unit_test(test_redis_inline_and_big_values),
        cmocka_unit_test(test_redis_protocol_error),
        cmocka_unit_test(test_postgresql_startup_and_simple_query),
        cmocka_unit_test(test_postgresql_extended_query),
        cmocka_unit_test(test_postgresql_long_statement_is_cut_not_lost),
        cmocka_unit_test(test_raw_answers_each_request_and_shows_nul),
        cmocka_unit_test(test_raw_without_response_hangs_up),
        cmocka_unit_test(test_tls_and_nothing_sent_close_with_one_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
