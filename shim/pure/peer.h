/* The simulated server of a dry-run connection (README "Dry run").
 *
 * A peer reads what the client sends, frames it the way the real server
 * would, and answers each request when it is complete: HTTP/1.1 (with
 * Content-Length and keep-alive), Redis RESP (each command of a pipeline,
 * MULTI/EXEC), PostgreSQL's v3 protocol (SSLRequest, start-up, simple and
 * extended queries), or raw (dry_run.response for each request). It never
 * speaks first, as none of these servers does. Each request that acts on
 * data is handed to the caller with a readable text and its impact, once;
 * connection set-up (PostgreSQL start-up, Redis AUTH, HELLO, SELECT, ...)
 * and transaction control (BEGIN, COMMIT, MULTI, EXEC, ...) are answered
 * but not handed over.
 *
 * The same framing tells a real connection's requests apart
 * (peer_begins_request), so that `action = request` counts what users
 * call a call, not the protocol's chatter.
 *
 * No allocation, no system call: a peer is a fixed block of memory, fed
 * in pieces of any size. */
#ifndef ENACT_PEER_H
#define ENACT_PEER_H

#include "impact.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dry_run.protocol's values, in the order of its choices, then the kinds
 * only detection yields. */
enum peer_protocol {
    PEER_AUTO,
    PEER_HTTP,
    PEER_REDIS,
    PEER_POSTGRESQL,
    PEER_RAW,
    PEER_TLS, /* detected: encrypted, so nothing can be answered */
};

#define PEER_HEAD_MAX 4096 /* one unit being framed: an HTTP head, a Redis line, a message */
#define PEER_TEXT_MAX 512  /* of a request's readable text, for its record */
#define PEER_MULTI_MAX 2048 /* replies of a Redis MULTI held for its EXEC */
#define PEER_OUT_MAX 4096  /* answers gathered before they are written */
#define PEER_ARG_MAX 32    /* Redis: bytes kept of each of the first arguments */

/* What the peer answers with, from the tool's dry_run.* keys. */
struct peer_settings {
    const char *response; /* raw: each request's answer (NULL: hang up at once) */
    size_t response_len;
    unsigned http_status;  /* 0: 200 */
    const char *http_body; /* NULL: a small JSON body saying it was simulated */
    size_t http_body_len;
    const struct impact_table *impact; /* the config's [impact], or NULL */
};

/* One complete request. text is readable: printable bytes as sent, others
 * as \xHH; never cut at a NUL. */
struct peer_request {
    const char *text;
    size_t len;
    struct impact impact;
};

/* Where a peer's output goes. */
struct peer_sink {
    void (*reply)(void *ctx, const void *bytes, size_t len);
    void (*request)(void *ctx, const struct peer_request *rq);
    void (*hang_up)(void *ctx); /* the server closes its side: EOF for the client */
    void *ctx;
};

/* The framing state of one protocol; the members are the peer's own. */
struct peer {
    enum peer_protocol protocol;
    uint16_t port;
    bool hung_up;
    bool sent_any;      /* the client has sent something */
    bool text_cut;      /* text[] ends in "..." and takes no more */
    uint32_t requests;  /* handed over so far */
    uint32_t state;     /* the protocol's framing step */
    uint64_t left;      /* bytes of the current unit still to come */
    int64_t args_left;  /* Redis: bulk strings left in the current command */
    uint32_t args;      /* Redis: arguments of the current command */
    char txn;           /* PostgreSQL: 'I' idle or 'T' in a transaction */
    bool http_close;    /* HTTP: the request asked for the connection to close */
    bool http_head;     /* HTTP: a HEAD request: no body in the answer */
    bool http_continue; /* HTTP: Expect: 100-continue, not yet answered */
    bool multi_full;    /* Redis: a queued reply did not fit: EXEC aborts */
    bool set_finds_none; /* Redis: SET ... XX or GET, against no key */
    uint32_t queued;    /* Redis: commands queued since MULTI (UINT32_MAX: none) */
    size_t have;        /* bytes in head[] */
    size_t text_len;
    size_t multi_len;
    size_t out_len;
    size_t statement_len;
    size_t arg_len[4]; /* Redis: of arg[], each cut at PEER_ARG_MAX */
    size_t cur_len;    /* Redis: of cur[] */
    unsigned char head[PEER_HEAD_MAX];
    char text[PEER_TEXT_MAX];
    char statement[PEER_TEXT_MAX]; /* PostgreSQL: the last parsed statement */
    char arg[4][PEER_ARG_MAX];     /* Redis: the command and its first arguments */
    char cur[PEER_ARG_MAX];        /* Redis: the argument being read */
    char multi[PEER_MULTI_MAX];
    unsigned char out[PEER_OUT_MAX];
};

/* The protocol a port is known for (6379 Redis, 5432 PostgreSQL, 80 and
 * the usual HTTP ports), else PEER_AUTO. */
enum peer_protocol peer_protocol_of_port(uint16_t port);

/* The protocol the first bytes a client sends belong to, or PEER_AUTO
 * when they do not tell (too few, or none known). */
enum peer_protocol peer_detect(const void *bytes, size_t len);

/* What a connection speaks: configured, unless that is auto; then what the
 * first bytes sent say, else what the port is known for, else raw. */
enum peer_protocol peer_resolve(enum peer_protocol configured, uint16_t port, const void *bytes,
                                size_t len);

/* A fresh peer for protocol (PEER_AUTO: peer_resolve at the first bytes).
 * A raw peer with nothing to answer hangs up at once, through sink. */
void peer_open(struct peer *p, enum peer_protocol protocol, uint16_t port,
               const struct peer_settings *s, const struct peer_sink *sink);

/* The client sent len bytes: each request they complete is answered and
 * handed over, in order. */
void peer_feed(struct peer *p, const struct peer_settings *s, const void *bytes, size_t len,
               const struct peer_sink *sink);

/* The client waits for an answer: a raw request is whole now. */
void peer_flush(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink);

/* The client closed: what is still held is handed over, and a connection
 * that sent nothing, or only TLS, is handed over as one request saying so
 * (set-up alone is not). */
void peer_close(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink);

/* Whether bytes a client sends begin a request of protocol (a method
 * line, a Redis command other than set-up, a PostgreSQL query, parse,
 * bind or execute), when the caller knows a request may begin here. */
bool peer_begins_request(enum peer_protocol protocol, const void *bytes, size_t len);

/* bytes written readable into out (cap >= 4, NUL-terminated): printable
 * text, UTF-8, tabs and line ends as sent, other bytes as \xHH; "..."
 * ends what had to be cut. Returns the length written. */
size_t peer_readable(const void *bytes, size_t len, char *out, size_t cap);

/* The protocol's name as dry_run.protocol spells it. */
const char *peer_protocol_name(enum peer_protocol protocol);

#endif
