/* Unit tests for learn_model.c: audit observations grouped into the
 * services enact learn proposes (named, address, CIDR cluster, unix
 * socket, program), their names, rules, counts, argv shapes and impact,
 * and the run's summary. Hand-built observations, exact values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "learn_model.h"

/* The model a test works on, freed by teardown (also after a failure). */
static struct learn_model *live;

static struct learn_model *model(void)
{
    assert_null(live);
    live = learn_model_new();
    assert_non_null(live);
    return live;
}

static int teardown(void **state)
{
    (void)state;
    learn_model_free(live);
    live = NULL;
    return 0;
}

static bool add(struct learn_model *m, uint64_t ts, int32_t pid, int32_t parent,
                enum learn_op op, const char *target, const char *host, const char *argv,
                const char *exe)
{
    struct learn_obs o = {.ts_ms = ts, .pid = pid, .parent = parent, .op = op,
                          .target = target, .host = host, .argv = argv, .exe = exe};
    return learn_model_add(m, &o);
}

static void connect_to(struct learn_model *m, uint64_t ts, int32_t pid, const char *target,
                       const char *host)
{
    assert_true(add(m, ts, pid, 0, LEARN_CONNECT, target, host, NULL, NULL));
}

static void request_to(struct learn_model *m, uint64_t ts, int32_t pid, const char *target)
{
    assert_true(add(m, ts, pid, 0, LEARN_REQUEST, target, NULL, NULL, NULL));
}

static void exec_of(struct learn_model *m, uint64_t ts, int32_t pid, int32_t parent,
                    const char *path, const char *argv)
{
    assert_true(add(m, ts, pid, parent, LEARN_EXEC, path, NULL, argv, NULL));
}

static const struct learn_service *service(const struct learn_model *m, size_t i)
{
    const struct learn_service *s = learn_service_at(m, i);
    assert_non_null(s);
    return s;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 44)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

/* ---- addresses ------------------------------------------------------------ */

/* Nothing added: no services, an empty summary. */
static void test_empty_model(void **state)
{
    (void)state;
    struct learn_model *m = model();
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 0);
    assert_null(learn_service_at(m, 0));
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->calls, 0);
    assert_int_equal(sum->first_ms, 0);
    assert_int_equal(sum->last_ms, 0);
    assert_int_equal(sum->startup + sum->wrapped + sum->lookups, 0);
    assert_string_equal(sum->startup_programs, "");
    learn_model_free(NULL);
}

/* Two connects to a loopback address and a request on the first: one
 * address service named local-PORT, its calls in time order, and two
 * requests at most on one connection (the connect's own included). */
static void test_loopback_address(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1000, 7, "127.0.0.1:8080", NULL);
    request_to(m, 1001, 7, "127.0.0.1:8080");
    connect_to(m, 2000, 7, "127.0.0.1:8080", NULL);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->name, "local-8080");
    assert_string_equal(s->rule, "127.0.0.1:8080");
    assert_int_equal(s->connects, 2);
    assert_int_equal(s->requests, 1);
    assert_int_equal(s->execs, 0);
    assert_int_equal(s->max_per_connection, 2);
    assert_int_equal(s->addresses, 1);
    assert_int_equal(s->ncalls, 3);
    assert_int_equal(s->ts_ms[0], 1000);
    assert_int_equal(s->ts_ms[1], 1001);
    assert_int_equal(s->ts_ms[2], 2000);
    assert_null(learn_service_at(m, 1));
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->calls, 3);
    assert_int_equal(sum->first_ms, 1000);
    assert_int_equal(sum->last_ms, 2000);
}

/* Requests on one connection are counted per process: a connect of one
 * process does not end another's connection; a request with no connect
 * before it counts from 1. */
static void test_max_per_connection_per_process(void **state)
{
    (void)state;
    struct learn_model *m = model();
    request_to(m, 1, 9, "10.9.9.9:6379"); /* connected before the log began */
    connect_to(m, 10, 1, "10.9.9.9:6379", NULL);
    connect_to(m, 11, 2, "10.9.9.9:6379", NULL);
    request_to(m, 12, 1, "10.9.9.9:6379");
    request_to(m, 13, 2, "10.9.9.9:6379");
    request_to(m, 14, 1, "10.9.9.9:6379"); /* pid 1: 3 on its connection */
    connect_to(m, 15, 2, "10.9.9.9:6379", NULL);
    request_to(m, 16, 2, "10.9.9.9:6379");
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->connects, 3);
    assert_int_equal(s->requests, 5);
    assert_int_equal(s->max_per_connection, 3);
}

