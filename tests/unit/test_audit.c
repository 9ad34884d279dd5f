/* Unit tests for audit.c: record formatting and O_APPEND writing. */
#include "helpers.h"
#include "json_check.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "audit_sink.h"

static struct audit_event simple_event(void)
{
    return (struct audit_event){
        .unix_ns = 951782400123000000u,
        .pid = 4242,
        .agent = "my-agent",
        .exe = "python3",
        .op = "connect",
        .tool = "database",
        .target = "127.0.0.1:5432",
        .verdict = "deny",
        .reason = "rate_limited",
        .errno_name = "EPERM",
        .has_retry_after = true,
        .retry_after_ms = 850,
    };
}

/* A record is one line: ends in "\n", has no other newline, is valid JSON. */
static void assert_one_json_line(const char *buf, size_t len)
{
    assert_true(len >= 3);
    assert_int_equal(strlen(buf), len);
    assert_int_equal(buf[len - 1], '\n');
    assert_int_equal(buf[len - 2], '}');
    assert_int_equal(buf[0], '{');
    assert_null(memchr(buf, '\n', len - 1));
    assert_true(json_valid(buf, len - 1));
}

static void test_json_checker_self_test(void **state)
{
    (void)state;
    /* The validator the other tests rely on accepts and rejects correctly. */
    const char *good[] = {"{}", "[]", "{\"a\":[1,-2,3.5e3,true,false,null]}",
                          "\"\\u00ff\\n\\\"\"", "\"caf\xc3\xa9\"", "\"\\ud83d\\ude00\""};
    const char *bad[] = {"{",          "{\"a\":}",      "[1,]",         "\"a\nb\"",
                         "\"\x01\"",    "\"\xff\"",      "\"\xc0\x80\"", "\"\\x41\"",
                         "{\"a\":1}x", "01",            "\"\\ud800\"",  "{a:1}",
                         "\"abc",      "\"\xed\xa0\x80\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(json_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(json_valid(bad[i], strlen(bad[i])));
}

static void test_format_simple_event_exact(void **state)
{
    (void)state;
    struct audit_event ev = simple_event();
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    const char *want =
        "{\"v\":1,\"ts\":\"2000-02-29T00:00:00.123Z\",\"pid\":4242,\"agent\":\"my-agent\","
        "\"exe\":\"python3\",\"op\":\"connect\",\"tool\":\"database\","
        "\"target\":\"127.0.0.1:5432\",\"verdict\":\"deny\",\"reason\":\"rate_limited\","
        "\"errno\":\"EPERM\",\"retry_after_ms\":850}\n";
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    assert_one_json_line(buf, len);
}

static void test_format_optional_fields_omitted(void **state)
{
    (void)state;
    struct audit_event ev = {
        .unix_ns = 0,
        .pid = 1,
        .op = "exec",
        .target = "/bin/rm",
        .verdict = "allow",
    };
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    const char *want = "{\"v\":1,\"ts\":\"1970-01-01T00:00:00.000Z\",\"pid\":1,\"op\":\"exec\","
                       "\"target\":\"/bin/rm\",\"verdict\":\"allow\"}\n";
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
}

static void test_format_argv_and_detail(void **state)
{
    (void)state;
    char *argv[] = {"rm", "-rf", "/tmp/x y", NULL};
    struct audit_event ev = {
        .unix_ns = 1000000,
        .pid = 7,
        .agent = "a",
        .op = "exec",
        .tool = "shell",
        .target = "/usr/bin/rm",
        .argv = argv,
        .verdict = "error",
        .reason = "state_error",
        .detail = "cannot map state file",
    };
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    const char *want = "{\"v\":1,\"ts\":\"1970-01-01T00:00:00.001Z\",\"pid\":7,\"agent\":\"a\","
                       "\"op\":\"exec\",\"tool\":\"shell\",\"target\":\"/usr/bin/rm\","
                       "\"argv\":[\"rm\",\"-rf\",\"/tmp/x y\"],\"verdict\":\"error\","
                       "\"reason\":\"state_error\",\"detail\":\"cannot map state file\"}\n";
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    assert_one_json_line(buf, len);

    /* An empty argv is an empty array. */
    char *none[] = {NULL};
    ev.argv = none;
    ev.detail = NULL;
    len = audit_format(&ev, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"argv\":[],\"verdict\""));
    assert_null(strstr(buf, "truncated"));
    assert_one_json_line(buf, len);
}

