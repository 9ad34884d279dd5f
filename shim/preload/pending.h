/* Governed non-blocking connects whose outcome is still to come, per
 * process: the breaker hears how each ended when the client reads
 * SO_ERROR (getsockopt in net.c).
 *
 * A socket is known by its inode, so that a descriptor number closed and
 * reused is never taken for it. An entry whose outcome is never asked for
 * (the socket was closed first) may be taken over once it is a minute old.
 * Lock-free: entries are claimed and released by compare-and-swap. */
#ifndef ENACT_PENDING_H
#define ENACT_PENDING_H

#include "../policy/config.h"

#include <stdbool.h>
#include <stdint.h>

/* Remembers fd's connect for tool, made by thread owner (its probe lease).
 * When the table is full the outcome goes unseen and a probe's lease
 * expires instead. One fstat and one clock read. */
void pending_add(int fd, const struct tool *tool, int32_t owner);

/* The pending connect of fd's socket, removed from the table, and its
 * owner; NULL if none. One fstat. */
const struct tool *pending_take(int fd, int32_t *owner);

/* Whether any entry is in use: one load, which spares the usual
 * getsockopt everything else. */
bool pending_any(void);

#endif
