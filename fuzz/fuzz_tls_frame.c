/* fuzz_tls_frame: TLS record framing followed from outside
 * (shim/pure/tls_frame.h), over arbitrary byte streams.
 *
 * Properties beyond "no crash":
 *  - feeding a stream in random chunks leaves the same state as feeding it
 *    whole, or byte by byte (a record header may be split anywhere);
 *  - each chunk is given the content type of the record its first byte
 *    belongs to (as the byte-by-byte feed saw it), or 0 once the stream is
 *    not TLS framing;
 *  - a well-formed stream (records of the four content types, bodies of up
 *    to 2^14 + 2048 bytes) is never judged broken, and every chunk gets the
 *    type of the record it starts in, whatever the chunking;
 *  - tls_starts_handshake is true exactly for a handshake record header of
 *    TLS 1.0-1.3 (22, 3, 0..4).
 *
 * Input: byte 0 picks the mode (odd: a well-formed stream is built from the
 * rest, 3 bytes of header and a body length per record) and bytes 1-4 seed
 * the chunk sizes; the rest is the stream. */
#include "fuzz.h"
#include "tls_frame.h"

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A chunk size: mostly small, sometimes large. */
static size_t chunk(uint32_t *s, size_t left)
{
    uint32_t r = next(s);
    size_t n = r % 8 == 0 ? 1 + (r >> 8) % 20000 : 1 + (r >> 8) % 9;
    return n < left ? n : left;
}

static bool same_state(const struct tls_stream *a, const struct tls_stream *b)
{
    return a->left == b->left && a->have == b->have && a->broken == b->broken &&
           (a->broken || ((a->have == 0 && a->left == 0) || a->type == b->type)) &&
           memcmp(a->header, b->header, a->have) == 0;
}

static void check_state(const struct tls_stream *s)
{
    FUZZ_CHECK(s->have <= 4, "have %u", s->have);
    FUZZ_CHECK(s->left <= 18432, "left %u", s->left);
}

static void check_arbitrary(const uint8_t *p, size_t n, uint32_t seed)
{
    uint8_t *one = malloc(n ? n : 1); /* what each byte fed alone returned */
    struct tls_stream whole = {0}, bytes = {0}, chunks = {0};
    tls_stream_feed(&whole, p, n);
    for (size_t i = 0; i < n; i++) {
        one[i] = tls_stream_feed(&bytes, p + i, 1);
        check_state(&bytes);
    }
    FUZZ_CHECK(same_state(&whole, &bytes), "whole and byte by byte differ");
    for (size_t o = 0; o < n;) {
        size_t k = chunk(&seed, n - o);
        uint8_t *copy = malloc(k); /* exact: ASan sees a read past the chunk */
        memcpy(copy, p + o, k);
        uint8_t got = tls_stream_feed(&chunks, copy, k);
        free(copy);
        check_state(&chunks);
        uint8_t want = chunks.broken ? 0 : one[o];
        FUZZ_CHECK(got == want, "chunk at %zu (+%zu): type %u, byte by byte %u", o, k, got, want);
        o += k;
    }
    FUZZ_CHECK(same_state(&whole, &chunks), "whole and in chunks differ");
    FUZZ_CHECK(tls_stream_feed(&chunks, p, 0) == 0, "an empty feed returned a type");
    free(one);
}

static void check_well_formed(const uint8_t *p, size_t n, uint32_t seed)
{
    /* The stream and, per byte, the type of its record: 3 input bytes a
     * record (type, minor version, body length code), at most 256 KiB. */
    size_t cap = 0;
    for (size_t i = 0; i + 3 <= n; i += 3) {
        uint8_t l = p[i + 2];
        size_t body = l < 250 ? l : l == 250 ? 0 : l == 251 ? 18432 : (size_t)(l - 250) * 3000;
        if (cap + 5 + body > (256u << 10))
            break;
        cap += 5 + body;
    }
    uint8_t *s = malloc(cap ? cap : 1), *type = malloc(cap ? cap : 1);
    size_t len = 0;
    for (size_t i = 0; i + 3 <= n; i += 3) {
        uint8_t t = (uint8_t)(TLS_CHANGE_CIPHER_SPEC + p[i] % 4), minor = p[i + 1] % 5;
        uint8_t l = p[i + 2];
        size_t body = l < 250 ? l : l == 250 ? 0 : l == 251 ? 18432 : (size_t)(l - 250) * 3000;
        if (len + 5 + body > cap)
            break;
        uint8_t h[5] = {t, 3, minor, (uint8_t)(body >> 8), (uint8_t)body};
        memcpy(s + len, h, 5);
        for (size_t k = 0; k < body; k++)
            s[len + 5 + k] = p[(i + k) % n];
        memset(type + len, t, 5 + body);
        len += 5 + body;
    }
    if (len > 0)
        FUZZ_CHECK(tls_starts_handshake(s, len) == (s[0] == TLS_HANDSHAKE),
                   "a stream opening with type %u, handshake %d", s[0],
                   tls_starts_handshake(s, len));
    struct tls_stream st = {0};
    for (size_t o = 0; o < len;) {
        size_t k = chunk(&seed, len - o);
        uint8_t got = tls_stream_feed(&st, s + o, k);
        FUZZ_CHECK(!st.broken, "a well-formed stream judged broken at %zu (+%zu)", o, k);
        FUZZ_CHECK(got == type[o], "chunk at %zu (+%zu): type %u, the record is %u", o, k, got,
                   type[o]);
        o += k;
    }
    FUZZ_CHECK(st.left == 0 && st.have == 0, "a whole stream ends mid-record (%u, %u)", st.left,
               st.have);
    free(s);
    free(type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    uint8_t mode = take_u8(&c);
    uint32_t seed = 0;
    for (int i = 0; i < 4; i++)
        seed = seed << 8 | take_u8(&c);
    seed |= 1; /* xorshift needs a nonzero state */
    bool hs = tls_starts_handshake(c.p, c.n);
    FUZZ_CHECK(hs == (c.n >= 3 && c.p[0] == 22 && c.p[1] == 3 && c.p[2] <= 4),
               "tls_starts_handshake %d", hs);
    if (mode & 1)
        check_well_formed(c.p, c.n, seed);
    else
        check_arbitrary(c.p, c.n, seed);
    return 0;
}
