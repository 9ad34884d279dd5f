/* fuzz_redis_url: backend URLs as users write them (shim/pure/redis_url.h).
 *
 * Properties beyond "no crash":
 *  - a refused URL always says why (a sentence, NUL-terminated, that fits);
 *  - an accepted one has NUL-terminated fields that fit, a port from 1 to
 *    65535 for TCP and TLS, an absolute socket path for a unix socket;
 *  - redis_url_where never shows the credentials: it is exactly HOST:PORT
 *    ([HOST]:PORT for IPv6) or unix:PATH, and a host holds no '@';
 *  - the same text parses the same way twice.
 *
 * Input: the URL (its first NUL ends it). */
#include "fuzz.h"
#include "redis_url.h"

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct redis_url *u = malloc(sizeof *u), *again = malloc(sizeof *again);
    char why[160], why2[160];
    bool ok = redis_url_parse(text, u, why, sizeof why);
    FUZZ_CHECK(ok == redis_url_parse(text, again, why2, sizeof why2), "not the same twice");
    if (!ok) {
        FUZZ_CHECK(terminated(why, sizeof why) && why[0], "refused without a reason");
    } else {
        FUZZ_CHECK(memcmp(u, again, sizeof *u) == 0, "parsed otherwise the second time");
        FUZZ_CHECK(terminated(u->host, sizeof u->host) && terminated(u->path, sizeof u->path) &&
                       terminated(u->user, sizeof u->user) &&
                       terminated(u->password, sizeof u->password),
                   "a field is not terminated");
        if (u->transport == REDIS_UNIX)
            FUZZ_CHECK(u->path[0] == '/', "socket path '%s'", u->path);
        else
            FUZZ_CHECK(u->port >= 1 && u->host[0], "host '%s' port %u", u->host, u->port);
        char where[512], expected[512];
        redis_url_where(u, where, sizeof where);
        if (u->transport == REDIS_UNIX) {
            snprintf(expected, sizeof expected, "unix:%s", u->path);
            FUZZ_CHECK(strcmp(where, expected) == 0, "where '%s' for path '%s'", where, u->path);
        } else {
            snprintf(expected, sizeof expected, strchr(u->host, ':') ? "[%s]:%u" : "%s:%u",
                     u->host, u->port);
            FUZZ_CHECK(strcmp(where, expected) == 0, "where '%s' for %s", where, expected);
            FUZZ_CHECK(!strchr(u->host, '@'), "host '%s' holds an '@'", u->host);
        }
    }
    free(again);
    free(u);
    free(text);
    return 0;
}