/* An address with a DNS name is the name's service, whichever address
 * it resolved to (names compare without case); the rule names the host
 * as first seen, the tool name is in lower case. An unnamed address of
 * the same /24 and port is a service of its own. */
static void test_named_host(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 10, 1, "93.184.216.34:443", "api.example.com");
    connect_to(m, 20, 1, "93.184.216.35:443", "API.Example.COM");
    request_to(m, 21, 1, "93.184.216.35:443");
    connect_to(m, 30, 1, "93.184.216.36:443", NULL);
    connect_to(m, 40, 1, "10.1.1.1:5432", "Db.Internal");
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 3);

    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_NAMED);
    assert_string_equal(s->rule, "api.example.com:443");
    assert_string_equal(s->name, "api.example.com");
    assert_int_equal(s->addresses, 2);
    assert_int_equal(s->connects, 2);
    assert_int_equal(s->requests, 1);
    assert_int_equal(s->ncalls, 3);

    s = service(m, 1);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->rule, "93.184.216.36:443");
    assert_string_equal(s->name, "93.184.216.36-443");
    assert_int_equal(s->addresses, 1);

    s = service(m, 2);
    assert_int_equal(s->kind, LEARN_NAMED);
    assert_string_equal(s->rule, "Db.Internal:5432");
    assert_string_equal(s->name, "db.internal");
}

/* Unnamed IPv4 addresses on one port within one /24 are a cluster, as
 * the smallest CIDR that holds them (10.0.0.4 and .7: 10.0.0.4/30); an
 * address of another /24, or another port, is a service of its own. */
static void test_cluster(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1, 1, "10.0.0.4:443", NULL);
    connect_to(m, 2, 1, "10.0.1.5:443", NULL); /* another /24 */
    connect_to(m, 3, 1, "10.0.0.7:443", NULL);
    connect_to(m, 4, 1, "10.0.0.5:80", NULL);  /* another port */
    connect_to(m, 5, 1, "10.0.0.4:443", NULL);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 3);

    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_CLUSTER);
    assert_string_equal(s->rule, "10.0.0.4/30:443");
    assert_string_equal(s->name, "10.0.0.4-30-443");
    assert_int_equal(s->addresses, 2);
    assert_int_equal(s->connects, 3);
    assert_int_equal(s->ncalls, 3);
    assert_int_equal(s->ts_ms[0], 1);
    assert_int_equal(s->ts_ms[1], 3);
    assert_int_equal(s->ts_ms[2], 5);

    s = service(m, 1);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->rule, "10.0.1.5:443");
    assert_string_equal(s->name, "10.0.1.5-443");

    s = service(m, 2);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->rule, "10.0.0.5:80");
}

/* The cluster's prefix is the one its lowest and highest addresses share:
 * .3 to .7 is 10.0.0.0/29 (three addresses), .1 to .254 is the /24. */
static void test_cluster_prefixes(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1, 1, "10.0.0.3:443", NULL);
    connect_to(m, 2, 1, "10.0.0.7:443", NULL);
    connect_to(m, 3, 1, "10.0.0.5:443", NULL);
    connect_to(m, 4, 1, "192.168.7.254:22", NULL);
    connect_to(m, 5, 1, "192.168.7.1:22", NULL);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 2);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_CLUSTER);
    assert_string_equal(s->rule, "10.0.0.0/29:443");
    assert_string_equal(s->name, "10.0.0.0-29-443");
    assert_int_equal(s->addresses, 3);
    s = service(m, 1);
    assert_int_equal(s->kind, LEARN_CLUSTER);
    assert_string_equal(s->rule, "192.168.7.0/24:22");
    assert_int_equal(s->addresses, 2);
}

/* IPv6: the rule keeps the brackets, ::1 is local-PORT, and unnamed IPv6
 * addresses never cluster. */
static void test_ipv6(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1, 1, "[::1]:443", NULL);
    connect_to(m, 2, 1, "[2001:db8::1]:443", NULL);
    connect_to(m, 3, 1, "[2001:db8::2]:443", NULL);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 3);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->rule, "[::1]:443");
    assert_string_equal(s->name, "local-443");
    s = service(m, 1);
    assert_int_equal(s->kind, LEARN_ADDRESS);
    assert_string_equal(s->rule, "[2001:db8::1]:443");
    assert_string_equal(s->name, "2001-db8--1-443");
    assert_true(valid_name(s->name));
    s = service(m, 2);
    assert_string_equal(s->rule, "[2001:db8::2]:443");
}

