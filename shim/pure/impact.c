#include "impact.h"

#include <stdint.h>
#include <string.h>

/* The words in the rows, not pointers to them: each pointer was one more
 * relocation for the loader at every governed start. "" ends a table. */
struct verb_class {
    char word[12];
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
    {"", IMPACT_UNKNOWN},
};

/* Subcommands of tools whose first argument says what they do. */
static const struct verb_class KUBECTL[] = {
    {"delete", IMPACT_HIGH},  {"drain", IMPACT_HIGH},   {"apply", IMPACT_MEDIUM},
    {"create", IMPACT_MEDIUM}, {"patch", IMPACT_MEDIUM}, {"scale", IMPACT_MEDIUM},
    {"edit", IMPACT_MEDIUM},  {"get", IMPACT_LOW},      {"describe", IMPACT_LOW},
    {"logs", IMPACT_LOW},     {"", IMPACT_UNKNOWN},
};
static const struct verb_class GIT[] = {
    {"push", IMPACT_MEDIUM},  {"commit", IMPACT_MEDIUM}, {"reset", IMPACT_MEDIUM},
    {"clean", IMPACT_HIGH},   {"status", IMPACT_LOW},    {"log", IMPACT_LOW},
    {"diff", IMPACT_LOW},     {"show", IMPACT_LOW},      {"", IMPACT_UNKNOWN},
};
static const struct verb_class HTTP[] = {
    {"DELETE", IMPACT_HIGH}, {"POST", IMPACT_MEDIUM}, {"PUT", IMPACT_MEDIUM},
    {"PATCH", IMPACT_MEDIUM}, {"GET", IMPACT_LOW},   {"HEAD", IMPACT_LOW},
    {"OPTIONS", IMPACT_LOW}, {"", IMPACT_UNKNOWN},
};
static const struct verb_class SQL[] = {
    {"DROP", IMPACT_HIGH},     {"DELETE", IMPACT_HIGH},   {"TRUNCATE", IMPACT_HIGH},
    {"INSERT", IMPACT_MEDIUM}, {"UPDATE", IMPACT_MEDIUM}, {"CREATE", IMPACT_MEDIUM},
    {"ALTER", IMPACT_MEDIUM},  {"MERGE", IMPACT_MEDIUM},  {"REPLACE", IMPACT_MEDIUM},
    {"SELECT", IMPACT_LOW},    {"SHOW", IMPACT_LOW},      {"EXPLAIN", IMPACT_LOW},
    {"", IMPACT_UNKNOWN},
};
static const struct verb_class REDIS[] = {
    {"DEL", IMPACT_HIGH},      {"UNLINK", IMPACT_HIGH},   {"FLUSHALL", IMPACT_HIGH},
    {"FLUSHDB", IMPACT_HIGH},  {"SET", IMPACT_MEDIUM},    {"SETEX", IMPACT_MEDIUM},
    {"MSET", IMPACT_MEDIUM},   {"HSET", IMPACT_MEDIUM},   {"LPUSH", IMPACT_MEDIUM},
    {"RPUSH", IMPACT_MEDIUM},  {"SADD", IMPACT_MEDIUM},   {"ZADD", IMPACT_MEDIUM},
    {"INCR", IMPACT_MEDIUM},   {"EXPIRE", IMPACT_MEDIUM}, {"GETDEL", IMPACT_HIGH},
    {"INCRBY", IMPACT_MEDIUM}, {"DECR", IMPACT_MEDIUM},   {"DECRBY", IMPACT_MEDIUM},
    {"INCRBYFLOAT", IMPACT_MEDIUM}, {"HINCRBY", IMPACT_MEDIUM}, {"APPEND", IMPACT_MEDIUM},
    {"SETNX", IMPACT_MEDIUM},  {"PSETEX", IMPACT_MEDIUM}, {"HMSET", IMPACT_MEDIUM},
    {"HSETNX", IMPACT_MEDIUM}, {"GETSET", IMPACT_MEDIUM}, {"LPOP", IMPACT_MEDIUM},
    {"RPOP", IMPACT_MEDIUM},   {"SPOP", IMPACT_MEDIUM},   {"SREM", IMPACT_MEDIUM},
    {"ZREM", IMPACT_MEDIUM},   {"HDEL", IMPACT_MEDIUM},   {"LREM", IMPACT_MEDIUM},
    {"LSET", IMPACT_MEDIUM},   {"LTRIM", IMPACT_MEDIUM},  {"RENAME", IMPACT_MEDIUM},
    {"PERSIST", IMPACT_MEDIUM}, {"PEXPIRE", IMPACT_MEDIUM}, {"MSETNX", IMPACT_MEDIUM},
    {"GET", IMPACT_LOW},       {"STRLEN", IMPACT_LOW},    {"LLEN", IMPACT_LOW},
    {"SCARD", IMPACT_LOW},     {"HLEN", IMPACT_LOW},      {"ZCARD", IMPACT_LOW},
    {"DBSIZE", IMPACT_LOW},    {"TYPE", IMPACT_LOW},      {"PTTL", IMPACT_LOW},
    {"LRANGE", IMPACT_LOW},    {"SMEMBERS", IMPACT_LOW},  {"ZRANGE", IMPACT_LOW},
    {"HMGET", IMPACT_LOW},     {"HKEYS", IMPACT_LOW},     {"INFO", IMPACT_LOW},
    {"MGET", IMPACT_LOW},      {"HGET", IMPACT_LOW},      {"HGETALL", IMPACT_LOW},
    {"EXISTS", IMPACT_LOW},    {"KEYS", IMPACT_LOW},      {"SCAN", IMPACT_LOW},
    {"TTL", IMPACT_LOW},       {"", IMPACT_UNKNOWN},
};

