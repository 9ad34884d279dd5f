/* Unit tests for impact.c: impact estimation (HIGH/MEDIUM/LOW/UNKNOWN) from
 * a program's argv or from the first bytes a connection sends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impact.h"

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

/* Every reason is non-empty, NUL-terminated inside its buffer. */
static void check_reason(const struct impact *im)
{
    size_t n = strnlen(im->reason, sizeof im->reason);
    assert_true(n < sizeof im->reason);
    assert_true(n > 0);
    assert_true(im->level >= IMPACT_UNKNOWN && im->level <= IMPACT_HIGH);
}

static struct impact exec_check(enum impact_level want, const char *path, char *const argv[],
                                const struct impact_table *extra, const char *reason_has,
                                int line)
{
    struct impact im = impact_of_exec(path, argv, extra);
    check_reason(&im);
    bool ok = im.level == want && (!reason_has || strstr(im.reason, reason_has));
    if (!ok) {
        print_error("line %d: %s", line, path);
        for (size_t i = 0; argv && argv[i]; i++)
            print_error(" [%s]", argv[i]);
        print_error(": got %s \"%s\", want %s", impact_level_name(im.level), im.reason,
                    impact_level_name(want));
        if (reason_has)
            print_error(" with \"%s\" in the reason", reason_has);
        print_error("\n");
        fail();
    }
    return im;
}

/* EXEC(level, path, argv0, argv1, ...) */
#define EXEC(lvl, path, ...) exec_check((lvl), (path), ARGV(__VA_ARGS__), NULL, NULL, __LINE__)
#define EXEC_R(lvl, has, path, ...) \
    exec_check((lvl), (path), ARGV(__VA_ARGS__), NULL, (has), __LINE__)

/* Judges exactly len bytes in a buffer of exactly that size, so that ASan
 * reports any read past the end. */
static struct impact payload(const void *data, size_t len, const struct impact_table *extra)
{
    unsigned char *exact = malloc(len); /* malloc(0): a zero-byte block */
    assert_non_null(exact);
    if (len)
        memcpy(exact, data, len);
    struct impact im = impact_of_payload(exact, len, extra);
    free(exact);
    check_reason(&im);
    return im;
}

static void payload_check(enum impact_level want, const void *data, size_t len,
                          const struct impact_table *extra, const char *reason_has, int line)
{
    struct impact im = payload(data, len, extra);
    if (im.level != want || (reason_has && !strstr(im.reason, reason_has))) {
        print_error("line %d: payload of %zu bytes: got %s \"%s\", want %s", line, len,
                    impact_level_name(im.level), im.reason, impact_level_name(want));
        if (reason_has)
            print_error(" with \"%s\" in the reason", reason_has);
        print_error("\n");
        fail();
    }
}

#define PAYLOAD_S(lvl, s) payload_check((lvl), (s), strlen(s), NULL, NULL, __LINE__)
#define PAYLOAD_SR(lvl, has, s) payload_check((lvl), (s), strlen(s), NULL, (has), __LINE__)
#define PAYLOAD_B(lvl, buf, len) payload_check((lvl), (buf), (len), NULL, NULL, __LINE__)

/* PostgreSQL simple query: 'Q', int32 length (itself included), SQL, NUL. */
static size_t pg_query(const char *sql, unsigned char *out)
{
    size_t n = strlen(sql) + 1;
    uint32_t len = (uint32_t)(4 + n);
    out[0] = 'Q';
    out[1] = (unsigned char)(len >> 24);
    out[2] = (unsigned char)(len >> 16);
    out[3] = (unsigned char)(len >> 8);
    out[4] = (unsigned char)len;
    memcpy(out + 5, sql, n);
    return 5 + n;
}

/* MySQL COM_QUERY: 3-byte little-endian length, sequence 0, 0x03, SQL. */
static size_t mysql_query(const char *sql, unsigned char *out)
{
    size_t n = strlen(sql);
    size_t len = 1 + n;
    out[0] = (unsigned char)len;
    out[1] = (unsigned char)(len >> 8);
    out[2] = (unsigned char)(len >> 16);
    out[3] = 0;
    out[4] = 0x03;
    memcpy(out + 5, sql, n);
    return 5 + n;
}

/* ---- levels ------------------------------------------------------------- */

