#include "learn_model.h"

#include "hash.h"
#include "learn_chains.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum endpoint_kind { EP_INET, EP_UNIX, EP_PROGRAM };

struct shape_count {
    char text[160];
    uint32_t count;
    struct impact impact;
    char example[160];
};

/* One address and port, unix socket or program name, as recorded. */
struct endpoint {
    char *key;
    enum endpoint_kind kind;
    char *host;
    uint8_t addr[16];
    bool v6;
    uint16_t port;
    struct shape_count *shapes;
    size_t nshapes;
    size_t service; /* set by learn_model_finish */
    bool counted;   /* has a call that is not the command's start */
};

struct obs {
    uint64_t ts_ms;
    int32_t pid, parent;
    uint32_t endpoint;
    uint16_t shape; /* programs: index into the endpoint's shapes */
    uint8_t op;
    bool from_enact; /* an exec made by enact run: a command's start */
    uint8_t role;    /* enum learn_role */
};

struct learn_model {
    struct obs *obs;
    size_t nobs, obs_cap;
    struct endpoint *eps;
    size_t neps, eps_cap;
    uint32_t *index; /* open addressing: endpoint + 1, or 0 */
    size_t index_cap;
    struct learn_service *services;
    size_t nservices;
    struct learn_summary summary;
};

static bool grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * size);
    if (!p)
        return false;
    *array = p;
    *cap = n;
    return true;
}

struct learn_model *learn_model_new(void)
{
    return calloc(1, sizeof(struct learn_model));
}

void learn_model_free(struct learn_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->neps; i++) {
        free(m->eps[i].key);
        free(m->eps[i].host);
        free(m->eps[i].shapes);
    }
    for (size_t i = 0; i < m->nservices; i++)
        free(m->services[i].ts_ms);
    free(m->eps);
    free(m->obs);
    free(m->index);
    free(m->services);
    free(m);
}

/* ---- endpoints ------------------------------------------------------------ */

static uint64_t key_hash(enum endpoint_kind kind, const char *key)
{
    return fnv64_str(fnv64_bytes(FNV64_OFFSET, &kind, sizeof kind), key);
}

static bool reindex(struct learn_model *m, size_t cap)
{
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return false;
    for (size_t i = 0; i < m->neps; i++) {
        size_t at = key_hash(m->eps[i].kind, m->eps[i].key) & (cap - 1);
        while (index[at])
            at = (at + 1) & (cap - 1);
        index[at] = (uint32_t)i + 1;
    }
    free(m->index);
    m->index = index;
    m->index_cap = cap;
    return true;
}

/* "1.2.3.4:80" or "[::1]:443" into ep's address and port. */
static bool parse_inet(const char *target, struct endpoint *ep)
{
    const char *colon = strrchr(target, ':');
    if (!colon || !colon[1])
        return false;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535)
        return false;
    char addr[64];
    size_t len = (size_t)(colon - target);
    if (len >= 2 && target[0] == '[' && target[len - 1] == ']') {
        target++;
        len -= 2;
        ep->v6 = true;
    }
    if (len == 0 || len >= sizeof addr)
        return false;
    memcpy(addr, target, len);
    addr[len] = '\0';
    ep->port = (uint16_t)port;
    return inet_pton(ep->v6 ? AF_INET6 : AF_INET, addr, ep->addr) == 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* The endpoint of o, made when new; -1 when out of memory or unreadable. */
static long endpoint_of(struct learn_model *m, const struct learn_obs *o)
{
    enum endpoint_kind kind = o->op == LEARN_EXEC               ? EP_PROGRAM
                              : strncmp(o->target, "unix:", 5) == 0 ? EP_UNIX
                                                                  : EP_INET;
    const char *key = kind == EP_PROGRAM ? base_name(o->target) : o->target;
    if (!*key)
        return -1;
    if (m->index_cap) {
        size_t at = key_hash(kind, key) & (m->index_cap - 1);
        for (; m->index[at]; at = (at + 1) & (m->index_cap - 1)) {
            struct endpoint *ep = &m->eps[m->index[at] - 1];
            if (ep->kind == kind && strcmp(ep->key, key) == 0)
                return (long)(m->index[at] - 1);
        }
    }
    struct endpoint ep = {.kind = kind};
    if (kind == EP_INET && !parse_inet(key, &ep))
        return -1;
    if (!grow((void **)&m->eps, &m->eps_cap, m->neps + 1, sizeof *m->eps) ||
        !(ep.key = strdup(key)))
        return -1;
    m->eps[m->neps++] = ep;
    if (m->neps * 2 > m->index_cap) {
        if (!reindex(m, m->index_cap ? m->index_cap * 2 : 64)) {
            free(m->eps[--m->neps].key);
            return -1;
        }
    } else {
        size_t at = key_hash(kind, key) & (m->index_cap - 1);
        while (m->index[at])
            at = (at + 1) & (m->index_cap - 1);
        m->index[at] = (uint32_t)m->neps;
    }
    return (long)m->neps - 1;
}

