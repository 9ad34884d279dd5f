/* Redis commands as Enact builds them: up to CMD_ARGS arguments, numbers
 * formatted in the command itself, encoded into a caller's buffer; and the
 * names of a fleet's keys, which all carry its hash tag {PREFIX}. */
#ifndef ENACT_REDIS_CMD_H
#define ENACT_REDIS_CMD_H

#include "redis_store.h"
#include "../pure/resp.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CMD_ARGS 28
#define REDIS_KEY_MAX (REDIS_PREFIX_MAX + 40)

struct cmd {
    int argc;
    const char *argv[CMD_ARGS];
    size_t lens[CMD_ARGS];
    char nums[CMD_ARGS][32]; /* the text of numeric arguments */
};

static inline void cmd_arg(struct cmd *c, const char *s, size_t n)
{
    c->argv[c->argc] = s;
    c->lens[c->argc++] = n;
}

static inline void cmd_str(struct cmd *c, const char *s)
{
    cmd_arg(c, s, strlen(s));
}

static inline void cmd_u64(struct cmd *c, uint64_t v)
{
    char *buf = c->nums[c->argc];
    cmd_arg(c, buf, (size_t)snprintf(buf, sizeof c->nums[0], "%" PRIu64, v));
}

static inline void cmd_i64(struct cmd *c, int64_t v)
{
    char *buf = c->nums[c->argc];
    cmd_arg(c, buf, (size_t)snprintf(buf, sizeof c->nums[0], "%" PRId64, v));
}

static inline void cmd_double(struct cmd *c, double v)
{
    char *buf = c->nums[c->argc];
    cmd_arg(c, buf, (size_t)snprintf(buf, sizeof c->nums[0], "%.3f", v));
}

/* Appends c's encoding to out[*n, cap); false when it does not fit. */
static inline bool cmd_encode(const struct cmd *c, char *out, size_t cap, size_t *n)
{
    size_t w = resp_command(out + *n, cap - *n, c->argc, c->argv, c->lens);
    *n += w;
    return w > 0;
}

/* {PREFIX}:KIND:ID: t a bucket, q a quota, w its last quota_low, b a
 * breaker. */
static inline void redis_key_of(const struct redis_store *rs, char out[REDIS_KEY_MAX], char kind,
                                uint64_t id)
{
    snprintf(out, REDIS_KEY_MAX, "{%s}:%c:%016" PRIx64, rs->opt.prefix, kind, id);
}

/* {PREFIX}:agents: the names of the agents that decided. */
static inline void redis_agents_key(const struct redis_store *rs, char out[REDIS_KEY_MAX])
{
    snprintf(out, REDIS_KEY_MAX, "{%s}:agents", rs->opt.prefix);
}

#endif
