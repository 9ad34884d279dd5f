/* Bytes of a seqlock's data, read and written one at a time with atomics,
 * so that a reader racing a writer reads stale bytes, never undefined
 * behaviour: each data store is a release (the odd sequence number is seen
 * first by whoever sees it), each data load an acquire (the closing read of
 * the sequence number comes after all of them). No fences: ThreadSanitizer
 * understands these. */
#ifndef ENACT_SEQ_BYTES_H
#define ENACT_SEQ_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void seq_put(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&d[i], s[i], __ATOMIC_RELEASE);
}

static inline void seq_copy_out(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
}

/* The same a word at a time, for data whose every reader and writer goes
 * by words: dst (for seq_put_words) or src (for seq_copy_words) 8-aligned,
 * n a multiple of 8. A process's registration writes its slot at every
 * start: an eighth of the stores. */
static inline void seq_put_words(void *dst, const void *src, size_t n)
{
    uint64_t *d = dst;
    for (size_t i = 0; i < n / 8; i++) {
        uint64_t w;
        memcpy(&w, (const char *)src + 8 * i, 8);
        __atomic_store_n(&d[i], w, __ATOMIC_RELEASE);
    }
}

static inline void seq_copy_words(void *dst, const void *src, size_t n)
{
    const uint64_t *s = src;
    for (size_t i = 0; i < n / 8; i++) {
        uint64_t w = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
        memcpy((char *)dst + 8 * i, &w, 8);
    }
}

static inline uint8_t seq_get(const uint8_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

#endif
