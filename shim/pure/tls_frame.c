#include "tls_frame.h"

static bool known_type(uint8_t t)
{
    return t >= TLS_CHANGE_CIPHER_SPEC && t <= TLS_APPLICATION_DATA;
}

uint8_t tls_stream_feed(struct tls_stream *s, const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + len;
    if (s->broken || len == 0)
        return 0;
    uint8_t first = s->left > 0 || s->have > 0 ? s->type : p[0];
    while (p < end) {
        if (s->left > 0) {
            size_t take = (size_t)(end - p) < s->left ? (size_t)(end - p) : s->left;
            s->left -= (uint32_t)take;
            p += take;
            continue;
        }
        s->header[s->have++] = *p++;
        if (s->have == 1)
            s->type = s->header[0];
        if (s->have < 5)
            continue;
        s->have = 0;
        /* 2^14 bytes of plaintext plus at most 2048 of expansion (RFC 8446 §5.2). */
        uint32_t body = (uint32_t)s->header[3] << 8 | s->header[4];
        if (!known_type(s->header[0]) || s->header[1] != 3 || body > 18432) {
            s->broken = true;
            return 0;
        }
        s->left = body;
    }
    return known_type(first) ? first : 0;
}

bool tls_starts_handshake(const void *data, size_t len)
{
    const uint8_t *p = data;
    return len >= 3 && p[0] == TLS_HANDSHAKE && p[1] == 3 && p[2] <= 4;
}
