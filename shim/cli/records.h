/* An audit log read record by record: lines that are not records are
 * counted and skipped; a line still being written is left for later. */
#ifndef ENACT_CLI_RECORDS_H
#define ENACT_CLI_RECORDS_H

#include "../pure/audit_read.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct records {
    const char *path;
    FILE *file;
    ino_t ino;
    char *line; /* the last line read, as stored (with its newline) */
    size_t cap, len;
    unsigned long unreadable;
};

bool records_open(struct records *r, const char *path);
void records_close(struct records *r);

/* 1 with the next record in *f; 0 at the end (for now). */
int records_next(struct records *r, struct audit_fields *f);

/* After the end: true when the path names a new file (the log was rotated
 * or removed and written again), which is then read from its start. */
bool records_rotated(struct records *r);

/* What was called, in words: argv, the bytes a dry run would have sent
 * (with its impact), or the target; for a breaker record, its change; for
 * a record about no one call (quota_low, kill), its detail. buf holds the
 * words when they had to be put together; NULL when the record says
 * nothing of the kind. */
const char *records_call(const struct audit_fields *f, char *buf, size_t cap);

#endif
