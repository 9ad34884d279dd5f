/* The value parsers the key table names: each reads one value and stores
 * it in its key's slot, or says why not. */
#include "config_values.h"

#include "config_diag.h"
#include "config_errno.h"
#include "../store/audit_sink.h"
#include "../store/file_read.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESPONSE_BYTES 65536

static void *slot(const struct key_def *k, void *base)
{
    return (char *)base + k->offset;
}

/* An integer slot: a bool, an enum, an int or a count, of its own size. */
static void store_int(const struct key_def *k, void *base, uint64_t v)
{
    void *p = slot(k, base);
    switch (k->size) {
    case 1: *(uint8_t *)p = (uint8_t)v; break;
    case 2: *(uint16_t *)p = (uint16_t)v; break;
    case 4: *(uint32_t *)p = (uint32_t)v; break;
    case 8: *(uint64_t *)p = v; break;
    }
}

void config_value_default(const struct key_def *k, void *base)
{
    if (k->field == FIELD_INT)
        store_int(k, base, (uint64_t)k->dflt);
    else if (k->field == FIELD_DOUBLE)
        *(double *)slot(k, base) = k->dflt;
}

static const void *slot_of(const struct key_def *k, const void *base)
{
    return (const char *)base + k->offset;
}

static uint64_t load_int(const struct key_def *k, const void *base)
{
    const void *p = slot_of(k, base);
    switch (k->size) {
    case 1: return *(const uint8_t *)p;
    case 2: return *(const uint16_t *)p;
    case 4: return *(const uint32_t *)p;
    case 8: return *(const uint64_t *)p;
    }
    return 0;
}

/* \r \n \t \\ as dry_run.response takes them, other control bytes as
 * \xHH; cut with "..." to fit cap (at least 4). */
static void escaped(const char *v, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *end = v ? v + len : v; v && v < end; v++) {
        unsigned char c = (unsigned char)*v;
        char piece[8];
        if (c == '\r' || c == '\n' || c == '\t' || c == '\\')
            snprintf(piece, sizeof piece, "\\%c",
                     c == '\r' ? 'r' : c == '\n' ? 'n' : c == '\t' ? 't' : '\\');
        else if (c < 0x20 || c == 0x7f)
            snprintf(piece, sizeof piece, "\\x%02x", c);
        else
            piece[0] = (char)c, piece[1] = '\0';
        size_t len = strlen(piece);
        if (n + len + 4 > cap) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
}

void config_value_format(const struct key_def *k, const void *base, char *out, size_t cap)
{
    if (k->field == FIELD_DOUBLE) {
        snprintf(out, cap, "%g", *(const double *)slot_of(k, base));
        return;
    }
    if (k->field == FIELD_STRING) {
        const char *v = *(char *const *)slot_of(k, base);
        escaped(v, v ? strlen(v) : 0, out, cap);
        return;
    }
    if (k->field == FIELD_BYTES) {
        const struct config_bytes *b = slot_of(k, base);
        escaped(b->data, b->len, out, cap);
        return;
    }
    uint64_t v = load_int(k, base);
    if (k->parse == KEY_PARSE_BOOL)
        snprintf(out, cap, "%s", v ? "true" : "false");
    else if (k->parse == KEY_PARSE_ERRNO)
        snprintf(out, cap, "%s", config_errno_name((int)v));
    else if (k->choices[0][0] && v < KEY_CHOICES_MAX)
        snprintf(out, cap, "%s", k->choices[v]);
    else
        snprintf(out, cap, "%llu", (unsigned long long)v);
}