/* ---- what an INI line can hold -------------------------------------------- */

/* Control bytes (a newline would end the comment) as '?'. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* A rule's value as a glob that matches the name it came from: what the
 * INI or the rule syntax would read otherwise (control bytes, blanks, ';'
 * and '#' that start a comment, glob characters) as '?', which matches
 * any one character; and at most 150 of them (a line holds 198), the rest
 * as '*'. */
static void glob_safe(char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || s[n] == 0x7f || strchr(";#*?[]\\", s[n]))
            s[n] = '?';
    if (n > 150) {
        s[149] = '*';
        s[150] = '\0';
    }
}

/* ---- program shapes ------------------------------------------------------- */

static bool is_subcommand(const char *word, size_t len)
{
    if (len == 0 || !islower((unsigned char)word[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)word[i]) && !isdigit((unsigned char)word[i]) &&
            word[i] != '-')
            return false;
    return true;
}

static void append(char *out, size_t cap, size_t *at, const char *s, size_t len)
{
    if (*at + len + 1 >= cap) {
        len = *at + 1 < cap ? cap - *at - 1 : 0;
    }
    memcpy(out + *at, s, len);
    *at += len;
    out[*at] = '\0';
}

void learn_argv_shape(const char *program, const char *argv, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    append(out, cap, &at, program, strlen(program));
    if (!argv)
        return;
    const char *p = argv + strcspn(argv, " "); /* argv[0] is the program */
    for (int word = 1; *p; word++) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        append(out, cap, &at, " ", 1);
        if (p[0] == '-') {
            const char *eq = memchr(p, '=', len);
            append(out, cap, &at, p, eq ? (size_t)(eq - p) + 1 : len);
            if (eq)
                append(out, cap, &at, "*", 1);
        } else if (word == 1 && is_subcommand(p, len)) {
            append(out, cap, &at, p, len);
        } else {
            append(out, cap, &at, "*", 1);
        }
        p += len;
    }
}

/* The impact of a joined argv, split again at its spaces. */
static struct impact impact_of_joined(const char *path, const char *argv)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", argv ? argv : "");
    char *words[64];
    size_t n = 0;
    for (char *p = copy; *p && n < 63;) {
        p += strspn(p, " ");
        if (!*p)
            break;
        words[n++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
    }
    words[n] = NULL;
    return impact_of_exec(path, n ? words : NULL, NULL);
}

static long shape_of(struct endpoint *ep, const struct learn_obs *o)
{
    char text[160];
    learn_argv_shape(ep->key, o->argv, text, sizeof text);
    size_t i = 0;
    while (i < ep->nshapes && strcmp(ep->shapes[i].text, text) != 0)
        i++;
    if (i == UINT16_MAX)
        return (long)i - 1; /* past that many shapes, the last stands for the rest */
    if (i == ep->nshapes) {
        struct shape_count *s = realloc(ep->shapes, (i + 1) * sizeof *s);
        if (!s)
            return -1;
        ep->shapes = s;
        memset(&s[i], 0, sizeof s[i]);
        memcpy(s[i].text, text, sizeof text);
        printable(s[i].text);
        ep->nshapes++;
    }
    struct impact im = impact_of_joined(o->target, o->argv);
    if (!ep->shapes[i].example[0] || im.level > ep->shapes[i].impact.level) {
        ep->shapes[i].impact = im;
        snprintf(ep->shapes[i].example, sizeof ep->shapes[i].example, "%s",
                 o->argv ? o->argv : ep->key);
        printable(ep->shapes[i].example);
    }
    return (long)i;
}

