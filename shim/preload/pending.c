#include "pending.h"

#include "conn.h"
#include "layout.h"
#include "../store/clock.h"

#include <time.h>

#define PENDING_MAX 64
#define PENDING_STALE_NS (UINT64_C(60) * 1000000000u)

static struct pending {
    uint64_t ino; /* 0: free */
    uint64_t since_ns;
    const struct tool *tool;
    int32_t owner;
} pending[PENDING_MAX] BIG_TABLE;
static unsigned pending_live; /* entries in use */

bool pending_any(void)
{
    return __atomic_load_n(&pending_live, __ATOMIC_ACQUIRE) != 0;
}

void pending_add(int fd, const struct tool *tool, int32_t owner)
{
    uint64_t ino = conn_socket_inode(fd), now = clock_now_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; ino && i < PENDING_MAX; i++) {
        uint64_t seen = __atomic_load_n(&pending[i].ino, __ATOMIC_ACQUIRE);
        bool usable = seen == 0 || now - pending[i].since_ns >= PENDING_STALE_NS;
        if (usable && __atomic_compare_exchange_n(&pending[i].ino, &seen, ino, false,
                                                  __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            pending[i].since_ns = now;
            pending[i].tool = tool;
            pending[i].owner = owner;
            if (seen == 0)
                __atomic_fetch_add(&pending_live, 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

const struct tool *pending_take(int fd, int32_t *owner)
{
    uint64_t ino = conn_socket_inode(fd);
    for (size_t i = 0; ino && i < PENDING_MAX; i++) {
        if (__atomic_load_n(&pending[i].ino, __ATOMIC_ACQUIRE) != ino)
            continue;
        const struct tool *tool = pending[i].tool;
        *owner = pending[i].owner;
        uint64_t mine = ino;
        if (__atomic_compare_exchange_n(&pending[i].ino, &mine, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            __atomic_fetch_sub(&pending_live, 1, __ATOMIC_RELEASE);
            return tool;
        }
    }
    return NULL;
}
