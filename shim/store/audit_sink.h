/* The audit sink: where formatted records go, one write(2) per record.
 *
 * The log is opened per record with O_APPEND, so records of many processes
 * never interleave, a rotated log is followed, and no descriptor of ours
 * outlives the call. Allocates nothing and takes no lock (vfork-safe). */
#ifndef ENACT_AUDIT_SINK_H
#define ENACT_AUDIT_SINK_H

#include "../pure/audit_record.h"

#include <stddef.h>

/* audit_log = syslog: records go to the local syslog socket (/dev/log) as
 * RFC 5424 messages, sent without ever waiting. */
#define AUDIT_SYSLOG "syslog"

/* Appends one formatted record to the log at path. Returns 0 or an errno;
 * never blocks on a FIFO, never leaves a descriptor open. */
int audit_append(const char *path, const char *record, size_t len);

/* Formats and appends (or sends, for AUDIT_SYSLOG): the usual call.
 * Returns 0 or an errno. */
int audit_log(const char *path, const struct audit_event *ev);

#endif
