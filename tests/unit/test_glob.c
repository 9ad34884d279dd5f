/* Unit tests for glob.c: the shell-style matcher used by exec and unix rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

#define MATCH(p, t) assert_true(glob_match((p), (t)))
#define NO_MATCH(p, t) assert_false(glob_match((p), (t)))

static void test_literals(void **state)
{
    (void)state;
    MATCH("rm", "rm");
    MATCH("/usr/bin/rm", "/usr/bin/rm");
    NO_MATCH("rm", "rmdir");
    NO_MATCH("rmdir", "rm");
    NO_MATCH("rm", "RM");
    NO_MATCH("rm", "r");
    NO_MATCH("abc", "abd");
    MATCH("a.b", "a.b");
    NO_MATCH("a.b", "aXb"); /* '.' is not a wildcard */
}

static void test_empty_pattern_and_text(void **state)
{
    (void)state;
    MATCH("", "");
    NO_MATCH("", "a");
    NO_MATCH("a", "");
    MATCH("*", "");
    MATCH("**", "");
    NO_MATCH("?", "");
    NO_MATCH("[a]", "");
    NO_MATCH("*a", "");
}

static void test_star(void **state)
{
    (void)state;
    MATCH("*", "anything at all");
    MATCH("a*", "a");
    MATCH("a*", "abc");
    NO_MATCH("a*", "ba");
    MATCH("*c", "abc");
    NO_MATCH("*c", "abcd");
    MATCH("a*c", "ac");
    MATCH("a*c", "abbbbc");
    NO_MATCH("a*c", "abbbb");
    MATCH("a**c", "aXc");
    MATCH("*.py", "script.py");
    NO_MATCH("*.py", "script.pyc");
    MATCH("kube*", "kubectl");
}

static void test_star_matches_slash(void **state)
{
    (void)state;
    MATCH("*", "/usr/bin/rm");
    MATCH("/usr/*", "/usr/local/bin/rm");
    MATCH("/run/*.sock", "/run/deep/dir/x.sock");
    MATCH("a?b", "a/b");
    NO_MATCH("/usr/*", "/opt/bin/rm");
}

static void test_question_mark(void **state)
{
    (void)state;
    MATCH("?", "x");
    NO_MATCH("?", "xy");
    MATCH("r?", "rm");
    MATCH("???", "abc");
    NO_MATCH("???", "ab");
    NO_MATCH("???", "abcd");
    MATCH("a?c", "abc");
    NO_MATCH("a?c", "ac");
}

static void test_classes(void **state)
{
    (void)state;
    MATCH("[abc]", "a");
    MATCH("[abc]", "c");
    NO_MATCH("[abc]", "d");
    NO_MATCH("[abc]", "ab");
    MATCH("[a-z]", "m");
    MATCH("[a-z]", "a");
    MATCH("[a-z]", "z");
    NO_MATCH("[a-z]", "A");
    NO_MATCH("[a-z]", "0");
    MATCH("[0-9][0-9]", "42");
    NO_MATCH("[0-9][0-9]", "4x");
    MATCH("[a-cx-z]", "y");
    NO_MATCH("[a-cx-z]", "m");
    MATCH("file[0-9].txt", "file7.txt");
    NO_MATCH("file[0-9].txt", "fileA.txt");
}

static void test_negated_classes(void **state)
{
    (void)state;
    MATCH("[!x]", "y");
    NO_MATCH("[!x]", "x");
    MATCH("[^x]", "y");
    NO_MATCH("[^x]", "x");
    MATCH("[!a-z]", "Q");
    NO_MATCH("[!a-z]", "q");
    NO_MATCH("[!x]", ""); /* still needs one character */
}

static void test_class_edge_members(void **state)
{
    (void)state;
    /* ']' first in the class is a member, not the end. */
    MATCH("[]]", "]");
    MATCH("[]a]", "a");
    NO_MATCH("[]a]", "b");
    MATCH("[!]]", "a");
    NO_MATCH("[!]]", "]");
    /* '-' last is literal. */
    MATCH("[a-]", "-");
    MATCH("[a-]", "a");
    NO_MATCH("[a-]", "b");
    /* '*' and '?' are literal inside a class. */
    MATCH("[*?]", "*");
    MATCH("[*?]", "?");
    NO_MATCH("[*?]", "a");
    /* Escaped ']' inside a class. */
    MATCH("[\\]]", "]");
}

