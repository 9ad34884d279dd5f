/* The few numeric helpers the core needs, without libm: the shim is loaded
 * into every governed process, and each library it depends on is one more
 * for the loader to find and relocate at every start (BENCHMARKS.md). For
 * finite, non-negative values in the ranges the config allows. */
#ifndef ENACT_NUM_H
#define ENACT_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Nearest whole number, halves away from zero (as llround). */
static inline uint64_t num_round_u64(double x)
{
    return (uint64_t)(x + 0.5);
}

/* The smallest whole number not below x (as ceil). */
static inline uint64_t num_ceil_u64(double x)
{
    uint64_t n = (uint64_t)x;
    return (double)n < x ? n + 1 : n;
}

/* The decimal digits of v at out (room for 20, no NUL); returns how many.
 * Without stdio: used where snprintf would cost more than the work. */
static inline size_t num_format_u64(char *out, uint64_t v)
{
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

/* min(cap, initial * base^n), exponentiation by squaring: exact for the
 * integer powers pow() would return, and never past cap into infinity. */
static inline double num_capped_power(double initial, double base, uint32_t n, double cap)
{
    double result = 1.0, square = base;
    for (uint32_t e = n; e > 0 && result <= cap; e >>= 1) {
        if (e & 1)
            result *= square;
        square *= square;
    }
    double v = initial * result;
    return v < cap ? v : cap;
}

#endif