/* A unix socket is a service of its own, named after the socket file. */
static void test_unix_socket(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1, 3, "unix:/run/x.sock", NULL);
    request_to(m, 2, 3, "unix:/run/x.sock");
    request_to(m, 3, 3, "unix:/run/x.sock");
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_UNIX);
    assert_string_equal(s->rule, "unix:/run/x.sock");
    assert_string_equal(s->name, "unix-x.sock");
    assert_int_equal(s->connects, 1);
    assert_int_equal(s->requests, 2);
    assert_int_equal(s->max_per_connection, 3);
}

/* Connects to port 53 are name lookups: counted apart, no service, not
 * among the calls. */
static void test_lookups(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 1, 1, "10.0.0.53:53", NULL);
    connect_to(m, 2, 1, "[::1]:53", "dns.local");
    connect_to(m, 3, 1, "127.0.0.53:53", NULL);
    connect_to(m, 4, 1, "127.0.0.1:8080", NULL);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    assert_string_equal(service(m, 0)->rule, "127.0.0.1:8080");
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->lookups, 3);
    assert_int_equal(sum->calls, 1);
    assert_int_equal(sum->first_ms, 4);
}

/* A target that is no address is refused and leaves the model as it was. */
static void test_unreadable_target_changes_nothing(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 5, 1, "127.0.0.1:8080", NULL);
    static const char *const bad[] = {
        "nonsense",      "1.2.3.4:",      "1.2.3.4:65536", "1.2.3.4:80x", "[::1]443",
        "[nothing]:80",  "999.1.1.1:80",  ":80",           "[]:80",       "",
        "::1:443", /* IPv6 without brackets */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (add(m, 6 + i, 1, 0, LEARN_CONNECT, bad[i], "evil.example", NULL, NULL))
            fail_msg("accepted target \"%s\"", bad[i]);
        assert_false(add(m, 6 + i, 1, 0, LEARN_REQUEST, bad[i], NULL, NULL, NULL));
    }
    assert_false(add(m, 50, 1, 0, LEARN_CONNECT, NULL, NULL, NULL, NULL));
    assert_false(add(m, 51, 1, 0, LEARN_EXEC, "", NULL, "x", NULL));
    assert_false(add(m, 52, 1, 0, LEARN_EXEC, NULL, NULL, "x", NULL));
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_string_equal(s->rule, "127.0.0.1:8080");
    assert_int_equal(s->ncalls, 1);
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->calls, 1);
    assert_int_equal(sum->last_ms, 5);
}

/* Calls added out of time order come out sorted, per service and in the
 * summary's first and last. */
static void test_timestamps_sorted(void **state)
{
    (void)state;
    struct learn_model *m = model();
    connect_to(m, 3000, 1, "10.2.2.2:80", NULL);
    connect_to(m, 1000, 2, "10.2.2.2:80", NULL);
    connect_to(m, 2000, 3, "10.2.2.2:80", NULL);
    connect_to(m, 500, 4, "unix:/tmp/s", NULL);
    assert_true(learn_model_finish(m));
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->ncalls, 3);
    assert_int_equal(s->ts_ms[0], 1000);
    assert_int_equal(s->ts_ms[1], 2000);
    assert_int_equal(s->ts_ms[2], 3000);
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->calls, 4);
    assert_int_equal(sum->first_ms, 500);
    assert_int_equal(sum->last_ms, 3000);
}

/* ---- programs -------------------------------------------------------------- */

/* learn_argv_shape: options kept (a value after '=' as '*'), a first
 * word that reads as a subcommand kept, every other word '*'; argv[0] is
 * replaced by the program's name. */
