/* The simulated peer's Redis (RESP2): each command, from an array of bulk
 * strings or an inline line, is answered as a server holding no keys
 * would, except that writes succeed (DEL and UNLINK count every key named
 * as deleted); pipelines are answered in order, MULTI queues until EXEC. */
#include "peer_wire.h"

#include <stdio.h>
#include <string.h>

enum { START, ARG_HEAD, ARG_DATA };

#define LINE_MAX_ 64 /* of an array or bulk header line */

/* What a command is answered with. */
enum answer {
    A_OK,      /* +OK */
    A_NIL,     /* $-1 */
    A_ZERO,    /* :0 */
    A_ONE,     /* :1 */
    A_KEYS,    /* :N, N the keys named */
    A_MEMBERS, /* :N, N the arguments after the key */
    A_PAIRS,   /* :N, N the field-value pairs after the key */
    A_EMPTY,   /* *0 */
    A_NILS,    /* one $-1 per key named */
    A_HNILS,   /* one $-1 per field named */
    A_TTL,     /* :-2: no such key */
    A_NONE,    /* +none */
    A_NUMBER,  /* :N, N the argument after the key (INCRBY) */
    A_NEGATED, /* :-N (DECRBY) */
    A_MINUS1,  /* :-1 (DECR) */
    A_FLOAT,   /* the argument after the key, as a bulk string */
    A_PONG,
    A_ECHO,
    A_SCAN,
    A_HELLO,
    A_INFO,
    A_CLIENT,
    A_SET,
    A_QUIT,
    A_RESET,
    A_MULTI,
    A_EXEC,
    A_DISCARD,
    A_CONFIG,
};

/* The names in the rows, not pointers to them: a pointer is one more
 * relocation for the loader at every governed start. */
static const struct {
    char command[14]; /* "ZRANGEBYSCORE" and its NUL */
    enum answer answer;
} ANSWERS[] = {
    {"SET", A_SET},        {"GET", A_NIL},        {"DEL", A_KEYS},       {"UNLINK", A_KEYS},
    {"MSET", A_OK},        {"SETEX", A_OK},       {"PSETEX", A_OK},      {"HMSET", A_OK},
    {"SELECT", A_OK},      {"AUTH", A_OK},        {"FLUSHALL", A_OK},    {"FLUSHDB", A_OK},
    {"SWAPDB", A_OK},      {"RENAME", A_OK},      {"LSET", A_OK},        {"LTRIM", A_OK},
    {"WATCH", A_OK},       {"UNWATCH", A_OK},     {"READONLY", A_OK},    {"READWRITE", A_OK},
    {"GETDEL", A_NIL},     {"GETSET", A_NIL},     {"GETEX", A_NIL},      {"HGET", A_NIL},
    {"LPOP", A_NIL},       {"RPOP", A_NIL},       {"LINDEX", A_NIL},     {"SPOP", A_NIL},
    {"SRANDMEMBER", A_NIL}, {"RANDOMKEY", A_NIL}, {"ZSCORE", A_NIL},     {"LMOVE", A_NIL},
    {"RPOPLPUSH", A_NIL},  {"EXISTS", A_ZERO},    {"TOUCH", A_ZERO},     {"STRLEN", A_ZERO},
    {"LLEN", A_ZERO},      {"SCARD", A_ZERO},     {"HLEN", A_ZERO},      {"ZCARD", A_ZERO},
    {"DBSIZE", A_ZERO},    {"EXPIRE", A_ZERO},    {"PEXPIRE", A_ZERO},   {"EXPIREAT", A_ZERO},
    {"PEXPIREAT", A_ZERO}, {"PERSIST", A_ZERO},   {"HEXISTS", A_ZERO},   {"SISMEMBER", A_ZERO},
    {"HDEL", A_ZERO},      {"SREM", A_ZERO},      {"ZREM", A_ZERO},      {"LREM", A_ZERO},
    {"PUBLISH", A_ZERO},   {"PFCOUNT", A_ZERO},   {"GETBIT", A_ZERO},    {"SETBIT", A_ZERO},
    {"BITCOUNT", A_ZERO},  {"SETNX", A_ONE},      {"MSETNX", A_ONE},     {"INCR", A_ONE},
    {"HSETNX", A_ONE},     {"PFADD", A_ONE},      {"LPUSH", A_MEMBERS},  {"RPUSH", A_MEMBERS},
    {"SADD", A_MEMBERS},   {"HSET", A_PAIRS},     {"ZADD", A_PAIRS},     {"KEYS", A_EMPTY},
    {"HGETALL", A_EMPTY},  {"HKEYS", A_EMPTY},    {"HVALS", A_EMPTY},    {"LRANGE", A_EMPTY},
    {"SMEMBERS", A_EMPTY}, {"SINTER", A_EMPTY},   {"SUNION", A_EMPTY},   {"SDIFF", A_EMPTY},
    {"ZRANGE", A_EMPTY},   {"ZRANGEBYSCORE", A_EMPTY}, {"ZREVRANGE", A_EMPTY},
    {"XRANGE", A_EMPTY},   {"COMMAND", A_EMPTY},  {"MGET", A_NILS},      {"HMGET", A_HNILS},
    {"TTL", A_TTL},        {"PTTL", A_TTL},       {"TYPE", A_NONE},      {"INCRBY", A_NUMBER},
    {"HINCRBY", A_NUMBER}, {"DECRBY", A_NEGATED}, {"DECR", A_MINUS1},
    {"INCRBYFLOAT", A_FLOAT}, {"PING", A_PONG},   {"ECHO", A_ECHO},      {"SCAN", A_SCAN},
    {"HSCAN", A_SCAN},     {"SSCAN", A_SCAN},     {"ZSCAN", A_SCAN},     {"HELLO", A_HELLO},
    {"INFO", A_INFO},      {"CLIENT", A_CLIENT},  {"QUIT", A_QUIT},      {"RESET", A_RESET},
    {"MULTI", A_MULTI},    {"EXEC", A_EXEC},      {"DISCARD", A_DISCARD}, {"CONFIG", A_CONFIG},
};

