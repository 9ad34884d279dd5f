/* Governed children whose exit status the tool's breaker waits for.
 *
 * A program started by a governed process (exec after fork or vfork,
 * posix_spawn, system, popen) succeeds when it exits 0 and fails when it
 * exits otherwise or dies of a signal (README "How limits work", Breaker). The parent learns the
 * status in its wait call; the exec that made the child happened in the
 * child, in a process image of its own, possibly one that was itself
 * exec'd in place (bash -c prog). So the notes live in the shared state
 * file, which every governed process maps: a child notes (its pid, its
 * parent's pid, the tool) just before its exec, and its parent takes the
 * note when it reaps it. Lock-free, no allocation: vfork-safe. */
#ifndef ENACT_CHILDREN_H
#define ENACT_CHILDREN_H

#include "../policy/config.h"

#include <stdint.h>
#include <sys/types.h>

/* From the constructor: notes are kept only when some tool with exec
 * rules has a breaker, in this config or a later one of the process. */
void children_init(const struct enact_config *cfg);

/* pid (a child of parent) runs a program of tool; owner is the thread that
 * holds the decision's probe lease. Does nothing for a tool with no
 * breaker, or when the table is full. */
void children_note(pid_t pid, pid_t parent, const struct tool *tool, int32_t owner);

/* Removes pid's note (its exec failed: the caller reports that itself). */
void children_forget(pid_t pid);

/* Tells tool's breaker how a program of it ended: status is a wait
 * status, or -1 when the program could not start. Keeps errno. */
void children_ended(const struct tool *tool, int status, int32_t owner);

/* After a wait reaped pid with status (a wait status): tells the breaker of
 * the tool pid ran, if it is one of ours and it has ended. */
void children_reaped(pid_t pid, int status);

#endif
