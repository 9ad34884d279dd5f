#include "redis_kills.h"

#include "redis_cmd.h"
#include "redis_limits_lua.h"
#include "seq_bytes.h"
#include "../pure/hash.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void kills_key(const struct redis_store *rs, char out[REDIS_KEY_MAX])
{
    snprintf(out, REDIS_KEY_MAX, "{%s}:kills", rs->opt.prefix);
}

/* One field and value of the hash, split: "AGENT\tTOOL" and
 * "UID\tSINCE_MS\tREASON". */
struct kill_text {
    char field[2 * STATE_NAME_MAX + 2];
    char value[REDIS_KILL_REASON_MAX + 64];
    const char *agent, *tool, *reason; /* into field and value */
    uint32_t uid;
    uint64_t since_ms;
};

/* False when the pair is not a switch Enact wrote. */
static bool split_kill(const struct resp_item *f, const struct resp_item *v, struct kill_text *k)
{
    if (!f->text || f->len >= sizeof k->field || v->type != RESP_BULK ||
        v->len >= sizeof k->value)
        return false;
    memcpy(k->field, f->text, f->len);
    k->field[f->len] = '\0';
    memcpy(k->value, v->text, v->len);
    k->value[v->len] = '\0';
    char *tab = strchr(k->field, '\t');
    if (!tab)
        return false;
    *tab = '\0';
    k->agent = k->field;
    k->tool = tab + 1;
    const char *since = strchr(k->value, '\t');
    const char *reason = since ? strchr(since + 1, '\t') : NULL;
    k->uid = (uint32_t)strtoul(k->value, NULL, 10);
    k->since_ms = since ? strtoull(since + 1, NULL, 10) : 0;
    k->reason = reason ? reason + 1 : "";
    return true;
}

static bool parse_kill(const struct resp_item *field, const struct resp_item *value,
                       struct redis_kill *e)
{
    struct kill_text k;
    if (!split_kill(field, value, &k))
        return false;
    memset(e, 0, sizeof *e);
    e->agent_id = k.agent[0] ? fnv64_str(FNV64_OFFSET, k.agent) : 0;
    e->tool_id = k.tool[0] ? state_tool_id(k.tool) : 0;
    e->uid = k.uid;
    snprintf(e->reason, sizeof e->reason, "%s", k.reason);
    return true;
}

struct read_kills {
    struct redis_kill e[REDIS_KILLS_MAX];
    uint32_t n;
};

static void take_kills(const struct resp_reply *r, void *ctx)
{
    struct read_kills *k = ctx;
    if (r->value.type != RESP_ARRAY)
        return;
    for (size_t j = 0; j + 1 < r->n && k->n < REDIS_KILLS_MAX; j += 2)
        if (parse_kill(&r->items[j], &r->items[j + 1], &k->e[k->n]))
            k->n++;
}

/* Reads the fleet's switches into rs->kills, by one thread at a time,
 * through the limits script: the way a decision reaches the fleet's node
 * (a Redis Cluster's slot included). */
