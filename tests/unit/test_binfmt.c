/* Unit tests for binfmt.c: static, dynamic, scripts, privileged files.
 * Builds a static binary with the C compiler when it can. */
#include "helpers.h"

#include "binfmt.h"

static void test_system_programs_are_dynamic(void **state)
{
    (void)state;
    struct binfmt b = binfmt_of("/bin/true");
    assert_int_equal(b.kind, BINFMT_DYNAMIC);
    assert_false(b.script);
    assert_false(b.privileged);
    assert_string_equal(binfmt_kind_name(b.kind), "dynamic");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_scripts_and_other_files(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/s.sh", dir);
    write_file(path, "#!/bin/sh\necho hi\n", 0755);
    struct binfmt b = binfmt_of(path);
    assert_true(b.script);
    assert_int_equal(b.kind, BINFMT_DYNAMIC);
    snprintf(path, sizeof path, "%s/plain.txt", dir);
    write_file(path, "hello\n", 0644);
    assert_int_equal(binfmt_of(path).kind, BINFMT_UNKNOWN);
    snprintf(path, sizeof path, "%s/bad.sh", dir);
    write_file(path, "#!relative\n", 0755);
    assert_int_equal(binfmt_of(path).kind, BINFMT_UNKNOWN);
    assert_int_equal(binfmt_of("/nonexistent/enact").kind, BINFMT_UNKNOWN);
    /* A truncated ELF header is not judged. */
    snprintf(path, sizeof path, "%s/cut", dir);
    write_file(path, "\177ELF\002\001\001", 0755);
    assert_int_equal(binfmt_of(path).kind, BINFMT_UNKNOWN);
    snprintf(path, sizeof path, "%s/suid", dir);
    write_file(path, "#!/bin/sh\n", 04755);
    assert_true(binfmt_of(path).privileged);
    th_rmtree(dir);
}

static void test_static_binary(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    char cmd[1200], src[512], bin[512];
    snprintf(src, sizeof src, "%s/s.c", dir);
    snprintf(bin, sizeof bin, "%s/s", dir);
    write_file(src, "int main(void){return 0;}\n", 0644);
    snprintf(cmd, sizeof cmd, "cc -static -o %s %s 2>/dev/null", bin, src);
    if (system(cmd) != 0) {
        th_rmtree(dir);
        skip(); /* no static libc here */
    }
    assert_int_equal(binfmt_of(bin).kind, BINFMT_STATIC);
    snprintf(cmd, sizeof cmd, "cc -static-pie -o %s %s 2>/dev/null", bin, src);
    if (system(cmd) == 0)
        assert_int_equal(binfmt_of(bin).kind, BINFMT_STATIC);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_programs_are_dynamic),
        cmocka_unit_test(test_scripts_and_other_files),
        cmocka_unit_test(test_static_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