static void test_escapes(void **state)
{
    (void)state;
    MATCH("\\*", "*");
    NO_MATCH("\\*", "a");
    NO_MATCH("\\*", "");
    MATCH("\\?", "?");
    NO_MATCH("\\?", "x");
    MATCH("\\[a]", "[a]");
    NO_MATCH("\\[a]", "a");
    MATCH("a\\*b*", "a*bcd");
    NO_MATCH("a\\*b*", "aXbcd");
    MATCH("\\\\", "\\");
    MATCH("\\a", "a");
    /* A trailing backslash is a literal backslash. */
    MATCH("a\\", "a\\");
    NO_MATCH("a\\", "a");
}

static void test_backtracking(void **state)
{
    (void)state;
    MATCH("a*b*c", "aXbYbZc");
    MATCH("a*b*c", "abc");
    MATCH("a*b*c", "abbbc");
    NO_MATCH("a*b*c", "aXbYbZ");
    NO_MATCH("a*b*c", "aXcYc_");
    MATCH("*ab", "aab");
    MATCH("*aab", "aaab");
    MATCH("*a*a*a*", "banana a");
    NO_MATCH("*a*a*a*a*", "banana");
    MATCH("*?c", "abc");
    MATCH("a*[0-9]", "abc123");
    NO_MATCH("a*[0-9]", "abc123x");
    MATCH("*x*y*z", "__x__x__y__z");
    NO_MATCH("*x*y*z", "__z__y__x");
    MATCH("kubectl*delete*", "kubectl --ns prod delete pod");
}

static void test_backtracking_long_input_terminates(void **state)
{
    (void)state;
    /* Pathological for naive recursive matchers; linear-ish here. */
    char text[4097];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    NO_MATCH("*a*a*a*a*a*a*a*a*b", text);
    MATCH("*a*a*a*a*a*a*a*a*a", text);
}

static void test_malformed_bracket_is_literal(void **state)
{
    (void)state;
    MATCH("[", "[");
    NO_MATCH("[", "a");
    MATCH("[abc", "[abc");
    NO_MATCH("[abc", "a");
    NO_MATCH("[abc", "abc");
    MATCH("a[b", "a[b");
    MATCH("*[", "xx[");
    MATCH("[!", "[!");
    MATCH("[a-", "[a-");
}

static void test_high_bytes(void **state)
{
    (void)state;
    /* UTF-8 bytes compare as bytes: '?' is one byte. */
    MATCH("caf\xc3\xa9", "caf\xc3\xa9");
    MATCH("caf??", "caf\xc3\xa9");
    NO_MATCH("caf?", "caf\xc3\xa9");
    MATCH("[\x80-\xff]", "\xc3");
    NO_MATCH("[\x80-\xff]", "a");
}

static void test_is_literal(void **state)
{
    (void)state;
    assert_true(glob_is_literal(""));
    assert_true(glob_is_literal("rm"));
    assert_true(glob_is_literal("/usr/bin/python3.11"));
    assert_true(glob_is_literal("a-b_c.d"));
    assert_true(glob_is_literal("]")); /* a lone ']' is plain */
    assert_false(glob_is_literal("*"));
    assert_false(glob_is_literal("r?"));
    assert_false(glob_is_literal("[a]"));
    assert_false(glob_is_literal("a\\b"));
    assert_false(glob_is_literal("/usr/bin/*"));
    assert_false(glob_is_literal("x["));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_empty_pattern_and_text),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_star_matches_slash),
        cmocka_unit_test(test_question_mark),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_negated_classes),
        cmocka_unit_test(test_class_edge_members),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_backtracking),
        cmocka_unit_test(test_backtracking_long_input_terminates),
        cmocka_unit_test(test_malformed_bracket_is_literal),
        cmocka_unit_test(test_high_bytes),
        cmocka_unit_test(test_is_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
