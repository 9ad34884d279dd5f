/* RESP, the Redis protocol, as far as Enact speaks it: commands out (an
 * array of bulk strings), replies in (a value, or an array of values one
 * level deep: what the limits script, HGETALL and TIME answer).
 *
 * No allocation: a reply is parsed in place into a fixed array of items
 * that point into the caller's buffer, so the client can run on the stack
 * of a vfork child. Pure. */
#ifndef ENACT_RESP_H
#define ENACT_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The widest array a reply may hold: a breaker's HGETALL (4 fields and 16
 * leases of two fields each, as name and value). */
#define RESP_ITEMS_MAX 80

enum resp_type { RESP_STATUS, RESP_ERROR, RESP_INTEGER, RESP_BULK, RESP_NIL, RESP_ARRAY };

struct resp_item {
    enum resp_type type;
    int64_t integer;  /* RESP_INTEGER */
    const char *text; /* STATUS, ERROR, BULK: into the buffer, not NUL-terminated */
    size_t len;
};

struct resp_reply {
    struct resp_item value; /* RESP_ARRAY: n items follow */
    size_t n;
    struct resp_item items[RESP_ITEMS_MAX];
};

/* Encodes one command of argc arguments (lens[i] bytes each) into out.
 * Returns its length, or 0 when it does not fit in cap. */
size_t resp_command(char *out, size_t cap, int argc, const char *const argv[],
                    const size_t lens[]);

/* Parses the first reply in buf[0, len). Returns the bytes it took (> 0),
 * 0 when the reply is not complete yet, -1 when it is malformed, nested,
 * or wider than RESP_ITEMS_MAX. */
long resp_parse(const char *buf, size_t len, struct resp_reply *out);

/* An error reply "MOVED SLOT HOST:PORT" or "ASK SLOT HOST:PORT" (Redis
 * Cluster): true with the node to ask in host (NUL-terminated), *port, and
 * *ask for a one-time redirection (ASK) rather than a moved slot. */
bool resp_redirect(const struct resp_item *err, bool *ask, char *host, size_t cap,
                   uint16_t *port);

/* Whether an error reply begins with this code ("NOSCRIPT", "NOAUTH"). */
bool resp_error_is(const struct resp_item *err, const char *code);

#endif