/* A command no table row names succeeds. */
static enum answer answer_of(const char *command, size_t n)
{
    for (size_t i = 0; i < sizeof ANSWERS / sizeof ANSWERS[0]; i++)
        if (peer_word_is(command, n, ANSWERS[i].command))
            return ANSWERS[i].answer;
    return A_OK;
}

/* Where an answer goes: to the client, or held for EXEC. */
struct out {
    struct peer *p;
    const struct peer_sink *sink;
    bool queue;
};

static void put(struct out *o, const char *bytes, size_t len)
{
    struct peer *p = o->p;
    if (!o->queue) {
        peer_out(p, o->sink, bytes, len);
    } else if (p->multi_len + len <= PEER_MULTI_MAX) {
        memcpy(p->multi + p->multi_len, bytes, len);
        p->multi_len += len;
    } else {
        p->multi_full = true;
    }
}

static void put_text(struct out *o, const char *text)
{
    put(o, text, strlen(text));
}

static void put_int(struct out *o, long long v)
{
    char line[32];
    int n = snprintf(line, sizeof line, ":%lld\r\n", v);
    put(o, line, (size_t)n);
}

static void put_bulk(struct out *o, const char *bytes, size_t len)
{
    char line[32];
    int n = snprintf(line, sizeof line, "$%zu\r\n", len);
    put(o, line, (size_t)n);
    put(o, bytes, len);
    put(o, "\r\n", 2);
}

static void put_nils(struct out *o, long count)
{
    char line[32];
    int n = snprintf(line, sizeof line, "*%ld\r\n", count < 0 ? 0 : count);
    put(o, line, (size_t)n);
    for (long i = 0; i < count; i++)
        put(o, "$-1\r\n", 5);
}

/* Argument i (1: the key) as a number; 1 when it is none. */
static long long number_arg(const struct peer *p, size_t i)
{
    if (i >= 4 || p->arg_len[i] == 0)
        return 1;
    long long v = 0;
    bool minus = p->arg[i][0] == '-';
    for (size_t k = minus; k < p->arg_len[i]; k++) {
        char c = p->arg[i][k];
        if (c < '0' || c > '9')
            return 1;
        v = v * 10 + (c - '0');
    }
    return minus ? -v : v;
}

static bool arg_is(const struct peer *p, size_t i, const char *word)
{
    return i < 4 && peer_word_is(p->arg[i], p->arg_len[i], word);
}

