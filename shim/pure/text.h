/* Building a short string in a fixed buffer without stdio: what the shim
 * forms at every process start (the image's and the state file's names,
 * the environment entries its children get). One snprintf costs about 700
 * instructions, and the first call of each libc function from the shim
 * another 700 for the loader to bind it (bench/NOTES.md, B6).
 *
 * Truncates as snprintf does: what fits is kept, always NUL-terminated
 * (cap > 0), and text_fits() says whether all of it fitted. */
#ifndef ENACT_TEXT_H
#define ENACT_TEXT_H

#include "num.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct text {
    char *out;
    size_t cap; /* bytes at out, the NUL included; > 0 */
    size_t len; /* bytes written, not counting the NUL */
    bool full;  /* something did not fit */
};

static inline struct text text_at(char *out, size_t cap)
{
    out[0] = '\0';
    return (struct text){.out = out, .cap = cap};
}

static inline void text_bytes(struct text *t, const char *s, size_t n)
{
    size_t room = t->cap - 1 - t->len;
    if (n > room) {
        n = room;
        t->full = true;
    }
    memcpy(t->out + t->len, s, n);
    t->len += n;
    t->out[t->len] = '\0';
}

static inline void text_str(struct text *t, const char *s)
{
    text_bytes(t, s, strlen(s));
}

static inline void text_u64(struct text *t, uint64_t v)
{
    char digits[20];
    text_bytes(t, digits, num_format_u64(digits, v));
}

/* Eight lowercase hex digits, as "%08x". */
static inline void text_hex32(struct text *t, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    char digits[8];
    for (int i = 0; i < 8; i++)
        digits[i] = hex[(v >> (28 - 4 * i)) & 15];
    text_bytes(t, digits, 8);
}

static inline bool text_fits(const struct text *t)
{
    return !t->full;
}

/* Whether s begins with prefix: strncmp(s, prefix, strlen(prefix)) == 0
 * without the call, for the environment's every entry at start. */
static inline bool text_starts(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (*s != *prefix)
            return false;
    return true;
}

#endif