static void test_argv_shape(void **state)
{
    (void)state;
    char out[160];
    learn_argv_shape("curl", "curl -sS --max-time 3 http://x", out, sizeof out);
    assert_string_equal(out, "curl -sS --max-time * *");
    learn_argv_shape("git", "git status --short", out, sizeof out);
    assert_string_equal(out, "git status --short");
    learn_argv_shape("git", "git push origin main", out, sizeof out);
    assert_string_equal(out, "git push * *");
    learn_argv_shape("tool", "tool --out=file -v", out, sizeof out);
    assert_string_equal(out, "tool --out=* -v");
    learn_argv_shape("rm", "/bin/rm -rf /tmp/x", out, sizeof out);
    assert_string_equal(out, "rm -rf *");
    /* Only the first word can be a subcommand; capitals or a leading
     * digit are values. */
    learn_argv_shape("kubectl", "kubectl get pods", out, sizeof out);
    assert_string_equal(out, "kubectl get *");
    learn_argv_shape("x", "x Status", out, sizeof out);
    assert_string_equal(out, "x *");
    learn_argv_shape("x", "x 2fa", out, sizeof out);
    assert_string_equal(out, "x *");
    learn_argv_shape("x", "x sub-cmd2", out, sizeof out);
    assert_string_equal(out, "x sub-cmd2");
    /* Runs of spaces are one separator; no argv is the program alone. */
    learn_argv_shape("ls", "ls   -l    a  ", out, sizeof out);
    assert_string_equal(out, "ls -l *");
    learn_argv_shape("ls", NULL, out, sizeof out);
    assert_string_equal(out, "ls");
    learn_argv_shape("ls", "ls", out, sizeof out);
    assert_string_equal(out, "ls");
}

/* A shape longer than the buffer is cut, always terminated, and a prefix
 * of the whole. */
static void test_argv_shape_truncates(void **state)
{
    (void)state;
    char whole[160], cut[16];
    const char *argv = "curl -sS --max-time 3 --retry 5 http://example.com/long/path";
    learn_argv_shape("curl", argv, whole, sizeof whole);
    assert_string_equal(whole, "curl -sS --max-time * --retry * *");
    for (size_t cap = 1; cap <= sizeof cut; cap++) {
        memset(cut, 'Z', sizeof cut);
        learn_argv_shape("curl", argv, cut, cap);
        assert_true(strlen(cut) < cap);
        assert_memory_equal(cut, whole, strlen(cut));
        if (cap < sizeof cut)
            assert_int_equal(cut[cap], 'Z'); /* nothing written past cap */
    }
    learn_argv_shape("curl", argv, cut, 10);
    assert_string_equal(cut, "curl -sS ");
}

/* Programs are one tool by base name (/usr/bin/rm and /bin/rm are "rm");
 * rm -rf is HIGH, with the call as its example. */
static void test_programs_by_base_name(void **state)
{
    (void)state;
    struct learn_model *m = model();
    exec_of(m, 100, 11, 1, "/usr/bin/rm", "rm -rf /tmp/build");
    exec_of(m, 200, 12, 1, "/bin/rm", "rm -rf /tmp/cache");
    exec_of(m, 300, 13, 1, "/usr/bin/ls", "ls -la");
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 2);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_PROGRAM);
    assert_string_equal(s->rule, "rm");
    assert_string_equal(s->name, "rm");
    assert_int_equal(s->execs, 2);
    assert_int_equal(s->connects + s->requests, 0);
    assert_int_equal(s->ncalls, 2);
    assert_int_equal(s->ts_ms[0], 100);
    assert_int_equal(s->ts_ms[1], 200);
    assert_int_equal(s->max_per_connection, 0);
    assert_int_equal(s->nshapes, 1);
    assert_string_equal(s->shapes[0].text, "rm -rf *");
    assert_int_equal(s->shapes[0].count, 2);
    assert_int_equal(s->other_shapes, 0);
    assert_int_equal(s->impact.level, IMPACT_HIGH);
    assert_string_equal(s->impact_example, "rm -rf /tmp/build");

    s = service(m, 1);
    assert_string_equal(s->name, "ls");
    assert_int_equal(s->impact.level, IMPACT_LOW);
    assert_string_equal(s->impact_example, "ls -la");
}

/* A program's impact is the highest of its calls, and its example is
 * that call, even when a lower one of the same shape comes later
 * (sh -c rm and sh -c ls are both "sh -c * *"). */
static void test_program_impact_is_highest(void **state)
{
    (void)state;
    struct learn_model *m = model();
    exec_of(m, 100, 21, 1, "/bin/sh", "sh -c rm x");
    exec_of(m, 200, 22, 1, "/bin/sh", "sh -c ls y");
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->nshapes, 1);
    assert_string_equal(s->shapes[0].text, "sh -c * *");
    assert_int_equal(s->shapes[0].count, 2);
    assert_int_equal(s->impact.level, IMPACT_HIGH);
    assert_string_equal(s->impact_example, "sh -c rm x");
}

/* Shapes are listed most frequent first, at most LEARN_SHAPES of them,
 * the rest counted; the impact comes from every shape, listed or not. */
