/* The simulated peer's PostgreSQL (protocol 3.0): SSLRequest and
 * GSSENCRequest are declined ('N', so that libpq goes on in the clear),
 * start-up is trusted (AuthenticationOk, the ParameterStatus a client
 * reads, BackendKeyData, ReadyForQuery), and every statement succeeds
 * having touched no row: CommandComplete with its verb and 0, and for a
 * query an empty RowDescription and no DataRow. Simple and extended
 * queries; each statement is handed over, transaction control aside. */
#include "peer_wire.h"

#include <string.h>

enum { STARTUP, TYPED, SKIP };

#define SSL_REQUEST 80877103u
#define GSS_REQUEST 80877104u
#define CANCEL_REQUEST 80877102u
#define PROTOCOL_3 196608u
#define STARTUP_MAX 10000u /* bytes of a start-up packet; the server's own limit */

static void be32_put(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* A message: type, int32 length (itself included), body. */
static void message(struct peer *p, const struct peer_sink *sink, char type, const void *body,
                    size_t len)
{
    unsigned char head[5] = {(unsigned char)type};
    be32_put(head + 1, (uint32_t)(len + 4));
    peer_out(p, sink, head, 5);
    peer_out(p, sink, body, len);
}

/* A message whose body is NUL-terminated strings, given joined by "\0". */
static void strings(struct peer *p, const struct peer_sink *sink, char type, const char *body,
                    size_t len)
{
    message(p, sink, type, body, len);
}

#define STRINGS(p, sink, type, literal) strings(p, sink, type, literal, sizeof literal)

static void ready(struct peer *p, const struct peer_sink *sink)
{
    message(p, sink, 'Z', &p->txn, 1);
}

static void start_up(struct peer *p, const struct peer_sink *sink)
{
    static const unsigned char AUTH_OK[4] = {0};
    static const unsigned char KEY[8] = {0, 0, 0x45, 0x4e, 0x41, 0x43, 0x54, 0x21};
    message(p, sink, 'R', AUTH_OK, 4);
    STRINGS(p, sink, 'S', "server_version\0" "15.0");
    STRINGS(p, sink, 'S', "server_encoding\0" "UTF8");
    STRINGS(p, sink, 'S', "client_encoding\0" "UTF8");
    STRINGS(p, sink, 'S', "DateStyle\0" "ISO, MDY");
    STRINGS(p, sink, 'S', "IntervalStyle\0" "postgres");
    STRINGS(p, sink, 'S', "TimeZone\0" "UTC");
    STRINGS(p, sink, 'S', "integer_datetimes\0" "on");
    STRINGS(p, sink, 'S', "standard_conforming_strings\0" "on");
    STRINGS(p, sink, 'S', "is_superuser\0" "off");
    STRINGS(p, sink, 'S', "application_name\0");
    message(p, sink, 'K', KEY, 8);
    ready(p, sink);
}

static void fatal(struct peer *p, const struct peer_sink *sink, const char *code_and_message,
                  size_t len)
{
    strings(p, sink, 'E', code_and_message, len);
    peer_hang_up(p, sink);
}

#define FATAL(p, sink, literal) fatal(p, sink, literal, sizeof literal)

static size_t take_startup(struct peer *p, const struct peer_sink *sink, bool full)
{
    if (p->have < 8)
        return full ? p->have : 0;
    uint32_t n = peer_be32(p->head), code = peer_be32(p->head + 4);
    if (n < 8 || n > STARTUP_MAX) {
        FATAL(p, sink, "SFATAL\0C08P01\0Minvalid length of startup packet\0");
        return p->have;
    }
    if (p->have < n)
        return full ? (FATAL(p, sink, "SFATAL\0C08P01\0Mstartup packet too long\0"), p->have) : 0;
    if (code == SSL_REQUEST || code == GSS_REQUEST) {
        peer_out(p, sink, "N", 1);
    } else if (code == PROTOCOL_3) {
        start_up(p, sink);
        p->state = TYPED;
    } else if (code == CANCEL_REQUEST) {
        peer_hang_up(p, sink);
    } else {
        FATAL(p, sink, "SFATAL\0C0A000\0Munsupported frontend protocol\0");
    }
    return n;
}

/* ---- statements ---------------------------------------------------------- */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool word_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

/* Past blanks, comments and opening parentheses. */
static size_t skip_space(const char *s, size_t len, size_t i)
{
    for (;;) {
        while (i < len && (blank(s[i]) || s[i] == '('))
            i++;
        if (i + 1 < len && s[i] == '-' && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (i + 1 < len && s[i] == '/' && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i = i + 2 < len ? i + 2 : len;
        } else {
            return i;
        }
    }
}

/* The end of the statement that begins at i: the next ';' outside quotes,
 * dollar quotes and comments, or len. */
static size_t statement_end(const char *s, size_t len, size_t i)
{
    while (i < len) {
        char c = s[i];
        if (c == ';')
            return i;
        if (c == '\'' || c == '"') {
            for (i++; i < len && s[i] != c; i++)
                ;
            i++;
        } else if (c == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            for (i += 2; i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'); i++)
                ;
            i += 2;
        } else if (c == '$') {
            size_t tag = i + 1;
            while (tag < len && word_char(s[tag]))
                tag++;
            if (tag < len && s[tag] == '$') {
                size_t n = tag - i + 1;
                const char *close = NULL;
                for (size_t k = tag + 1; k + n <= len && !close; k++)
                    if (memcmp(s + k, s + i, n) == 0)
                        close = s + k;
                i = close ? (size_t)(close - s) + n : len;
            } else {
                i++;
            }
        } else {
            i++;
        }
    }
    return len;
}

/* The word at *i (advanced past it and the space after it). */
static size_t next_word(const char *s, size_t len, size_t *i, const char **w)
{
    *i = skip_space(s, len, *i);
    *w = s + *i;
    size_t n = 0;
    while (*i + n < len && word_char(s[*i + n]))
        n++;
    *i += n;
    return n;
}

static bool is(const char *w, size_t n, const char *word)
{
    return peer_word_is(w, n, word);
}

/* What a statement is, for its answer. */
struct verb {
    char tag[48];  /* CommandComplete's tag */
    bool rows;     /* answered with a RowDescription */
    bool control;  /* transaction control: answered, not handed over */
    char txn;      /* the transaction state after it, or 0: unchanged */
};

static void tag_put(struct verb *v, const char *w, size_t n)
{
    size_t at = strlen(v->tag);
    if (at > 0 && at + 1 < sizeof v->tag)
        v->tag[at++] = ' ';
    for (size_t i = 0; i < n && at + 1 < sizeof v->tag; i++) {
        char c = w[i];
        v->tag[at++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    v->tag[at] = '\0';
}

/* CREATE, DROP, ALTER: the tag names the object ("CREATE TABLE"). */
static void object_tag(struct verb *v, const char *s, size_t len, size_t i)
{
    static const char MODIFIERS[][11] = {"OR",     "REPLACE", "UNIQUE", "TEMP", "TEMPORARY",
                                         "UNLOGGED", "GLOBAL", "LOCAL", "IF", "NOT",
                                         "EXISTS", "RECURSIVE", "TRUSTED", "PROCEDURAL", ""};
    static const char TWO_WORDS[][13] = {"MATERIALIZED", "FOREIGN", "EVENT", "ACCESS",
                                         "TEXT", "DEFAULT", ""};
    const char *w;
    size_t n;
    for (;;) {
        n = next_word(s, len, &i, &w);
        bool modifier = false;
        for (size_t k = 0; MODIFIERS[k][0] && !modifier; k++)
            modifier = is(w, n, MODIFIERS[k]);
        if (!modifier || n == 0)
            break;
    }
    if (n == 0)
        return;
    tag_put(v, w, n);
    for (size_t k = 0; TWO_WORDS[k][0]; k++)
        if (is(w, n, TWO_WORDS[k]) && (n = next_word(s, len, &i, &w)) > 0)
            tag_put(v, w, n);
}

static struct verb verb_of(const char *s, size_t len)
{
    struct verb v = {.tag = ""};
    size_t i = 0;
    const char *w;
    size_t n = next_word(s, len, &i, &w);
    if (is(w, n, "SELECT") || is(w, n, "VALUES") || is(w, n, "TABLE") || is(w, n, "WITH")) {
        v.rows = true;
        tag_put(&v, "SELECT 0", 8);
    } else if (is(w, n, "SHOW") || is(w, n, "EXPLAIN")) {
        v.rows = true;
        tag_put(&v, w, n);
    } else if (is(w, n, "INSERT")) {
        tag_put(&v, "INSERT 0 0", 10);
    } else if (is(w, n, "UPDATE") || is(w, n, "DELETE") || is(w, n, "MERGE") ||
               is(w, n, "COPY") || is(w, n, "FETCH") || is(w, n, "MOVE")) {
        tag_put(&v, w, n);
        tag_put(&v, "0", 1);
    } else if (is(w, n, "BEGIN") || is(w, n, "START")) {
        v.control = true;
        v.txn = 'T';
        tag_put(&v, is(w, n, "BEGIN") ? "BEGIN" : "START TRANSACTION", is(w, n, "BEGIN") ? 5 : 17);
    } else if (is(w, n, "COMMIT") || is(w, n, "END")) {
        v.control = true;
        v.txn = 'I';
        tag_put(&v, "COMMIT", 6);
    } else if (is(w, n, "ROLLBACK") || is(w, n, "ABORT")) {
        v.control = true;
        size_t at = i;
        const char *to;
        size_t tn = next_word(s, len, &at, &to);
        v.txn = is(to, tn, "TO") ? 0 : 'I'; /* ROLLBACK TO SAVEPOINT stays inside */
        tag_put(&v, "ROLLBACK", 8);
    } else if (is(w, n, "SAVEPOINT") || is(w, n, "RELEASE")) {
        v.control = true;
        tag_put(&v, w, n);
    } else if (is(w, n, "CREATE") || is(w, n, "DROP") || is(w, n, "ALTER")) {
        tag_put(&v, w, n);
        object_tag(&v, s, len, i);
    } else if (is(w, n, "TRUNCATE")) {
        tag_put(&v, "TRUNCATE TABLE", 14);
    } else {
        tag_put(&v, w, n);
    }
    return v;
}

static void complete(struct peer *p, const struct peer_sink *sink, const struct verb *v)
{
    message(p, sink, 'C', v->tag, strlen(v->tag) + 1);
    if (v->txn)
        p->txn = v->txn;
}

static void hand_over(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                      const char *sql, size_t len)
{
    peer_text_clear(p);
    peer_text_put(p, sql, len);
    peer_hand_over(p, sink, impact_of_sql(sql, len, s->impact));
}

/* sql[from, to) without the blanks around it. */
static void trim(const char *sql, size_t *from, size_t *to)
{
    while (*from < *to && blank(sql[*from]))
        (*from)++;
    while (*to > *from && blank(sql[*to - 1]))
        (*to)--;
}

/* A simple query: each statement answered in turn, then ReadyForQuery. */
static void query(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                  const char *sql, size_t len)
{
    bool any = false;
    for (size_t at = 0; at < len;) {
        size_t end = statement_end(sql, len, at), from = at, to = end;
        trim(sql, &from, &to);
        if (skip_space(sql, to, from) < to) {
            struct verb v = verb_of(sql + from, to - from);
            if (v.rows)
                message(p, sink, 'T', "\0", 2); /* no columns */
            complete(p, sink, &v);
            if (!v.control)
                hand_over(p, s, sink, sql + from, to - from);
            any = true;
        }
        at = end + 1;
    }
    if (!any)
        message(p, sink, 'I', NULL, 0);
    ready(p, sink);
}

/* ---- the extended protocol ----------------------------------------------- */

/* The highest $N in a statement: how many parameters it takes. */
static uint16_t parameters(const char *sql, size_t len)
{
    unsigned most = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (sql[i] != '$' || sql[i + 1] < '1' || sql[i + 1] > '9')
            continue;
        unsigned n = 0;
        for (size_t k = i + 1; k < len && sql[k] >= '0' && sql[k] <= '9' && n < 10000; k++)
            n = n * 10 + (unsigned)(sql[k] - '0');
        most = n > most ? n : most;
    }
    return (uint16_t)(most > 1000 ? 1000 : most);
}

static void parse(struct peer *p, const unsigned char *body, size_t len)
{
    const unsigned char *name_end = memchr(body, '\0', len);
    size_t at = name_end ? (size_t)(name_end - body) + 1 : len;
    const unsigned char *sql_end = at < len ? memchr(body + at, '\0', len - at) : NULL;
    size_t n = (sql_end ? (size_t)(sql_end - body) : len) - at;
    n = n < sizeof p->statement ? n : sizeof p->statement;
    memcpy(p->statement, body + at, n);
    p->statement_len = n;
}

static void describe(struct peer *p, const struct peer_sink *sink, const unsigned char *body,
                     size_t len)
{
    struct verb v = verb_of(p->statement, p->statement_len);
    if (len > 0 && body[0] == 'S') {
        uint16_t n = parameters(p->statement, p->statement_len);
        unsigned char desc[2 + 4 * 1000];
        desc[0] = (unsigned char)(n >> 8);
        desc[1] = (unsigned char)n;
        for (uint16_t i = 0; i < n; i++)
            be32_put(desc + 2 + 4 * i, 25); /* text: the client's values pass as written */
        message(p, sink, 't', desc, 2 + 4 * (size_t)n);
    }
    if (v.rows)
        message(p, sink, 'T', "\0", 2);
    else
        message(p, sink, 'n', NULL, 0);
}

static void execute(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink)
{
    size_t from = 0, to = p->statement_len;
    trim(p->statement, &from, &to);
    if (skip_space(p->statement, to, from) >= to) {
        message(p, sink, 'I', NULL, 0);
        return;
    }
    struct verb v = verb_of(p->statement + from, to - from);
    complete(p, sink, &v);
    if (!v.control)
        hand_over(p, s, sink, p->statement + from, to - from);
}

static void typed(struct peer *p, const struct peer_settings *s, const struct peer_sink *sink,
                  unsigned char type, const unsigned char *body, size_t len)
{
    static const unsigned char NULL_RESULT[4] = {0xff, 0xff, 0xff, 0xff};
    switch (type) {
    case 'Q': {
        size_t n = len > 0 && body[len - 1] == '\0' ? len - 1 : len;
        query(p, s, sink, (const char *)body, n);
        break;
    }
    case 'P':
        parse(p, body, len);
        message(p, sink, '1', NULL, 0);
        break;
    case 'B': message(p, sink, '2', NULL, 0); break;
    case 'D': describe(p, sink, body, len); break;
    case 'E': execute(p, s, sink); break;
    case 'S': ready(p, sink); break;
    case 'C': message(p, sink, '3', NULL, 0); break;
    case 'F':
        message(p, sink, 'V', NULL_RESULT, 4);
        ready(p, sink);
        break;
    case 'X': peer_hang_up(p, sink); break;
    case 'H':
    case 'p':
    case 'd':
    case 'c':
    case 'f': break;
    default: FATAL(p, sink, "SFATAL\0C08P01\0Minvalid frontend message type\0");
    }
}

size_t peer_postgresql_step(struct peer *p, const struct peer_settings *s,
                            const struct peer_sink *sink, bool full)
{
    if (p->state == STARTUP)
        return take_startup(p, sink, full);
    if (p->state == SKIP) {
        size_t k = p->left < p->have ? (size_t)p->left : p->have;
        p->left -= k;
        if (p->left == 0)
            p->state = TYPED;
        return k;
    }
    if (p->have < 5)
        return 0;
    uint32_t n = peer_be32(p->head + 1);
    if (n < 4) {
        FATAL(p, sink, "SFATAL\0C08P01\0Minvalid message length\0");
        return p->have;
    }
    uint64_t total = (uint64_t)n + 1;
    if (total > p->have && !full)
        return 0;
    /* A message longer than the buffer is answered from its beginning
     * (a statement cut for its record) and the rest dropped as it comes. */
    size_t held = total < p->have ? (size_t)total : p->have;
    typed(p, s, sink, p->head[0], p->head + 5, held - 5);
    if (total > held) {
        p->state = SKIP;
        p->left = total - held;
    }
    return held;
}
