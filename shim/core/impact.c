#include "impact.h"

#include <stdint.h>
#include <string.h>

struct verb_class {
    const char *word;
    enum impact_level level;
};

/* Programs judged by name alone. */
static const struct verb_class PROGRAMS[] = {
    {"rm", IMPACT_HIGH},       {"rmdir", IMPACT_HIGH},   {"shred", IMPACT_HIGH},
    {"truncate", IMPACT_HIGH}, {"mkfs", IMPACT_HIGH},    {"dd", IMPACT_HIGH},
    {"kill", IMPACT_HIGH},     {"pkill", IMPACT_HIGH},   {"killall", IMPACT_HIGH},
    {"unlink", IMPACT_HIGH},   {"wipefs", IMPACT_HIGH},  {"cp", IMPACT_MEDIUM},
    {"mv", IMPACT_MEDIUM},     {"mkdir", IMPACT_MEDIUM}, {"touch", IMPACT_MEDIUM},
    {"chmod", IMPACT_MEDIUM},  {"chown", IMPACT_MEDIUM}, {"ln", IMPACT_MEDIUM},
    {"install", IMPACT_MEDIUM}, {"tee", IMPACT_MEDIUM},  {"ls", IMPACT_LOW},
    {"cat", IMPACT_LOW},       {"grep", IMPACT_LOW},     {"head", IMPACT_LOW},
    {"tail", IMPACT_LOW},      {"stat", IMPACT_LOW},     {"wc", IMPACT_LOW},
    {NULL, IMPACT_UNKNOWN},
};

/* Subcommands of tools whose first argument says what they do. */
static const struct verb_class KUBECTL[] = {
    {"delete", IMPACT_HIGH},  {"drain", IMPACT_HIGH},   {"apply", IMPACT_MEDIUM},
    {"create", IMPACT_MEDIUM}, {"patch", IMPACT_MEDIUM}, {"scale", IMPACT_MEDIUM},
    {"edit", IMPACT_MEDIUM},  {"get", IMPACT_LOW},      {"describe", IMPACT_LOW},
    {"logs", IMPACT_LOW},     {NULL, IMPACT_UNKNOWN},
};
static const struct verb_class GIT[] = {
    {"push", IMPACT_MEDIUM},  {"commit", IMPACT_MEDIUM}, {"reset", IMPACT_MEDIUM},
    {"clean", IMPACT_HIGH},   {"status", IMPACT_LOW},    {"log", IMPACT_LOW},
    {"diff", IMPACT_LOW},     {"show", IMPACT_LOW},      {NULL, IMPACT_UNKNOWN},
};
static const struct verb_class HTTP[] = {
    {"DELETE", IMPACT_HIGH}, {"POST", IMPACT_MEDIUM}, {"PUT", IMPACT_MEDIUM},
    {"PATCH", IMPACT_MEDIUM}, {"GET", IMPACT_LOW},   {"HEAD", IMPACT_LOW},
    {"OPTIONS", IMPACT_LOW}, {NULL, IMPACT_UNKNOWN},
};
static const struct verb_class SQL[] = {
    {"DROP", IMPACT_HIGH},     {"DELETE", IMPACT_HIGH},   {"TRUNCATE", IMPACT_HIGH},
    {"INSERT", IMPACT_MEDIUM}, {"UPDATE", IMPACT_MEDIUM}, {"CREATE", IMPACT_MEDIUM},
    {"ALTER", IMPACT_MEDIUM},  {"MERGE", IMPACT_MEDIUM},  {"REPLACE", IMPACT_MEDIUM},
    {"SELECT", IMPACT_LOW},    {"SHOW", IMPACT_LOW},      {"EXPLAIN", IMPACT_LOW},
    {NULL, IMPACT_UNKNOWN},
};
static const struct verb_class REDIS[] = {
    {"DEL", IMPACT_HIGH},      {"UNLINK", IMPACT_HIGH},   {"FLUSHALL", IMPACT_HIGH},
    {"FLUSHDB", IMPACT_HIGH},  {"SET", IMPACT_MEDIUM},    {"SETEX", IMPACT_MEDIUM},
    {"MSET", IMPACT_MEDIUM},   {"HSET", IMPACT_MEDIUM},   {"LPUSH", IMPACT_MEDIUM},
    {"RPUSH", IMPACT_MEDIUM},  {"SADD", IMPACT_MEDIUM},   {"ZADD", IMPACT_MEDIUM},
    {"INCR", IMPACT_MEDIUM},   {"EXPIRE", IMPACT_MEDIUM}, {"GET", IMPACT_LOW},
    {"MGET", IMPACT_LOW},      {"HGET", IMPACT_LOW},      {"HGETALL", IMPACT_LOW},
    {"EXISTS", IMPACT_LOW},    {"KEYS", IMPACT_LOW},      {"SCAN", IMPACT_LOW},
    {"TTL", IMPACT_LOW},       {NULL, IMPACT_UNKNOWN},
};

