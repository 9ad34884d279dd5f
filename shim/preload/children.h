/* Governed children whose exit status the tool's breaker waits for.
 *
 * A program started by a governed process (exec after fork or vfork,
 * posix_spawn, system, popen) succeeds when it exits 0 and fails when it
 * exits otherwise or dies of a signal (DESIGN §3). The parent learns the
 * status in its wait call; the exec that made the child happened in the
 * child, after fork, in memory of its own. So the table lives in a shared
 * anonymous mapping made at start: a forked child's note, written just
 * before its exec, is seen by its parent, and by every process of the fork
 * tree, each finding its own children by (pid, parent pid). An exec
 * replaces the mapping with the new program's own. Lock-free, no
 * allocation: vfork-safe. */
#ifndef ENACT_CHILDREN_H
#define ENACT_CHILDREN_H

#include "../core/config.h"

#include <stdint.h>
#include <sys/types.h>

/* From the constructor: makes the table when some tool with exec rules has
 * a breaker. */
void children_init(const struct enact_config *cfg);

/* pid (a child of parent) runs a program of tool; owner is the thread that
 * holds the decision's probe lease. Does nothing for a tool with no
 * breaker, or when the table is full. */
void children_note(pid_t pid, pid_t parent, const struct tool *tool, int32_t owner);

/* Removes pid's note (its exec failed: the caller reports that itself). */
void children_forget(pid_t pid);

/* After a wait reaped pid with status (a wait status): tells the breaker of
 * the tool pid ran, if it is one of ours and it has ended. */
void children_reaped(pid_t pid, int status);

#endif
