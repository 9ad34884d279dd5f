/* The simulated peer: which protocol it speaks and the framing loop every
 * protocol shares, and raw answers; what they share is peer_wire.c. The
 * protocols themselves: peer_http.c, peer_redis.c, peer_postgresql.c. */
#include "peer_wire.h"

#include <stddef.h>
#include <string.h>

#define PG_SSL_REQUEST 80877103u
#define PG_GSS_REQUEST 80877104u
#define PG_PROTOCOL_3 196608u

/* Tables of words hold the words, not pointers to them: each pointer
 * is a relocation the loader applies at every governed start. */
static const char NAMES[][11] = {"auto", "http", "redis", "postgresql", "raw", "tls"};

const char *peer_protocol_name(enum peer_protocol protocol)
{
    return protocol <= PEER_TLS ? NAMES[protocol] : "?";
}

enum peer_protocol peer_protocol_of_port(uint16_t port)
{
    switch (port) {
    case 6379: return PEER_REDIS;
    case 5432: return PEER_POSTGRESQL;
    case 80:
    case 8000:
    case 8008:
    case 8080:
    case 8888: return PEER_HTTP;
    case 443:
    case 8443: return PEER_TLS;
    default: return PEER_AUTO;
    }
}

static size_t letters(const unsigned char *b, size_t len)
{
    size_t n = 0;
    while (n < len && ((b[n] >= 'A' && b[n] <= 'Z') || (b[n] >= 'a' && b[n] <= 'z')))
        n++;
    return n;
}

static const char HTTP_METHODS[][8] = {"GET",     "HEAD",  "POST",  "PUT",  "DELETE",
                                       "OPTIONS", "PATCH", "TRACE", "CONNECT", ""};

static bool http_method(const unsigned char *b, size_t len)
{
    size_t n = letters(b, len);
    if (n == 0 || n >= len || b[n] != ' ')
        return false;
    for (size_t i = 0; HTTP_METHODS[i][0]; i++)
        if (strlen(HTTP_METHODS[i]) == n && memcmp(b, HTTP_METHODS[i], n) == 0)
            return true;
    return false;
}

/* The command a RESP array or an inline line begins with, in *word. */
static bool redis_command(const unsigned char *b, size_t len, const unsigned char **word,
                          size_t *n)
{
    if (len > 0 && b[0] == '*') {
        const unsigned char *p = memchr(b, '\n', len);
        if (!p || (size_t)(p - b) + 2 > len || p[1] != '$')
            return false;
        const unsigned char *q = memchr(p + 1, '\n', len - (size_t)(p + 1 - b));
        if (!q)
            return false;
        *word = q + 1;
        *n = letters(q + 1, len - (size_t)(q + 1 - b));
        return *n > 0;
    }
    *word = b;
    *n = letters(b, len);
    return *n > 0 && *n < len && (b[*n] == ' ' || b[*n] == '\r' || b[*n] == '\n');
}

/* Redis words that clients send first: what an inline command must be to
 * be taken for Redis rather than for some other text. */
static bool known_redis_inline(const unsigned char *word, size_t n)
{
    static const char FIRST[][9] = {"PING", "AUTH", "HELLO", "SELECT", "GET", "SET",
                                    "DEL",  "INFO", "FLUSHALL", "FLUSHDB", "KEYS", ""};
    for (size_t i = 0; FIRST[i][0]; i++)
        if (peer_word_is(word, n, FIRST[i]))
            return true;
    return false;
}

enum peer_protocol peer_detect(const void *bytes, size_t len)
{
    const unsigned char *b = bytes;
    if (len >= 8) {
        uint32_t n = peer_be32(b), code = peer_be32(b + 4);
        if ((code == PG_SSL_REQUEST || code == PG_GSS_REQUEST) && n == 8)
            return PEER_POSTGRESQL;
        if (code == PG_PROTOCOL_3 && n >= 8 && n < 10000)
            return PEER_POSTGRESQL;
    }
    if (len >= 3 && b[0] == 0x16 && b[1] == 0x03)
        return PEER_TLS;
    if (http_method(b, len))
        return PEER_HTTP;
    const unsigned char *word;
    size_t n;
    if (len >= 2 && b[0] == '*' && b[1] >= '0' && b[1] <= '9')
        return PEER_REDIS;
    if (redis_command(b, len, &word, &n) && known_redis_inline(word, n))
        return PEER_REDIS;
    return PEER_AUTO;
}

enum peer_protocol peer_resolve(enum peer_protocol configured, uint16_t port, const void *bytes,
                                size_t len)
{
    if (configured != PEER_AUTO)
        return configured;
    enum peer_protocol seen = peer_detect(bytes, len);
    if (seen == PEER_AUTO)
        seen = peer_protocol_of_port(port);
    return seen == PEER_AUTO ? PEER_RAW : seen;
}

