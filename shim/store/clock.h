/* Reading the clocks, for the callers of the pure core (which takes time as
 * an argument and reads no clock itself). vDSO-backed: no syscall, no lock,
 * safe in a vfork child. */
#ifndef ENACT_CLOCK_H
#define ENACT_CLOCK_H

#include "sys.h"

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC (buckets, breakers, deadlines) or
 * CLOCK_REALTIME (quotas, timestamps). */
static inline uint64_t clock_now_ns(clockid_t id)
{
    struct timespec ts;
    sys_clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same by the system call, not the vDSO: for the two or three reads of
 * a process's start, where the vDSO's data page and the page of libc's
 * clock_gettime would be two page faults more than the start has otherwise
 * (about 4 us on a virtual machine, against 0.2 us a call; bench/NOTES.md,
 * B6). A sandbox that refuses the call gets the vDSO's answer. */
static inline uint64_t clock_now_ns_syscall(clockid_t id)
{
    struct timespec ts = {0};
    if (sys_clock_gettime_syscall(id, &ts) != 0)
        sys_clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
