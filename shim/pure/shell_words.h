/* The words of a shell command line that needs no shell to understand:
 * what system("rm -rf /tmp/x") and popen("ls -l", "r") will run.
 *
 * A command is simple when it is made only of words of plain characters
 * (letters, digits and _ . / - + = : , @ % ^ ~) separated by blanks, and
 * its first word assigns nothing. Anything else (quotes, $, globs,
 * redirections, ;, |, &&, backslashes, newlines) is the shell's to
 * interpret: such a command is governed at each program the shell starts.
 * No allocation: usable in a vfork child. */
#ifndef ENACT_SHELL_WORDS_H
#define ENACT_SHELL_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* Splits cmd into words, copied into buf (cap bytes), pointed to by
 * words[0..n-1] and words[n] = NULL (max pointers in all). False when the
 * command is not simple, is empty, or does not fit. */
bool shell_simple_words(const char *cmd, char *buf, size_t cap, char *words[], size_t max);

#endif
