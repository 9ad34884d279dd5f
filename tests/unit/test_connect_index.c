/* The connect-rule index gives the rule a plain scan in file order gives:
 * random mixes of exact addresses, CIDRs, any-host, DNS-name and unix rules
 * with port ranges, against random destinations near and far from them. */
#include "helpers.h"

#include "config.h"
#include "connect_index.h"

/* xorshift64*: reproducible from its seed. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static long scan(const struct tool *tools, size_t ntools, const struct net_target *t)
{
    for (size_t i = 0; i < ntools; i++)
        for (size_t j = 0; j < tools[i].nconnect; j++)
            if (connect_rule_matches(&tools[i].connect[j], t))
                return (long)i;
    return -1;
}

static void parse_rule(const char *text, struct connect_rule *out)
{
    struct connect_rule r[CONNECT_RULE_MAX_EXPANSION];
    size_t n = 0;
    char err[256];
    assert_true(connect_rule_parse(text, r, &n, err, sizeof err));
    assert_int_equal(n, 1);
    *out = r[0];
}

/* A random rule over a small space of addresses and ports, so that rules
 * and destinations often meet. */
static void random_rule(uint64_t *s, struct connect_rule *out)
{
    char text[96];
    unsigned a = (unsigned)(rnd(s) % 4), b = (unsigned)(rnd(s) % 6);
    unsigned port = 80 + (unsigned)(rnd(s) % 4);
    switch (rnd(s) % 8) {
    case 0:
        snprintf(text, sizeof text, "10.%u.0.0/16:%u", a, port);
        break;
    case 1:
        snprintf(text, sizeof text, "*:%u", port);
        break;
    case 2:
        snprintf(text, sizeof text, "host%u.example:%u-%u", b, port, port + 1);
        break;
    case 3:
        snprintf(text, sizeof text, "unix:/run/s%u.sock", b);
        break;
    case 4:
        snprintf(text, sizeof text, "[fd00::%u]:%u", b, port);
        break;
    default:
        snprintf(text, sizeof text, "10.%u.0.%u:%u-%u", a, b, port, port + (unsigned)(rnd(s) % 2));
        break;
    }
    parse_rule(text, out);
}

static struct net_target random_target(uint64_t *s)
{
    static const char *hosts[] = {"host0.example", "host3.example", NULL};
    struct net_target t = {.kind = TARGET_INET, .port = (uint16_t)(80 + rnd(s) % 5)};
    if (rnd(s) % 10 == 0) {
        t.kind = TARGET_UNIX;
        snprintf(t.path, sizeof t.path, "/run/s%u.sock", (unsigned)(rnd(s) % 6));
        return t;
    }
    if (rnd(s) % 5 == 0) {
        t.addr[0] = 0xfd;
        t.addr[15] = (uint8_t)(rnd(s) % 6);
    } else {
        t.addr[10] = t.addr[11] = 0xff;
        t.addr[12] = 10;
        t.addr[13] = (uint8_t)(rnd(s) % 4);
        t.addr[15] = (uint8_t)(rnd(s) % 6);
    }
    t.host = hosts[rnd(s) % 3];
    return t;
}

static void test_index_agrees_with_a_scan(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 300; round++) {
        size_t ntools = 1 + rnd(&seed) % 12;
        struct tool *tools = calloc(ntools, sizeof *tools);
        assert_non_null(tools);
        for (size_t i = 0; i < ntools; i++) {
            tools[i].nconnect = rnd(&seed) % 4;
            tools[i].connect = calloc(tools[i].nconnect + 1, sizeof *tools[i].connect);
            assert_non_null(tools[i].connect);
            for (size_t j = 0; j < tools[i].nconnect; j++)
                random_rule(&seed, &tools[i].connect[j]);
        }
        struct connect_index ix;
        assert_true(connect_index_build(&ix, tools, ntools));
        for (int k = 0; k < 200; k++) {
            struct net_target t = random_target(&seed);
            assert_int_equal(connect_index_match(&ix, &t), scan(tools, ntools, &t));
        }
        connect_index_free(&ix);
        for (size_t i = 0; i < ntools; i++) {
            for (size_t j = 0; j < tools[i].nconnect; j++)
                connect_rule_free(&tools[i].connect[j]);
            free(tools[i].connect);
        }
        free(tools);
    }
}

static void test_empty_index_matches_nothing(void **state)
{
    (void)state;
    struct connect_index ix;
    assert_true(connect_index_build(&ix, NULL, 0));
    struct net_target t = {.kind = TARGET_INET, .port = 80};
    assert_int_equal(connect_index_match(&ix, &t), -1);
    connect_index_free(&ix);
}

/* An exact rule written after a broader one loses to it; written before,
 * it wins: the hash never jumps the file order. */
static void test_file_order_across_hash_and_scan(void **state)
{
    (void)state;
    struct tool tools[3] = {0};
    struct connect_rule r[3];
    parse_rule("10.0.0.0/8:80", &r[0]);
    parse_rule("10.1.2.3:80", &r[1]);
    parse_rule("10.1.2.4:80", &r[2]);
    tools[0] = (struct tool){.connect = &r[2], .nconnect = 1};
    tools[1] = (struct tool){.connect = &r[0], .nconnect = 1};
    tools[2] = (struct tool){.connect = &r[1], .nconnect = 1};
    struct connect_index ix;
    assert_true(connect_index_build(&ix, tools, 3));
    struct net_target t = {.kind = TARGET_INET, .port = 80};
    t.addr[10] = t.addr[11] = 0xff;
    memcpy(t.addr + 12, (uint8_t[]){10, 1, 2, 4}, 4);
    assert_int_equal(connect_index_match(&ix, &t), 0);
    memcpy(t.addr + 12, (uint8_t[]){10, 1, 2, 3}, 4);
    assert_int_equal(connect_index_match(&ix, &t), 1);
    t.port = 81;
    assert_int_equal(connect_index_match(&ix, &t), -1);
    connect_index_free(&ix);
    for (int i = 0; i < 3; i++)
        connect_rule_free(&r[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_agrees_with_a_scan),
        cmocka_unit_test(test_empty_index_matches_nothing),
        cmocka_unit_test(test_file_order_across_hash_and_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
