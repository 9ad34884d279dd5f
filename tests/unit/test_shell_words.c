/* Unit tests for shell_words.c: which command lines need no shell. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "shell_words.h"

static size_t split(const char *cmd, char *words_out[8], char buf[128])
{
    if (!shell_simple_words(cmd, buf, 128, words_out, 8))
        return 0;
    size_t n = 0;
    while (words_out[n])
        n++;
    return n;
}

static void test_simple_commands_split(void **state)
{
    (void)state;
    char buf[128];
    char *w[8];
    assert_int_equal(split("rm -rf /tmp/x", w, buf), 3);
    assert_string_equal(w[0], "rm");
    assert_string_equal(w[1], "-rf");
    assert_string_equal(w[2], "/tmp/x");
    assert_null(w[3]);
    assert_int_equal(split("  git\tpush --force=yes origin:main  ", w, buf), 4);
    assert_string_equal(w[2], "--force=yes");
    assert_string_equal(w[3], "origin:main");
    assert_int_equal(split("/usr/bin/ls -l a,b user@host 50% x^2 a~b", w, buf), 7);
}

static void test_shell_syntax_is_not_simple(void **state)
{
    (void)state;
    char buf[128];
    char *w[8];
    const char *complex[] = {
        "rm -rf \"a b\"", "rm 'x'", "echo $HOME", "ls *.c", "a; b", "a | b", "a && b",
        "a > f", "a < f", "a\\ b", "a\nb", "FOO=1 cmd", "cd ~", "(a)", "a &", "echo `x`",
        "echo #c", "echo {a,b}", "ls [ab]", "ls ?", "echo !x",
    };
    for (size_t i = 0; i < sizeof complex / sizeof complex[0]; i++)
        assert_int_equal(split(complex[i], w, buf), 0);
}

static void test_empty_and_too_long(void **state)
{
    (void)state;
    char buf[128];
    char *w[8];
    assert_int_equal(split("", w, buf), 0);
    assert_int_equal(split("   \t ", w, buf), 0);
    /* 8 pointers: at most 7 words and the NULL. */
    assert_int_equal(split("a b c d e f g", w, buf), 7);
    assert_int_equal(split("a b c d e f g h", w, buf), 0);
    char longw[200];
    memset(longw, 'x', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    assert_int_equal(split(longw, w, buf), 0);
    /* An assignment after the first word is an argument. */
    assert_int_equal(split("env A=1", w, buf), 2);
    /* No room at all: refused, nothing written (found by fuzz_shell_words:
     * the NULL went one past the array). */
    char **none = malloc(sizeof *none); /* the array and what is past it, under ASan */
    assert_non_null(none);
    none[0] = buf;
    assert_false(shell_simple_words("", buf, sizeof buf, none, 0));
    assert_ptr_equal(none[0], buf);
    free(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_commands_split),
        cmocka_unit_test(test_shell_syntax_is_not_simple),
        cmocka_unit_test(test_empty_and_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
