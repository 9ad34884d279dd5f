/* Gather and scatter lists: what a send or a receive of the socket family
 * carries, whichever call it came through. */
#ifndef ENACT_IOV_H
#define ENACT_IOV_H

#include "../pure/tls_frame.h"

#include <stddef.h>
#include <sys/uio.h>

size_t iov_total(const struct iovec *iov, size_t n);

/* Copies the first bytes of the list, at most cap, into out; returns how
 * many. */
size_t iov_copy_out(const struct iovec *iov, size_t n, void *out, size_t cap);

/* Scatters len bytes into the list; returns how many fitted. */
size_t iov_copy_in(const struct iovec *iov, size_t n, const void *data, size_t len);

/* Feeds the first len bytes of the list to a TLS framing follower. */
void iov_feed(struct tls_stream *s, const struct iovec *iov, size_t n, size_t len);

#endif
