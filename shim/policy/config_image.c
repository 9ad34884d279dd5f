#include "config_image.h"

#include "../pure/hash.h"

#include <stdlib.h>
#include <string.h>

/* Every structure an image holds, by size and by the offsets of its
 * pointers: a build that changes any of them reads no older image. */
uint64_t config_image_layout(void)
{
    /* One multiply per number: this runs at every process start. */
#define SIZE(t) ((h ^ sizeof(t)) * UINT64_C(0x100000001b3))
#define AT(t, f) ((h ^ offsetof(t, f)) * UINT64_C(0x100000001b3))
    uint64_t h = FNV64_OFFSET;
    h = SIZE(struct enact_config);
    h = AT(struct enact_config, tools), h = AT(struct enact_config, agents);
    h = AT(struct enact_config, connect_index), h = AT(struct enact_config, impact);
    h = AT(struct enact_config, backend), h = AT(struct enact_config, state_path);
    h = SIZE(struct tool), h = AT(struct tool, connect), h = AT(struct tool, exec);
    h = AT(struct tool, quota), h = AT(struct tool, dry_run_response);
    h = AT(struct tool, dry_run_http_body), h = AT(struct tool, approve_command);
    h = SIZE(struct connect_rule), h = AT(struct connect_rule, host_glob);
    h = AT(struct connect_rule, unix_glob);
    h = SIZE(struct exec_rule), h = SIZE(struct agent_override), h = SIZE(struct quota_spec);
    h = SIZE(struct connect_ref), h = SIZE(struct impact_exec_entry);
    h = SIZE(struct impact_verb_entry), h = SIZE(struct backend_spec);
    h = SIZE(struct config_image_header);
    return h;
#undef SIZE
#undef AT
}

/* Four independent lanes, each (h ^ word) * K per word: a multiply by an
 * odd constant is a bijection, so a changed word changes its lane for
 * good, and the lanes are mixed once at the end. The lanes let the
 * multiplies overlap; kept in registers (inlined into the one caller). */
struct lanes {
    uint64_t v[4];
};

static inline __attribute__((always_inline)) void lanes_over(struct lanes *l,
                                                             const unsigned char *p, size_t words)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t a = l->v[0], b = l->v[1], c = l->v[2], d = l->v[3];
    size_t i = 0;
    for (; i + 4 <= words; i += 4, p += 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        a = (a ^ w0) * k;
        b = (b ^ w1) * k;
        c = (c ^ w2) * k;
        d = (d ^ w3) * k;
    }
    for (; i < words; i++, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        a = (a ^ w) * k; /* the last few words: one lane */
    }
    *l = (struct lanes){{a, b, c, d}};
}

uint64_t config_image_check(const void *block, size_t len)
{
    const unsigned char *p = block;
    struct lanes l = {{UINT64_C(0x6a09e667f3bcc908) ^ len, UINT64_C(0xbb67ae8584caa73b),
                       UINT64_C(0x3c6ef372fe94f82b), UINT64_C(0xa54ff53a5f1d36f1)}};
    /* The header with its check field as zero, then the rest as it is. */
    struct config_image_header h = {0};
    size_t head = len < sizeof h ? len : sizeof h;
    memcpy(&h, p, head);
    h.check = 0;
    lanes_over(&l, (const unsigned char *)&h, sizeof h / 8);
    size_t words = (len - head) / 8;
    lanes_over(&l, p + head, words);
    uint64_t tail = 0;
    memcpy(&tail, p + head + words * 8, (len - head) % 8);
    uint64_t out = tail ^ (len - head) % 8;
    for (int i = 0; i < 4; i++) {
        uint64_t x = l.v[i];
        x ^= x >> 29;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 32;
        out = (out ^ x) * UINT64_C(0x94d049bb133111eb);
    }
    return out;
}

/* ---- building: the source config, copied into a block by offset -------- */

struct builder {
    char *out;
    size_t used, cap;
    bool ok;
};