static void test_shapes_most_frequent_first(void **state)
{
    (void)state;
    static const struct {
        const char *argv;
        int times;
    } calls[] = {
        {"git clean -fdx", 1}, {"git log --oneline", 5}, {"git push origin main", 2},
        {"git status --short", 6}, {"git show HEAD", 3}, {"git diff --stat", 4},
    };
    struct learn_model *m = model();
    int32_t pid = 100;
    uint64_t ts = 1000;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        for (int k = 0; k < calls[i].times; k++)
            exec_of(m, ts += 10, pid++, 1, "/usr/bin/git", calls[i].argv);
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 1);
    const struct learn_service *s = service(m, 0);
    assert_string_equal(s->name, "git");
    assert_int_equal(s->execs, 21);
    assert_int_equal(s->nshapes, LEARN_SHAPES);
    assert_string_equal(s->shapes[0].text, "git status --short");
    assert_int_equal(s->shapes[0].count, 6);
    assert_string_equal(s->shapes[1].text, "git log --oneline");
    assert_int_equal(s->shapes[1].count, 5);
    assert_string_equal(s->shapes[2].text, "git diff --stat");
    assert_int_equal(s->shapes[2].count, 4);
    assert_string_equal(s->shapes[3].text, "git show *");
    assert_int_equal(s->shapes[3].count, 3);
    assert_int_equal(s->other_shapes, 2);
    assert_int_equal(s->impact.level, IMPACT_HIGH);
    assert_string_equal(s->impact_example, "git clean -fdx");
}

/* ---- names ----------------------------------------------------------------- */

/* Names are unique and valid: a second named service of one host takes
 * its port, other clashes a number; cut to 44 characters, odd
 * characters as '-'. Services come in the order first seen. */
static void test_unique_valid_names(void **state)
{
    (void)state;
    char long_host[80];
    snprintf(long_host, sizeof long_host, "%s.example.com",
             "a-very-long-host-name-that-goes-on-and-on-and-on");
    struct learn_model *m = model();
    exec_of(m, 1, 1, 0, "/usr/local/bin/local-8080", "local-8080"); /* 0 */
    connect_to(m, 2, 2, "127.0.0.1:8080", NULL);                    /* 1 */
    connect_to(m, 3, 2, "10.3.3.3:443", "x.example");               /* 2 */
    connect_to(m, 4, 2, "10.3.3.4:8443", "X.Example");              /* 3 */
    connect_to(m, 5, 2, "unix:/a/x.sock", NULL);                    /* 4 */
    connect_to(m, 6, 2, "unix:/b/x.sock", NULL);                    /* 5 */
    connect_to(m, 7, 2, "unix:/c/x.sock", NULL);                    /* 6 */
    connect_to(m, 8, 2, "10.4.4.4:443", long_host);                 /* 7 */
    connect_to(m, 9, 2, "10.4.4.5:8443", long_host);                /* 8 */
    exec_of(m, 10, 3, 0, "/usr/bin/g++", "g++ -O2 a.c");            /* 9 */
    connect_to(m, 11, 2, "10.5.5.5:80", "my host!");                /* 10 */
    assert_true(learn_model_finish(m));
    assert_int_equal(learn_service_count(m), 11);

    static const char *const want[] = {
        "local-8080",  "local-8080-2",  "x.example",   "x.example-8443",
        "unix-x.sock", "unix-x.sock-2", "unix-x.sock-3",
        "a-very-long-host-name-that-goes-on-and-on-an", /* 44 */
        "a-very-long-host-name-that-goes-on-an-8443",
        "g--",         "my-host-",
    };
    for (size_t i = 0; i < learn_service_count(m); i++) {
        const struct learn_service *s = service(m, i);
        if (strcmp(s->name, want[i]) != 0)
            fail_msg("service %zu (%s): name \"%s\", want \"%s\"", i, s->rule, s->name, want[i]);
        assert_true(valid_name(s->name));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s->name, service(m, j)->name);
    }
    assert_string_equal(service(m, 0)->rule, "local-8080");
    assert_string_equal(service(m, 3)->rule, "X.Example:8443");
    assert_string_equal(service(m, 9)->rule, "g++");
}

/* ---- the command's start and wrappers ------------------------------------- */

/* The chain enact run begins (env -> python3) is the command's start; a
 * pyenv-like shim chain of the agent's is one call of python3 plus
 * wrappers; neither makes a service of its own, and what the wrappers'
 * children do is counted with them, lookups included. The summary names
 * each such program once. */