static bool parse_bool(const char *v, bool *out)
{
    /* Words, not pointers to them (a relocation each at every start). */
    static const char yes[][5] = {"true", "yes", "on", "1"}, no[][6] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

enum key_verdict parse_bool_key(struct loader *ld, const struct key_def *k, void *base,
                                const char *v)
{
    (void)ld;
    bool b;
    if (!parse_bool(v, &b))
        return KEY_BAD_VALUE;
    store_int(k, base, b);
    return KEY_OK;
}

enum key_verdict parse_choice_key(struct loader *ld, const struct key_def *k, void *base,
                                  const char *v)
{
    (void)ld;
    for (int i = 0; i < KEY_CHOICES_MAX && k->choices[i][0]; i++) {
        if (strcmp(v, k->choices[i]) == 0) {
            store_int(k, base, (uint64_t)i);
            return KEY_OK;
        }
    }
    return KEY_BAD_VALUE;
}

/* A whole number in [min, max]; 0 is written "0". */
enum key_verdict parse_count_key(struct loader *ld, const struct key_def *k, void *base,
                                 const char *v)
{
    (void)ld;
    if (k->min == 0 && strcmp(v, "0") == 0) {
        store_int(k, base, 0);
        return KEY_OK;
    }
    if (!isdigit((unsigned char)v[0]))
        return KEY_BAD_VALUE;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < 1 || n < (uint64_t)k->min || n > (uint64_t)k->max)
        return KEY_BAD_VALUE;
    store_int(k, base, n);
    return KEY_OK;
}

/* A finite number in [min, max] (min excluded when open_min). */
enum key_verdict parse_number_key(struct loader *ld, const struct key_def *k, void *base,
                                  const char *v)
{
    (void)ld;
    /* Plain decimal only: strtod would also take hex, "inf" and "nan". */
    if (v[strspn(v, "0123456789.eE+-")] != '\0')
        return KEY_BAD_VALUE;
    errno = 0;
    char *end;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d > k->max || d < k->min ||
        (k->open_min && d == k->min))
        return KEY_BAD_VALUE;
    *(double *)slot(k, base) = d;
    return KEY_OK;
}

static enum key_verdict set_string(struct loader *ld, char **out, char *value)
{
    if (!value) {
        config_error(ld, ld->line, "out of memory");
        return KEY_REPORTED;
    }
    free(*out);
    *out = value;
    return KEY_OK;
}

enum key_verdict parse_path_key(struct loader *ld, const struct key_def *k, void *base,
                                const char *v)
{
    if (!*v) {
        config_error(ld, ld->line, "'%s' is empty", k->name);
        return KEY_REPORTED;
    }
    return set_string(ld, slot(k, base), config_resolve_path(ld, v));
}

/* A path, or "syslog". */
enum key_verdict parse_audit_log_key(struct loader *ld, const struct key_def *k, void *base,
                                     const char *v)
{
    if (strcmp(v, AUDIT_SYSLOG) == 0)
        return set_string(ld, slot(k, base), strdup(v));
    return parse_path_key(ld, k, base, v);
}

enum key_verdict parse_agent_name_key(struct loader *ld, const struct key_def *k, void *base,
                                      const char *v)
{
    if (!*v || strlen(v) > (size_t)k->max) {
        config_error(ld, ld->line, "agent name must be 1 to %d characters", (int)k->max);
        return KEY_REPORTED;
    }
    return set_string(ld, slot(k, base), strdup(v));
}

/* "local", or a Redis URL (redis_url.h). */
enum key_verdict parse_backend_key(struct loader *ld, const struct key_def *k, void *base,
                                   const char *v)
{
    struct enact_config *cfg = base;
    (void)k;
    if (strcmp(v, "local") == 0) {
        free(cfg->backend.url);
        cfg->backend.url = NULL;
        return KEY_OK;
    }
    char why[160];
    if (!redis_url_parse(v, &cfg->backend.parsed, why, sizeof why)) {
        config_error(ld, ld->line, "backend: %s", why);
        return KEY_REPORTED;
    }
    return set_string(ld, &cfg->backend.url, strdup(v));
}

/* The text of the fleet's hash tag: no braces (they would end the tag),
 * no spaces or control characters. */
enum key_verdict parse_key_prefix_key(struct loader *ld, const struct key_def *k, void *base,
                                      const char *v)
{
    size_t n = strlen(v);
    bool plain = n >= 1 && n <= (size_t)k->max;
    for (size_t i = 0; plain && i < n; i++)
        plain = v[i] > ' ' && v[i] != '{' && v[i] != '}' && v[i] != 0x7f;
    if (!plain)
        return KEY_BAD_VALUE;
    return set_string(ld, slot(k, base), strdup(v));
}

