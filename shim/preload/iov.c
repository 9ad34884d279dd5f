#include "iov.h"

#include <string.h>

size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

size_t iov_copy_out(const struct iovec *iov, size_t n, void *out, size_t cap)
{
    size_t done = 0;
    for (size_t i = 0; i < n && done < cap; i++) {
        size_t k = iov[i].iov_len < cap - done ? iov[i].iov_len : cap - done;
        memcpy((char *)out + done, iov[i].iov_base, k);
        done += k;
    }
    return done;
}

size_t iov_copy_in(const struct iovec *iov, size_t n, const void *data, size_t len)
{
    size_t done = 0;
    for (size_t i = 0; i < n && done < len; i++) {
        size_t k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
        memcpy(iov[i].iov_base, (const char *)data + done, k);
        done += k;
    }
    return done;
}

void iov_feed(struct tls_stream *s, const struct iovec *iov, size_t n, size_t len)
{
    for (size_t i = 0; i < n && len > 0; i++) {
        size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
        tls_stream_feed(s, iov[i].iov_base, k);
        len -= k;
    }
}