static void test_level_names_round_trip(void **state)
{
    (void)state;
    assert_string_equal(impact_level_name(IMPACT_UNKNOWN), "UNKNOWN");
    assert_string_equal(impact_level_name(IMPACT_LOW), "LOW");
    assert_string_equal(impact_level_name(IMPACT_MEDIUM), "MEDIUM");
    assert_string_equal(impact_level_name(IMPACT_HIGH), "HIGH");
    assert_string_equal(impact_level_name((enum impact_level)4), "UNKNOWN");

    for (int l = IMPACT_UNKNOWN; l <= IMPACT_HIGH; l++) {
        enum impact_level out = (enum impact_level)((l + 1) % 4);
        assert_true(impact_level_parse(impact_level_name((enum impact_level)l), &out));
        assert_int_equal(out, l);
    }
    enum impact_level out = IMPACT_UNKNOWN;
    assert_true(impact_level_parse("high", &out));
    assert_int_equal(out, IMPACT_HIGH);
    assert_true(impact_level_parse("Medium", &out));
    assert_int_equal(out, IMPACT_MEDIUM);
    assert_true(impact_level_parse("lOw", &out));
    assert_int_equal(out, IMPACT_LOW);
    assert_true(impact_level_parse("unknown", &out));
    assert_int_equal(out, IMPACT_UNKNOWN);

    out = IMPACT_MEDIUM;
    assert_false(impact_level_parse("", &out));
    assert_false(impact_level_parse("HIG", &out));
    assert_false(impact_level_parse("HIGHER", &out));
    assert_false(impact_level_parse(" HIGH", &out));
    assert_false(impact_level_parse("HIGH ", &out));
    assert_false(impact_level_parse("critical", &out));
    assert_false(impact_level_parse("2", &out));
    assert_int_equal(out, IMPACT_MEDIUM); /* untouched on failure */
}

/* ---- programs ----------------------------------------------------------- */

static void test_exec_programs_by_name(void **state)
{
    (void)state;
    EXEC_R(IMPACT_HIGH, "rm", "/bin/rm", "rm", "-rf", "/tmp/x");
    EXEC_R(IMPACT_HIGH, "rmdir", "/bin/rmdir", "rmdir", "d");
    EXEC(IMPACT_HIGH, "/usr/bin/shred", "shred", "-u", "f");
    EXEC(IMPACT_HIGH, "/usr/bin/truncate", "truncate", "-s", "0", "f");
    EXEC_R(IMPACT_HIGH, "mkfs.ext4", "/sbin/mkfs.ext4", "mkfs.ext4", "/dev/sdb1");
    EXEC(IMPACT_HIGH, "/sbin/mkfs.xfs", "mkfs.xfs", "/dev/sdb1");
    EXEC(IMPACT_HIGH, "/sbin/mkfs", "mkfs", "-t", "ext4", "/dev/sdb1");
    EXEC(IMPACT_HIGH, "/bin/dd", "dd", "if=/dev/zero", "of=/dev/sda");
    EXEC(IMPACT_HIGH, "/bin/kill", "kill", "-9", "1234");

    EXEC_R(IMPACT_MEDIUM, "cp", "/bin/cp", "cp", "a", "b");
    EXEC(IMPACT_MEDIUM, "/bin/mv", "mv", "a", "b");
    EXEC(IMPACT_MEDIUM, "/bin/mkdir", "mkdir", "-p", "d");
    EXEC(IMPACT_MEDIUM, "/usr/bin/touch", "touch", "f");
    EXEC(IMPACT_MEDIUM, "/bin/chmod", "chmod", "600", "f");

    EXEC_R(IMPACT_LOW, "ls", "/bin/ls", "ls", "-la");
    EXEC(IMPACT_LOW, "/bin/cat", "cat", "/etc/hostname");
    EXEC(IMPACT_LOW, "/bin/grep", "grep", "-r", "rm -rf", ".");

    /* Names that only start like a known one are not it. */
    EXEC(IMPACT_UNKNOWN, "/usr/bin/rmx", "rmx");
    EXEC(IMPACT_UNKNOWN, "/usr/bin/catalog", "catalog");
    EXEC(IMPACT_UNKNOWN, "/usr/bin/r", "r");
}

static void test_exec_path_basename(void **state)
{
    (void)state;
    /* Judged by the basename of the file that would run, not by argv[0]. */
    EXEC_R(IMPACT_HIGH, "rm", "/usr/bin/rm", "rm", "-rf", "/");
    EXEC(IMPACT_HIGH, "/usr/bin/rm", "ls");
    EXEC(IMPACT_LOW, "/bin/ls", "rm", "-rf", "/");
    EXEC(IMPACT_HIGH, "rm", "rm", "x"); /* no slash at all */
    EXEC(IMPACT_HIGH, "./rm", "./rm", "x");
    EXEC(IMPACT_UNKNOWN, "/opt/rm/tool", "tool");  /* a folder named rm */
    EXEC(IMPACT_UNKNOWN, "/usr/bin/", "x");        /* empty basename */
    EXEC(IMPACT_UNKNOWN, "", "");
}