bool peer_begins_request(enum peer_protocol protocol, const void *bytes, size_t len)
{
    const unsigned char *b = bytes, *word;
    size_t n;
    switch (protocol) {
    case PEER_HTTP: return http_method(b, len);
    case PEER_REDIS: return redis_command(b, len, &word, &n) && !peer_redis_chatter((const char *)word, n);
    case PEER_POSTGRESQL:
        /* Query, Parse, Bind, Execute, FunctionCall; not start-up,
         * passwords, Sync, Flush or Terminate. */
        return len > 0 && (b[0] == 'Q' || b[0] == 'P' || b[0] == 'B' || b[0] == 'E' || b[0] == 'F');
    default: return true;
    }
}

/* ---- the framing loop ---------------------------------------------------- */

/* Whether the peer frames its protocol's requests (else it is raw). */
static bool frames(enum peer_protocol protocol)
{
    return protocol == PEER_HTTP || protocol == PEER_REDIS || protocol == PEER_POSTGRESQL;
}

/* One framing step of p's protocol (called directly: a table of function
 * pointers would cost the pure floor a GOT). */
static size_t step(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                   bool full)
{
    switch (p->protocol) {
    case PEER_HTTP: return peer_http_step(p, s, sink, full);
    case PEER_REDIS: return peer_redis_step(p, s, sink, full);
    default: return peer_postgresql_step(p, s, sink, full);
    }
}

void peer_open(struct peer *p, enum peer_protocol protocol, uint16_t port,
               const struct peer_settings *s, const struct peer_sink *sink)
{
    memset(p, 0, offsetof(struct peer, head));
    p->port = port;
    p->txn = 'I';
    p->queued = UINT32_MAX;
    p->protocol = protocol;
    if (p->protocol == PEER_RAW && !s->response)
        peer_hang_up(p, sink);
}

/* The raw peer's request: what was sent since the last answer was read. */
static void raw_hand_over(struct peer *p, const struct peer_settings *s,
                          const struct peer_sink *sink)
{
    if (p->have == 0)
        return;
    peer_text_clear(p);
    peer_text_put(p, p->head, p->have);
    peer_hand_over(p, sink, impact_of_payload(p->head, p->have, s->impact));
    p->have = 0;
    p->state = 0;
}

/* Raw: the first bytes of each request are answered at once with the
 * response (so that a client polling for it sees it), and kept, up to
 * PEER_HEAD_MAX, for the request's record. */
static void raw_feed(struct peer *p, const struct peer_settings *s, const unsigned char *b,
                     size_t len, const struct peer_sink *sink)
{
    if (p->state == 0 && !p->hung_up && s->response) {
        peer_out(p, sink, s->response, s->response_len);
        peer_out_flush(p, sink);
    }
    p->state = 1;
    size_t k = PEER_HEAD_MAX - p->have < len ? PEER_HEAD_MAX - p->have : len;
    memcpy(p->head + p->have, b, k);
    p->have += k;
}

/* What auto becomes at the first bytes; TLS cannot be answered: the
 * client's handshake fails, as against a server that hangs up. */
static void decide(struct peer *p, const struct peer_settings *s, const unsigned char *b,
                   size_t len, const struct peer_sink *sink)
{
    if (p->protocol == PEER_AUTO) {
        p->protocol = peer_resolve(PEER_AUTO, p->port, b, len);
        if (p->protocol == PEER_RAW && !s->response)
            peer_hang_up(p, sink);
    }
    if (p->protocol == PEER_TLS)
        peer_hang_up(p, sink);
}

void peer_feed(struct peer *p, const struct peer_settings *s, const void *bytes, size_t len,
               const struct peer_sink *sink)
{
    const unsigned char *b = bytes;
    if (len == 0)
        return;
    if (!p->sent_any) {
        p->sent_any = true;
        decide(p, s, b, len, sink);
    }
    if (p->protocol == PEER_TLS)
        return; /* its record says why nothing of it can be shown */
    if (!frames(p->protocol)) {
        raw_feed(p, s, b, len, sink);
        return;
    }
    while (len > 0 && !p->hung_up) {
        size_t k = PEER_HEAD_MAX - p->have < len ? PEER_HEAD_MAX - p->have : len;
        memcpy(p->head + p->have, b, k);
        p->have += k;
        b += k;
        len -= k;
        size_t used;
        while (p->have > 0 && !p->hung_up &&
               (used = step(p, s, sink, p->have == PEER_HEAD_MAX)) > 0) {
            memmove(p->head, p->head + used, p->have - used);
            p->have -= used;
        }
    }
    peer_out_flush(p, sink);
}

void peer_flush(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink)
{
    if (!frames(p->protocol))
        raw_hand_over(p, s, sink);
}

void peer_close(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink)
{
    peer_flush(p, s, sink);
    /* Set-up alone (a PING, a PostgreSQL start-up) touched nothing: no
     * record, as for the set-up of a connection that made requests. */
    if (p->requests > 0 || (p->sent_any && p->protocol != PEER_TLS))
        return;
    peer_text_clear(p);
    const char *why = !p->sent_any ? "nothing sent"
                                   : "TLS: a simulated peer cannot answer an encrypted connection";
    struct impact im = {.level = IMPACT_UNKNOWN};
    size_t n = strlen(why);
    memcpy(im.reason, why, n < sizeof im.reason ? n + 1 : sizeof im.reason);
    im.reason[sizeof im.reason - 1] = '\0';
    peer_hand_over(p, sink, im);
}
