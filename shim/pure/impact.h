/* Impact estimation, as the guide's DryRunProxy does it: HIGH for what
 * deletes or destroys, MEDIUM for what creates or changes, LOW for what only
 * reads, UNKNOWN otherwise; with the reason that decided it.
 *
 * From a program's argv (rm, git push --force, kubectl delete, sh -c "...")
 * or from the first bytes a connection sends (an HTTP request line, a
 * PostgreSQL or MySQL simple query, a Redis command in RESP or inline form).
 * An [impact] table from the config is consulted first and may add programs
 * and verbs. No allocation, no locale, no stdio: usable in a vfork child. */
#ifndef ENACT_IMPACT_H
#define ENACT_IMPACT_H

#include "rule.h"

#include <stddef.h>

enum impact_level { IMPACT_UNKNOWN, IMPACT_LOW, IMPACT_MEDIUM, IMPACT_HIGH };

struct impact {
    enum impact_level level;
    char reason[96];
};

/* Extra knowledge from the config's [impact] section. */
struct impact_exec_entry {
    enum impact_level level;
    struct exec_rule rule;
};
struct impact_verb_entry {
    enum impact_level level;
    char verb[32]; /* upper case: an HTTP method, SQL verb or Redis command */
};
struct impact_table {
    struct impact_exec_entry *exec;
    size_t nexec;
    struct impact_verb_entry *verbs;
    size_t nverbs;
};

const char *impact_level_name(enum impact_level level);

/* "HIGH", "medium", ... (any case) into *out; false when not a level. */
bool impact_level_parse(const char *text, enum impact_level *out);

/* path: the file that would run; argv as passed. extra may be NULL. */
struct impact impact_of_exec(const char *path, char *const argv[],
                             const struct impact_table *extra);

/* The word that names a request of a protocol the simulated peer frames
 * (peer.h): an HTTP method or a Redis command. */
enum impact_protocol { IMPACT_HTTP, IMPACT_REDIS };
struct impact impact_of_verb(enum impact_protocol protocol, const char *word, size_t n,
                             const struct impact_table *extra);

/* One SQL statement, by its first keyword past blanks and comments. */
struct impact impact_of_sql(const char *sql, size_t len, const struct impact_table *extra);

/* The first bytes of what a connection sends. extra may be NULL. */
struct impact impact_of_payload(const void *data, size_t len, const struct impact_table *extra);

#endif