/* n bytes of src appended, 16-aligned; their offset (0 when failed). */
static size_t put(struct builder *b, const void *src, size_t n)
{
    size_t at = (b->used + 15) & ~(size_t)15;
    if (!b->ok || n > SIZE_MAX - at - 16)
        return b->ok = false, 0;
    if (at + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < at + n)
            cap *= 2;
        char *more = realloc(b->out, cap);
        if (!more)
            return b->ok = false, 0;
        memset(more + b->cap, 0, cap - b->cap);
        b->out = more;
        b->cap = cap;
    }
    if (n)
        memcpy(b->out + at, src, n);
    b->used = at + n;
    return at;
}

/* The pointer field at offset `at` of the block becomes offset `value`. */
static void set(struct builder *b, size_t at, size_t value)
{
    if (b->ok)
        memcpy(b->out + at, &value, sizeof value);
}

static size_t put_string(struct builder *b, const char *s)
{
    return s ? put(b, s, strlen(s) + 1) : 0;
}

#define SET(b, at, type, field, value) set(b, (at) + offsetof(type, field), value)

static void build_exec_rule(struct builder *b, size_t at, const struct exec_rule *r)
{
    size_t n = 0;
    while (r->words && r->words[n])
        n++;
    size_t words = r->words ? put(b, r->words, (n + 1) * sizeof *r->words) : 0;
    SET(b, at, struct exec_rule, words, words);
    for (size_t i = 0; words && i < n; i++)
        set(b, words + i * sizeof(char *), put_string(b, r->words[i]));
}

static void build_tool(struct builder *b, size_t at, const struct tool *t)
{
    SET(b, at, struct tool, name, put_string(b, t->name));
    size_t rules = put(b, t->connect, t->nconnect * sizeof *t->connect);
    SET(b, at, struct tool, connect, t->nconnect ? rules : 0);
    for (size_t j = 0; t->connect && j < t->nconnect; j++) {
        size_t r = rules + j * sizeof *t->connect;
        SET(b, r, struct connect_rule, host_glob, put_string(b, t->connect[j].host_glob));
        SET(b, r, struct connect_rule, unix_glob, put_string(b, t->connect[j].unix_glob));
    }
    size_t execs = put(b, t->exec, t->nexec * sizeof *t->exec);
    SET(b, at, struct tool, exec, t->nexec ? execs : 0);
    for (size_t j = 0; t->exec && j < t->nexec; j++)
        build_exec_rule(b, execs + j * sizeof *t->exec, &t->exec[j]);
    SET(b, at, struct tool, quota.warn_remaining, put_string(b, t->quota.warn_remaining));
    SET(b, at, struct tool, dry_run_response.data,
        t->dry_run_response.data ? put(b, t->dry_run_response.data, t->dry_run_response.len + 1)
                                 : 0);
    SET(b, at, struct tool, dry_run_http_body.data,
        t->dry_run_http_body.data
            ? put(b, t->dry_run_http_body.data, t->dry_run_http_body.len + 1)
            : 0);
    SET(b, at, struct tool, approve_command, put_string(b, t->approve_command));
}

/* The index's rules point into the tools' rule arrays: each becomes the
 * offset of the same rule in the copy of its tool's array. */
static void build_index(struct builder *b, size_t at, const struct enact_config *c,
                        size_t tools)
{
    const struct connect_index *ix = &c->connect_index;
    size_t field = at + offsetof(struct enact_config, connect_index);
    size_t refs = put(b, ix->refs, ix->nrefs * sizeof *ix->refs);
    SET(b, field, struct connect_index, refs, ix->nrefs ? refs : 0);
    for (uint32_t k = 0; ix->refs && k < ix->nrefs && b->ok; k++) {
        const struct connect_ref *ref = &ix->refs[k];
        size_t copy;
        memcpy(&copy, b->out + tools + ref->tool * sizeof(struct tool) +
                          offsetof(struct tool, connect),
               sizeof copy);
        size_t j = (size_t)(ref->rule - c->tools[ref->tool].connect);
        set(b, refs + k * sizeof *ix->refs + offsetof(struct connect_ref, rule),
            copy + j * sizeof(struct connect_rule));
    }
    size_t scanned = put(b, ix->scanned, ix->nscanned * sizeof *ix->scanned);
    SET(b, field, struct connect_index, scanned, ix->nscanned ? scanned : 0);
    size_t heads = put(b, ix->heads, ix->heads ? ((size_t)ix->mask + 1) * sizeof *ix->heads : 0);
    SET(b, field, struct connect_index, heads, ix->heads ? heads : 0);
    size_t next = put(b, ix->next, ix->nrefs * sizeof *ix->next);
    SET(b, field, struct connect_index, next, ix->nrefs ? next : 0);
}