const char *impact_level_name(enum impact_level level)
{
    static const char *const names[] = {"UNKNOWN", "LOW", "MEDIUM", "HIGH"};
    return level <= IMPACT_HIGH ? names[level] : "UNKNOWN";
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive equality of a word of n bytes with a NUL-terminated one. */
static bool word_equal(const char *w, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++, s++)
        if (!*s || upper(w[i]) != upper(*s))
            return false;
    return *s == '\0';
}

bool impact_level_parse(const char *text, enum impact_level *out)
{
    for (int l = IMPACT_UNKNOWN; l <= IMPACT_HIGH; l++) {
        if (word_equal(text, strlen(text), impact_level_name((enum impact_level)l))) {
            *out = (enum impact_level)l;
            return true;
        }
    }
    return false;
}

static const struct verb_class *classify(const struct verb_class *table, const char *w, size_t n)
{
    for (; table->word; table++)
        if (word_equal(w, n, table->word))
            return table;
    return NULL;
}

/* reason = a + b + c, truncated to fit. */
static struct impact make(enum impact_level level, const char *a, const char *b, size_t blen,
                          const char *c)
{
    struct impact im = {.level = level};
    size_t cap = sizeof im.reason - 1, n = 0;
    for (const char *p = a; p && *p && n < cap; p++)
        im.reason[n++] = *p;
    for (size_t i = 0; b && i < blen && n < cap; i++)
        im.reason[n++] = b[i];
    for (const char *p = c; p && *p && n < cap; p++)
        im.reason[n++] = *p;
    im.reason[n] = '\0';
    return im;
}

static const char *level_verb(enum impact_level level)
{
    switch (level) {
    case IMPACT_HIGH: return ": destructive";
    case IMPACT_MEDIUM: return ": creates or changes";
    case IMPACT_LOW: return ": reads";
    default: return "";
    }
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The first argument that is not an option, or NULL. */
static const char *subcommand(char *const argv[])
{
    for (size_t i = 1; argv[i]; i++)
        if (argv[i][0] != '-')
            return argv[i];
    return NULL;
}

static bool force_push(char *const argv[])
{
    for (size_t i = 2; argv[i]; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-f") == 0 || strcmp(a, "--force") == 0 ||
            strncmp(a, "--force-with-lease", 18) == 0 || (a[0] == '+' && a[1]))
            return true;
    }
    return false;
}

static struct impact of_words(const char *program, char *const argv[]);

/* sh -c "rm -rf x": judge the script by its first word. */
static struct impact of_shell_script(const char *script)
{
    while (*script == ' ' || *script == '\t' || *script == '\n')
        script++;
    char word[64];
    size_t n = 0;
    while (script[n] && script[n] != ' ' && script[n] != '\t' && script[n] != '\n' &&
           script[n] != ';' && n < sizeof word - 1) {
        word[n] = script[n];
        n++;
    }
    word[n] = '\0';
    char *const none[] = {word, NULL};
    struct impact im = of_words(base_name(word), none);
    if (im.level != IMPACT_UNKNOWN)
        return make(im.level, "shell script runs ", word, n, level_verb(im.level));
    return im;
}

static struct impact of_words(const char *program, char *const argv[])
{
    size_t plen = strlen(program);
    if (strncmp(program, "mkfs", 4) == 0)
        plen = 4; /* mkfs.ext4, mkfs.xfs, ... */
    const struct verb_class *c = classify(PROGRAMS, program, plen);
    if (c)
        return make(c->level, NULL, program, strlen(program), level_verb(c->level));
    const char *sub = argv && argv[0] ? subcommand(argv) : NULL;
    if (sub && strcmp(program, "git") == 0) {
        if (strcmp(sub, "push") == 0 && force_push(argv))
            return make(IMPACT_HIGH, "git push --force", NULL, 0, ": rewrites remote history");
        if ((c = classify(GIT, sub, strlen(sub))))
            return make(c->level, "git ", sub, strlen(sub), level_verb(c->level));
    }
    if (sub && strcmp(program, "kubectl") == 0 && (c = classify(KUBECTL, sub, strlen(sub))))
        return make(c->level, "kubectl ", sub, strlen(sub), level_verb(c->level));
    bool shell = strcmp(program, "sh") == 0 || strcmp(program, "bash") == 0 ||
                 strcmp(program, "dash") == 0 || strcmp(program, "zsh") == 0;
    if (shell && argv && argv[0] && argv[1] && strcmp(argv[1], "-c") == 0 && argv[2])
        return of_shell_script(argv[2]);
    return make(IMPACT_UNKNOWN, "no rule knows ", program, strlen(program), NULL);
}

