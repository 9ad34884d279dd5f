/* What an agent was seen doing, grouped into the tools enact learn
 * proposes (README "Learning a config"): one tool per service it talked
 * to (a DNS name and port, one address and port, a cluster of addresses
 * on one port as a CIDR, a unix socket) and one per program it started,
 * each with the times of its calls, so that rates can be read off them
 * (learn_rates.h), and the evidence a proposal's comments give.
 *
 * Calls are added in the order the audit log holds them. The programs
 * that only start the agent's own command, or carry out one of its calls
 * (a #! line's interpreter, env, pyenv's shims: learn_chains.h), are not
 * the agent's tools: they are counted apart, by name. Name lookups (port
 * 53) are counted apart too: limiting them would fail every call at once. */
#ifndef ENACT_LEARN_MODEL_H
#define ENACT_LEARN_MODEL_H

#include "impact.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum learn_op { LEARN_CONNECT, LEARN_REQUEST, LEARN_EXEC };

/* One call, as an audit record tells it. Strings are copied. */
struct learn_obs {
    uint64_t ts_ms;
    int32_t pid, parent; /* parent 0: not known */
    enum learn_op op;
    const char *target; /* "127.0.0.1:8080", "[::1]:443", "unix:/path"; a program's path */
    const char *host;   /* the DNS name the address came from, or NULL */
    const char *argv;   /* exec: its arguments joined by spaces, or NULL */
    const char *exe;    /* the program that made the call, or NULL */
};

enum learn_kind { LEARN_NAMED, LEARN_ADDRESS, LEARN_CLUSTER, LEARN_UNIX, LEARN_PROGRAM };

#define LEARN_SHAPES 4 /* the most frequent argv shapes a program's evidence names */
struct learn_shape {
    char text[160]; /* argv with values as '*': "curl -sS --max-time * *" */
    uint32_t count;
};

struct learn_service {
    enum learn_kind kind;
    char name[45];  /* a valid tool name, unique in the model */
    char rule[300]; /* a connect rule's value, or an exec rule's program */
    uint64_t *ts_ms; /* every call, sorted */
    size_t ncalls;
    uint32_t connects, requests, execs;
    uint32_t max_per_connection; /* requests on one connection, the connect's own included */
    uint32_t addresses;          /* distinct addresses behind it */
    struct learn_shape shapes[LEARN_SHAPES];
    uint32_t nshapes, other_shapes; /* shapes beyond those listed */
    struct impact impact;           /* the highest of its calls (programs) */
    char impact_example[160];       /* the call that had it */
};

struct learn_summary {
    uint64_t first_ms, last_ms; /* of the calls that count */
    uint32_t calls;
    uint32_t startup;  /* calls that only started the agent's command */
    uint32_t wrapped;  /* calls that carried out another (learn_chains.h) */
    uint32_t lookups;  /* connects to port 53 */
    char startup_programs[200]; /* the programs of both, ", " between; "..." when cut */
};

struct learn_model;

struct learn_model *learn_model_new(void);
void learn_model_free(struct learn_model *m);

/* False when out of memory, or when the target cannot be read (a
 * connect target that is no address); the model is unchanged then. */
bool learn_model_add(struct learn_model *m, const struct learn_obs *o);

/* Groups what was added into services, in the order first seen. Once,
 * after the last add; false when out of memory. */
bool learn_model_finish(struct learn_model *m);

size_t learn_service_count(const struct learn_model *m);
const struct learn_service *learn_service_at(const struct learn_model *m, size_t i);
const struct learn_summary *learn_model_summary(const struct learn_model *m);

/* An argv (joined by spaces) as its shape: options kept, a first word
 * that names a subcommand kept ("git status"), every other value '*'. */
void learn_argv_shape(const char *program, const char *argv, char *out, size_t cap);

#endif
