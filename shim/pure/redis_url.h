/* A Redis backend's address as users write it (the URL forms of
 * redis-cli -u and of every Redis client library):
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     TCP (port 6379)
 *   rediss://...                                   the same over TLS
 *   redis+unix://[[USER]:PASSWORD@]/PATH[?db=DB]   a unix socket
 *
 * HOST is a name, an IPv4 address or [IPv6]; USER and PASSWORD may be
 * percent-encoded. A single word before '@' is the user (an ACL user whose
 * password comes from elsewhere: backend.password_file), as in RFC 3986;
 * redis://:PASSWORD@HOST names only a password. Pure: nothing is resolved or connected here. */
#ifndef ENACT_REDIS_URL_H
#define ENACT_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum redis_transport { REDIS_TCP, REDIS_TLS, REDIS_UNIX };

#define REDIS_HOST_MAX 256
#define REDIS_PATH_MAX 108 /* sun_path */
#define REDIS_SECRET_MAX 256

struct redis_url {
    enum redis_transport transport;
    char host[REDIS_HOST_MAX]; /* TCP, TLS: without brackets */
    uint16_t port;
    char path[REDIS_PATH_MAX]; /* UNIX */
    uint32_t db;
    char user[REDIS_SECRET_MAX];     /* "" : the default user */
    char password[REDIS_SECRET_MAX]; /* "" : none in the URL */
};

/* false with why (a sentence naming what is wrong) on a malformed URL. */
bool redis_url_parse(const char *text, struct redis_url *out, char *why, size_t cap);

/* "127.0.0.1:6379", "[::1]:6380", "unix:/run/redis.sock": where the backend
 * is, for messages and enact status, never with credentials. */
void redis_url_where(const struct redis_url *u, char *out, size_t cap);

#endif
