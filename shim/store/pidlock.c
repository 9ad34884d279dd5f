#include "pidlock.h"

#include "sys.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

static uint64_t make_word(int32_t owner, uint32_t deadline_ms)
{
    return (uint64_t)(uint32_t)owner << 32 | deadline_ms;
}

/* Wraparound-safe "a is at or after b" for 32-bit millisecond stamps. */
static bool at_or_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

bool pidlock_try(uint64_t *word, int32_t owner, uint32_t now_ms, pid_alive_fn alive)
{
    uint64_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (seen != 0) {
        int32_t holder = (int32_t)(seen >> 32);
        uint32_t deadline = (uint32_t)seen;
        bool abandoned = at_or_after(now_ms, deadline) || (alive && !alive(holder));
        if (!abandoned)
            return false;
    }
    return __atomic_compare_exchange_n(word, &seen, make_word(owner, now_ms + PIDLOCK_HOLD_MS),
                                       false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

bool pidlock_acquire(uint64_t *word, int32_t owner, uint32_t (*clock_ms)(void),
                     pid_alive_fn alive)
{
    uint32_t start = clock_ms();
    for (unsigned spins = 0;; spins++) {
        uint32_t now = clock_ms();
        /* Asking the kernel about the holder costs a syscall: only once
         * the wait is no longer momentary. */
        if (pidlock_try(word, owner, now, spins >= 64 ? alive : NULL))
            return true;
        if (at_or_after(now, start + PIDLOCK_WAIT_MS))
            return false;
        if (spins >= 16)
            sched_yield();
    }
}

void pidlock_release(uint64_t *word, int32_t owner)
{
    uint64_t seen = __atomic_load_n(word, __ATOMIC_RELAXED);
    /* Only the holder releases: a lock taken over from it stays taken. */
    if ((int32_t)(seen >> 32) == owner)
        __atomic_compare_exchange_n(word, &seen, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

uint32_t pidlock_clock_ms(void)
{
    struct timespec ts;
    sys_clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

bool pidlock_pid_alive(int32_t tid)
{
    return tid > 0 && (kill(tid, 0) == 0 || errno != ESRCH);
}
