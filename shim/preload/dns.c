/* Interposers for name resolution: getaddrinfo, gethostbyname,
 * gethostbyname2. They change nothing in the answer; they remember which
 * name each address came from, in the shared state, so that a rule by DNS
 * name (connect = api.example.com:443) matches the connect that follows,
 * in this process or any other of the config. glibc resolves through its
 * own internal calls, so names are seen here and not at the DNS socket. */
#include "real.h"
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* A literal address resolves to itself: nothing to learn. */
static bool is_name(const char *node)
{
    unsigned char buf[16];
    return node && *node && inet_pton(AF_INET, node, buf) != 1 &&
           inet_pton(AF_INET6, node, buf) != 1;
}

static void note(const struct enact_config *cfg, int family, const void *raw, const char *name)
{
    uint8_t addr[16];
    if (family == AF_INET) {
        static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(addr, v4_mapped, 12);
        memcpy(addr + 12, raw, 4);
    } else if (family == AF_INET6) {
        memcpy(addr, raw, 16);
    } else {
        return;
    }
    shim_note_host(cfg, addr, name);
}

EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    real_ensure();
    int rc = real.getaddrinfo(node, service, hints, res);
    const struct enact_config *cfg;
    if (rc != 0 || !is_name(node) || !shim_enter(&cfg))
        return rc;
    int saved = errno;
    for (const struct addrinfo *ai = *res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
            note(cfg, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, node);
        else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6))
            note(cfg, AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, node);
    }
    errno = saved;
    shim_leave();
    return rc;
}

static struct hostent *noted(struct hostent *he, const char *name)
{
    const struct enact_config *cfg;
    if (!he || !is_name(name) || !shim_enter(&cfg))
        return he;
    int saved = errno;
    for (char **a = he->h_addr_list; a && *a; a++)
        note(cfg, he->h_addrtype, *a, name);
    errno = saved;
    shim_leave();
    return he;
}

EXPORT struct hostent *gethostbyname(const char *name)
{
    real_ensure();
    return noted(real.gethostbyname(name), name);
}

EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    real_ensure();
    return noted(real.gethostbyname2(name, af), name);
}