bool learn_model_add(struct learn_model *m, const struct learn_obs *o)
{
    if (!o->target || !grow((void **)&m->obs, &m->obs_cap, m->nobs + 1, sizeof *m->obs))
        return false;
    long e = endpoint_of(m, o);
    if (e < 0)
        return false;
    struct endpoint *ep = &m->eps[e];
    if (o->host && *o->host && !ep->host && !(ep->host = strdup(o->host)))
        return false;
    long shape = ep->kind == EP_PROGRAM ? shape_of(ep, o) : 0;
    if (shape < 0)
        return false;
    m->obs[m->nobs++] = (struct obs){
        .ts_ms = o->ts_ms, .pid = o->pid, .parent = o->parent, .endpoint = (uint32_t)e, .shape = (uint16_t)shape,
        .op = (uint8_t)o->op, .from_enact = o->op == LEARN_EXEC && o->exe &&
                                            strcmp(o->exe, "enact") == 0};
    return true;
}

/* ---- grouping ------------------------------------------------------------- */

/* The role of each call (learn_chains.h). */
static bool classify(struct learn_model *m)
{
    struct learn_step *steps = malloc((m->nobs ? m->nobs : 1) * sizeof *steps);
    uint8_t *roles = malloc(m->nobs ? m->nobs : 1);
    bool ok = steps && roles;
    for (size_t k = 0; ok && k < m->nobs; k++) {
        const struct obs *o = &m->obs[k];
        steps[k] = (struct learn_step){.ts_ms = o->ts_ms, .pid = o->pid, .parent = o->parent,
                                       .exec = o->op == LEARN_EXEC,
                                       .from_enact = o->from_enact, .program = o->endpoint};
    }
    ok = ok && learn_chains_classify(steps, m->nobs, roles);
    for (size_t k = 0; ok && k < m->nobs; k++)
        m->obs[k].role = roles[k];
    free(steps);
    free(roles);
    return ok;
}

static bool listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t item = strcspn(p, ",");
        if (item == len && strncmp(p, name, len) == 0)
            return true;
        p += item;
        p += strspn(p, ", ");
    }
    return false;
}

static void note_startup_program(struct learn_summary *s, const char *name)
{
    char *list = s->startup_programs;
    size_t len = strlen(list), cap = sizeof s->startup_programs;
    if (listed(list, name) || (len >= 3 && strcmp(list + len - 3, "...") == 0))
        return;
    /* Room is kept for ", ..." after the last name that fits. */
    if (len + 2 + strlen(name) + 5 < cap)
        snprintf(list + len, cap - len, "%s%s", len ? ", " : "", name);
    else
        snprintf(list + len, cap - len, "%s...", len ? ", " : "");
}

static bool is_loopback(const struct endpoint *ep)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    return ep->v6 ? memcmp(ep->addr, v6_loopback, 16) == 0 : ep->addr[0] == 127;
}

static uint32_t v4_of(const struct endpoint *ep)
{
    return (uint32_t)ep->addr[0] << 24 | (uint32_t)ep->addr[1] << 16 |
           (uint32_t)ep->addr[2] << 8 | ep->addr[3];
}

/* Tool names: letters, digits, '_', '-', '.'; at most 44 characters. */
static void tool_name(char out[45], const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p && n < 44; p++)
        out[n++] = isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'
                       ? (char)tolower((unsigned char)*p)
                       : '-';
    out[n] = '\0';
    if (!n)
        snprintf(out, 45, "tool");
}

/* DNS names compare without case. */
static bool same_name(const char *a, const char *b)
{
    for (; *a && tolower((unsigned char)*a) == tolower((unsigned char)*b); a++, b++)
        ;
    return tolower((unsigned char)*a) == tolower((unsigned char)*b);
}

static bool same_service(const struct endpoint *a, const struct endpoint *b)
{
    if (a->kind != EP_INET || b->kind != EP_INET || a->port != b->port)
        return false;
    if (a->host || b->host)
        return a->host && b->host && same_name(a->host, b->host);
    /* Unnamed IPv4 addresses on one port, within one /24, are a cluster. */
    return !a->v6 && !b->v6 && (v4_of(a) >> 8) == (v4_of(b) >> 8);
}

