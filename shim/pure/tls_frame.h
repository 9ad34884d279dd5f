/* TLS record framing, followed from outside: which content type each part
 * of a stream belongs to, without decrypting anything.
 *
 * With `action = request`, a keep-alive connection starts a new request at
 * each send that follows a receive. Over TLS, the handshake also goes back
 * and forth; its flights must not count as requests. A record header is
 * 5 bytes: content type, version (2), body length (2, big-endian). */
#ifndef ENACT_TLS_FRAME_H
#define ENACT_TLS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_content {
    TLS_CHANGE_CIPHER_SPEC = 20,
    TLS_ALERT = 21,
    TLS_HANDSHAKE = 22,
    TLS_APPLICATION_DATA = 23,
};

/* One direction of a stream. Zero-initialised: at a record boundary. */
struct tls_stream {
    uint32_t left;  /* body bytes of the current record still to come */
    uint8_t have;   /* bytes of the next header seen so far (0..4) */
    uint8_t header[5];
    uint8_t type;   /* content type of the record in progress; 0 before any */
    bool broken;    /* the bytes were not TLS framing */
};

/* Feeds len bytes of the stream. Returns the content type of the record
 * the first of them belongs to (0 when unknown or broken). */
uint8_t tls_stream_feed(struct tls_stream *s, const void *data, size_t len);

/* Whether data opens a TLS connection (a handshake record, TLS 1.0-1.3). */
bool tls_starts_handshake(const void *data, size_t len);

#endif
