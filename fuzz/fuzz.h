/* Helpers shared by the fuzz targets (fuzz_*.c): a property check that
 * aborts with a message (libFuzzer then saves the input as a crash), and a
 * cursor that cuts the input into fields. */
#ifndef ENACT_FUZZ_H
#define ENACT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property that must hold beyond "no crash": report it and abort. */
#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\n%s:%d: property violated: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Whether a known, reported bug is to be stepped over in this run:
 * FUZZ_IGNORE=name,name... (see fuzz/README.md), so that fuzzing can go on
 * past it until it is fixed. Names are given where the check is. */
static inline bool fuzz_ignored(const char *name)
{
    const char *list = getenv("FUZZ_IGNORE");
    size_t n = strlen(name);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

struct cursor {
    const uint8_t *p;
    size_t n;
};

/* The bytes up to sep (or the end) as a malloc'ed, NUL-terminated string;
 * *len gets their count (the string may hold NUL bytes when sep is not
 * NUL). The separator is consumed. */
static inline char *take_until(struct cursor *c, uint8_t sep, size_t *len)
{
    const uint8_t *end = memchr(c->p, sep, c->n);
    size_t n = end ? (size_t)(end - c->p) : c->n;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, c->p, n);
    s[n] = '\0';
    c->p += n + (end ? 1 : 0);
    c->n -= n + (end ? 1 : 0);
    if (len)
        *len = n;
    return s;
}

static inline uint8_t take_u8(struct cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

/* The input as a malloc'ed, NUL-terminated string of exactly n + 1 bytes,
 * so that ASan sees any read past its end. */
static inline char *dup_cstr(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* audit_time_ns reads times up to the end of 2500 (2501-01-01T00:00:00Z in
 * ns); later ones, which 64 bits of ns cannot all hold, read as 0. */
#define FZ_TIME_LIMIT_NS (UINT64_C(16756761600) * 1000000000u)

#endif
