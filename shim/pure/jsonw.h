/* A JSON writer into a caller-supplied, fixed-size buffer.
 *
 * No allocation, no stdio, no locale: usable in a vfork child. Every string
 * is escaped (control bytes, '"', '\\', and bytes that are not valid UTF-8
 * become \u00XX) and may be capped at a number of output bytes, so a record
 * has a known maximum size. Once the buffer would overflow, the writer stops
 * and jw_ok() turns false: the caller never emits a cut record. */
#ifndef ENACT_JSONW_H
#define ENACT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
    bool need_comma;
};

void jw_init(struct jsonw *w, char *buf, size_t cap);
bool jw_ok(const struct jsonw *w);

void jw_object_begin(struct jsonw *w);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w, const char *key);
void jw_array_end(struct jsonw *w);

/* key may be NULL inside an array. max_out caps the escaped bytes written
 * for the value (0: no cap); returns false when the value was truncated. */
bool jw_string(struct jsonw *w, const char *key, const char *value, size_t max_out);
/* The same for len bytes that may hold NUL (escaped as \u0000). */
bool jw_bytes(struct jsonw *w, const char *key, const void *data, size_t len, size_t max_out);
void jw_uint(struct jsonw *w, const char *key, uint64_t value);
void jw_int(struct jsonw *w, const char *key, int64_t value);
void jw_bool(struct jsonw *w, const char *key, bool value);

/* "2026-11-28T15:13:28.123Z" from nanoseconds since the Unix epoch. */
void jw_timestamp(struct jsonw *w, const char *key, uint64_t unix_ns);

/* Appends bytes as they are: for literal JSON the caller has built. */
void jw_raw(struct jsonw *w, const char *s, size_t n);

/* Writes the civil UTC time of unix_ns as ISO 8601 with milliseconds into
 * out (at least 25 bytes); returns the length. */
size_t format_utc_ms(char *out, uint64_t unix_ns);

#endif