const char *impact_level_name(enum impact_level level)
{
    static const char names[][8] = {"UNKNOWN", "LOW", "MEDIUM", "HIGH"};
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
    for (; table->word[0]; table++)
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

/* Options that take their value as the next argument, so that the value
 * is not taken for the subcommand or the wrapped program; "" ends a set.
 * Room for the longest, "--request-timeout", and its NUL. */
typedef char value_opt[18];
static const value_opt GIT_VALUE_OPTS[] = {"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                                           ""};
static const value_opt KUBECTL_VALUE_OPTS[] = {
    "-n",  "--namespace", "--context", "--cluster", "--user", "--kubeconfig", "-s",
    "--server", "--token", "--as", "--as-group", "--request-timeout", ""};
static const value_opt SUDO_VALUE_OPTS[] = {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U",
                                            ""};
static const value_opt ENV_VALUE_OPTS[] = {"-u", "--unset", "-C", "--chdir", ""};
static const value_opt NICE_VALUE_OPTS[] = {"-n", "--adjustment", ""};
static const value_opt NO_VALUE_OPTS[] = {""};

/* Programs that run the rest of their arguments as a command. */
static const struct wrapper {
    char name[8];
    const value_opt *value_opts;
} WRAPPERS[] = {
    {"sudo", SUDO_VALUE_OPTS}, {"doas", SUDO_VALUE_OPTS}, {"env", ENV_VALUE_OPTS},
    {"nice", NICE_VALUE_OPTS}, {"nohup", NO_VALUE_OPTS},  {"time", NO_VALUE_OPTS},
    {"command", NO_VALUE_OPTS}, {"exec", NO_VALUE_OPTS},  {"", NULL},
};

static bool in_set(const value_opt *set, const char *s)
{
    for (; (*set)[0]; set++)
        if (strcmp(*set, s) == 0)
            return true;
    return false;
}

/* Index of the first argument that is neither an option (nor an option's
 * value), nor, when skip_assignments, a VAR=value; 0 when there is none. */
static size_t first_operand(char *const argv[], const value_opt *value_opts,
                            bool skip_assignments)
{
    for (size_t i = 1; argv[i]; i++) {
        if (argv[i][0] == '-') {
            if (in_set(value_opts, argv[i]) && argv[i + 1])
                i++;
            continue;
        }
        if (skip_assignments && strchr(argv[i], '='))
            continue;
        return i;
    }
    return 0;
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

/* Nesting bound for wrappers and shells inside one another. */
#define MAX_DEPTH 4

static struct impact of_words(char *const argv[], unsigned depth,
                              const struct impact_table *extra);

static bool script_separator(char c)
{
    return c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* sh -c "cd x && rm -rf y": every command of the script is judged (split at
 * ; & | newlines and parentheses, words at blanks, no quoting) and the
 * highest impact wins. */
static struct impact of_shell_script(const char *script, unsigned depth,
                                     const struct impact_table *extra)
{
    struct impact worst = make(IMPACT_UNKNOWN, "shell script without a known command", NULL,
                               0, NULL);
    const char *p = script;
    while (*p) {
        while (*p && (blank(*p) || script_separator(*p)))
            p++;
        char words[512];
        char *argv[17];
        size_t argc = 0, used = 0;
        while (*p && !script_separator(*p)) {
            while (blank(*p))
                p++;
            if (!*p || script_separator(*p))
                break;
            size_t start = used;
            while (*p && !blank(*p) && !script_separator(*p)) {
                if (used < sizeof words - 1)
                    words[used++] = *p;
                p++;
            }
            if (argc < 16 && used < sizeof words - 1) {
                words[used++] = '\0';
                argv[argc++] = words + start;
            } else {
                used = start;
            }
        }
        argv[argc] = NULL;
        if (argc == 0)
            continue;
        struct impact im = of_words(argv, depth + 1, extra);
        if (im.level > worst.level)
            worst = make(im.level, "shell script: ", im.reason, strlen(im.reason), NULL);
    }
    return worst;
}

/* argv[0] is the program's path, or its name inside a wrapper or a script.
 * The [impact] table comes first, at every depth: `sudo terraform destroy`
 * and `sh -c "terraform destroy"` meet the same rule as the bare command. */
static struct impact of_words(char *const argv[], unsigned depth,
                              const struct impact_table *extra)
{
    if (depth > MAX_DEPTH)
        return make(IMPACT_UNKNOWN, "commands nested too deep", NULL, 0, NULL);
    for (size_t i = 0; extra && i < extra->nexec; i++)
        if (exec_rule_matches(&extra->exec[i].rule, argv[0], argv))
            return make(extra->exec[i].level, "[impact] rule for ", extra->exec[i].rule.words[0],
                        strlen(extra->exec[i].rule.words[0]), NULL);
    const char *program = base_name(argv[0]);
    size_t plen = strlen(program);
    if (strncmp(program, "mkfs", 4) == 0)
        plen = 4; /* mkfs.ext4, mkfs.xfs, ... */
    const struct verb_class *c = classify(PROGRAMS, program, plen);
    if (c)
        return make(c->level, NULL, program, strlen(program), level_verb(c->level));
    size_t k;
    if (strcmp(program, "git") == 0 && (k = first_operand(argv, GIT_VALUE_OPTS, false))) {
        if (strcmp(argv[k], "push") == 0 && force_push(argv))
            return make(IMPACT_HIGH, "git push --force", NULL, 0, ": rewrites remote history");
        if ((c = classify(GIT, argv[k], strlen(argv[k]))))
            return make(c->level, "git ", argv[k], strlen(argv[k]), level_verb(c->level));
    }
    if (strcmp(program, "kubectl") == 0 && (k = first_operand(argv, KUBECTL_VALUE_OPTS, false)) &&
        (c = classify(KUBECTL, argv[k], strlen(argv[k]))))
        return make(c->level, "kubectl ", argv[k], strlen(argv[k]), level_verb(c->level));
    for (const struct wrapper *w = WRAPPERS; w->name[0]; w++)
        if (strcmp(program, w->name) == 0 && (k = first_operand(argv, w->value_opts, true)))
            return of_words(argv + k, depth + 1, extra);
    bool shell = strcmp(program, "sh") == 0 || strcmp(program, "bash") == 0 ||
                 strcmp(program, "dash") == 0 || strcmp(program, "zsh") == 0;
    if (shell && argv[1] && strcmp(argv[1], "-c") == 0 && argv[2])
        return of_shell_script(argv[2], depth, extra);
    return make(IMPACT_UNKNOWN, "no rule knows ", program, strlen(program), NULL);
}

struct impact impact_of_exec(const char *path, char *const argv[],
                             const struct impact_table *extra)
{
    if (!argv || !argv[0]) {
        char *const just_path[] = {(char *)path, NULL};
        return of_words(just_path, 0, extra);
    }
    /* The file that runs names the program; argv[0] may say anything. */
    char *const *rest = argv + 1;
    size_t n = 0;
    while (rest[n] && n < 255)
        n++;
    char *copy[n + 2];
    copy[0] = (char *)path;
    memcpy(copy + 1, rest, n * sizeof *copy);
    copy[n + 1] = NULL;
    return of_words(copy, 0, extra);
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

struct impact impact_of_sql(const char *sql, size_t len, const struct impact_table *extra)
{
    return of_sql(sql, len, extra);
}

struct impact impact_of_verb(enum impact_protocol protocol, const char *word, size_t n,
                             const struct impact_table *extra)
{
    return protocol == IMPACT_HTTP ? of_verb(HTTP, "HTTP ", word, n, extra)
                                   : of_verb(REDIS, "Redis ", word, n, extra);
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

/* Bytes of a PostgreSQL connection's opening that carry no statement: the
 * SSL or GSS request, the start-up message (int32 length, int32 protocol
 * 3.0) and password messages; 0 when data does not open one. */
static size_t postgres_preamble(const unsigned char *u, size_t len)
{
    size_t at = 0;
    while (len - at >= 8) {
        uint32_t n = be32(u + at), code = be32(u + at + 4);
        bool opening = code == 196608u || code == 80877103u || code == 80877104u;
        if (!opening || n < 8 || n > len - at)
            break;
        at += n;
    }
    while (at > 0 && len - at >= 5 && u[at] == 'p' && be32(u + at + 1) >= 4 &&
           be32(u + at + 1) <= len - at - 1)
        at += 1 + be32(u + at + 1);
    return at;
}

struct impact impact_of_payload(const void *data, size_t len, const struct impact_table *extra)
{
    const unsigned char *u = data;
    const char *s = data;
    if (len == 0)
        return make(IMPACT_UNKNOWN, "nothing sent", NULL, 0, NULL);
    size_t skip = postgres_preamble(u, len);
    if (skip > 0) {
        if (skip == len)
            return make(IMPACT_UNKNOWN, "PostgreSQL start-up, no query sent", NULL, 0, NULL);
        u += skip;
        s += skip;
        len -= skip;
    }
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
    if (word > 0 && (word == len || s[word] == '\r' || s[word] == '\n')) {
        /* An inline Redis command without arguments ("FLUSHALL\r\n"). */
        struct impact im = of_verb(REDIS, "Redis ", s, word, extra);
        if (im.level != IMPACT_UNKNOWN)
            return im;
    }
    if (word > 0 && word < len && s[word] == ' ') {
        /* An HTTP request line: METHOD SP target SP HTTP/x. */
        const char *sp = memchr(s + word + 1, ' ', len - word - 1);
        if (sp && (size_t)(s + len - sp) > 5 && memcmp(sp + 1, "HTTP/", 5) == 0)
            return of_verb(HTTP, "HTTP ", s, word, extra);
        /* Else an inline Redis command ("SET k v\r\n") or bare SQL. */
        struct impact im = of_verb(REDIS, "Redis ", s, word, extra);
        if (im.level != IMPACT_UNKNOWN)
            return im;
        /* Bare SQL only when the first word is a known verb: other text
         * ("hello world") is no SQL statement. */
        im = of_sql(s, len, extra);
        if (im.level != IMPACT_UNKNOWN)
            return im;
    }
    return make(IMPACT_UNKNOWN, "unrecognised protocol", NULL, 0, NULL);
}