/* Wrappers are judged by the command they run, past their own options. */
static void test_exec_wrappers(void **state)
{
    (void)state;
    EXEC(IMPACT_LOW, "/usr/bin/env", "env", "ls");
    EXEC(IMPACT_HIGH, "/usr/bin/env", "env", "-u", "HOME", "A=b", "rm", "-rf", "x");
    EXEC(IMPACT_HIGH, "/usr/bin/sudo", "sudo", "-u", "root", "rm", "-rf", "/srv");
    EXEC(IMPACT_HIGH, "/usr/bin/nice", "nice", "-n", "5", "kubectl", "delete", "pod", "x");
    EXEC(IMPACT_HIGH, "/usr/bin/sudo", "sudo", "env", "git", "push", "--force");
    EXEC(IMPACT_UNKNOWN, "/usr/bin/sudo", "sudo", "-u", "root");
}

/* Every command of a shell script counts; the worst wins. */
static void test_exec_shell_script_segments(void **state)
{
    (void)state;
    EXEC_R(IMPACT_HIGH, "rm", "/bin/sh", "sh", "-c", "ls; rm -rf /");
    EXEC_R(IMPACT_HIGH, "rm", "/bin/bash", "bash", "-c", "cd /tmp && (make || rm -rf build)");
    EXEC_R(IMPACT_HIGH, "git push --force", "/bin/sh", "sh", "-c", "git fetch | git push -f");
    EXEC(IMPACT_MEDIUM, "/bin/sh", "sh", "-c", "cat a\ncp a b\nls");
    EXEC(IMPACT_LOW, "/bin/sh", "sh", "-c", "   ;; ls ;  ");
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c", " ; | & ");
    EXEC(IMPACT_HIGH, "/bin/sh", "sh", "-c", "sh -c 'true' ; sudo rm x");
}

