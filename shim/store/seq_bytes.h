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

static inline uint8_t seq_get(const uint8_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

#endif