static void test_format_hostile_argv_escaped(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "echo \"pwned\"\n{\"v\":2}\r\x1b[2J\\", "\xff\xfe\xc0\x80",
                    "caf\xc3\xa9", NULL};
    struct audit_event ev = simple_event();
    ev.op = "exec";
    ev.target = "/bin/sh\n\"injected\":true";
    ev.argv = argv;
    ev.agent = "evil\"agent\x01";
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    assert_true(len > 0);
    assert_one_json_line(buf, len);
    assert_non_null(strstr(buf, "\"agent\":\"evil\\\"agent\\u0001\""));
    assert_non_null(strstr(buf, "\"target\":\"/bin/sh\\n\\\"injected\\\":true\""));
    assert_non_null(strstr(buf, "\"argv\":[\"sh\",\"-c\",\"echo \\\"pwned\\\"\\n{\\\"v\\\":2}\\r"
                                "\\u001b[2J\\\\\",\"\\u00ff\\u00fe\\u00c0\\u0080\","
                                "\"caf\xc3\xa9\"]"));
    assert_null(strstr(buf, "truncated"));
}

static char **make_argv(size_t n, size_t arglen, char fill)
{
    char **argv = calloc(n + 1, sizeof *argv);
    assert_non_null(argv);
    for (size_t i = 0; i < n; i++) {
        argv[i] = malloc(arglen + 1);
        assert_non_null(argv[i]);
        memset(argv[i], fill, arglen);
        argv[i][arglen] = '\0';
    }
    return argv;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static void test_format_huge_argv_truncated(void **state)
{
    (void)state;
    char **argv = make_argv(10000, 1000, 'A');
    struct audit_event ev = simple_event();
    ev.op = "exec";
    ev.target = "/usr/bin/xargs";
    ev.argv = argv;
    char buf[AUDIT_RECORD_MAX];
    memset(buf, 'Z', sizeof buf);
    size_t len = audit_format(&ev, buf, sizeof buf);
    assert_true(len > 0);
    assert_true(len <= AUDIT_RECORD_MAX - 1);
    assert_one_json_line(buf, len);
    assert_non_null(strstr(buf, ",\"truncated\":true}\n"));
    /* The fields after argv survived. */
    assert_non_null(strstr(buf, "\"verdict\":\"deny\",\"reason\":\"rate_limited\""));
    free_argv(argv);

    /* Many short arguments: capped by count, still flagged. */
    argv = make_argv(10000, 1, 'x');
    ev.argv = argv;
    len = audit_format(&ev, buf, sizeof buf);
    assert_true(len > 0 && len < AUDIT_RECORD_MAX);
    assert_one_json_line(buf, len);
    assert_non_null(strstr(buf, "\"truncated\":true"));
    free_argv(argv);

    /* A few arguments that fit: no flag. */
    argv = make_argv(3, 10, 'y');
    ev.argv = argv;
    len = audit_format(&ev, buf, sizeof buf);
    assert_one_json_line(buf, len);
    assert_null(strstr(buf, "truncated"));
    free_argv(argv);
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_format_argv_item_limit(void **state)
{
    (void)state;
    struct audit_event ev = simple_event();
    char buf[AUDIT_RECORD_MAX];
    /* 64 arguments are all kept; the 65th is dropped and flagged. */
    char **argv = make_argv(64, 1, 'q');
    ev.argv = argv;
    size_t len = audit_format(&ev, buf, sizeof buf);
    assert_one_json_line(buf, len);
    assert_int_equal(count_substr(buf, "\"q\""), 64);
    assert_null(strstr(buf, "truncated"));
    free_argv(argv);

    argv = make_argv(65, 1, 'q');
    ev.argv = argv;
    len = audit_format(&ev, buf, sizeof buf);
    assert_one_json_line(buf, len);
    assert_int_equal(count_substr(buf, "\"q\""), 64);
    assert_non_null(strstr(buf, "\"truncated\":true"));
    free_argv(argv);

    /* One argument longer than its cap: kept in part, flagged. */
    argv = make_argv(2, 300, 'r');
    ev.argv = argv;
    len = audit_format(&ev, buf, sizeof buf);
    assert_one_json_line(buf, len);
    char want[300];
    want[0] = '"';
    memset(want + 1, 'r', 256);
    strcpy(want + 257, "\",\"");
    assert_non_null(strstr(buf, want)); /* 256 bytes, then the next item */
    assert_non_null(strstr(buf, "\"truncated\":true"));
    free_argv(argv);
}

static void test_format_long_target_truncated(void **state)
{
    (void)state;
    char target[5000];
    memset(target, 't', sizeof target - 1);
    target[sizeof target - 1] = '\0';
    struct audit_event ev = simple_event();
    ev.target = target;
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    assert_true(len > 0 && len < AUDIT_RECORD_MAX);
    assert_one_json_line(buf, len);
    assert_non_null(strstr(buf, "\"truncated\":true}\n"));
}

/* The size budget holds in the worst case: every string long and hostile. */
static void test_format_worst_case_fits(void **state)
{
    (void)state;
    const char fills[] = {'a', '\x01', '"', '\xff'};
    for (size_t f = 0; f < sizeof fills; f++) {
        char big[20000];
        memset(big, fills[f], sizeof big - 1);
        big[sizeof big - 1] = '\0';
        char **argv = make_argv(200, 3000, fills[f]);
        struct audit_event ev = {
            .unix_ns = UINT64_MAX,
            .pid = -2147483647L - 1,
            .agent = big,
            .exe = big,
            .op = big,
            .tool = big,
            .target = big,
            .argv = argv,
            .verdict = big,
            .reason = big,
            .errno_name = big,
            .has_retry_after = true,
            .retry_after_ms = UINT64_MAX,
            .detail = big,
        };
        char buf[AUDIT_RECORD_MAX];
        size_t len = audit_format(&ev, buf, sizeof buf);
        assert_true(len > 0);
        assert_true(len < AUDIT_RECORD_MAX);
        assert_one_json_line(buf, len);
        assert_non_null(strstr(buf, "\"truncated\":true}\n"));
        free_argv(argv);
    }
    /* Multi-byte UTF-8 everywhere too (3 bytes each, never split). */
    char euro[15001];
    for (size_t i = 0; i < 5000; i++)
        memcpy(euro + 3 * i, "\xe2\x82\xac", 3);
    euro[15000] = '\0';
    char *argv[] = {euro, euro, euro, euro, euro, euro, euro, euro, euro, NULL};
    struct audit_event ev = {.agent = euro, .exe = euro, .op = euro, .tool = euro,
                             .target = euro, .argv = argv, .verdict = euro, .reason = euro,
                             .errno_name = euro, .detail = euro};
    char buf[AUDIT_RECORD_MAX];
    size_t len = audit_format(&ev, buf, sizeof buf);
    assert_true(len > 0 && len < AUDIT_RECORD_MAX);
    assert_one_json_line(buf, len);
}

static void test_format_small_buffer_gives_zero(void **state)
{
    (void)state;
    struct audit_event ev = simple_event();
    char buf[AUDIT_RECORD_MAX];
    size_t full = audit_format(&ev, buf, sizeof buf);
    assert_true(full > 0);
    char small[AUDIT_RECORD_MAX];
    /* Needs room for the terminating NUL. */
    assert_int_equal(audit_format(&ev, small, full), 0);
    assert_int_equal(audit_format(&ev, small, full + 1), full);
    assert_string_equal(small, buf);
    assert_int_equal(audit_format(&ev, small, 10), 0);
    assert_int_equal(audit_format(&ev, small, 1), 0);
}

/* Python's json module (what tools reading the log use) accepts the records
 * and decodes the hostile strings back to the original text. */
static void test_python_json_accepts_records(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char path[PATH_MAX], cmd[3 * PATH_MAX], out[PATH_MAX];
    th_path(path, sizeof path, dir, "records.jsonl");
    th_path(out, sizeof out, dir, "python.out");

    char *hostile[] = {"sh", "-c", "echo \"hi\"\n\ttab\\ \x01 caf\xc3\xa9 \xf0\x9f\x98\x80", NULL};
    char **huge = make_argv(10000, 1000, 'H');
    struct audit_event ev = simple_event();
    assert_int_equal(audit_log(path, &ev), 0);
    ev.argv = hostile;
    ev.agent = "a\"gent\x7f";
    assert_int_equal(audit_log(path, &ev), 0);
    ev.argv = huge;
    assert_int_equal(audit_log(path, &ev), 0);
    free_argv(huge);

    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys\n"
             "recs=[json.loads(l) for l in open(sys.argv[1],encoding=\"utf-8\")]\n"
             "print(len(recs), recs[0][\"retry_after_ms\"], recs[1][\"argv\"][2].encode().hex(),"
             " recs[1][\"agent\"].encode().hex(), recs[2].get(\"truncated\"),"
             " len(recs[2][\"argv\"]))' %s > %s",
             path, out);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *got = th_read_file(out, NULL);
    /* 3 records; argv[2] and the agent round-trip byte for byte; the huge
     * argv kept 6 capped items and says so. */
    assert_string_equal(got, "3 850 6563686f20226869220a097461625c200120636166c3a920f09f9880 "
                             "612267656e747f True 6\n");
    free(got);
    th_rmtree(dir);
}

/* ---- audit_append -------------------------------------------------------- */

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void test_append_writes_records(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char path[PATH_MAX];
    th_path(path, sizeof path, dir, "audit.jsonl");
    int fds = count_open_fds();
    assert_int_equal(audit_append(path, "{\"a\":1}\n", 8), 0);
    assert_int_equal(audit_append(path, "{\"b\":2}\n", 8), 0);
    assert_int_equal(count_open_fds(), fds); /* no descriptor left behind */
    size_t len;
    char *text = th_read_file(path, &len);
    assert_string_equal(text, "{\"a\":1}\n{\"b\":2}\n");
    free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* audit_log formats and appends. */
    struct audit_event ev = simple_event();
    assert_int_equal(audit_log(path, &ev), 0);
    char rec[AUDIT_RECORD_MAX];
    size_t rlen = audit_format(&ev, rec, sizeof rec);
    text = th_read_file(path, &len);
    assert_int_equal(len, 16 + rlen);
    assert_memory_equal(text + 16, rec, rlen);
    free(text);
    th_rmtree(dir);
}

static void test_append_follows_rotation(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char path[PATH_MAX], rotated[PATH_MAX];
    th_path(path, sizeof path, dir, "audit.jsonl");
    th_path(rotated, sizeof rotated, dir, "audit.jsonl.1");
    assert_int_equal(audit_append(path, "one\n", 4), 0);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(audit_append(path, "two\n", 4), 0);
    char *a = th_read_file(rotated, NULL), *b = th_read_file(path, NULL);
    assert_string_equal(a, "one\n");
    assert_string_equal(b, "two\n");
    free(a);
    free(b);
    th_rmtree(dir);
}

static void test_append_unwritable_returns_errno(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char file[PATH_MAX], under_file[PATH_MAX], missing[PATH_MAX];
    th_path(file, sizeof file, dir, "plain");
    th_write_file(file, "x");
    th_path(under_file, sizeof under_file, dir, "plain/audit.jsonl");
    th_path(missing, sizeof missing, dir, "no/such/dir/audit.jsonl");
    int fds = count_open_fds();
    assert_int_equal(audit_append(under_file, "r\n", 2), ENOTDIR);
    assert_int_equal(audit_append(missing, "r\n", 2), ENOENT);
    assert_int_equal(audit_append(dir, "r\n", 2), EISDIR);
    struct audit_event ev = simple_event();
    assert_int_equal(audit_log(missing, &ev), ENOENT);
    assert_int_equal(count_open_fds(), fds);
    char *text = th_read_file(file, NULL);
    assert_string_equal(text, "x");
    free(text);
    th_rmtree(dir);
}

static void test_append_fifo_without_reader_does_not_block(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char fifo[PATH_MAX];
    th_path(fifo, sizeof fifo, dir, "audit.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int fds = count_open_fds();
    alarm(10); /* a blocking open would kill the test instead of hanging */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int err = audit_append(fifo, "rec\n", 4);
    clock_gettime(CLOCK_MONOTONIC, &b);
    alarm(0);
    assert_int_equal(err, ENXIO);
    assert_true(b.tv_sec - a.tv_sec < 2);
    assert_int_equal(count_open_fds(), fds);

    /* With a reader, the record arrives whole. */
    int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(rd >= 0);
    assert_int_equal(audit_append(fifo, "rec\n", 4), 0);
    char got[16] = {0};
    assert_int_equal(read(rd, got, sizeof got), 4);
    assert_string_equal(got, "rec\n");
    close(rd);
    th_rmtree(dir);
}

/* Two processes appending 1000 records each never interleave. */
static void test_append_concurrent_processes(void **state)
{
    (void)state;
    enum { PER_CHILD = 1000 };
    char *dir = th_mkdtemp();
    char path[PATH_MAX];
    th_path(path, sizeof path, dir, "audit.jsonl");

    /* Two records of very different sizes, both well under PIPE_BUF x 2. */
    char rec[2][AUDIT_RECORD_MAX];
    size_t len[2];
    char *argv_a[] = {"a", NULL};
    char **argv_b = make_argv(20, 200, 'B');
    struct audit_event ev = simple_event();
    ev.argv = argv_a;
    ev.pid = 1;
    len[0] = audit_format(&ev, rec[0], sizeof rec[0]);
    ev.argv = argv_b;
    ev.pid = 2;
    len[1] = audit_format(&ev, rec[1], sizeof rec[1]);
    assert_true(len[0] > 0 && len[1] > 1500);
    free_argv(argv_b);

    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            int bad = 0;
            for (int i = 0; i < PER_CHILD; i++)
                bad += audit_append(path, rec[k], len[k]) != 0;
            th_child_exit(bad ? 1 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    size_t size;
    char *text = th_read_file(path, &size);
    assert_int_equal(size, PER_CHILD * (len[0] + len[1]));
    size_t lines = 0, seen[2] = {0, 0};
    for (size_t off = 0; off < size;) {
        char *nl = memchr(text + off, '\n', size - off);
        assert_non_null(nl);
        size_t l = (size_t)(nl - (text + off)) + 1;
        int which = -1;
        for (int k = 0; k < 2; k++)
            if (l == len[k] && memcmp(text + off, rec[k], l) == 0)
                which = k;
        assert_true(which >= 0); /* intact, not interleaved */
        seen[which]++;
        lines++;
        off += l;
    }
    assert_int_equal(lines, 2 * PER_CHILD);
    assert_int_equal(seen[0], PER_CHILD);
    assert_int_equal(seen[1], PER_CHILD);
    free(text);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker_self_test),
        cmocka_unit_test(test_format_simple_event_exact),
        cmocka_unit_test(test_format_optional_fields_omitted),
        cmocka_unit_test(test_format_argv_and_detail),
        cmocka_unit_test(test_format_hostile_argv_escaped),
        cmocka_unit_test(test_format_huge_argv_truncated),
        cmocka_unit_test(test_format_argv_item_limit),
        cmocka_unit_test(test_format_long_target_truncated),
        cmocka_unit_test(test_format_worst_case_fits),
        cmocka_unit_test(test_format_small_buffer_gives_zero),
        cmocka_unit_test(test_python_json_accepts_records),
        cmocka_unit_test(test_append_writes_records),
        cmocka_unit_test(test_append_follows_rotation),
        cmocka_unit_test(test_append_unwritable_returns_errno),
        cmocka_unit_test(test_append_fifo_without_reader_does_not_block),
        cmocka_unit_test(test_append_concurrent_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
