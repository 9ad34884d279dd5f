/* Timeouts of governed programs (timeout_seconds on a tool with exec
 * rules): a watchdog the program can neither see nor reap. */
#ifndef ENACT_WATCHDOG_H
#define ENACT_WATCHDOG_H

#include "shim.h"

#include <stdbool.h>
#include <sys/types.h>

/* Watches target, which is about to exec call->target for call->tool (or
 * already runs it: running), and ends it after the tool's timeout_seconds.
 * Does nothing when the tool has none. Returns at once; vfork-safe. */
void watchdog_start(pid_t target, const struct call *call, bool running);

#endif
