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

#endif