void *config_image_build(const struct enact_config *c, const struct config_image_key *key,
                         size_t *len)
{
    if (c->read_other_files)
        return NULL;
    struct builder b = {.ok = true};
    struct config_image_header h = {.header_size = sizeof h, .key = *key};
    memcpy(h.magic, CONFIG_IMAGE_MAGIC, sizeof h.magic);
    put(&b, &h, sizeof h);
    size_t at = put(&b, c, sizeof *c);
    SET(&b, at, struct enact_config, path, put_string(&b, c->path));
    SET(&b, at, struct enact_config, agent, put_string(&b, c->agent));
    SET(&b, at, struct enact_config, state_path, put_string(&b, c->state_path));
    SET(&b, at, struct enact_config, audit_path, put_string(&b, c->audit_path));
    SET(&b, at, struct enact_config, backend.url, put_string(&b, c->backend.url));
    SET(&b, at, struct enact_config, backend.key_prefix, put_string(&b, c->backend.key_prefix));
    SET(&b, at, struct enact_config, backend.password_file,
        put_string(&b, c->backend.password_file));
    SET(&b, at, struct enact_config, backend.password_env, put_string(&b, c->backend.password_env));
    SET(&b, at, struct enact_config, backend.tls_ca_file, put_string(&b, c->backend.tls_ca_file));
    SET(&b, at, struct enact_config, image, 0);
    SET(&b, at, struct enact_config, image_len, 0);
    size_t tools = put(&b, c->tools, c->ntools * sizeof *c->tools);
    SET(&b, at, struct enact_config, tools, c->ntools ? tools : 0);
    for (size_t i = 0; c->tools && i < c->ntools; i++)
        build_tool(&b, tools + i * sizeof *c->tools, &c->tools[i]);
    build_index(&b, at, c, tools);
    SET(&b, at, struct enact_config, agent_quota.warn_remaining,
        put_string(&b, c->agent_quota.warn_remaining));
    size_t agents = put(&b, c->agents, c->nagents * sizeof *c->agents);
    SET(&b, at, struct enact_config, agents, c->nagents ? agents : 0);
    for (size_t i = 0; c->agents && i < c->nagents; i++) {
        size_t a = agents + i * sizeof *c->agents;
        SET(&b, a, struct agent_override, name, put_string(&b, c->agents[i].name));
        SET(&b, a, struct agent_override, quota.warn_remaining,
            put_string(&b, c->agents[i].quota.warn_remaining));
    }
    size_t exec = put(&b, c->impact.exec, c->impact.nexec * sizeof *c->impact.exec);
    SET(&b, at, struct enact_config, impact.exec, c->impact.nexec ? exec : 0);
    for (size_t i = 0; c->impact.exec && i < c->impact.nexec; i++)
        build_exec_rule(&b, exec + i * sizeof *c->impact.exec + offsetof(struct impact_exec_entry, rule),
                        &c->impact.exec[i].rule);
    size_t verbs = put(&b, c->impact.verbs, c->impact.nverbs * sizeof *c->impact.verbs);
    SET(&b, at, struct enact_config, impact.verbs, c->impact.nverbs ? verbs : 0);
    if (!b.ok) {
        free(b.out);
        return NULL;
    }
    struct config_image_header *out = (struct config_image_header *)b.out;
    out->total = b.used;
    out->root = at;
    out->check = config_image_check(b.out, b.used);
    *len = b.used;
    return b.out;
}

