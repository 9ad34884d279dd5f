/* Who is calling: this process's pid and the calling thread's id, without
 * a system call on each decision.
 *
 * Both are cached (the pid per process, the thread id per thread) and the
 * caches are dropped where they would lie:
 *   - a fork child: the atfork handler (identity_forked) and the _Fork hook;
 *   - a vfork child, which runs on its parent's memory and so would read
 *     its parent's caches: while any vfork child of this process has not
 *     yet exec'd or exited (the vfork hook counts them), every answer is a
 *     system call again;
 *   - clone() with CLONE_VM, and a fork, vfork or clone through syscall():
 *     the caches are off for good in this process (and its children).
 * A vfork made by an inline system call instruction is not seen: such a
 * child is taken for its parent, as other inline system calls go unseen
 * (THREAT-MODEL.md, "What Enact cannot govern"). */
#ifndef ENACT_IDENTITY_H
#define ENACT_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>

/* Called once by the constructor, before any other hook can run. */
void identity_init(void);

pid_t shim_pid(void);
int32_t shim_thread_id(void);

/* The caches from now on answer by system call only. */
void identity_uncached(void);

#endif