static void test_exec_unknown(void **state)
{
    (void)state;
    struct impact im =
        EXEC_R(IMPACT_UNKNOWN, "frobnicate", "/opt/x/frobnicate", "frobnicate", "--all");
    (void)im;
    EXEC(IMPACT_UNKNOWN, "/usr/bin/python3", "python3", "-c", "import os");
    EXEC(IMPACT_UNKNOWN, "/usr/bin/env", "env", "FOO=1", "frobnicate");

    /* argv may be NULL or empty (execve allows both). */
    im = impact_of_exec("/bin/rm", NULL, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_HIGH);
    im = impact_of_exec("/usr/bin/git", NULL, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    im = impact_of_exec("/usr/bin/kubectl", NULL, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    im = impact_of_exec("/bin/sh", NULL, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    char *const empty[] = {NULL};
    im = impact_of_exec("/usr/bin/git", empty, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    im = impact_of_exec("/bin/bash", empty, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
}

static void test_exec_git(void **state)
{
    (void)state;
    const char *git = "/usr/bin/git";
    EXEC_R(IMPACT_HIGH, "force", git, "git", "push", "--force");
    EXEC(IMPACT_HIGH, git, "git", "push", "-f");
    EXEC(IMPACT_HIGH, git, "git", "push", "origin", "main", "--force");
    EXEC(IMPACT_HIGH, git, "git", "push", "origin", "+main");
    EXEC(IMPACT_HIGH, git, "git", "push", "origin", "+refs/heads/a:refs/heads/b");
    EXEC(IMPACT_HIGH, git, "git", "push", "--force-with-lease");
    EXEC(IMPACT_HIGH, git, "git", "push", "--force-with-lease=main:abc123", "origin");
    EXEC(IMPACT_HIGH, git, "git", "clean", "-fdx");

    EXEC_R(IMPACT_MEDIUM, "git push", git, "git", "push");
    EXEC(IMPACT_MEDIUM, git, "git", "push", "origin", "main");
    EXEC(IMPACT_MEDIUM, git, "git", "push", "origin", "+"); /* a bare '+' is no refspec */
    EXEC(IMPACT_MEDIUM, git, "git", "commit", "-m", "x");

    EXEC_R(IMPACT_LOW, "git status", git, "git", "status");
    EXEC(IMPACT_LOW, git, "git", "log", "--oneline");
    EXEC(IMPACT_LOW, git, "git", "diff");
    /* --force elsewhere does not make a status destructive. */
    EXEC(IMPACT_LOW, git, "git", "status", "--force");

    EXEC(IMPACT_UNKNOWN, git, "git");
    EXEC(IMPACT_UNKNOWN, git, "git", "frobnicate");
    EXEC(IMPACT_UNKNOWN, git, "git", "--version");
}

/* Options that take a value may come before the subcommand: "git -C dir
 * push", as "kubectl -n ns delete" below. */
static void test_exec_git_global_options(void **state)
{
    (void)state;
    const char *git = "/usr/bin/git";
    EXEC(IMPACT_LOW, git, "git", "--no-pager", "log");
    EXEC(IMPACT_HIGH, git, "git", "-C", "/repo", "push", "--force");
    EXEC(IMPACT_LOW, git, "git", "-C", "/repo", "status");
    EXEC(IMPACT_MEDIUM, git, "git", "-c", "user.name=x", "commit", "-m", "y");
}

static void test_exec_kubectl(void **state)
{
    (void)state;
    const char *k = "/usr/local/bin/kubectl";
    EXEC_R(IMPACT_HIGH, "kubectl delete", k, "kubectl", "delete", "pod", "x");
    EXEC(IMPACT_HIGH, k, "kubectl", "drain", "node-1");
    EXEC(IMPACT_HIGH, k, "kubectl", "--namespace=prod", "delete", "pod", "x");
    EXEC_R(IMPACT_MEDIUM, "kubectl apply", k, "kubectl", "apply", "-f", "x.yaml");
    EXEC(IMPACT_MEDIUM, k, "kubectl", "scale", "deploy/x", "--replicas=0");
    EXEC_R(IMPACT_LOW, "kubectl get", k, "kubectl", "get", "pods");
    EXEC(IMPACT_LOW, k, "kubectl", "logs", "x");
    EXEC(IMPACT_UNKNOWN, k, "kubectl");
    EXEC(IMPACT_UNKNOWN, k, "kubectl", "version");
}

/* A namespace given as "-n ns" (or a context) may come before the verb. */
static void test_exec_kubectl_options_before_verb(void **state)
{
    (void)state;
    const char *k = "/usr/local/bin/kubectl";
    EXEC_R(IMPACT_HIGH, "delete", k, "kubectl", "-n", "ns", "delete", "pod", "x");
    EXEC(IMPACT_HIGH, k, "kubectl", "--namespace", "ns", "delete", "pod", "x");
    EXEC(IMPACT_LOW, k, "kubectl", "-n", "ns", "get", "pods");
    EXEC(IMPACT_HIGH, k, "kubectl", "--context", "prod", "-n", "ns", "delete", "ns", "x");
}

static void test_exec_shell_scripts(void **state)
{
    (void)state;
    struct impact im = EXEC_R(IMPACT_HIGH, "shell script", "/bin/sh", "sh", "-c", "rm -rf /tmp/x");
    assert_non_null(strstr(im.reason, "rm"));
    EXEC_R(IMPACT_LOW, "shell script", "/bin/bash", "bash", "-c", "ls");
    EXEC(IMPACT_LOW, "/usr/bin/bash", "bash", "-c", "  \tls -la");
    EXEC(IMPACT_HIGH, "/bin/dash", "dash", "-c", "/usr/bin/rm x");
    EXEC(IMPACT_HIGH, "/bin/zsh", "zsh", "-c", "rm;ls");
    EXEC(IMPACT_MEDIUM, "/bin/sh", "sh", "-c", "mkdir\n-p d");
    EXEC(IMPACT_HIGH, "/bin/sh", "sh", "-c", "mkfs.ext4 /dev/sdb1");
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c", "frobnicate now");
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c", "");
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c", "   ");
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c");          /* no script */
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "script.sh");   /* a file: not judged */
    EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh");
    /* An interpreter that is not a shell. */
    EXEC(IMPACT_UNKNOWN, "/usr/bin/python3", "python3", "-c", "rm");
}

/* The script's first word may be a long absolute path (a Nix store path is
 * 64 bytes here): judged by its basename like any other path. */
static void test_exec_shell_script_long_path(void **state)
{
    (void)state;
    EXEC(IMPACT_HIGH, "/bin/sh", "sh", "-c",
         "/nix/store/0c7q4m2xk8l1v9d3yq2sd8f5w6h7j8k9-coreutils-9.4/bin/rm -rf /tmp/x");
    char script[400];
    snprintf(script, sizeof script, "/%0200d/rm -rf /", 0);
    EXEC(IMPACT_HIGH, "/bin/sh", "sh", "-c", script);
    snprintf(script, sizeof script, "/%0200d/ls", 0);
    EXEC(IMPACT_LOW, "/bin/bash", "bash", "-c", script);
}

static void test_reasons_bounded(void **state)
{
    (void)state;
    char longname[400], longpath[420], script[400];
    memset(longname, 'z', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    snprintf(longpath, sizeof longpath, "/opt/%s", longname);
    struct impact im = EXEC(IMPACT_UNKNOWN, longpath, longname);
    assert_int_equal(strlen(im.reason), sizeof im.reason - 1);

    /* A long first word in a shell script: truncated, but judged. */
    memset(script, 'q', sizeof script - 1);
    script[sizeof script - 1] = '\0';
    im = EXEC(IMPACT_UNKNOWN, "/bin/sh", "sh", "-c", script);
    (void)im;

    char git_sub[300];
    memset(git_sub, 's', sizeof git_sub - 1);
    git_sub[sizeof git_sub - 1] = '\0';
    EXEC(IMPACT_UNKNOWN, "/usr/bin/git", "git", git_sub);

    /* A long verb in a payload. */
    char verb[300];
    memset(verb, 'X', 250);
    memcpy(verb + 250, " / HTTP/1.1\r\n", 14);
    struct impact p = payload(verb, 264, NULL);
    assert_int_equal(p.level, IMPACT_UNKNOWN);
    assert_true(strlen(p.reason) <= sizeof p.reason - 1);
}

/* ---- the [impact] table ------------------------------------------------- */

struct table_fixture {
    struct impact_exec_entry exec[5];
    struct impact_verb_entry verbs[3];
    struct impact_table table;
};

static int table_setup(void **state)
{
    struct table_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    static const struct {
        const char *rule;
        enum impact_level level;
    } rules[] = {
        {"terraform destroy", IMPACT_HIGH},
        {"terraform plan", IMPACT_LOW},
        {"rm", IMPACT_LOW},             /* overrides a built-in */
        {"/opt/tools/*", IMPACT_MEDIUM}, /* by path */
        {"kubectl * secret*", IMPACT_HIGH},
    };
    char err[256];
    for (size_t i = 0; i < 5; i++) {
        if (!exec_rule_parse(rules[i].rule, &f->exec[i].rule, err, sizeof err)) {
            print_error("%s: %s\n", rules[i].rule, err);
            return -1;
        }
        f->exec[i].level = rules[i].level;
    }
    f->verbs[0] = (struct impact_verb_entry){IMPACT_HIGH, "PURGE"};
    f->verbs[1] = (struct impact_verb_entry){IMPACT_HIGH, "KEYS"};
    f->verbs[2] = (struct impact_verb_entry){IMPACT_MEDIUM, "SELECT"};
    f->table = (struct impact_table){f->exec, 5, f->verbs, 3};
    *state = f;
    return 0;
}

static int table_teardown(void **state)
{
    struct table_fixture *f = *state;
    for (size_t i = 0; i < 5; i++)
        exec_rule_free(&f->exec[i].rule);
    free(f);
    return 0;
}

#define EXEC_T(lvl, has, path, ...) \
    exec_check((lvl), (path), ARGV(__VA_ARGS__), &f->table, (has), __LINE__)

static void test_table_exec_wins(void **state)
{
    struct table_fixture *f = *state;
    EXEC_T(IMPACT_HIGH, "[impact]", "/usr/bin/terraform", "terraform", "destroy", "-auto-approve");
    EXEC_T(IMPACT_LOW, "[impact]", "/usr/bin/terraform", "terraform", "plan");
    EXEC_T(IMPACT_UNKNOWN, NULL, "/usr/bin/terraform", "terraform", "apply");
    EXEC_T(IMPACT_UNKNOWN, NULL, "/usr/bin/terraform", "terraform");
    /* The table is consulted before the built-ins. */
    EXEC_T(IMPACT_LOW, "[impact]", "/bin/rm", "rm", "-rf", "/tmp/x");
    EXEC_T(IMPACT_MEDIUM, "[impact]", "/opt/tools/deploy", "deploy");
    EXEC_T(IMPACT_LOW, NULL, "/usr/bin/ls", "ls"); /* no rule: built-in */
    EXEC_T(IMPACT_HIGH, "[impact]", "/usr/bin/kubectl", "kubectl", "get", "secrets");
    EXEC_T(IMPACT_LOW, "kubectl get", "/usr/bin/kubectl", "kubectl", "get", "pods");
    EXEC_T(IMPACT_HIGH, "git push --force", "/usr/bin/git", "git", "push", "-f");
    /* Inside a wrapper or a shell script, the table still comes first
     * (the fuzzer found both judged UNKNOWN). */
    EXEC_T(IMPACT_HIGH, "[impact]", "/usr/bin/sudo", "sudo", "terraform", "destroy", "prod");
    EXEC_T(IMPACT_HIGH, "[impact]", "/bin/sh", "sh", "-c", "cd x && terraform destroy prod");
    EXEC_T(IMPACT_LOW, "[impact]", "/usr/bin/env", "env", "rm", "-rf", "/tmp/x");

    /* An empty table is no table. */
    struct impact_table none = {NULL, 0, NULL, 0};
    struct impact im = impact_of_exec("/usr/bin/terraform", ARGV("terraform", "destroy"), &none);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    im = impact_of_exec("/bin/rm", ARGV("rm", "x"), &none);
    assert_int_equal(im.level, IMPACT_HIGH);
}

static void test_table_verbs(void **state)
{
    struct table_fixture *f = *state;
    payload_check(IMPACT_HIGH, "PURGE /cache/x HTTP/1.1\r\n", 25, &f->table, "PURGE", __LINE__);
    payload_check(IMPACT_HIGH, "PURGE /cache/x HTTP/1.1\r\n", 25, &f->table, "[impact]",
                  __LINE__);
    PAYLOAD_S(IMPACT_UNKNOWN, "PURGE /cache/x HTTP/1.1\r\n"); /* without the table */
    const char *keys = "*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n";
    payload_check(IMPACT_HIGH, keys, strlen(keys), &f->table, "[impact]", __LINE__);
    PAYLOAD_S(IMPACT_LOW, keys);
    unsigned char pg[64];
    size_t n = pg_query("select 1", pg);
    payload_check(IMPACT_MEDIUM, pg, n, &f->table, "[impact]", __LINE__);
    PAYLOAD_B(IMPACT_LOW, pg, n);
    /* Verbs not in the table keep their built-in level. */
    payload_check(IMPACT_HIGH, "DELETE /x HTTP/1.1\r\n", 20, &f->table, NULL, __LINE__);
}

/* ---- payloads ----------------------------------------------------------- */

static void test_payload_http(void **state)
{
    (void)state;
    PAYLOAD_SR(IMPACT_HIGH, "DELETE", "DELETE /x HTTP/1.1\r\n");
    PAYLOAD_SR(IMPACT_HIGH, "HTTP", "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n");
    PAYLOAD_S(IMPACT_MEDIUM, "POST /api/users HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    PAYLOAD_S(IMPACT_MEDIUM, "PUT /x HTTP/1.1\r\n");
    PAYLOAD_S(IMPACT_MEDIUM, "PATCH /x HTTP/1.0\r\n");
    PAYLOAD_SR(IMPACT_LOW, "GET", "GET / HTTP/1.1");
    PAYLOAD_S(IMPACT_LOW, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
    PAYLOAD_S(IMPACT_LOW, "HEAD / HTTP/1.1\r\n");
    PAYLOAD_S(IMPACT_LOW, "OPTIONS * HTTP/1.1\r\n");
    PAYLOAD_S(IMPACT_UNKNOWN, "BREW /pot HTTP/1.1\r\n");
}

static void test_payload_postgres(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = pg_query("DROP TABLE t;", buf);
    payload_check(IMPACT_HIGH, buf, n, NULL, "DROP", __LINE__);
    n = pg_query("/* c */ -- x\n SELECT 1", buf);
    payload_check(IMPACT_LOW, buf, n, NULL, "SELECT", __LINE__);
    n = pg_query("delete from t where id = 1", buf);
    PAYLOAD_B(IMPACT_HIGH, buf, n);
    n = pg_query("TRUNCATE t", buf);
    PAYLOAD_B(IMPACT_HIGH, buf, n);
    n = pg_query("  (SELECT 1) UNION (SELECT 2)", buf);
    PAYLOAD_B(IMPACT_LOW, buf, n);
    n = pg_query("INSERT INTO t VALUES (1)", buf);
    PAYLOAD_B(IMPACT_MEDIUM, buf, n);
    n = pg_query("update t set a = 1", buf);
    PAYLOAD_B(IMPACT_MEDIUM, buf, n);
    n = pg_query("-- only a comment", buf);
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
    n = pg_query("/* never closed", buf);
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
    n = pg_query("", buf);
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
    n = pg_query("VACUUM", buf);
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
}

static void test_payload_mysql(void **state)
{
    (void)state;
    unsigned char buf[512];
    size_t n = mysql_query("delete from t", buf);
    payload_check(IMPACT_HIGH, buf, n, NULL, "delete", __LINE__);
    n = mysql_query("DROP DATABASE prod", buf);
    PAYLOAD_B(IMPACT_HIGH, buf, n);
    n = mysql_query("/* x */ UPDATE t SET a=1", buf);
    PAYLOAD_B(IMPACT_MEDIUM, buf, n);
    n = mysql_query("REPLACE INTO t VALUES (1)", buf);
    PAYLOAD_B(IMPACT_MEDIUM, buf, n);
    n = mysql_query("select * from t", buf);
    PAYLOAD_B(IMPACT_LOW, buf, n);
    n = mysql_query("SHOW TABLES", buf);
    PAYLOAD_B(IMPACT_LOW, buf, n);
    /* A 300-byte query: the length uses two bytes. */
    char big[320];
    snprintf(big, sizeof big, "DELETE FROM t WHERE x IN (%0280d)", 0);
    n = mysql_query(big, buf);
    PAYLOAD_B(IMPACT_HIGH, buf, n);
}

static void test_payload_redis(void **state)
{
    (void)state;
    PAYLOAD_SR(IMPACT_HIGH, "FLUSHALL", "*1\r\n$8\r\nFLUSHALL\r\n");
    PAYLOAD_SR(IMPACT_MEDIUM, "SET", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    PAYLOAD_SR(IMPACT_LOW, "GET", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    PAYLOAD_S(IMPACT_HIGH, "*2\r\n$3\r\ndel\r\n$1\r\nk\r\n");
    PAYLOAD_S(IMPACT_HIGH, "*1\r\n$7\r\nFLUSHDB\r\n");
    PAYLOAD_S(IMPACT_MEDIUM, "*3\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n");
    PAYLOAD_S(IMPACT_UNKNOWN, "*1\r\n$4\r\nPING\r\n");

    /* Inline commands. */
    PAYLOAD_SR(IMPACT_HIGH, "DEL", "DEL k\r\n");
    PAYLOAD_S(IMPACT_MEDIUM, "SET k v\r\n");
    PAYLOAD_S(IMPACT_LOW, "GET k\r\n");
    PAYLOAD_S(IMPACT_HIGH, "unlink a b c\r\n");
}

/* An inline command with no arguments is still a Redis command. */
static void test_payload_redis_inline_without_arguments(void **state)
{
    (void)state;
    PAYLOAD_S(IMPACT_HIGH, "FLUSHALL\r\n");
    PAYLOAD_S(IMPACT_HIGH, "FLUSHDB\r\n");
    PAYLOAD_S(IMPACT_HIGH, "flushall\n");
}

static void test_payload_empty_and_unknown(void **state)
{
    (void)state;
    PAYLOAD_B(IMPACT_UNKNOWN, "", 0);
    struct impact im = impact_of_payload(NULL, 0, NULL);
    check_reason(&im);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    PAYLOAD_B(IMPACT_UNKNOWN, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11); /* TLS */
    PAYLOAD_S(IMPACT_UNKNOWN, "SSH-2.0-OpenSSH_9.6\r\n");
    PAYLOAD_S(IMPACT_UNKNOWN, "x");
    PAYLOAD_S(IMPACT_UNKNOWN, " ");
}

/* ---- robustness: truncation and garbage --------------------------------- */

struct sample {
    unsigned char data[96];
    size_t len;
};

static size_t samples(struct sample *s)
{
    size_t n = 0;
    static const char *texts[] = {
        "DELETE /x HTTP/1.1\r\n",
        "GET / HTTP/1.1",
        "POST /a HTTP/1.1\r\n\r\n{}",
        "*1\r\n$8\r\nFLUSHALL\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        "DEL k\r\n",
        "FLUSHALL\r\n",
        "DELETE FROM t",
        "/* unterminated",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++, n++) {
        s[n].len = strlen(texts[i]);
        memcpy(s[n].data, texts[i], s[n].len);
    }
    s[n].len = pg_query("DROP TABLE t;", s[n].data);
    n++;
    s[n].len = pg_query("/* c */ -- x\n SELECT 1", s[n].data);
    n++;
    s[n].len = pg_query("/* a */ /* b", s[n].data);
    n++;
    s[n].len = mysql_query("delete from t", s[n].data);
    n++;
    s[n].len = mysql_query("-- x\n/**/", s[n].data);
    n++;
    return n;
}

static void test_payload_every_prefix(void **state)
{
    (void)state;
    struct sample s[32];
    size_t n = samples(s);
    for (size_t i = 0; i < n; i++)
        for (size_t len = 0; len <= s[i].len; len++)
            (void)payload(s[i].data, len, NULL); /* checks the reason and level */
}

static uint64_t rnd(uint64_t *st)
{
    uint64_t z = (*st += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Text that is neither HTTP, Redis nor SQL says so, not "SQL hello". */
static void test_payload_plain_text(void **state)
{
    (void)state;
    struct impact im = payload("datagram 1 of 4", 15, NULL);
    assert_int_equal(im.level, IMPACT_UNKNOWN);
    assert_string_equal(im.reason, "unrecognised protocol");
    PAYLOAD_S(IMPACT_HIGH, "drop table t");
    PAYLOAD_S(IMPACT_LOW, "select 1");
}

static void test_payload_garbage(void **state)
{
    (void)state;
    static const char alphabet[] = "*$\r\n -/ ()QGETDELHTTP/1.1;x\0\003\377";
    uint64_t st = 42;
    unsigned char buf[128];
    int levels[4] = {0};
    for (int iter = 0; iter < 30000; iter++) {
        size_t len = (size_t)(rnd(&st) % 100);
        int mode = (int)(rnd(&st) % 4);
        for (size_t i = 0; i < len; i++) {
            uint64_t r = rnd(&st);
            buf[i] = mode == 0 ? (unsigned char)r
                               : (unsigned char)alphabet[r % (sizeof alphabet - 1)];
        }
        /* Steer some toward each protocol's header. */
        if (len >= 5 && mode == 2) {
            buf[0] = 'Q';
            buf[1] = buf[2] = 0;
        }
        if (len >= 5 && mode == 3) {
            buf[3] = 0;
            buf[4] = 0x03;
        }
        if (len >= 1 && mode == 1 && (iter & 1))
            buf[0] = '*';
        struct impact im = payload(buf, len, NULL);
        levels[im.level]++;
    }
    /* Garbage mostly says UNKNOWN, and every answer is a level. */
    assert_true(levels[IMPACT_UNKNOWN] > 0);

    /* Random argv too: no crash, a level and a reason. */
    char words[6][24];
    char *argv[7];
    for (int iter = 0; iter < 5000; iter++) {
        size_t argc = (size_t)(rnd(&st) % 6);
        for (size_t a = 0; a < argc; a++) {
            size_t wl = (size_t)(rnd(&st) % 23);
            for (size_t i = 0; i < wl; i++) {
                char c = alphabet[rnd(&st) % (sizeof alphabet - 1)];
                words[a][i] = c ? c : 'a';
            }
            words[a][wl] = '\0';
            argv[a] = words[a];
        }
        argv[argc] = NULL;
        static const char *progs[] = {"/bin/sh", "/usr/bin/git", "/usr/bin/kubectl", "/bin/rm",
                                      "/x/y"};
        struct impact im = impact_of_exec(progs[rnd(&st) % 5], argv, NULL);
        check_reason(&im);
    }
}

/* A connection's first bytes: the SSL request, the start-up message and a
 * password come before the query that decides. */
static void test_postgres_opening_is_skipped(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = 0;
    static const unsigned char ssl[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    memcpy(buf, ssl, sizeof ssl);
    n += sizeof ssl;
    static const unsigned char startup[] = {0, 0, 0, 17, 0, 3, 0, 0, 'u', 's', 'e', 'r',
                                            0, 'a', 'l', 0, 0};
    memcpy(buf + n, startup, sizeof startup);
    n += sizeof startup;
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
    static const unsigned char password[] = {'p', 0, 0, 0, 7, 'p', 'w', 0};
    memcpy(buf + n, password, sizeof password);
    n += sizeof password;
    PAYLOAD_B(IMPACT_UNKNOWN, buf, n);
    n += pg_query("DROP TABLE t", buf + n);
    PAYLOAD_B(IMPACT_HIGH, buf, n);
    /* A start-up message that claims more than was sent is not skipped. */
    unsigned char cut[] = {0, 0, 0, 99, 0, 3, 0, 0, 'x'};
    PAYLOAD_B(IMPACT_UNKNOWN, cut, sizeof cut);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postgres_opening_is_skipped),
        cmocka_unit_test(test_level_names_round_trip),
        cmocka_unit_test(test_exec_programs_by_name),
        cmocka_unit_test(test_exec_path_basename),
        cmocka_unit_test(test_exec_unknown),
        cmocka_unit_test(test_exec_wrappers),
        cmocka_unit_test(test_exec_shell_script_segments),
        cmocka_unit_test(test_exec_git),
        cmocka_unit_test(test_exec_git_global_options),
        cmocka_unit_test(test_exec_kubectl),
        cmocka_unit_test(test_exec_kubectl_options_before_verb),
        cmocka_unit_test(test_exec_shell_scripts),
        cmocka_unit_test(test_exec_shell_script_long_path),
        cmocka_unit_test(test_reasons_bounded),
        cmocka_unit_test_setup_teardown(test_table_exec_wins, table_setup, table_teardown),
        cmocka_unit_test_setup_teardown(test_table_verbs, table_setup, table_teardown),
        cmocka_unit_test(test_payload_http),
        cmocka_unit_test(test_payload_postgres),
        cmocka_unit_test(test_payload_mysql),
        cmocka_unit_test(test_payload_redis),
        cmocka_unit_test(test_payload_redis_inline_without_arguments),
        cmocka_unit_test(test_payload_empty_and_unknown),
        cmocka_unit_test(test_payload_every_prefix),
        cmocka_unit_test(test_payload_plain_text),
        cmocka_unit_test(test_payload_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
