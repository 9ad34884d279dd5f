/* enact learn: the config it proposes, written from what a run (or an
 * audit log) showed (README "Learning a config"). */
#ifndef ENACT_CLI_LEARN_H
#define ENACT_CLI_LEARN_H

#include "../pure/learn_model.h"

#include <stdbool.h>
#include <stdio.h>

struct learn_proposal {
    double headroom;          /* limits are what was seen times this (>= 1) */
    bool approve_destructive; /* programs of impact HIGH: approve = high, not dry_run */
    const char *source;       /* what was watched, in words: "`python3 agent.py`", "the audit log LOG" */
    const char *file;         /* where the proposal goes: "tools.ini", or "FILE" */
    const char *command;      /* the command to run under it: "python3 agent.py", or "CMD" */
    const char *today;        /* YYYY-MM-DD */
    uint32_t records;         /* records read */
    uint32_t allow_records;   /* of them, calls let through (allow, would_deny) */
};

/* The proposal for m: a header saying where it came from and what was
 * left out, then one [tool.NAME] per service and program, each key under
 * a comment giving the evidence for it. */
void learn_write_ini(FILE *out, const struct learn_model *m, const struct learn_proposal *p);

#endif
