/* The governed connections of this process: which descriptors lead to a
 * mapped tool, and what each connection has done so far.
 *
 * Per process: a pool of CONN_MAX slots and an index from descriptor to
 * slot; descriptors made by dup share a slot. A slot also holds its
 * socket's inode, so that a descriptor closed behind our back (a raw
 * syscall, glibc's internal close) and then reused is recognised before
 * anything is decided for it (conn_is). What a connection's flags mean
 * and who changes them: conn_life.h.
 *
 * Lookups take no lock. Changes take a short spin lock, never held across a
 * call into the kernel, and give up rather than wait long for a lock that a
 * fork may have orphaned. A vfork child shares this memory with its parent
 * and so changes nothing (conn_may_change). The fields below the slot
 * header belong to whichever thread is using the socket, as the socket's
 * own bytes do. */
#ifndef ENACT_CONN_H
#define ENACT_CONN_H

#include "shim.h"
#include "../pure/rule.h"
#include "../pure/tls_frame.h"

#include <stdbool.h>
#include <stdint.h>

#define CONN_MAX 256
#define CONN_FD_MAX 16384     /* higher descriptors are governed at connect only */
enum conn_flag {
    CONN_SIMULATED = 1u << 0, /* dry run: nothing reaches the tool (simulate.h) */
    CONN_DATAGRAM = 1u << 1,
    CONN_RECEIVED = 1u << 2,  /* received since the last send: the next send may begin a request */
    CONN_TLS = 1u << 3,
    CONN_PREPAID = 1u << 4,   /* the connect's admission pays for the first request */
    CONN_SENT = 1u << 6,      /* something was sent */
    CONN_OUTCOME_DUE = 1u << 8, /* the breaker waits to hear how this exchange ends */
    CONN_PROBE = 1u << 9,       /* the connect holds a half-open probe lease */
};

struct conn {
    uint64_t ino;  /* 0: a free slot */
    uint32_t refs; /* descriptors that lead here */
    uint32_t flags;
    const struct tool *tool;
    int32_t owner;     /* the thread that connected: its breaker probe lease */
    uint32_t requests; /* begun on this connection; the connect began the first */
    uint16_t port;     /* of the target; 0 for a unix socket */
    uint8_t protocol;  /* enum peer_protocol, from the port or the first bytes sent */
    struct tls_stream tx, rx;
    char target[160];
    char host[HOST_NAME_MAX_LEN + 1]; /* "" when unknown */
};

/* Run once from the library constructor. */
void conn_init(void);

/* c's place in the pool: [0, CONN_MAX). */
size_t conn_index(const struct conn *c);

/* The connection fd leads to, or NULL. O(1), no system call. */
struct conn *conn_of(int fd);

/* The connections followed now. Visible to the I/O hooks so that, while
 * there are none, a send or read goes to libc at the cost of two loads. */
extern unsigned conn_live __attribute__((visibility("hidden")));

static inline bool conn_none(void)
{
    return __atomic_load_n(&conn_live, __ATOMIC_ACQUIRE) == 0;
}

/* The inode of the socket fd is, or 0 when it is no socket (one fstat). */
uint64_t conn_socket_inode(int fd);

/* Whether fd is still the socket c was opened for (one fstat). */
bool conn_is(const struct conn *c, int fd);

/* Whether this process may change the table: false in a vfork child. */
bool conn_may_change(void);

/* A new connection on fd for the call (target and host are copied), with
 * flags, owned by the calling thread; what fd led to before is let go.
 * NULL when fd is too high, the pool is full, or the table cannot be
 * changed now. */
struct conn *conn_open(int fd, const struct call *call, uint32_t flags);

/* Whether every conn_open of this process so far found its connection a
 * place: then a socket the table does not hold was never opened here. */
bool conn_none_refused(void);

/* Makes to lead where from does (nowhere, if from leads nowhere). Returns
 * a connection that to was the last descriptor of, for conn_finish, or NULL. */
struct conn *conn_dup(int from, int to);

/* Lets fd go. Returns its connection when fd was the last descriptor of it:
 * the caller finishes with it and then calls conn_free. Else NULL. */
struct conn *conn_detach(int fd);
void conn_free(struct conn *c);

/* Whether any descriptor in [lo, hi] leads to a connection. */
bool conn_any_in(unsigned lo, unsigned hi);

/* The record a connection is the subject of: op, tool, target, host, port. */
struct call conn_call(const struct conn *c, const char *op);

uint32_t conn_flags(const struct conn *c);
void conn_set(struct conn *c, uint32_t flags);
void conn_clear(struct conn *c, uint32_t flags);
/* Clears flags and says whether any of them was set. */
bool conn_take(struct conn *c, uint32_t flags);

#endif