/* ---- opening: offsets back to pointers, each checked -------------------- */

struct opener {
    char *base;
    size_t len;
    bool ok;
};

/* The field's offset as a pointer to n bytes of the block (NULL stays
 * NULL); any offset that does not fit, or is not aligned for align, fails
 * the whole image. */
static void *rel(struct opener *o, void *field_value, size_t n, size_t align)
{
    uintptr_t off = (uintptr_t)field_value;
    if (!o->ok || off == 0)
        return NULL;
    if (off < sizeof(struct config_image_header) || off >= o->len || n > o->len - off ||
        off % align != 0)
        return o->ok = false, NULL;
    return o->base + off;
}

/* An array of n elements of size bytes, with n checked against overflow;
 * an array of none is NULL. */
static void *rel_array(struct opener *o, void *field_value, size_t n, size_t size)
{
    if (n > (SIZE_MAX / 2) / (size ? size : 1) || (n == 0 && field_value))
        return o->ok = false, NULL;
    return rel(o, field_value, n * size, 8);
}

static char *rel_string(struct opener *o, char *field_value)
{
    char *s = rel(o, field_value, 1, 1);
    if (s && !memchr(s, '\0', o->len - (size_t)(s - o->base)))
        return o->ok = false, NULL;
    return s;
}

static void open_exec_rule(struct opener *o, struct exec_rule *r)
{
    if (!r->words) /* every rule has its program */
        return (void)(o->ok = false);
    /* Up to the NULL that must end the words, within the block. */
    char **words = rel(o, r->words, sizeof(char *), 8);
    if (!words)
        return;
    size_t room = (o->len - (size_t)((char *)words - o->base)) / sizeof(char *), n = 0;
    while (n < room && words[n])
        n++;
    if (n == room || n != r->nargs + 1)
        return (void)(o->ok = false);
    for (size_t i = 0; i < n && o->ok; i++)
        words[i] = rel_string(o, words[i]);
    r->words = words;
}

static void open_bytes(struct opener *o, struct config_bytes *bytes)
{
    char *data = rel(o, bytes->data, bytes->len < SIZE_MAX ? bytes->len + 1 : SIZE_MAX, 1);
    if (data && data[bytes->len] != '\0')
        o->ok = false;
    bytes->data = data;
}

static void open_tool(struct opener *o, struct tool *t)
{
    t->name = rel_string(o, t->name);
    t->connect = rel_array(o, t->connect, t->nconnect, sizeof *t->connect);
    for (size_t j = 0; t->connect && j < t->nconnect && o->ok; j++) {
        t->connect[j].host_glob = rel_string(o, t->connect[j].host_glob);
        t->connect[j].unix_glob = rel_string(o, t->connect[j].unix_glob);
    }
    t->exec = rel_array(o, t->exec, t->nexec, sizeof *t->exec);
    for (size_t j = 0; t->exec && j < t->nexec && o->ok; j++)
        open_exec_rule(o, &t->exec[j]);
    t->quota.warn_remaining = rel_string(o, t->quota.warn_remaining);
    open_bytes(o, &t->dry_run_response);
    open_bytes(o, &t->dry_run_http_body);
    t->approve_command = rel_string(o, t->approve_command);
    if (!t->name)
        o->ok = false;
}