struct impact impact_of_exec(const char *path, char *const argv[],
                             const struct impact_table *extra)
{
    for (size_t i = 0; extra && i < extra->nexec; i++)
        if (exec_rule_matches(&extra->exec[i].rule, path, argv))
            return make(extra->exec[i].level, "[impact] rule for ", extra->exec[i].rule.words[0],
                        strlen(extra->exec[i].rule.words[0]), NULL);
    return of_words(base_name(path), argv);
}

/* ---- payloads ----------------------------------------------------------- */

static struct impact of_verb(const struct verb_class *table, const char *protocol,
                             const char *w, size_t n, const struct impact_table *extra)
{
    for (size_t i = 0; extra && i < extra->nverbs; i++)
        if (word_equal(w, n, extra->verbs[i].verb))
            return make(extra->verbs[i].level, protocol, w, n, " ([impact] verb)");
    const struct verb_class *c = classify(table, w, n);
    return make(c ? c->level : IMPACT_UNKNOWN, protocol, w, n, NULL);
}

static size_t alpha_run(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z')))
        n++;
    return n;
}

/* The first keyword of SQL text, past blanks and comments. */
static struct impact of_sql(const char *s, size_t len, const struct impact_table *extra)
{
    size_t i = 0;
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                           s[i] == '(' || s[i] == ';'))
            i++;
        if (i + 1 < len && s[i] == '-' && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (i + 1 < len && s[i] == '/' && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i += 2;
        } else {
            break;
        }
    }
    if (i >= len)
        return make(IMPACT_UNKNOWN, "SQL without a keyword", NULL, 0, NULL);
    return of_verb(SQL, "SQL ", s + i, alpha_run(s + i, len - i), extra);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RESP: *N\r\n$LEN\r\nCOMMAND\r\n... */
static struct impact of_resp(const char *s, size_t len, const struct impact_table *extra)
{
    const char *end = s + len;
    const char *p = memchr(s, '\n', len);
    if (!p || p + 1 >= end || p[1] != '$')
        return make(IMPACT_UNKNOWN, "Redis request without a command", NULL, 0, NULL);
    p = memchr(p + 1, '\n', (size_t)(end - p - 1));
    if (!p || p + 1 >= end)
        return make(IMPACT_UNKNOWN, "Redis request without a command", NULL, 0, NULL);
    p++;
    return of_verb(REDIS, "Redis ", p, alpha_run(p, (size_t)(end - p)), extra);
}

struct impact impact_of_payload(const void *data, size_t len, const struct impact_table *extra)
{
    const unsigned char *u = data;
    const char *s = data;
    if (len == 0)
        return make(IMPACT_UNKNOWN, "nothing sent", NULL, 0, NULL);
    /* PostgreSQL simple query: 'Q', int32 length (itself included), SQL. */
    if (u[0] == 'Q' && len >= 6 && be32(u + 1) >= 5)
        return of_sql(s + 5, len - 5, extra);
    /* MySQL COM_QUERY: 3-byte length, sequence 0, command 0x03, SQL. */
    if (len >= 6 && u[3] == 0 && u[4] == 0x03 &&
        ((size_t)u[0] | (size_t)u[1] << 8 | (size_t)u[2] << 16) >= 1)
        return of_sql(s + 5, len - 5, extra);
    if (u[0] == '*')
        return of_resp(s, len, extra);
    size_t word = alpha_run(s, len);
    if (word > 0 && word < len && s[word] == ' ') {
        /* An HTTP request line: METHOD SP target SP HTTP/x. */
        const char *sp = memchr(s + word + 1, ' ', len - word - 1);
        if (sp && (size_t)(s + len - sp) > 5 && memcmp(sp + 1, "HTTP/", 5) == 0)
            return of_verb(HTTP, "HTTP ", s, word, extra);
        /* Else an inline Redis command ("SET k v\r\n") or bare SQL. */
        struct impact im = of_verb(REDIS, "Redis ", s, word, extra);
        if (im.level != IMPACT_UNKNOWN)
            return im;
        return of_sql(s, len, extra);
    }
    return make(IMPACT_UNKNOWN, "unrecognised protocol", NULL, 0, NULL);
}