/* The name of an environment variable: letters, digits and '_'. */
enum key_verdict parse_env_name_key(struct loader *ld, const struct key_def *k, void *base,
                                    const char *v)
{
    bool ok = *v && !isdigit((unsigned char)*v) && strlen(v) <= 128;
    for (const char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok)
        return KEY_BAD_VALUE;
    return set_string(ld, slot(k, base), strdup(v));
}

/* "N" (actions left, 0 or more) or "N%" (of the quota, 1 to 99): checked
 * against the quota once the section is read. */
enum key_verdict parse_quota_warn_key(struct loader *ld, const struct key_def *k, void *base,
                                      const char *v)
{
    size_t digits = strspn(v, "0123456789");
    bool percent = v[digits] == '%' && v[digits + 1] == '\0';
    if (digits == 0 || digits > 10 || (v[digits] && !percent))
        return KEY_BAD_VALUE;
    unsigned long long n = strtoull(v, NULL, 10);
    if (n > UINT32_MAX || (percent && (n < 1 || n > 99)))
        return KEY_BAD_VALUE;
    return set_string(ld, slot(k, base), strdup(v));
}

enum key_verdict parse_errno_key(struct loader *ld, const struct key_def *k, void *base,
                                 const char *v)
{
    (void)ld;
    int value;
    if (!config_errno_value(v, &value))
        return KEY_BAD_VALUE;
    store_int(k, base, (uint64_t)(uint32_t)value);
    return KEY_OK;
}

