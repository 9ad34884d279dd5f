/* Rules that map a call to a tool, and the targets they are matched with.
 *
 * Parsing happens once, at config load (it allocates). Matching allocates
 * nothing and takes no lock: it runs inside interposed calls, including in
 * vfork children. */
#ifndef ENACT_RULE_H
#define ENACT_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- connect rules: HOST[:PORT] or unix:PATH ---------------------------- */

/* Longest DNS name kept (RFC 1035: 253 characters). */
#define HOST_NAME_MAX_LEN 253

enum target_kind { TARGET_INET, TARGET_UNIX };

struct connect_rule {
    enum target_kind kind;
    bool any_host;
    uint8_t addr[16];     /* IPv6; IPv4 rules are stored v4-mapped */
    unsigned prefix_bits; /* 0..128 of addr that must match */
    uint16_t port_lo, port_hi;
    char *host_glob;      /* a DNS name rule (lower case): matched against the name the
                             address was resolved from, when that is known */
    char *unix_glob;      /* TARGET_UNIX: path glob; abstract names start with '@' */
    bool expanded;        /* a further matcher of the rule before it, from the same
                             written rule (localhost's ::1): not a rule of its own */
};

/* A connect rule expands to at most this many matchers (localhost: v4 + v6). */
#define CONNECT_RULE_MAX_EXPANSION 2

/* Parses one `connect =` value into out[0..*n). On error returns false and
 * writes a message (with a hint) to err. */
bool connect_rule_parse(const char *text, struct connect_rule out[CONNECT_RULE_MAX_EXPANSION],
                        size_t *n, char *err, size_t errlen);
void connect_rule_free(struct connect_rule *r);

/* Where a connect goes. For AF_UNIX, path points into a caller's buffer,
 * NUL-terminated, abstract names written as '@' + name. */
struct net_target {
    enum target_kind kind;
    uint8_t addr[16]; /* IPv4 as v4-mapped IPv6 */
    uint16_t port;
    const char *host; /* lower-case name the address was resolved from, or NULL */
    char path[110];
};

/* False for families no rule can name (AF_NETLINK, ...): such calls are
 * never mapped. */
bool net_target_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct net_target *t);
bool connect_rule_matches(const struct connect_rule *r, const struct net_target *t);

/* "127.0.0.1:8080", "[::1]:443", "unix:/run/x.sock"; returns the length.
 * Uses snprintf/inet_ntop: for the connect path, not for a vfork child. */
size_t net_target_format(const struct net_target *t, char *out, size_t cap);

/* ---- exec rules: PROGRAM_GLOB [ARG_GLOB...] ----------------------------- */

struct exec_rule {
    char **words;  /* NULL-terminated: the program glob, then argument globs */
    size_t nargs;  /* globs for argv[1..nargs]; further arguments are free */
    bool by_path;  /* program glob has '/': matched on the full path, else on the basename */
};

bool exec_rule_parse(const char *text, struct exec_rule *out, char *err, size_t errlen);
void exec_rule_free(struct exec_rule *r);

/* path: the file that would be executed (after PATH search). */
bool exec_rule_matches(const struct exec_rule *r, const char *path, char *const argv[]);

#endif