static void test_startup_and_wrappers_summary(void **state)
{
    (void)state;
    struct learn_model *m = model();
    assert_true(add(m, 0, 100, 50, LEARN_EXEC, "/usr/bin/env", NULL, "env python3 agent.py",
                    "enact"));
    exec_of(m, 10, 100, 50, "/usr/bin/python3", "python3 agent.py");
    /* the agent's calls */
    exec_of(m, 1000, 101, 100, "/home/u/.pyenv/shims/python3", "python3 tool.py");
    exec_of(m, 1010, 101, 100, "/bin/bash", "bash /home/u/.pyenv/libexec/pyenv exec python3");
    connect_to(m, 1020, 102, "10.0.0.53:53", NULL); /* no parent known: a lookup */
    assert_true(add(m, 1021, 103, 101, LEARN_CONNECT, "10.0.0.53:53", NULL, NULL, NULL));
    exec_of(m, 1050, 101, 100, "/usr/bin/python3", "python3 tool.py");
    connect_to(m, 1100, 100, "127.0.0.1:8080", NULL);
    assert_true(learn_model_finish(m));

    assert_int_equal(learn_service_count(m), 2);
    const struct learn_service *s = service(m, 0);
    assert_int_equal(s->kind, LEARN_PROGRAM);
    assert_string_equal(s->name, "python3");
    assert_int_equal(s->execs, 1);
    assert_int_equal(s->ts_ms[0], 1000);
    assert_int_equal(s->nshapes, 1);
    assert_string_equal(s->shapes[0].text, "python3 *");
    assert_int_equal(s->shapes[0].count, 1);
    assert_string_equal(service(m, 1)->name, "local-8080");

    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->startup, 2);
    assert_int_equal(sum->wrapped, 3); /* bash, python3, the wrapper's child's connect */
    assert_int_equal(sum->lookups, 1);
    assert_int_equal(sum->calls, 2);
    assert_int_equal(sum->first_ms, 1000);
    assert_int_equal(sum->last_ms, 1100);
    assert_string_equal(sum->startup_programs, "env, python3, bash");
}

/* The list of startup programs is cut with "..." and never overflows:
 * 40 programs of six letters, 24 fit before the room kept for ", ...". */
static void test_startup_programs_cut(void **state)
{
    (void)state;
    struct learn_model *m = model();
    char path[32], want[200] = "";
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "/opt/prog%02d", i);
        assert_true(add(m, (uint64_t)i, 100, 50, LEARN_EXEC, path, NULL, NULL,
                        i == 0 ? "enact" : NULL));
        if (i < 24)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%sprog%02d",
                     i ? ", " : "", i);
    }
    strcat(want, ", ...");
    exec_of(m, 5000, 100, 50, "/opt/prog00", NULL); /* after the start: a call */
    assert_true(learn_model_finish(m));
    const struct learn_summary *sum = learn_model_summary(m);
    assert_int_equal(sum->startup, 40);
    assert_string_equal(sum->startup_programs, want);
    assert_int_equal(strlen(sum->startup_programs), 195);
    assert_int_equal(learn_service_count(m), 1);
    assert_string_equal(service(m, 0)->name, "prog00");
    assert_int_equal(service(m, 0)->execs, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_empty_model, teardown),
        cmocka_unit_test_teardown(test_loopback_address, teardown),
        cmocka_unit_test_teardown(test_max_per_connection_per_process, teardown),
        cmocka_unit_test_teardown(test_named_host, teardown),
        cmocka_unit_test_teardown(test_cluster, teardown),
        cmocka_unit_test_teardown(test_cluster_prefixes, teardown),
        cmocka_unit_test_teardown(test_ipv6, teardown),
        cmocka_unit_test_teardown(test_unix_socket, teardown),
        cmocka_unit_test_teardown(test_lookups, teardown),
        cmocka_unit_test_teardown(test_unreadable_target_changes_nothing, teardown),
        cmocka_unit_test_teardown(test_timestamps_sorted, teardown),
        cmocka_unit_test_teardown(test_argv_shape, teardown),
        cmocka_unit_test_teardown(test_argv_shape_truncates, teardown),
        cmocka_unit_test_teardown(test_programs_by_base_name, teardown),
        cmocka_unit_test_teardown(test_program_impact_is_highest, teardown),
        cmocka_unit_test_teardown(test_shapes_most_frequent_first, teardown),
        cmocka_unit_test_teardown(test_unique_valid_names, teardown),
        cmocka_unit_test_teardown(test_startup_and_wrappers_summary, teardown),
        cmocka_unit_test_teardown(test_startup_programs_cut, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
