#include "conn.h"

#include "identity.h"
#include "layout.h"
#include "on_fork.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct conn pool[CONN_MAX] BIG_TABLE;
static uint16_t slot_of[CONN_FD_MAX] BIG_TABLE; /* 0: none; else 1 + index into pool */
unsigned conn_live;                   /* slots in use: 0 spares every lookup (conn.h) */
static int lock_word;                 /* 0 free, 1 held */
static pid_t owner_pid;               /* the process whose table this is */
static bool refused;                  /* a conn_open found no place (sticky) */

static void after_fork_in_child(void)
{
    /* A thread of the parent may have held the lock; it does not exist here. */
    __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
    owner_pid = shim_pid();
}

void conn_init(void)
{
    owner_pid = shim_pid();
    on_fork_child(after_fork_in_child);
}

bool conn_may_change(void)
{
    return shim_pid() == owner_pid; /* a vfork child has its own (identity.h) */
}

/* The spin lock, tried for about a millisecond of yields. */
static bool lock(void)
{
    for (unsigned i = 0; i < 4096; i++) {
        int free_ = 0;
        if (__atomic_compare_exchange_n(&lock_word, &free_, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return true;
        if (i % 16 == 15)
            sched_yield();
    }
    return false;
}

static void unlock(void)
{
    __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

static bool indexable(int fd)
{
    return fd >= 0 && fd < CONN_FD_MAX;
}

size_t conn_index(const struct conn *c)
{
    return (size_t)(c - pool);
}

struct conn *conn_of(int fd)
{
    if (__atomic_load_n(&conn_live, __ATOMIC_ACQUIRE) == 0 || !indexable(fd))
        return NULL;
    uint16_t s = __atomic_load_n(&slot_of[fd], __ATOMIC_ACQUIRE);
    return s ? &pool[s - 1] : NULL;
}

uint64_t conn_socket_inode(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

bool conn_is(const struct conn *c, int fd)
{
    uint64_t ino = __atomic_load_n(&c->ino, __ATOMIC_ACQUIRE);
    return ino != 0 && conn_socket_inode(fd) == ino;
}

/* Under the lock: fd leads nowhere now; its slot if fd was its last. */
static struct conn *unbind(int fd)
{
    uint16_t s = slot_of[fd];
    if (!s)
        return NULL;
    __atomic_store_n(&slot_of[fd], 0, __ATOMIC_RELEASE);
    struct conn *c = &pool[s - 1];
    return --c->refs == 0 ? c : NULL;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    __atomic_store_n(&c->ino, 0, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&conn_live, 1, __ATOMIC_RELEASE);
}

/* src (NULL: "") cut to cap - 1 bytes: snprintf's result for "%s" at a
 * fraction of its cost, on every governed connect. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

struct conn *conn_open(int fd, const struct call *call, uint32_t flags)
{
    uint64_t ino = indexable(fd) ? conn_socket_inode(fd) : 0;
    if (!ino || !conn_may_change() || !lock()) {
        __atomic_store_n(&refused, true, __ATOMIC_RELEASE);
        return NULL;
    }
    conn_free(unbind(fd)); /* its last connection ended unnoticed */
    struct conn *c = NULL;
    for (size_t i = 0; i < CONN_MAX && !c; i++)
        if (__atomic_load_n(&pool[i].ino, __ATOMIC_ACQUIRE) == 0)
            c = &pool[i];
    if (c) {
        memset(c, 0, sizeof *c);
        c->refs = 1;
        c->flags = flags;
        c->tool = call->tool;
        c->owner = call->tid ? call->tid : shim_thread_id();
        c->requests = 1;
        c->port = call->port;
        copy_text(c->target, sizeof c->target, call->target);
        copy_text(c->host, sizeof c->host, call->host);
        __atomic_store_n(&c->ino, ino, __ATOMIC_RELEASE);
        __atomic_fetch_add(&conn_live, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&slot_of[fd], (uint16_t)(c - pool + 1), __ATOMIC_RELEASE);
    }
    unlock();
    if (!c)
        __atomic_store_n(&refused, true, __ATOMIC_RELEASE);
    return c;
}

bool conn_none_refused(void)
{
    return !__atomic_load_n(&refused, __ATOMIC_ACQUIRE);
}

struct conn *conn_dup(int from, int to)
{
    if (!indexable(to) || !conn_may_change() || !lock())
        return NULL;
    struct conn *last = unbind(to);
    uint16_t s = indexable(from) ? slot_of[from] : 0;
    if (s) {
        pool[s - 1].refs++;
        __atomic_store_n(&slot_of[to], s, __ATOMIC_RELEASE);
    }
    unlock();
    return last;
}

struct conn *conn_detach(int fd)
{
    if (!indexable(fd) || !conn_may_change() || !lock())
        return NULL;
    struct conn *last = unbind(fd);
    unlock();
    return last;
}

bool conn_any_in(unsigned lo, unsigned hi)
{
    if (__atomic_load_n(&conn_live, __ATOMIC_ACQUIRE) == 0)
        return false;
    for (unsigned fd = lo; fd <= hi && fd < CONN_FD_MAX; fd++)
        if (__atomic_load_n(&slot_of[fd], __ATOMIC_ACQUIRE))
            return true;
    return false;
}

struct call conn_call(const struct conn *c, const char *op)
{
    return (struct call){
        .op = op,
        .tool = c->tool,
        .target = c->target,
        .host = c->host[0] ? c->host : NULL,
        .port = c->port,
    };
}

uint32_t conn_flags(const struct conn *c)
{
    return __atomic_load_n(&c->flags, __ATOMIC_ACQUIRE);
}

void conn_set(struct conn *c, uint32_t flags)
{
    __atomic_fetch_or(&c->flags, flags, __ATOMIC_ACQ_REL);
}

void conn_clear(struct conn *c, uint32_t flags)
{
    __atomic_fetch_and(&c->flags, ~flags, __ATOMIC_ACQ_REL);
}

bool conn_take(struct conn *c, uint32_t flags)
{
    return (__atomic_fetch_and(&c->flags, ~flags, __ATOMIC_ACQ_REL) & flags) != 0;
}
