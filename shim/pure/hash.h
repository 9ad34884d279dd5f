/* FNV-1a, 64-bit: stable across builds and processes, so a hash can name
 * an entry in the shared state file. Not for adversarial input. */
#ifndef ENACT_HASH_H
#define ENACT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_OFFSET UINT64_C(0xcbf29ce484222325)

static inline uint64_t fnv64_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* FNV-1a's step over whole words: for a signature of a few dozen
 * numbers, an eighth of the byte-wise cost. */
static inline uint64_t fnv64_words(uint64_t h, const uint64_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Includes the terminating NUL, so ("ab","c") and ("a","bc") differ. */
static inline uint64_t fnv64_str(uint64_t h, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    do {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    } while (*p++);
    return h;
}

#endif
