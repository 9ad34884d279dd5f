/* What the simulated peer's protocols share (peer.c): answering,
 * handing requests over, and their readable text. Not for callers of
 * peer.h. */
#ifndef ENACT_PEER_WIRE_H
#define ENACT_PEER_WIRE_H

#include "peer.h"

/* One framing step of a protocol over p->head[0, p->have): the bytes it
 * used (0: it needs more). When full, the buffer can hold no more and
 * the step must use some of it: a unit too long is cut or refused. */
typedef size_t peer_step_fn(struct peer *p, const struct peer_settings *s,
                            const struct peer_sink *sink, bool full);

peer_step_fn peer_http_step, peer_redis_step, peer_postgresql_step;

/* Answer bytes, gathered and written in order (peer_out_flush). */
void peer_out(struct peer *p, const struct peer_sink *sink, const void *bytes, size_t len);
void peer_out_text(struct peer *p, const struct peer_sink *sink, const char *text);
void peer_out_flush(struct peer *p, const struct peer_sink *sink);

/* The server closes its side after what it has answered. */
void peer_hang_up(struct peer *p, const struct peer_sink *sink);

/* p->text: cleared, then bytes appended readable (README "Dry run":
 * printable text and UTF-8 as sent, other bytes as \xHH, "..." when cut). */
void peer_text_clear(struct peer *p);
void peer_text_put(struct peer *p, const void *bytes, size_t len);

/* Hands over p->text as one request with impact im. */
void peer_hand_over(struct peer *p, const struct peer_sink *sink, struct impact im);

/* The index of "\r\n" (or a lone "\n") ending the first line of
 * bytes[0, len), and in *eol its length; -1 when no line ends there. */
long peer_line_end(const unsigned char *bytes, size_t len, size_t *eol);

/* Case-insensitive equality of bytes[0, n) with word. */
bool peer_word_is(const void *bytes, size_t n, const char *word);

/* Whether a Redis command is set-up or transaction control, which
 * clients send on their own and which is never a request. */
bool peer_redis_chatter(const char *command, size_t n);

uint32_t peer_be32(const unsigned char *b);

#endif
