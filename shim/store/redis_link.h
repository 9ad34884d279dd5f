/* One connection to a Redis server: connect, send, read replies, each
 * within a deadline, through sys.h (never the shim's own hooks).
 *
 * No allocation and no lock: a link lives wherever its owner keeps it (the
 * process's pool, or a vfork child's stack), and its replies are parsed in
 * its own buffer. Sockets are close-on-exec. A link remembers which socket
 * it made (device and inode), so that a descriptor the program closed and
 * reused for a file of its own is noticed before a byte goes to it. */
#ifndef ENACT_REDIS_LINK_H
#define ENACT_REDIS_LINK_H

#include "redis_tls.h"
#include "../pure/redis_url.h"
#include "../pure/resp.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* A reply buffer: a breaker's HGETALL is about 3 kB. */
#define REDIS_INBOX 8192

/* Where to connect: resolved once, then reused (resolving allocates, so a
 * vfork child only ever uses an address resolved before). */
struct redis_target {
    struct sockaddr_storage addr;
    socklen_t len;             /* 0: not resolved */
    char name[REDIS_HOST_MAX]; /* the host as named: what its TLS certificate names */
};

struct redis_link {
    int fd;     /* -1: none */
    void *ssl;             /* a TLS session over fd, or NULL */
    struct redis_tls_io io; /* what the session's BIO reads and writes */
    bool fresh; /* connected, nothing sent yet: the owner's hello is due */
    dev_t dev;
    ino_t ino;
    size_t have, used; /* bytes in inbox, bytes of them parsed */
    char inbox[REDIS_INBOX];
};

/* Resolves u (a name through getaddrinfo, numbers without). false with why. */
bool redis_target_resolve(const struct redis_url *u, struct redis_target *t, char *why,
                          size_t cap);
/* host as an IPv4 or IPv6 address (inet_pton: nothing allocated); false
 * when it is a name. */
bool redis_target_numeric(const char *host, uint16_t port, struct redis_target *t);

/* The same, for a node named in a cluster redirection (numbers, or a name). */
bool redis_target_of(const char *host, uint16_t port, struct redis_target *t, char *why,
                     size_t cap);

void redis_link_init(struct redis_link *l);

/* Connects to t by deadline_ns (CLOCK_MONOTONIC), over TLS when tls is
 * not NULL (started: redis_tls_start). false with why. */
bool redis_link_open(struct redis_link *l, const struct redis_target *t, struct redis_tls *tls,
                     uint64_t deadline_ns, char *why, size_t cap);

/* Whether l's descriptor is still the socket it made. */
bool redis_link_intact(const struct redis_link *l);

/* Closes l's socket, if it is still l's (ending its TLS session). */
void redis_link_close(struct redis_link *l);

/* In a forked child: lets go of the parent's link without a word on it
 * (no TLS close_notify), closing only this process's descriptor. */
void redis_link_drop(struct redis_link *l);

/* Sends len bytes by deadline_ns. */
bool redis_link_send(struct redis_link *l, const char *req, size_t len, uint64_t deadline_ns,
                     char *why, size_t cap);

/* The next reply, read by deadline_ns; its items point into l's inbox and
 * stay valid until the next call on l. */
bool redis_link_reply(struct redis_link *l, struct resp_reply *out, uint64_t deadline_ns,
                      char *why, size_t cap);

#endif