static void put_hello(struct out *o)
{
    put_text(o, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
                "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
}

static void put_answer(struct out *o, enum answer a, long args)
{
    struct peer *p = o->p;
    static const char INFO[] = "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n";
    switch (a) {
    case A_OK: put_text(o, "+OK\r\n"); break;
    case A_NIL: put_text(o, "$-1\r\n"); break;
    case A_ZERO: put_text(o, ":0\r\n"); break;
    case A_ONE: put_text(o, ":1\r\n"); break;
    case A_KEYS: put_int(o, args - 1); break;
    case A_MEMBERS: put_int(o, args - 2); break;
    case A_PAIRS: put_int(o, (args - 2) / 2); break;
    case A_EMPTY: put_text(o, "*0\r\n"); break;
    case A_NILS: put_nils(o, args - 1); break;
    case A_HNILS: put_nils(o, args - 2); break;
    case A_TTL: put_text(o, ":-2\r\n"); break;
    case A_NONE: put_text(o, "+none\r\n"); break;
    case A_NUMBER: put_int(o, number_arg(p, 2)); break;
    case A_NEGATED: put_int(o, -number_arg(p, 2)); break;
    case A_MINUS1: put_text(o, ":-1\r\n"); break;
    case A_FLOAT: put_bulk(o, p->arg[2], p->arg_len[2]); break;
    case A_PONG:
        if (args > 1)
            put_bulk(o, p->arg[1], p->arg_len[1]);
        else
            put_text(o, "+PONG\r\n");
        break;
    case A_ECHO: put_bulk(o, p->arg[1], p->arg_len[1]); break;
    case A_SCAN: put_text(o, "*2\r\n$1\r\n0\r\n*0\r\n"); break;
    case A_HELLO: put_hello(o); break;
    case A_INFO: put_bulk(o, INFO, sizeof INFO - 1); break;
    case A_CLIENT:
        if (arg_is(p, 1, "ID"))
            put_text(o, ":1\r\n");
        else if (arg_is(p, 1, "GETNAME"))
            put_text(o, "$-1\r\n");
        else if (arg_is(p, 1, "LIST") || arg_is(p, 1, "INFO"))
            put_bulk(o, "", 0);
        else
            put_text(o, "+OK\r\n");
        break;
    case A_SET:
        /* Against no key, SET ... XX sets nothing and SET ... GET finds none. */
        put_text(o, p->set_finds_none ? "$-1\r\n" : "+OK\r\n");
        break;
    case A_CONFIG: put_text(o, arg_is(p, 1, "GET") ? "*0\r\n" : "+OK\r\n"); break;
    default: put_text(o, "+OK\r\n"); break;
    }
}

/* A whole command: answered (or queued), and handed over unless chatter. */
static void command(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink)
{
    const char *cmd = p->arg[0];
    size_t n = p->arg_len[0];
    long args = (long)p->args;
    enum answer a = answer_of(cmd, n);
    struct out o = {p, sink, false};
    bool in_multi = p->queued != UINT32_MAX;
    if (a == A_MULTI) {
        put_text(&o, in_multi ? "-ERR MULTI calls can not be nested\r\n" : "+OK\r\n");
        if (!in_multi) {
            p->queued = 0;
            p->multi_len = 0;
            p->multi_full = false;
        }
    } else if (a == A_EXEC || a == A_DISCARD) {
        if (!in_multi) {
            put_text(&o, a == A_EXEC ? "-ERR EXEC without MULTI\r\n" : "-ERR DISCARD without MULTI\r\n");
        } else if (a == A_DISCARD) {
            put_text(&o, "+OK\r\n");
        } else if (p->multi_full) {
            put_text(&o, "-EXECABORT Transaction discarded because of previous errors.\r\n");
        } else {
            char line[32];
            int k = snprintf(line, sizeof line, "*%u\r\n", p->queued);
            put(&o, line, (size_t)k);
            put(&o, p->multi, p->multi_len);
        }
        if (in_multi)
            p->queued = UINT32_MAX;
    } else {
        if (in_multi) {
            put_text(&o, "+QUEUED\r\n");
            o.queue = true;
            p->queued++;
        }
        put_answer(&o, a, args);
    }
    if (!peer_redis_chatter(cmd, n))
        peer_hand_over(p, sink, impact_of_verb(IMPACT_REDIS, cmd, n, s->impact));
    if (a == A_QUIT)
        peer_hang_up(p, sink);
}

/* Keeps the argument being read: its first bytes for answering, all (as
 * far as they fit) for the record, the command in upper case. */
static void keep_arg(struct peer *p, const unsigned char *b, size_t n)
{
    size_t k = PEER_ARG_MAX - p->cur_len < n ? PEER_ARG_MAX - p->cur_len : n;
    memcpy(p->cur + p->cur_len, b, k);
    p->cur_len += k;
    if (p->args > 0) {
        peer_text_put(p, b, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = (char)b[i];
        c = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        peer_text_put(p, &c, 1);
    }
}

static void begin_command(struct peer *p)
{
    p->args = 0;
    p->cur_len = 0;
    memset(p->arg_len, 0, sizeof p->arg_len);
    p->set_finds_none = false;
    peer_text_clear(p);
}

static void end_arg(struct peer *p)
{
    if (p->args < 4) {
        memcpy(p->arg[p->args], p->cur, p->cur_len);
        p->arg_len[p->args] = p->cur_len;
    }
    if (p->args >= 3 && peer_word_is(p->arg[0], p->arg_len[0], "SET") &&
        (peer_word_is(p->cur, p->cur_len, "XX") || peer_word_is(p->cur, p->cur_len, "GET")))
        p->set_finds_none = true;
    p->cur_len = 0;
    p->args++;
}

static size_t protocol_error(struct peer *p, const struct peer_sink *sink)
{
    peer_out_text(p, sink, "-ERR Protocol error\r\n");
    peer_hang_up(p, sink);
    return p->have;
}

/* "PING\r\n", "SET k v\r\n": words split at blanks (no quoting). */
static size_t inline_command(struct peer *p, const struct peer_settings *s,
                             const struct peer_sink *sink, bool full)
{
    size_t eol;
    long line = peer_line_end(p->head, p->have, &eol);
    if (line < 0)
        return full ? protocol_error(p, sink) : 0;
    begin_command(p);
    const unsigned char *b = p->head;
    for (size_t i = 0; i < (size_t)line;) {
        while (i < (size_t)line && (b[i] == ' ' || b[i] == '\t'))
            i++;
        size_t start = i;
        while (i < (size_t)line && b[i] != ' ' && b[i] != '\t')
            i++;
        if (i > start) {
            if (p->args > 0)
                peer_text_put(p, " ", 1);
            keep_arg(p, b + start, i - start);
            end_arg(p);
        }
    }
    if (p->args > 0)
        command(p, s, sink);
    return (size_t)line + eol;
}

/* "*N\r\n" or "$N\r\n": N into *v. */
static long header_line(struct peer *p, char kind, long long *v, size_t *used)
{
    size_t eol;
    long line = peer_line_end(p->head, p->have < LINE_MAX_ ? p->have : LINE_MAX_, &eol);
    if (line < 0)
        return p->have >= LINE_MAX_ ? -1 : 0;
    if (line < 2 || p->head[0] != (unsigned char)kind)
        return -1;
    long long x = 0;
    bool minus = p->head[1] == '-';
    for (long i = 1 + minus; i < line; i++) {
        if (p->head[i] < '0' || p->head[i] > '9' || x > 512LL * 1024 * 1024)
            return -1;
        x = x * 10 + (p->head[i] - '0');
    }
    *v = minus ? -x : x;
    *used = (size_t)line + eol;
    return 1;
}

size_t peer_redis_step(struct peer *p, const struct peer_settings *s,
                       const struct peer_sink *sink, bool full)
{
    long long v = 0;
    size_t used = 0;
    long got;
    switch (p->state) {
    case START:
        if (p->head[0] != '*')
            return inline_command(p, s, sink, full);
        if ((got = header_line(p, '*', &v, &used)) <= 0)
            return got < 0 ? protocol_error(p, sink) : 0;
        begin_command(p);
        p->args_left = v;
        p->state = v > 0 ? ARG_HEAD : START;
        return used;
    case ARG_HEAD:
        if ((got = header_line(p, '$', &v, &used)) <= 0 || v < 0)
            return got < 0 || v < 0 ? protocol_error(p, sink) : 0;
        if (p->args > 0)
            peer_text_put(p, " ", 1);
        p->left = (uint64_t)v + 2;
        p->state = ARG_DATA;
        return used;
    default: {
        size_t k = p->left < p->have ? (size_t)p->left : p->have;
        size_t data = p->left > 2 ? (size_t)(p->left - 2) : 0;
        keep_arg(p, p->head, k < data ? k : data);
        p->left -= k;
        if (p->left > 0)
            return k;
        end_arg(p);
        if (--p->args_left > 0) {
            p->state = ARG_HEAD;
        } else {
            p->state = START;
            command(p, s, sink);
        }
        return k;
    }
    }
}
