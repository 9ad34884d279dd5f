#include "verdicts.h"

#include <stddef.h>
#include <string.h>

/* Tables of words hold the words, not pointers to them: each pointer
 * is a relocation the loader applies at every governed start. */
static const char VERDICTS[VERDICT_COUNT][11] = {
    [VERDICT_ALLOW] = "allow",
    [VERDICT_DENY] = "deny",
    [VERDICT_WOULD_DENY] = "would_deny",
    [VERDICT_DRY_RUN] = "dry_run",
    [VERDICT_ERROR] = "error",
};

static const char REASONS[REASON_COUNT][19] = {
    [REASON_NONE] = "",
    [REASON_RATE_LIMITED] = "rate_limited",
    [REASON_QUOTA_EXCEEDED] = "quota_exceeded",
    [REASON_CIRCUIT_OPEN] = "circuit_open",
    [REASON_KILLED] = "killed",
    [REASON_STATE_ERROR] = "state_error",
    [REASON_STATE_FULL] = "state_full",
    [REASON_BACKEND_DOWN] = "backend_down",
    [REASON_STATIC_BINARY] = "static_binary",
    [REASON_SETUID] = "setuid",
    [REASON_UNREADABLE_PROGRAM] = "unreadable_program",
    [REASON_STRICT] = "strict",
    [REASON_APPROVAL_PENDING] = "approval_pending",
    [REASON_APPROVAL_DENIED] = "approval_denied",
    [REASON_APPROVAL_EXPIRED] = "approval_expired",
    [REASON_OTHER] = "other",
};

enum verdict_kind verdict_kind_of(const char *name)
{
    /* Asked at every decision: the first letters pick the one name to
     * compare with. */
    enum verdict_kind v = VERDICT_COUNT;
    if (!name)
        return v;
    switch (name[0]) {
    case 'a': v = VERDICT_ALLOW; break;
    case 'd': v = name[1] == 'r' ? VERDICT_DRY_RUN : VERDICT_DENY; break;
    case 'w': v = VERDICT_WOULD_DENY; break;
    case 'e': v = VERDICT_ERROR; break;
    default: return VERDICT_COUNT;
    }
    return strcmp(name, VERDICTS[v]) == 0 ? v : VERDICT_COUNT;
}

enum reason_kind reason_kind_of(const char *name)
{
    if (!name || !*name)
        return REASON_NONE;
    for (int r = 1; r < REASON_OTHER; r++)
        if (strcmp(name, REASONS[r]) == 0)
            return (enum reason_kind)r;
    return REASON_OTHER;
}

const char *verdict_kind_name(enum verdict_kind v)
{
    return v < VERDICT_COUNT ? VERDICTS[v] : "unknown";
}

const char *reason_kind_name(enum reason_kind r)
{
    return r < REASON_COUNT ? REASONS[r] : "other";
}