static void describe_inet(struct learn_service *s, const struct endpoint *first, uint32_t lo,
                          uint32_t hi)
{
    char addr[INET6_ADDRSTRLEN];
    if (first->host) {
        s->kind = LEARN_NAMED;
        char host[256];
        snprintf(host, sizeof host, "%s", first->host);
        glob_safe(host);
        snprintf(s->rule, sizeof s->rule, "%s:%u", host, first->port);
        tool_name(s->name, first->host);
    } else if (s->addresses > 1) {
        int prefix = 32;
        for (uint32_t diff = lo ^ hi; diff; diff >>= 1)
            prefix--;
        uint32_t net = prefix ? lo & ~((UINT32_C(1) << (32 - prefix)) - 1) : 0;
        uint8_t raw[4] = {(uint8_t)(net >> 24), (uint8_t)(net >> 16), (uint8_t)(net >> 8),
                          (uint8_t)net};
        inet_ntop(AF_INET, raw, addr, sizeof addr);
        s->kind = LEARN_CLUSTER;
        snprintf(s->rule, sizeof s->rule, "%s/%d:%u", addr, prefix, first->port);
        char name[80];
        snprintf(name, sizeof name, "%s-%d-%u", addr, prefix, first->port);
        tool_name(s->name, name);
    } else {
        inet_ntop(first->v6 ? AF_INET6 : AF_INET, first->addr, addr, sizeof addr);
        s->kind = LEARN_ADDRESS;
        snprintf(s->rule, sizeof s->rule, first->v6 ? "[%s]:%u" : "%s:%u", addr, first->port);
        char name[80];
        if (is_loopback(first))
            snprintf(name, sizeof name, "local-%u", first->port);
        else
            snprintf(name, sizeof name, "%s-%u", addr, first->port);
        tool_name(s->name, name);
    }
}

static bool name_taken(const struct learn_model *m, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(m->services[i].name, name) == 0)
            return true;
    return false;
}

/* A second tool of one name takes its port, or a number. */
static void unique_names(struct learn_model *m)
{
    for (size_t i = 0; i < m->nservices; i++) {
        struct learn_service *s = &m->services[i];
        if (!name_taken(m, i, s->name))
            continue;
        char base[45];
        memcpy(base, s->name, sizeof base);
        const char *colon = strrchr(s->rule, ':');
        if ((s->kind == LEARN_NAMED) && colon) {
            char with_port[80];
            snprintf(with_port, sizeof with_port, "%.37s-%s", base, colon + 1);
            tool_name(s->name, with_port);
        }
        for (int n = 2; name_taken(m, i, s->name); n++) {
            char numbered[64];
            snprintf(numbered, sizeof numbered, "%.40s-%d", base, n);
            tool_name(s->name, numbered);
        }
    }
}

