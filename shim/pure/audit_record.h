/* An audit record: what happened to one call, as one JSON object on one
 * line (the schema README's "The audit log" describes).
 *
 * Formatting allocates nothing and takes no lock (vfork-safe). A record is
 * at most AUDIT_RECORD_MAX bytes: long strings and argv are capped and
 * flagged, never cut mid-escape. Where records go is the sink's business
 * (store/audit_sink.h). */
#ifndef ENACT_AUDIT_RECORD_H
#define ENACT_AUDIT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_RECORD_MAX 4096

struct audit_event {
    uint64_t unix_ns;
    long pid;
    long parent; /* the program that started it (README "The audit log"); 0: not known */
    const char *agent;
    const char *exe;     /* the program that made the call */
    const char *op;      /* connect, exec, spawn, ... */
    const char *tool;    /* NULL when no tool applies */
    const char *target;  /* address or program path */
    const char *host;    /* the DNS name the address was resolved from, or NULL */
    char *const *argv;   /* exec family, or NULL */
    const char *verdict;
    const char *reason;  /* or NULL */
    const char *errno_name; /* what the caller saw, or NULL */
    bool has_retry_after;
    uint64_t retry_after_ms;
    const char *detail;  /* free text for error records, or NULL */
    const char *from, *to;           /* verdict "breaker": the state change */
    const char *would_execute;       /* verdict "dry_run": the command line or bytes sent */
    size_t would_execute_len;        /* its length when it holds bytes; 0: a C string */
    const char *impact, *impact_reason; /* verdict "dry_run" */
    bool has_remaining;                 /* verdict "quota_low": what is left of how much */
    uint64_t remaining, limit;
    bool has_uid;                       /* verdicts "kill", "resume": who did it */
    uint32_t uid;
    const char *signal;                 /* verdict "kill": sent to the processes, or NULL */
    const char *request;                /* approvals: the request's id, 8 hex digits */
    bool has_waited;                    /* verdicts "approved", "denied": after how long */
    uint64_t waited_ms;
};

/* Writes the record and its newline into buf; returns its length, or 0 if
 * it did not fit (never a partial record). */
size_t audit_format(const struct audit_event *ev, char *buf, size_t cap);

#endif
