/* A program's argv as one line people read ("rm -rf /tmp/x"): for audit
 * records and for a person asked to approve it. */
#ifndef ENACT_ARGV_TEXT_H
#define ENACT_ARGV_TEXT_H

#include <stddef.h>

/* The arguments joined by single spaces into out (cap bytes, always
 * NUL-terminated; cut when longer). No allocation. */
void argv_text(char *const argv[], char *out, size_t cap);

#endif
