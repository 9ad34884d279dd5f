/* What the simulated peer's protocols share (peer_wire.h): answering,
 * handing requests over, their readable text, and a few words of wire
 * format. */
#include "peer_wire.h"

#include <string.h>

uint32_t peer_be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool peer_word_is(const void *bytes, size_t n, const char *word)
{
    const char *b = bytes;
    for (size_t i = 0; i < n; i++, word++)
        if (!*word || upper(b[i]) != upper(*word))
            return false;
    return *word == '\0';
}

long peer_line_end(const unsigned char *bytes, size_t len, size_t *eol)
{
    const unsigned char *nl = memchr(bytes, '\n', len);
    if (!nl)
        return -1;
    size_t at = (size_t)(nl - bytes);
    bool crlf = at > 0 && bytes[at - 1] == '\r';
    *eol = crlf ? 2 : 1;
    return (long)(crlf ? at - 1 : at);
}

/* Redis commands that are sent unprompted by clients on their own, as
 * set-up or transaction control: answered, never a request of their own. */
static const char REDIS_CHATTER[][10] = {
    "HELLO", "AUTH",  "SELECT", "CLIENT",  "PING",  "ECHO",    "QUIT",   "RESET",
    "READONLY", "READWRITE", "COMMAND", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", ""};

bool peer_redis_chatter(const char *command, size_t n)
{
    for (size_t i = 0; REDIS_CHATTER[i][0]; i++)
        if (peer_word_is(command, n, REDIS_CHATTER[i]))
            return true;
    return false;
}

/* ---- output -------------------------------------------------------------- */

void peer_out_flush(struct peer *p, const struct peer_sink *sink)
{
    if (p->out_len > 0 && sink->reply)
        sink->reply(sink->ctx, p->out, p->out_len);
    p->out_len = 0;
}

void peer_out(struct peer *p, const struct peer_sink *sink, const void *bytes, size_t len)
{
    const unsigned char *b = bytes;
    while (len > 0) {
        if (p->out_len == PEER_OUT_MAX)
            peer_out_flush(p, sink);
        size_t k = PEER_OUT_MAX - p->out_len < len ? PEER_OUT_MAX - p->out_len : len;
        memcpy(p->out + p->out_len, b, k);
        p->out_len += k;
        b += k;
        len -= k;
    }
}

void peer_out_text(struct peer *p, const struct peer_sink *sink, const char *text)
{
    peer_out(p, sink, text, strlen(text));
}

void peer_hang_up(struct peer *p, const struct peer_sink *sink)
{
    if (p->hung_up)
        return;
    peer_out_flush(p, sink);
    p->hung_up = true;
    if (sink->hang_up)
        sink->hang_up(sink->ctx);
}

/* ---- readable text ------------------------------------------------------- */

void peer_text_clear(struct peer *p)
{
    p->text_len = 0;
    p->text_cut = false;
}

/* The length of the UTF-8 sequence at b (at most len bytes), or 0. */
static size_t utf8_run(const unsigned char *b, size_t len)
{
    size_t n = b[0] >= 0xf0 && b[0] <= 0xf4 ? 4 : b[0] >= 0xe0 ? 3 : b[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || b[0] > 0xf4 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((b[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Appends b[0, len) readable to out[*n, cap - 1); false when cut. */
static bool readable_put(const unsigned char *b, size_t len, char *out, size_t cap, size_t *n)
{
    static const char HEX[] = "0123456789abcdef";
    for (size_t i = 0; i < len;) {
        char piece[4];
        size_t k = 0, used = 1, run;
        if ((b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
            piece[k++] = (char)b[i];
        } else if (b[i] >= 0x80 && (run = utf8_run(b + i, len - i)) > 0) {
            memcpy(piece, b + i, run);
            k = used = run;
        } else {
            piece[k++] = '\\';
            piece[k++] = 'x';
            piece[k++] = HEX[b[i] >> 4];
            piece[k++] = HEX[b[i] & 15];
        }
        if (*n + k + 3 > cap - 1) {
            memcpy(out + *n, "...", 3);
            *n += 3;
            return false;
        }
        memcpy(out + *n, piece, k);
        *n += k;
        i += used;
    }
    return true;
}

size_t peer_readable(const void *bytes, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    readable_put(bytes, len, out, cap, &n);
    out[n] = '\0';
    return n;
}

void peer_text_put(struct peer *p, const void *bytes, size_t len)
{
    /* A text that was cut keeps its "..." and takes nothing more. */
    if (!p->text_cut && !readable_put(bytes, len, p->text, PEER_TEXT_MAX, &p->text_len))
        p->text_cut = true;
}

void peer_hand_over(struct peer *p, const struct peer_sink *sink, struct impact im)
{
    p->requests++;
    if (sink->request) {
        struct peer_request rq = {.text = p->text, .len = p->text_len, .impact = im};
        sink->request(sink->ctx, &rq);
    }
}

