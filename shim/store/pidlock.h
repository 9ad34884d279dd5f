/* A lock in shared memory that a dead or stuck holder cannot wedge.
 *
 * One 64-bit word: the holder's thread id (high 32 bits; gettid(), unique
 * system-wide, so two threads of one process exclude each other too) and a deadline in
 * milliseconds of CLOCK_MONOTONIC (low 32 bits, compared with wraparound).
 * A waiter takes the lock over when the deadline has passed or the holder
 * no longer exists. Critical sections are a few hundred instructions, so a
 * deadline of PIDLOCK_HOLD_MS is generous; waiting longer than
 * PIDLOCK_WAIT_MS gives up (the caller then applies on_error) rather than
 * hang the agent.
 *
 * Why not a robust pthread mutex: the exec hooks run in vfork children,
 * where glibc would record the parent's thread id as the owner and the
 * kernel keeps no robust list for the child; a child killed while holding
 * the mutex would wedge it for good. Here the owner is gettid(), which a
 * vfork child answers with its own id, and nothing is registered.
 *
 * No allocation, no futex, no signal: safe in a vfork child. Not
 * re-entrant. */
#ifndef ENACT_PIDLOCK_H
#define ENACT_PIDLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define PIDLOCK_HOLD_MS 1000u
#define PIDLOCK_WAIT_MS 2000u

/* Answers "does this thread exist?" (kill(tid, 0) in production). */
typedef bool (*pid_alive_fn)(int32_t tid);

/* Takes the lock for owner (a thread id) at the time clock_ms gives,
 * re-reading it while waiting. False after PIDLOCK_WAIT_MS without it. */
bool pidlock_acquire(uint64_t *word, int32_t owner, uint32_t (*clock_ms)(void),
                     pid_alive_fn alive);
void pidlock_release(uint64_t *word, int32_t owner);

/* One attempt, for tests and for the loop above: true when taken. */
bool pidlock_try(uint64_t *word, int32_t owner, uint32_t now_ms, pid_alive_fn alive);

/* The monotonic clock in ms, truncated to 32 bits; and kill(tid, 0). */
uint32_t pidlock_clock_ms(void);
bool pidlock_pid_alive(int32_t tid);

#endif