static void read_kills(struct redis_store *rs, int32_t owner, uint64_t mono_ns)
{
    struct redis_kills *c = &rs->kills;
    int free_flag = 0;
    if (!__atomic_compare_exchange_n(&c->reading, &free_flag, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return;
    char key[REDIS_KEY_MAX];
    kills_key(rs, key);
    struct cmd cmd = {0};
    cmd_str(&cmd, "EVALSHA");
    cmd_str(&cmd, REDIS_LIMITS_SHA1);
    cmd_str(&cmd, "1");
    cmd_str(&cmd, key);
    cmd_str(&cmd, "kills");
    struct read_kills got = {0};
    if (redis_store_script(rs, &cmd, owner, take_kills, &got)) {
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
        __atomic_store_n(&c->seq, seq | 1, __ATOMIC_RELAXED);
        seq_put(c->e, got.e, sizeof got.e[0] * got.n);
        __atomic_store_n(&c->n, got.n, __ATOMIC_RELEASE);
        __atomic_store_n(&c->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
    }
    /* Also after a failure: the back-off, not every decision, retries. */
    __atomic_store_n(&c->read_ns, mono_ns ? mono_ns : 1, __ATOMIC_RELEASE);
    __atomic_store_n(&c->reading, 0, __ATOMIC_RELEASE);
}

bool redis_kills_find(struct redis_store *rs, uint64_t agent_id, uint64_t tool_id,
                      int32_t owner, uint64_t mono_ns, uint32_t *uid, char *reason, size_t cap)
{
    struct redis_kills *c = &rs->kills;
    uint64_t read_ns = __atomic_load_n(&c->read_ns, __ATOMIC_ACQUIRE);
    /* The time first: getpid is a system call, asked only when a read is due. */
    if ((read_ns == 0 || mono_ns - read_ns >= REDIS_KILLS_READ_NS) && rs->pid == getpid())
        read_kills(rs, owner, mono_ns);
    uint32_t n = __atomic_load_n(&c->n, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < REDIS_KILLS_MAX; i++) {
        struct redis_kill e;
        uint64_t before = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        seq_copy_out(&e, &c->e[i], sizeof e);
        /* A switch being read again counts as on: better a refusal than a
         * missed stop. */
        bool torn = (before & 1) || __atomic_load_n(&c->seq, __ATOMIC_RELAXED) != before;
        e.reason[sizeof e.reason - 1] = '\0';
        if (torn || ((!e.agent_id || e.agent_id == agent_id) &&
                     (!e.tool_id || (tool_id && e.tool_id == tool_id)))) {
            *uid = torn ? 0 : e.uid;
            snprintf(reason, cap, "%s", torn ? "the fleet's kill switches are being read" : e.reason);
            return true;
        }
    }
    return false;
}

static void field_of(const char *agent, const char *tool, char *out, size_t cap)
{
    snprintf(out, cap, "%s\t%s", agent ? agent : "", tool ? tool : "");
}

struct replied {
    bool ok;
    int64_t n;
    char error[160];
};

static void take_reply(int i, const struct resp_reply *r, void *ctx)
{
    (void)i;
    struct replied *d = ctx;
    d->ok = r->value.type != RESP_ERROR;
    d->n += r->value.type == RESP_INTEGER ? r->value.integer : 0;
}

bool redis_kills_set(struct redis_store *rs, const struct kill_entry *e, char *why, size_t cap)
{
    char key[REDIS_KEY_MAX], field[2 * STATE_NAME_MAX + 2], value[REDIS_KILL_REASON_MAX + 64];
    kills_key(rs, key);
    field_of(e->agent, e->tool, field, sizeof field);
    snprintf(value, sizeof value, "%u\t%llu\t%s", (unsigned)e->uid,
             (unsigned long long)(e->since_ns / 1000000u), e->reason ? e->reason : "");
    struct cmd c = {0};
    cmd_str(&c, "HSET");
    cmd_str(&c, key);
    cmd_str(&c, field);
    cmd_str(&c, value);
    struct replied d = {0};
    bool ok = redis_store_query(rs, &c, 1, take_reply, &d) && d.ok;
    if (!ok)
        snprintf(why, cap, "%s", rs->why[0] ? rs->why : "the backend refused HSET");
    return ok;
}

struct matching {
    const char *agent;
    bool all;
    char fields[REDIS_KILLS_MAX][2 * STATE_NAME_MAX + 2];
    int n;
};

static void take_fields(int i, const struct resp_reply *r, void *ctx)
{
    (void)i;
    struct matching *m = ctx;
    if (r->value.type != RESP_ARRAY)
        return;
    size_t alen = m->agent ? strlen(m->agent) : 0;
    for (size_t j = 0; j < r->n && m->n < REDIS_KILLS_MAX; j++) {
        const struct resp_item *f = &r->items[j];
        if (f->len >= sizeof m->fields[0] ||
            (m->agent && !(f->len > alen && memcmp(f->text, m->agent, alen) == 0 &&
                           f->text[alen] == '\t')))
            continue;
        memcpy(m->fields[m->n], f->text, f->len);
        m->fields[m->n++][f->len] = '\0';
    }
}

int redis_kills_clear(struct redis_store *rs, const char *agent, const char *tool, bool all,
                      char *why, size_t cap)
{
    char key[REDIS_KEY_MAX];
    kills_key(rs, key);
    struct matching m = {.agent = agent, .all = all};
    if (all) {
        struct cmd c = {0};
        cmd_str(&c, "HKEYS");
        cmd_str(&c, key);
        if (!redis_store_query(rs, &c, 1, take_fields, &m)) {
            snprintf(why, cap, "%s", rs->why);
            return -1;
        }
    } else {
        field_of(agent, tool, m.fields[0], sizeof m.fields[0]);
        m.n = 1;
    }
    if (m.n == 0)
        return 0;
    struct cmd c = {0};
    cmd_str(&c, "HDEL");
    cmd_str(&c, key);
    for (int i = 0; i < m.n && c.argc < CMD_ARGS; i++)
        cmd_str(&c, m.fields[i]);
    struct replied d = {0};
    if (!redis_store_query(rs, &c, 1, take_reply, &d) || !d.ok) {
        snprintf(why, cap, "%s", rs->why[0] ? rs->why : "the backend refused HDEL");
        return -1;
    }
    return (int)d.n;
}

struct each_kill {
    void (*fn)(const char *agent, const char *tool, uint32_t uid, uint64_t since_ms,
               const char *reason, void *ctx);
    void *ctx;
};

static void take_each(int i, const struct resp_reply *r, void *ctx)
{
    (void)i;
    struct each_kill *e = ctx;
    if (r->value.type != RESP_ARRAY)
        return;
    struct kill_text k;
    for (size_t j = 0; j + 1 < r->n; j += 2)
        if (split_kill(&r->items[j], &r->items[j + 1], &k))
            e->fn(k.agent, k.tool, k.uid, k.since_ms, k.reason, e->ctx);
}

bool redis_kills_each(struct redis_store *rs,
                      void (*fn)(const char *agent, const char *tool, uint32_t uid,
                                 uint64_t since_ms, const char *reason, void *ctx),
                      void *ctx)
{
    char key[REDIS_KEY_MAX];
    kills_key(rs, key);
    struct cmd c = {0};
    cmd_str(&c, "HGETALL");
    cmd_str(&c, key);
    struct each_kill e = {fn, ctx};
    return redis_store_query(rs, &c, 1, take_each, &e);
}