static int by_time(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int by_count(const void *a, const void *b)
{
    const struct shape_count *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void describe_program(struct learn_service *s, struct endpoint *ep)
{
    s->kind = LEARN_PROGRAM;
    snprintf(s->rule, sizeof s->rule, "%s", ep->key);
    glob_safe(s->rule);
    tool_name(s->name, ep->key);
    struct shape_count *sorted = ep->shapes;
    qsort(sorted, ep->nshapes, sizeof *sorted, by_count);
    for (size_t i = 0; i < ep->nshapes; i++) {
        if (!sorted[i].count)
            continue;
        if (s->nshapes < LEARN_SHAPES) {
            memcpy(s->shapes[s->nshapes].text, sorted[i].text, sizeof sorted[i].text);
            s->shapes[s->nshapes++].count = sorted[i].count;
        } else {
            s->other_shapes++;
        }
        if (sorted[i].impact.level > s->impact.level || !s->impact_example[0]) {
            s->impact = sorted[i].impact;
            memcpy(s->impact_example, sorted[i].example, sizeof s->impact_example);
        }
    }
}

/* Requests on one connection: a connect starts one of its process. */
static uint32_t most_per_connection(const struct learn_model *m, size_t service)
{
    struct open {
        int32_t pid;
        uint32_t count;
    } open[64];
    size_t nopen = 0;
    uint32_t most = 0;
    for (size_t k = 0; k < m->nobs; k++) {
        const struct obs *o = &m->obs[k];
        if (o->role != LEARN_ROLE_CALL || m->eps[o->endpoint].service != service)
            continue;
        size_t i = 0;
        while (i < nopen && open[i].pid != o->pid)
            i++;
        if (i == nopen) {
            if (nopen == sizeof open / sizeof open[0])
                continue;
            open[nopen++] = (struct open){o->pid, 0};
        }
        open[i].count = o->op == LEARN_CONNECT ? 1 : open[i].count + 1;
        if (open[i].count > most)
            most = open[i].count;
    }
    return most;
}

/* The service a call counts for: NULL for a command's start, a wrapper's
 * program, or a name lookup. */
static struct learn_service *counted_in(struct learn_model *m, const struct obs *o)
{
    size_t i = m->eps[o->endpoint].service;
    return o->role == LEARN_ROLE_CALL && i != SIZE_MAX ? &m->services[i] : NULL;
}

bool learn_model_finish(struct learn_model *m)
{
    if (!classify(m))
        return false;
    struct learn_summary *sum = &m->summary;
    for (size_t k = 0; k < m->nobs; k++) {
        const struct obs *o = &m->obs[k];
        struct endpoint *ep = &m->eps[o->endpoint];
        if (o->role != LEARN_ROLE_CALL) {
            sum->startup += o->role == LEARN_ROLE_START;
            sum->wrapped += o->role == LEARN_ROLE_WRAPPER;
            if (ep->kind == EP_PROGRAM)
                note_startup_program(sum, ep->key);
        } else if (ep->kind == EP_INET && ep->port == 53) {
            sum->lookups++;
        } else {
            ep->counted = true;
            if (ep->kind == EP_PROGRAM)
                ep->shapes[o->shape].count++;
        }
    }
    m->services = calloc(m->neps ? m->neps : 1, sizeof *m->services);
    if (!m->services)
        return false;
    for (size_t e = 0; e < m->neps; e++) {
        struct endpoint *ep = &m->eps[e];
        ep->service = SIZE_MAX;
        if (!ep->counted)
            continue;
        size_t s = 0;
        while (s < e && !(m->eps[s].counted && same_service(&m->eps[s], ep)))
            s++;
        if (s < e) {
            ep->service = m->eps[s].service;
            m->services[ep->service].addresses++;
            continue;
        }
        ep->service = m->nservices++;
        m->services[ep->service].addresses = 1;
    }
    for (size_t i = 0; i < m->nservices; i++) {
        struct learn_service *s = &m->services[i];
        const struct endpoint *first = NULL;
        uint32_t lo = UINT32_MAX, hi = 0;
        for (size_t e = 0; e < m->neps; e++) {
            if (m->eps[e].service != i)
                continue;
            if (!first)
                first = &m->eps[e];
            if (!m->eps[e].v6) {
                lo = v4_of(&m->eps[e]) < lo ? v4_of(&m->eps[e]) : lo;
                hi = v4_of(&m->eps[e]) > hi ? v4_of(&m->eps[e]) : hi;
            }
        }
        if (first->kind == EP_PROGRAM) {
            describe_program(s, &m->eps[first - m->eps]);
        } else if (first->kind == EP_UNIX) {
            s->kind = LEARN_UNIX;
            snprintf(s->rule, sizeof s->rule, "unix:%s", first->key + 5);
            glob_safe(s->rule + 5);
            char name[80];
            snprintf(name, sizeof name, "unix-%s", base_name(first->key + 5));
            tool_name(s->name, name);
        } else {
            describe_inet(s, first, lo, hi);
        }
    }
    for (size_t k = 0; k < m->nobs; k++) {
        const struct obs *o = &m->obs[k];
        struct learn_service *s = counted_in(m, o);
        if (!s)
            continue;
        s->connects += o->op == LEARN_CONNECT;
        s->requests += o->op == LEARN_REQUEST;
        s->execs += o->op == LEARN_EXEC;
        s->ncalls++;
    }
    for (size_t i = 0; i < m->nservices; i++) {
        struct learn_service *s = &m->services[i];
        if (!(s->ts_ms = malloc(s->ncalls * sizeof *s->ts_ms)))
            return false;
        s->ncalls = 0;
    }
    for (size_t k = 0; k < m->nobs; k++) {
        const struct obs *o = &m->obs[k];
        struct learn_service *s = counted_in(m, o);
        if (!s)
            continue;
        s->ts_ms[s->ncalls++] = o->ts_ms;
        if (!sum->calls || o->ts_ms < sum->first_ms)
            sum->first_ms = o->ts_ms;
        if (o->ts_ms > sum->last_ms)
            sum->last_ms = o->ts_ms;
        sum->calls++;
    }
    for (size_t i = 0; i < m->nservices; i++) {
        struct learn_service *s = &m->services[i];
        qsort(s->ts_ms, s->ncalls, sizeof *s->ts_ms, by_time);
        if (s->kind != LEARN_PROGRAM)
            s->max_per_connection = most_per_connection(m, i);
    }
    unique_names(m);
    return true;
}

size_t learn_service_count(const struct learn_model *m)
{
    return m->nservices;
}

const struct learn_service *learn_service_at(const struct learn_model *m, size_t i)
{
    return i < m->nservices ? &m->services[i] : NULL;
}

const struct learn_summary *learn_model_summary(const struct learn_model *m)
{
    return &m->summary;
}