/* Each rule of the index must be one of its tool's rules. */
static void open_index(struct opener *o, struct enact_config *c)
{
    struct connect_index *ix = &c->connect_index;
    ix->refs = rel_array(o, ix->refs, ix->nrefs, sizeof *ix->refs);
    ix->scanned = rel_array(o, ix->scanned, ix->nscanned, sizeof *ix->scanned);
    ix->heads = rel_array(o, ix->heads, ix->heads ? (size_t)ix->mask + 1 : 0, sizeof *ix->heads);
    ix->next = rel_array(o, ix->next, ix->nrefs, sizeof *ix->next);
    if (ix->nrefs && (!ix->refs || !ix->heads || !ix->next || ix->nscanned > ix->nrefs))
        o->ok = false;
    for (uint32_t k = 0; ix->refs && k < ix->nrefs && o->ok; k++) {
        struct connect_ref *ref = &ix->refs[k];
        const struct connect_rule *rule = rel(o, (void *)ref->rule, sizeof *rule, 8);
        const struct tool *t = ref->tool < c->ntools ? &c->tools[ref->tool] : NULL;
        if (!rule || !t || rule < t->connect || rule >= t->connect + t->nconnect ||
            ((const char *)rule - (const char *)t->connect) % sizeof *rule != 0)
            o->ok = false;
        ref->rule = rule;
    }
    for (uint32_t k = 0; ix->refs && k < ix->nrefs && o->ok; k++)
        if (ix->next[k] > ix->nrefs)
            o->ok = false;
    for (uint32_t k = 0; ix->scanned && k < ix->nscanned && o->ok; k++)
        if (ix->scanned[k] >= ix->nrefs)
            o->ok = false;
    for (uint64_t k = 0; ix->heads && k <= ix->mask && o->ok; k++)
        if (ix->heads[k] > ix->nrefs)
            o->ok = false;
}

struct enact_config *config_image_open(void *block, size_t len,
                                       const struct config_image_key *want)
{
    struct config_image_header h;
    if (len < sizeof h)
        return NULL;
    memcpy(&h, block, sizeof h);
    if (memcmp(h.magic, CONFIG_IMAGE_MAGIC, sizeof h.magic) != 0 || h.header_size != sizeof h ||
        h.reserved != 0 || h.total != len || memcmp(&h.key, want, sizeof h.key) != 0 ||
        h.check != config_image_check(block, len))
        return NULL;
    struct opener o = {.base = block, .len = len, .ok = true};
    struct enact_config *c = rel(&o, (void *)(uintptr_t)h.root, sizeof *c, 8);
    if (!c)
        return NULL;
    c->path = rel_string(&o, c->path);
    c->agent = rel_string(&o, c->agent);
    c->state_path = rel_string(&o, c->state_path);
    c->audit_path = rel_string(&o, c->audit_path);
    c->backend.url = rel_string(&o, c->backend.url);
    c->backend.key_prefix = rel_string(&o, c->backend.key_prefix);
    c->backend.password_file = rel_string(&o, c->backend.password_file);
    c->backend.password_env = rel_string(&o, c->backend.password_env);
    c->backend.tls_ca_file = rel_string(&o, c->backend.tls_ca_file);
    c->tools = rel_array(&o, c->tools, c->ntools, sizeof *c->tools);
    for (size_t i = 0; c->tools && i < c->ntools && o.ok; i++)
        open_tool(&o, &c->tools[i]);
    if (c->ntools && !c->tools)
        o.ok = false;
    open_index(&o, c);
    c->agent_quota.warn_remaining = rel_string(&o, c->agent_quota.warn_remaining);
    c->agents = rel_array(&o, c->agents, c->nagents, sizeof *c->agents);
    for (size_t i = 0; c->agents && i < c->nagents && o.ok; i++) {
        c->agents[i].name = rel_string(&o, c->agents[i].name);
        if (!c->agents[i].name)
            o.ok = false;
        c->agents[i].quota.warn_remaining = rel_string(&o, c->agents[i].quota.warn_remaining);
    }
    c->impact.exec = rel_array(&o, c->impact.exec, c->impact.nexec, sizeof *c->impact.exec);
    for (size_t i = 0; c->impact.exec && i < c->impact.nexec && o.ok; i++)
        open_exec_rule(&o, &c->impact.exec[i].rule);
    c->impact.verbs = rel_array(&o, c->impact.verbs, c->impact.nverbs, sizeof *c->impact.verbs);
    if (!o.ok || !c->path || !c->state_path || !c->audit_path ||
        (c->nagents && !c->agents) || (c->impact.nexec && !c->impact.exec) ||
        (c->impact.nverbs && !c->impact.verbs))
        return NULL;
    return c;
}
