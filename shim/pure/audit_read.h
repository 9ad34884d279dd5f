/* Reading audit records back, for enact log, enact dry-run and enact
 * report: one JSON Lines record (a flat object of strings, numbers,
 * booleans and one array of strings, as audit.c writes it) into its fields,
 * unescaped. Anything else (another shape, bad escapes, a cut line) is
 * refused, never read past its length: the log may hold lines written by
 * another version, or be damaged. */
#ifndef ENACT_AUDIT_READ_H
#define ENACT_AUDIT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum audit_field {
    AF_TS,
    AF_PID,
    AF_PARENT,
    AF_AGENT,
    AF_EXE,
    AF_OP,
    AF_TOOL,
    AF_TARGET,
    AF_HOST,
    AF_ARGV, /* the array, its items joined by spaces */
    AF_VERDICT,
    AF_REASON,
    AF_ERRNO,
    AF_RETRY_AFTER_MS,
    AF_FROM,
    AF_TO,
    AF_WOULD_EXECUTE,
    AF_IMPACT,
    AF_IMPACT_REASON,
    AF_DETAIL,
    AF_COUNT
};

struct audit_fields {
    const char *v[AF_COUNT]; /* NUL-terminated, in buf; NULL when absent */
    char buf[8192];          /* room for every value of a 4 KiB record, unescaped */
};

/* Parses line (len bytes, without or with its newline). False when it is
 * not a record. Unknown keys are skipped. */
bool audit_parse(const char *line, size_t len, struct audit_fields *out);

/* The record's time (its "ts") in nanoseconds since the epoch; 0 when it
 * has none or it is not of the form 2026-11-28T15:13:28.123Z. */
uint64_t audit_time_ns(const struct audit_fields *f);

#endif
