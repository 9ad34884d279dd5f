/* The verdicts and reasons a decision can have, as small numbers: the
 * state file counts decisions by them (enact metrics), and records name
 * them (README "The audit log"). */
#ifndef ENACT_VERDICTS_H
#define ENACT_VERDICTS_H

enum verdict_kind {
    VERDICT_ALLOW,
    VERDICT_DENY,
    VERDICT_WOULD_DENY,
    VERDICT_DRY_RUN,
    VERDICT_ERROR,
    VERDICT_COUNT
};

enum reason_kind {
    REASON_NONE,
    REASON_RATE_LIMITED,
    REASON_QUOTA_EXCEEDED,
    REASON_CIRCUIT_OPEN,
    REASON_KILLED,
    REASON_STATE_ERROR,
    REASON_STATE_FULL,
    REASON_BACKEND_DOWN,
    REASON_STATIC_BINARY,
    REASON_SETUID,
    REASON_UNREADABLE_PROGRAM,
    REASON_STRICT,
    REASON_APPROVAL_PENDING,
    REASON_APPROVAL_DENIED,
    REASON_APPROVAL_EXPIRED,
    REASON_OTHER, /* a reason this build does not know */
    REASON_COUNT
};

/* VERDICT_COUNT for a name that is no decision's verdict. */
enum verdict_kind verdict_kind_of(const char *name);
/* REASON_NONE for NULL, REASON_OTHER for a name not listed. */
enum reason_kind reason_kind_of(const char *name);

const char *verdict_kind_name(enum verdict_kind v);
const char *reason_kind_name(enum reason_kind r); /* "" for REASON_NONE */

#endif
