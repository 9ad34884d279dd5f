/* Shell-style glob matching for exec and unix-socket rules.
 *
 * Safe on the exec path: no allocation, no locale, no locks, bounded stack
 * (iterative with one back-tracking point per '*'), so it may run in a vfork
 * child. Supports '*', '?', '[abc]', '[a-z]', '[!x]' and '\' escapes.
 * '*' and '?' match '/' too: a rule is matched against one argument or one
 * path, never split on '/'. */
#ifndef ENACT_GLOB_H
#define ENACT_GLOB_H

#include <stdbool.h>

bool glob_match(const char *pattern, const char *text);

/* True when the pattern has no wildcard, so a plain comparison suffices. */
bool glob_is_literal(const char *pattern);

#endif
