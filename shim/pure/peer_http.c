/* The simulated peer's HTTP/1.x: a request is its head (request line and
 * headers) and its body (Content-Length or chunked); each is answered with
 * dry_run.http_status and dry_run.http_body once whole, keep-alive unless
 * the request asked to close. */
#include "peer_wire.h"

#include <stdio.h>
#include <string.h>

enum { HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, TRAILER };

#define DEFAULT_BODY "{\"enact\":\"dry_run\",\"simulated\":true}\n"

static const char *reason_of(unsigned status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error"
                                                                                   : "Server Error";
    }
}

/* 1xx, 204 and 304 answers have no body; neither has any answer to HEAD. */
static bool has_body(unsigned status)
{
    return status >= 200 && status != 204 && status != 304;
}

static void answer(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                   unsigned status, bool close)
{
    const char *body = s->http_body ? s->http_body : DEFAULT_BODY;
    size_t len = s->http_body ? s->http_body_len : strlen(DEFAULT_BODY);
    bool json = len > 0 && (body[0] == '{' || body[0] == '[');
    char head[320];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Enact-Dry-Run: simulated\r\nConnection: %s\r\n\r\n",
                     status, reason_of(status), json ? "application/json" : "text/plain",
                     has_body(status) ? len : 0, close ? "close" : "keep-alive");
    peer_out(p, sink, head, (size_t)n);
    if (has_body(status) && !p->http_head)
        peer_out(p, sink, body, len);
    if (close)
        peer_hang_up(p, sink);
}

/* A request the peer cannot frame: answered as a server would, then
 * closed. */
static size_t refuse(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                     unsigned status)
{
    struct peer_settings plain = *s;
    plain.http_body = "";
    plain.http_body_len = 0;
    answer(p, &plain, sink, status, true);
    return p->have;
}

static void complete(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink)
{
    size_t method = 0;
    while (method < p->text_len && p->text[method] != ' ')
        method++;
    peer_hand_over(p, sink, impact_of_verb(IMPACT_HTTP, p->text, method, s->impact));
    answer(p, s, sink, s->http_status ? s->http_status : 200, p->http_close);
    p->state = HEAD;
}

/* The value of header name in the head's lines [from, to), or NULL. */
static const unsigned char *header(const unsigned char *h, size_t from, size_t to,
                                   const char *name, size_t *vlen)
{
    size_t nlen = strlen(name), eol;
    for (size_t at = from; at < to;) {
        long end = peer_line_end(h + at, to - at, &eol);
        if (end <= 0)
            return NULL;
        size_t line = (size_t)end;
        if (line > nlen && h[at + nlen] == ':' && peer_word_is(h + at, nlen, name)) {
            size_t v = at + nlen + 1;
            while (v < at + line && (h[v] == ' ' || h[v] == '\t'))
                v++;
            *vlen = at + line - v;
            while (*vlen > 0 && (h[v + *vlen - 1] == ' ' || h[v + *vlen - 1] == '\t'))
                (*vlen)--;
            return h + v;
        }
        at += line + eol;
    }
    return NULL;
}

static bool contains_word(const unsigned char *v, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; v && i + w <= n; i++)
        if (peer_word_is(v + i, w, word))
            return true;
    return false;
}

/* The request line and headers, when whole: their length, or 0. */
static size_t head_length(const unsigned char *h, size_t have)
{
    for (size_t i = 0; i + 1 < have; i++) {
        if (h[i] == '\n' && h[i + 1] == '\n')
            return i + 2;
        if (i + 3 < have && h[i] == '\r' && h[i + 1] == '\n' && h[i + 2] == '\r' && h[i + 3] == '\n')
            return i + 4;
    }
    return 0;
}

static bool parse_length(const unsigned char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

static size_t take_head(struct peer *p, const struct peer_settings *s,
                        const struct peer_sink *sink, bool full)
{
    const unsigned char *h = p->head;
    size_t len = head_length(h, p->have), eol;
    if (len == 0)
        return full ? refuse(p, s, sink, 431) : 0;
    long line = peer_line_end(h, len, &eol);
    const unsigned char *sp2 = line > 0 ? memchr(h, ' ', (size_t)line) : NULL;
    sp2 = sp2 ? memchr(sp2 + 1, ' ', (size_t)(h + line - sp2 - 1)) : NULL;
    if (!sp2 || (size_t)(h + line - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return refuse(p, s, sink, 400);
    peer_text_clear(p);
    peer_text_put(p, h, (size_t)line);
    bool http10 = sp2[8] == '0';
    size_t from = (size_t)line + eol, vlen = 0;
    const unsigned char *conn = header(h, from, len, "Connection", &vlen);
    p->http_close = http10 ? !contains_word(conn, vlen, "keep-alive")
                           : contains_word(conn, vlen, "close");
    p->http_head = peer_word_is(h, 4, "HEAD") && h[4] == ' ';
    const unsigned char *te = header(h, from, len, "Transfer-Encoding", &vlen);
    bool chunked = contains_word(te, vlen, "chunked");
    const unsigned char *cl = header(h, from, len, "Content-Length", &vlen);
    uint64_t body = 0;
    if (!chunked && cl && !parse_length(cl, vlen, &body))
        return refuse(p, s, sink, 400);
    const unsigned char *expect = header(h, from, len, "Expect", &vlen);
    if ((chunked || body > 0) && contains_word(expect, vlen, "100-continue"))
        peer_out_text(p, sink, "HTTP/1.1 100 Continue\r\n\r\n");
    if (chunked) {
        p->state = CHUNK_SIZE;
    } else if (body > 0) {
        p->state = BODY;
        p->left = body;
    } else {
        complete(p, s, sink);
    }
    return len;
}

/* Bytes of the body still to come, dropped as they arrive. */
static size_t take_bytes(struct peer *p)
{
    size_t k = p->left < p->have ? (size_t)p->left : p->have;
    p->left -= k;
    return k;
}

static size_t take_chunk_size(struct peer *p, const struct peer_settings *s,
                              const struct peer_sink *sink, bool full)
{
    size_t eol;
    long line = peer_line_end(p->head, p->have, &eol);
    if (line < 0)
        return full ? refuse(p, s, sink, 400) : 0;
    uint64_t size = 0;
    size_t i = 0, digits = 0;
    for (; i < (size_t)line && digits < 15; i++, digits++) {
        unsigned char c = p->head[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            break;
        size = size * 16 + (uint64_t)v;
    }
    if (digits == 0)
        return refuse(p, s, sink, 400);
    p->state = size == 0 ? TRAILER : CHUNK_DATA;
    p->left = size + 2; /* the data and its CRLF */
    return (size_t)line + eol;
}

static size_t take_trailer(struct peer *p, const struct peer_settings *s,
                           const struct peer_sink *sink, bool full)
{
    size_t eol;
    long line = peer_line_end(p->head, p->have, &eol);
    if (line < 0)
        return full ? refuse(p, s, sink, 400) : 0;
    if (line == 0)
        complete(p, s, sink);
    return (size_t)line + eol;
}

size_t peer_http_step(struct peer *p, const struct peer_settings *s,
                      const struct peer_sink *sink, bool full)
{
    size_t used;
    switch (p->state) {
    case HEAD: return take_head(p, s, sink, full);
    case BODY:
        used = take_bytes(p);
        if (p->left == 0)
            complete(p, s, sink);
        return used;
    case CHUNK_SIZE: return take_chunk_size(p, s, sink, full);
    case CHUNK_DATA:
        used = take_bytes(p);
        if (p->left == 0)
            p->state = CHUNK_SIZE;
        return used;
    default: return take_trailer(p, s, sink, full);
    }
}