/* What file_read's failure reads as after "cannot read PATH: ". */
static const char *response_read_error(const struct file_read_error *e)
{
    switch (e->fail) {
    case FILE_READ_NOT_REGULAR: return "not a regular file";
    case FILE_READ_TOO_LARGE: return "larger than 64 KiB";
    case FILE_READ_NO_MEMORY: return "out of memory";
    case FILE_READ_OPEN:
    case FILE_READ_READ: break;
    }
    return strerror(e->errnum);
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* v with \r \n \t \\ \0 and \xHH undone into buf (as long as v); other
 * backslashes stay as written. Returns the length. */
static size_t unescape(const char *v, char *buf)
{
    size_t len = 0;
    for (const char *p = v; *p; p++) {
        static const char SIMPLE[] = "r\rn\nt\t\\\\0";
        const char *e = p[0] == '\\' && p[1] ? strchr(SIMPLE, p[1]) : NULL;
        int hi, lo;
        if (e && (e - SIMPLE) % 2 == 0) {
            buf[len++] = p[1] == '0' ? '\0' : e[1];
            p++;
        } else if (p[0] == '\\' && p[1] == 'x' && (hi = hex_digit(p[2])) >= 0 &&
                   (lo = hex_digit(p[3])) >= 0) {
            buf[len++] = (char)(hi << 4 | lo);
            p += 3;
        } else {
            buf[len++] = *p;
        }
    }
    buf[len] = '\0';
    return len;
}

/* TEXT with escapes, or @file (relative to the config) read whole: any
 * bytes, into the key's config_bytes. */
enum key_verdict parse_bytes_key(struct loader *ld, const struct key_def *k, void *base,
                                 const char *v)
{
    struct config_bytes *out = slot(k, base);
    char *buf = NULL;
    size_t len = 0;
    if (v[0] == '@') {
        ld->cfg->read_other_files = true;
        char *path = config_resolve_path(ld, v + 1);
        struct file_read_error e = {.fail = FILE_READ_NO_MEMORY};
        buf = path ? file_read(path, FILE_READ_REGULAR, MAX_RESPONSE_BYTES, &len, &e) : NULL;
        if (!buf)
            config_error(ld, ld->line, "%s: cannot read %s: %s", k->name, path ? path : v,
                         response_read_error(&e));
        free(path);
        if (!buf)
            return KEY_REPORTED;
    } else {
        if (!(buf = malloc(strlen(v) + 1))) {
            config_error(ld, ld->line, "out of memory");
            return KEY_REPORTED;
        }
        len = unescape(v, buf);
    }
    free(out->data);
    out->data = buf;
    out->len = len;
    return KEY_OK;
}

/* items grown to count elements of size bytes; NULL (reported) when out
 * of memory, items left as they were. */
static void *grow(struct loader *ld, void *items, size_t count, size_t size)
{
    void *grown = realloc(items, count * size);
    if (!grown)
        config_error(ld, ld->line, "out of memory");
    return grown;
}

enum key_verdict parse_connect_key(struct loader *ld, const struct key_def *k, void *base,
                                   const char *v)
{
    (void)k;
    struct tool *t = base;
    struct connect_rule parsed[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
    char err[256];
    if (!connect_rule_parse(v, parsed, &n, err, sizeof err)) {
        config_error(ld, ld->line, "%s", err);
        return KEY_REPORTED;
    }
    struct connect_rule *grown = grow(ld, t->connect, t->nconnect + n, sizeof *grown);
    if (!grown) {
        for (size_t i = 0; i < n; i++)
            connect_rule_free(&parsed[i]);
        return KEY_REPORTED;
    }
    t->connect = grown;
    memcpy(t->connect + t->nconnect, parsed, n * sizeof *parsed);
    t->nconnect += n;
    return KEY_OK;
}

/* An exec rule, and room for it at items[count] (reported when neither). */
static void *exec_rule(struct loader *ld, const char *v, struct exec_rule *rule, void *items,
                       size_t count, size_t size)
{
    char err[256];
    if (!exec_rule_parse(v, rule, err, sizeof err)) {
        config_error(ld, ld->line, "%s", err);
        return NULL;
    }
    void *grown = grow(ld, items, count + 1, size);
    if (!grown)
        exec_rule_free(rule);
    return grown;
}

enum key_verdict parse_exec_key(struct loader *ld, const struct key_def *k, void *base,
                                const char *v)
{
    (void)k;
    struct tool *t = base;
    struct exec_rule rule;
    struct exec_rule *grown = exec_rule(ld, v, &rule, t->exec, t->nexec, sizeof *grown);
    if (!grown)
        return KEY_REPORTED;
    t->exec = grown;
    t->exec[t->nexec++] = rule;
    return KEY_OK;
}

enum key_verdict parse_impact_exec_key(struct loader *ld, const struct key_def *k, void *base,
                                       const char *v)
{
    struct impact_table *tab = base;
    struct exec_rule rule;
    struct impact_exec_entry *grown = exec_rule(ld, v, &rule, tab->exec, tab->nexec, sizeof *grown);
    if (!grown)
        return KEY_REPORTED;
    tab->exec = grown;
    tab->exec[tab->nexec++] =
        (struct impact_exec_entry){.level = (enum impact_level)k->arg, .rule = rule};
    return KEY_OK;
}

/* One word of letters, kept in capitals. */
enum key_verdict parse_impact_verb_key(struct loader *ld, const struct key_def *k, void *base,
                                       const char *v)
{
    struct impact_table *tab = base;
    size_t n = strlen(v);
    bool letters = n > 0;
    for (size_t i = 0; i < n; i++)
        letters = letters && isalpha((unsigned char)v[i]);
    if (!letters || n >= sizeof tab->verbs[0].verb)
        return KEY_BAD_VALUE;
    struct impact_verb_entry *grown = grow(ld, tab->verbs, tab->nverbs + 1, sizeof *grown);
    if (!grown)
        return KEY_REPORTED;
    tab->verbs = grown;
    struct impact_verb_entry *e = &tab->verbs[tab->nverbs++];
    e->level = (enum impact_level)k->arg;
    for (size_t i = 0; i <= n; i++)
        e->verb[i] = (char)toupper((unsigned char)v[i]);
    return KEY_OK;
}
