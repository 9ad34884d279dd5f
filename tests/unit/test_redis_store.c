/* Unit tests for redis_store.c (and redis_link.c under it), the client
 * side, against a fake Redis this test runs in a thread on a unix socket
 * or a loopback TCP port: it records every command it reads and answers
 * from the test's script. What is asserted: one EVALSHA per decision with
 * the keys of the limits the call has, under the fleet's hash tag; the
 * script's answers read as admissions and refusals; NOSCRIPT answered by
 * EVAL of the body; AUTH and SELECT sent in the same write as the first
 * command of a connection; the fallback (local store or backend_down) when
 * the backend refuses, is not there, never answers or answers nonsense;
 * the back-off and the health changes reported once each; MOVED and ASK
 * followed; a breaker's outcome sent and its state change read. No real
 * redis-server runs here (the integration tests run one). */
#include "helpers.h"

#include "breaker.h"
#include "bucket.h"
#include "quota.h"
#include "redis_limits_lua.h"
#include "redis_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#define MS UINT64_C(1000000)
#define NONCE UINT64_C(0x1234)
#define OWNER 77
#define OWNER_TEXT "0000000000001234:77"
#define AGENT "unit-agent"

#define ADMIT_REPLY "*11\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n"

/* ---- the fake server ------------------------------------------------------ */

#define FAKE_CONNS 8
#define FAKE_CMDS 64
#define FAKE_ARGS 32
#define FAKE_REPLY 256

struct fake_cmd {
    int conn;           /* the accepted connection it came on, from 0 */
    int replies_before; /* replies the fake had sent on that connection by then */
    int argc;
    char *argv[FAKE_ARGS]; /* NUL-terminated copies */
    size_t lens[FAKE_ARGS];
};

struct fake_conn {
    int fd; /* -1: free */
    int id;
    int replies;
    char *buf;
    size_t have, cap;
};

struct fake {
    bool started;
    int lfd;
    int stop[2];
    pthread_t thread;
    char path[PATH_MAX]; /* unix: the socket's path, else "" */
    uint16_t port;       /* TCP: the port bind chose */
    pthread_mutex_t mu;
    /* The answers, guarded by mu: "" answers nothing, ever. */
    char auth[FAKE_REPLY], select[FAKE_REPLY], asking[FAKE_REPLY];
    char evalsha[FAKE_REPLY], eval[FAKE_REPLY];
    /* What it saw, guarded by mu. */
    int accepts;
    int ncmds;
    struct fake_cmd cmds[FAKE_CMDS];
    struct fake_conn conns[FAKE_CONNS]; /* the server thread's own */
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    f->lfd = -1;
    f->stop[0] = f->stop[1] = -1;
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->auth, sizeof f->auth, "+OK\r\n");
    snprintf(f->select, sizeof f->select, "+OK\r\n");
    snprintf(f->asking, sizeof f->asking, "+OK\r\n");
    snprintf(f->evalsha, sizeof f->evalsha, ADMIT_REPLY);
    snprintf(f->eval, sizeof f->eval, ADMIT_REPLY);
    for (int k = 0; k < FAKE_CONNS; k++)
        f->conns[k].fd = -1;
}

/* Sets one of f's answers while its thread may run. */
static void fake_answer(struct fake *f, char *which, const char *reply)
{
    pthread_mutex_lock(&f->mu);
    snprintf(which, FAKE_REPLY, "%s", reply);
    pthread_mutex_unlock(&f->mu);
}

/* The server thread's allocations: no cmocka assert there (it would
 * jump out of another thread). */
static void *must(void *p)
{
    if (!p)
        abort();
    return p;
}

/* "*N\r\n" or "$N\r\n" at buf[*i]: 1 with *out, 0 when not all there yet,
 * -1 when malformed. */
static int number_line(const char *buf, size_t len, size_t *i, char kind, long *out)
{
    if (*i >= len)
        return 0;
    if (buf[*i] != kind)
        return -1;
    long v = 0;
    size_t k = *i + 1;
    for (; k < len && buf[k] != '\r'; k++) {
        if (buf[k] < '0' || buf[k] > '9' || v > 100000000)
            return -1;
        v = v * 10 + (buf[k] - '0');
    }
    if (k + 1 >= len)
        return 0;
    if (buf[k + 1] != '\n' || k == *i + 1)
        return -1;
    *i = k + 2;
    *out = v;
    return 1;
}

/* One command (an array of bulk strings) from buf[0, len), copied into c
 * unless c is NULL: the bytes it took, 0 when incomplete, -1 malformed. */
static long parse_command(const char *buf, size_t len, struct fake_cmd *c)
{
    size_t i = 0;
    long argc;
    int rc = number_line(buf, len, &i, '*', &argc);
    if (rc <= 0)
        return rc;
    if (argc < 1 || argc > FAKE_ARGS)
        return -1;
    size_t off[FAKE_ARGS], lens[FAKE_ARGS];
    for (long a = 0; a < argc; a++) {
        long n;
        rc = number_line(buf, len, &i, '$', &n);
        if (rc <= 0)
            return rc;
        if (len - i < (size_t)n + 2)
            return 0;
        if (buf[i + (size_t)n] != '\r' || buf[i + (size_t)n + 1] != '\n')
            return -1;
        off[a] = i;
        lens[a] = (size_t)n;
        i += (size_t)n + 2;
    }
    if (c) {
        c->argc = (int)argc;
        for (long a = 0; a < argc; a++) {
            c->argv[a] = must(malloc(lens[a] + 1));
            memcpy(c->argv[a], buf + off[a], lens[a]);
            c->argv[a][lens[a]] = '\0';
            c->lens[a] = lens[a];
        }
    }
    return (long)i;
}

/* The answer to c by f's script, into out (under f->mu). */
static void answer_of(struct fake *f, const struct fake_cmd *c, char out[FAKE_REPLY])
{
    const char *name = c->argv[0];
    const char *r = "-ERR unknown command\r\n";
    if (strcasecmp(name, "AUTH") == 0)
        r = f->auth;
    else if (strcasecmp(name, "SELECT") == 0)
        r = f->select;
    else if (strcasecmp(name, "ASKING") == 0)
        r = f->asking;
    else if (strcasecmp(name, "EVALSHA") == 0)
        r = f->evalsha;
    else if (strcasecmp(name, "EVAL") == 0)
        r = f->eval;
    snprintf(out, FAKE_REPLY, "%s", r);
}

static void conn_close(struct fake_conn *c)
{
    close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->have = c->cap = 0;
}

static void accept_one(struct fake *f)
{
    int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (int k = 0; k < FAKE_CONNS; k++) {
        struct fake_conn *c = &f->conns[k];
        if (c->fd >= 0)
            continue;
        pthread_mutex_lock(&f->mu);
        c->id = f->accepts++;
        pthread_mutex_unlock(&f->mu);
        c->fd = fd;
        c->replies = 0;
        c->have = 0;
        c->cap = 16384;
        c->buf = must(malloc(c->cap));
        return;
    }
    close(fd);
}

/* Reads what c has sent, records each whole command, then answers all of
 * them in one write: commands that came in one write are all seen before
 * any answer goes out. */
static void serve_conn(struct fake *f, struct fake_conn *c)
{
    if (c->cap - c->have < 4096) {
        c->cap *= 2;
        c->buf = must(realloc(c->buf, c->cap));
    }
    ssize_t n = read(c->fd, c->buf + c->have, c->cap - c->have);
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->have += (size_t)n;
    char out[FAKE_CMDS * FAKE_REPLY];
    size_t used = 0, olen = 0;
    int answered = 0;
    for (;;) {
        struct fake_cmd cmd = {0};
        long took = parse_command(c->buf + used, c->have - used, &cmd);
        if (took == 0)
            break;
        if (took < 0) {
            conn_close(c);
            return;
        }
        used += (size_t)took;
        char reply[FAKE_REPLY];
        pthread_mutex_lock(&f->mu);
        answer_of(f, &cmd, reply);
        cmd.conn = c->id;
        cmd.replies_before = c->replies;
        bool kept = f->ncmds < FAKE_CMDS;
        if (kept)
            f->cmds[f->ncmds++] = cmd;
        pthread_mutex_unlock(&f->mu);
        if (!kept)
            for (int a = 0; a < cmd.argc; a++)
                free(cmd.argv[a]);
        size_t rl = strlen(reply);
        if (rl > 0 && olen + rl <= sizeof out) {
            memcpy(out + olen, reply, rl);
            olen += rl;
            answered++;
        }
    }
    memmove(c->buf, c->buf + used, c->have - used);
    c->have -= used;
    for (size_t sent = 0; sent < olen;) {
        ssize_t w = send(c->fd, out + sent, olen - sent, MSG_NOSIGNAL);
        if (w <= 0) {
            conn_close(c);
            return;
        }
        sent += (size_t)w;
    }
    c->replies += answered;
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        struct pollfd p[2 + FAKE_CONNS];
        int which[FAKE_CONNS];
        int np = 0;
        p[np++] = (struct pollfd){.fd = f->stop[0], .events = POLLIN};
        p[np++] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
        for (int k = 0; k < FAKE_CONNS; k++)
            if (f->conns[k].fd >= 0) {
                which[np - 2] = k;
                p[np++] = (struct pollfd){.fd = f->conns[k].fd, .events = POLLIN};
            }
        int rc = poll(p, (nfds_t)np, 1000);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || p[0].revents)
            break;
        if (p[1].revents & POLLIN)
            accept_one(f);
        for (int j = 2; j < np; j++)
            if (p[j].revents)
                serve_conn(f, &f->conns[which[j - 2]]);
    }
    return NULL;
}

static void fake_run(struct fake *f)
{
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(pipe2(f->stop, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
    f->started = true;
}

/* Listens on a unix socket at path. */
static void fake_start_unix(struct fake *f, const char *path)
{
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof un.sun_path);
    snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&un, sizeof un), 0);
    snprintf(f->path, sizeof f->path, "%s", path);
    fake_run(f);
}

/* Listens on 127.0.0.1, on a port bind chooses (f->port). */
static void fake_start_tcp(struct fake *f)
{
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = 0};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&in, sizeof in), 0);
    socklen_t len = sizeof in;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&in, &len), 0);
    f->port = ntohs(in.sin_port);
    fake_run(f);
}

static void fake_stop(struct fake *f)
{
    if (f->started) {
        char b = 1;
        assert_int_equal(write(f->stop[1], &b, 1), 1);
        assert_int_equal(pthread_join(f->thread, NULL), 0);
        f->started = false;
    }
    for (int k = 0; k < FAKE_CONNS; k++)
        if (f->conns[k].fd >= 0)
            conn_close(&f->conns[k]);
    if (f->lfd >= 0)
        close(f->lfd);
    if (f->stop[0] >= 0) {
        close(f->stop[0]);
        close(f->stop[1]);
    }
    f->lfd = f->stop[0] = f->stop[1] = -1;
    if (f->path[0])
        unlink(f->path);
    f->path[0] = '\0';
    for (int i = 0; i < f->ncmds; i++)
        for (int a = 0; a < f->cmds[i].argc; a++)
            free(f->cmds[i].argv[a]);
    f->ncmds = 0;
    pthread_mutex_destroy(&f->mu);
}

static int fake_ncmds(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->ncmds;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int fake_accepts(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->accepts;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* The i-th command it read (recorded before its answer went out, so any
 * command the client had an answer to is there). */
static const struct fake_cmd *fake_cmd(struct fake *f, int i)
{
    assert_true(i < fake_ncmds(f));
    return &f->cmds[i];
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits (at most 2 s) until f has read n commands. */
static void wait_cmds(struct fake *f, int n)
{
    uint64_t until = mono_ns() + 2000 * MS;
    while (fake_ncmds(f) < n && mono_ns() < until)
        sleep_ns(1 * MS);
    assert_true(fake_ncmds(f) >= n);
}

/* ---- the local store to fall back on -------------------------------------- */

struct local_stub {
    int admits;
    int reports;
};

static struct store_admission stub_admit(void *impl, const struct store_limits *l,
                                         const struct store_now *now)
{
    (void)l;
    (void)now;
    ((struct local_stub *)impl)->admits++;
    return (struct store_admission){.answer = STORE_ADMITTED};
}

static void stub_report(void *impl, const struct breaker_policy *policy, uint64_t breaker_key,
                        const struct store_now *now, enum call_outcome outcome,
                        struct breaker_event *ev)
{
    (void)policy;
    (void)breaker_key;
    (void)now;
    (void)outcome;
    ((struct local_stub *)impl)->reports++;
    ev->changed = false;
}

static const struct store_ops STUB_OPS = {.admit = stub_admit, .report = stub_report};

static struct store stub_get(void *ctx)
{
    return (struct store){.ops = &STUB_OPS, .impl = ctx};
}

/* ---- fixture --------------------------------------------------------------- */

struct fixture {
    char *dir;
    char sock[PATH_MAX];
    struct fake a, b;
    struct local_stub local;
    struct redis_options opt;
    struct redis_store *rs;
    bool rs_open;
    struct rate_policy rate;
    struct breaker_policy breaker;
    struct quota_policy tool_quota, agent_quota;
    struct store_now now;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->rs = calloc(1, sizeof *f->rs);
    if (!f->rs)
        return -1;
    f->dir = th_mkdtemp();
    th_path(f->sock, sizeof f->sock, f->dir, "redis.sock");
    fake_init(&f->a);
    fake_init(&f->b);
    if (!rate_policy_init(&f->rate, 60, 5) || !breaker_policy_init(&f->breaker, 3, 1, 30, 5) ||
        !quota_policy_init(&f->tool_quota, 100, 1) ||
        !quota_policy_init(&f->agent_quota, 1000, 24))
        return -1;
    f->now = (struct store_now){.owner = OWNER, .mono_ns = 1000 * MS, .real_ns = 2000 * MS};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->rs_open)
        redis_store_close(f->rs);
    fake_stop(&f->a);
    fake_stop(&f->b);
    th_rmtree(f->dir);
    free(f->rs);
    free(f);
    return 0;
}

/* A store on url (closing the one before), its fallback the stub. */
static void open_store(struct fixture *f, const char *url, bool fallback_local,
                       uint64_t timeout_ns, const char *password_file)
{
    if (f->rs_open)
        redis_store_close(f->rs);
    memset(&f->opt, 0, sizeof f->opt);
    char why[160];
    assert_true(redis_url_parse(url, &f->opt.url, why, sizeof why));
    snprintf(f->opt.password_file, sizeof f->opt.password_file, "%s",
             password_file ? password_file : "");
    snprintf(f->opt.prefix, sizeof f->opt.prefix, "fleet");
    snprintf(f->opt.agent, sizeof f->opt.agent, AGENT);
    f->opt.timeout_ns = timeout_ns;
    f->opt.fallback_local = fallback_local;
    memset(f->rs, 0, sizeof *f->rs); /* redis_store_init wants zeroed memory */
    redis_store_init(f->rs, &f->opt, (struct redis_fallback){stub_get, &f->local}, NONCE);
    f->rs_open = true;
}

static void open_unix(struct fixture *f, bool fallback_local, uint64_t timeout_ns)
{
    char url[PATH_MAX + 32];
    snprintf(url, sizeof url, "redis+unix://%s", f->sock);
    open_store(f, url, fallback_local, timeout_ns, NULL);
}

static void open_tcp(struct fixture *f, const char *userinfo, uint16_t port, const char *tail,
                     bool fallback_local)
{
    char url[512];
    snprintf(url, sizeof url, "redis://%s127.0.0.1:%u%s", userinfo, port, tail);
    open_store(f, url, fallback_local, 1000 * MS, NULL);
}

static struct store_limits rate_only(struct fixture *f)
{
    return (struct store_limits){.rate = &f->rate, .bucket_key = 0xabc};
}

static struct store_admission admit(struct fixture *f, const struct store_limits *l)
{
    struct store s = redis_store(f->rs);
    return s.ops->admit(s.impl, l, &f->now);
}

static void assert_arg(const struct fake_cmd *c, int i, const char *want)
{
    assert_true(i < c->argc);
    assert_string_equal(c->argv[i], want);
}

/* ---- tests ----------------------------------------------------------------- */

/* A decision is one EVALSHA of the script: numkeys and keys are those of
 * the limits the call has, under the hash tag {fleet}; the script's
 * arguments follow. An admission is ADMITTED and the connection is kept. */
static void test_admitted_one_evalsha(void **state)
{
    struct fixture *f = *state;
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits l = rate_only(f);
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_false(a.probe);
    assert_false(a.breaker.changed);
    assert_int_equal(f->local.admits, 0);
    assert_int_equal(fake_ncmds(&f->a), 1);
    const struct fake_cmd *c = fake_cmd(&f->a, 0);
    assert_int_equal(c->argc, 3 + 2 + 14);
    assert_arg(c, 0, "EVALSHA");
    assert_arg(c, 1, REDIS_LIMITS_SHA1);
    assert_arg(c, 2, "2");
    assert_arg(c, 3, "{fleet}:t:0000000000000abc");
    assert_arg(c, 4, "{fleet}:agents");
    assert_arg(c, 5, "admit");
    assert_arg(c, 6, OWNER_TEXT);
    assert_arg(c, 7, "0");       /* no breaker: no probes */
    assert_arg(c, 8, "0");       /* open_us */
    assert_arg(c, 9, "0");       /* probe_us */
    assert_arg(c, 10, "1000000"); /* 60 a minute: 1 s */
    assert_arg(c, 11, "4000000"); /* burst 5: 4 intervals */
    assert_arg(c, 12, "0");       /* no tool quota */
    assert_arg(c, 14, "0");       /* no agent quota */
    assert_arg(c, 16, AGENT);

    /* The next decision goes over the same connection. */
    a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 2);
    assert_arg(fake_cmd(&f->a, 1), 0, "EVALSHA");
    assert_int_equal(fake_cmd(&f->a, 1)->conn, 0);
    assert_int_equal(fake_accepts(&f->a), 1);
    assert_int_equal(f->local.admits, 0);
    bool up;
    char why[192];
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));
}

/* Every limit: the keys breaker, bucket, tool quota, agent quota, then the
 * agents; a breaker alone: its key and the agents. */
static void test_keys_follow_limits(void **state)
{
    struct fixture *f = *state;
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits all = {.breaker = &f->breaker,
                               .breaker_key = 1,
                               .rate = &f->rate,
                               .bucket_key = 2,
                               .tool_quota = &f->tool_quota,
                               .tool_quota_key = 3,
                               .agent_quota = &f->agent_quota,
                               .agent_quota_key = 0xfedcba9876543210ull};
    assert_int_equal(admit(f, &all).answer, STORE_ADMITTED);
    const struct fake_cmd *c = fake_cmd(&f->a, 0);
    assert_int_equal(c->argc, 3 + 5 + 14);
    assert_arg(c, 2, "5");
    assert_arg(c, 3, "{fleet}:b:0000000000000001");
    assert_arg(c, 4, "{fleet}:t:0000000000000002");
    assert_arg(c, 5, "{fleet}:q:0000000000000003");
    assert_arg(c, 6, "{fleet}:q:fedcba9876543210");
    assert_arg(c, 7, "{fleet}:agents");
    assert_arg(c, 8, "admit");
    assert_arg(c, 10, "1");           /* success_threshold */
    assert_arg(c, 11, "30000000");    /* open: 30 s */
    assert_arg(c, 12, "5000000");     /* probe: 5 s */
    assert_arg(c, 15, "100");         /* tool quota */
    assert_arg(c, 16, "60000000.000"); /* 1 h / 60, in us */
    assert_arg(c, 17, "1000");
    assert_arg(c, 18, "1440000000.000"); /* 24 h / 60 */
    assert_arg(c, 19, AGENT);

    struct store_limits breaker = {.breaker = &f->breaker, .breaker_key = 9};
    assert_int_equal(admit(f, &breaker).answer, STORE_ADMITTED);
    c = fake_cmd(&f->a, 1);
    assert_int_equal(c->argc, 3 + 2 + 14);
    assert_arg(c, 2, "2");
    assert_arg(c, 3, "{fleet}:b:0000000000000009");
    assert_arg(c, 4, "{fleet}:agents");
    assert_arg(c, 10, "0"); /* no rate */

    /* No limit at all: the agents' set only. */
    struct store_limits none = {0};
    assert_int_equal(admit(f, &none).answer, STORE_ADMITTED);
    c = fake_cmd(&f->a, 2);
    assert_arg(c, 2, "1");
    assert_arg(c, 3, "{fleet}:agents");
    assert_arg(c, 4, "admit");
    assert_int_equal(f->local.admits, 0);
}

/* quota.warn_remaining: each quota with a warn level adds the marker of
 * its last quota_low, {fleet}:w:<its quota key>, after the agents' set
 * (the tool's first), and the last two arguments are the warn levels
 * (-1: that quota does not warn). */
static void test_quota_warn_keys_and_levels(void **state)
{
    struct fixture *f = *state;
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits l = {.tool_quota = &f->tool_quota,
                             .tool_quota_key = 3,
                             .agent_quota = &f->agent_quota,
                             .agent_quota_key = 0xfedcba9876543210ull,
                             .tool_quota_warns = true,
                             .tool_quota_warn = 3,
                             .agent_quota_warns = true,
                             .agent_quota_warn = 50};
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    const struct fake_cmd *c = fake_cmd(&f->a, 0);
    assert_int_equal(c->argc, 3 + 5 + 14);
    assert_arg(c, 2, "5");
    assert_arg(c, 3, "{fleet}:q:0000000000000003");
    assert_arg(c, 4, "{fleet}:q:fedcba9876543210");
    assert_arg(c, 5, "{fleet}:agents");
    assert_arg(c, 6, "{fleet}:w:0000000000000003");
    assert_arg(c, 7, "{fleet}:w:fedcba9876543210");
    assert_arg(c, 8, "admit");
    assert_arg(c, 15, "100");  /* tool quota max */
    assert_arg(c, 17, "1000"); /* agent quota max */
    assert_arg(c, 19, AGENT);
    assert_arg(c, 20, "3");
    assert_arg(c, 21, "50");

    /* The agent's quota alone warns: its marker only, the tool's level -1. */
    l.tool_quota_warns = false;
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    c = fake_cmd(&f->a, 1);
    assert_int_equal(c->argc, 3 + 4 + 14);
    assert_arg(c, 2, "4");
    assert_arg(c, 5, "{fleet}:agents");
    assert_arg(c, 6, "{fleet}:w:fedcba9876543210");
    assert_arg(c, 7, "admit");
    assert_arg(c, 19, "-1");
    assert_arg(c, 20, "50");

    /* A warn level without its quota is no warn: no marker, -1. */
    struct store_limits orphan = {.agent_quota = &f->agent_quota,
                                  .agent_quota_key = 0x44,
                                  .tool_quota_warns = true,
                                  .tool_quota_warn = 3};
    assert_int_equal(admit(f, &orphan).answer, STORE_ADMITTED);
    c = fake_cmd(&f->a, 2);
    assert_int_equal(c->argc, 3 + 2 + 14);
    assert_arg(c, 2, "2");
    assert_arg(c, 3, "{fleet}:q:0000000000000044");
    assert_arg(c, 4, "{fleet}:agents");
    assert_arg(c, 5, "admit");
    assert_arg(c, 17, "-1");
    assert_arg(c, 18, "-1");
    assert_int_equal(f->local.admits, 0);
}

/* The quotas' low flags and what is left: items 7..10 of the reply. */
static void test_quota_low_read_from_reply(void **state)
{
    struct fixture *f = *state;
    snprintf(f->a.evalsha, sizeof f->a.evalsha,
             "*11\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:1\r\n:3\r\n:0\r\n:0\r\n");
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits l = {.tool_quota = &f->tool_quota, .tool_quota_key = 3,
                             .tool_quota_warns = true, .tool_quota_warn = 3};
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_true(a.tool_quota_low);
    assert_int_equal(a.tool_quota_left, 3);
    assert_false(a.agent_quota_low);
    assert_int_equal(a.agent_quota_left, 0);
    assert_false(a.probe);
    assert_false(a.breaker.changed);

    /* The agent's quota: items 9 and 10; a tool quota with some left, not low. */
    fake_answer(&f->a, f->a.evalsha,
                "*11\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:42\r\n:1\r\n:7\r\n");
    a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_false(a.tool_quota_low);
    assert_int_equal(a.tool_quota_left, 42);
    assert_true(a.agent_quota_low);
    assert_int_equal(a.agent_quota_left, 7);
    assert_int_equal(f->local.admits, 0);
}

/* An admission holding a probe lease, with a breaker change: read from
 * items 3..6. */
static void test_admitted_probe_and_change(void **state)
{
    struct fixture *f = *state;
    snprintf(f->a.evalsha, sizeof f->a.evalsha, "*11\r\n:0\r\n:0\r\n:0\r\n:1\r\n:1\r\n:1\r\n:2\r\n:0\r\n:0\r\n:0\r\n:0\r\n");
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits l = {.breaker = &f->breaker, .breaker_key = 5};
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_true(a.probe);
    assert_true(a.breaker.changed);
    assert_int_equal(a.breaker.from, BREAKER_OPEN);
    assert_int_equal(a.breaker.to, BREAKER_HALF_OPEN);
    assert_int_equal(f->local.admits, 0);
}

/* A refusal: its reason by code, retry_us in ns. */
static void test_refusals(void **state)
{
    struct fixture *f = *state;
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store_limits l = rate_only(f);
    static const struct {
        const char *reply, *reason;
        uint64_t retry_ns;
    } cases[] = {
        {"*11\r\n:1\r\n:2\r\n:1500\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", "rate_limited", 1500 * 1000},
        {"*11\r\n:1\r\n:1\r\n:30000000\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", "circuit_open",
         UINT64_C(30000000) * 1000},
        {"*11\r\n:1\r\n:3\r\n:7\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n", "quota_exceeded", 7000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_answer(&f->a, f->a.evalsha, cases[i].reply);
        struct store_admission a = admit(f, &l);
        assert_int_equal(a.answer, STORE_REFUSED);
        assert_non_null(a.reason);
        assert_string_equal(a.reason, cases[i].reason);
        assert_int_equal(a.retry_after_ns, cases[i].retry_ns);
    }
    assert_int_equal(fake_ncmds(&f->a), 3);
    assert_int_equal(f->local.admits, 0);
}

/* NOSCRIPT: the same call again as EVAL of the body, in the one admit;
 * the next decision is an EVALSHA again. */
static void test_noscript_then_eval(void **state)
{
    struct fixture *f = *state;
    snprintf(f->a.evalsha, sizeof f->a.evalsha, "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    fake_start_unix(&f->a, f->sock);
    open_unix(f, false, 1000 * MS);
    struct store_limits l = rate_only(f);
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 2);
    const struct fake_cmd *sha = fake_cmd(&f->a, 0), *body = fake_cmd(&f->a, 1);
    assert_arg(sha, 0, "EVALSHA");
    assert_arg(body, 0, "EVAL");
    assert_true(th_starts_with(body->argv[1], "local op = ARGV[1]"));
    assert_string_equal(body->argv[1], REDIS_LIMITS_LUA);
    assert_int_equal(body->argc, sha->argc);
    for (int i = 2; i < sha->argc; i++)
        assert_string_equal(body->argv[i], sha->argv[i]);
    assert_int_equal(body->conn, sha->conn);

    fake_answer(&f->a, f->a.evalsha, ADMIT_REPLY);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 3);
    assert_arg(fake_cmd(&f->a, 2), 0, "EVALSHA");
    assert_int_equal(f->local.admits, 0);
}

/* A new connection says AUTH and SELECT before its first command, in the
 * same write: the fake reads all three before it answers any. Later
 * commands on it say no hello. */
static void test_hello_pipelined(void **state)
{
    struct fixture *f = *state;
    fake_start_tcp(&f->a);
    open_tcp(f, "enact:s3cret@", f->a.port, "/3", false);
    struct store_limits l = rate_only(f);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 3);
    const struct fake_cmd *auth = fake_cmd(&f->a, 0), *sel = fake_cmd(&f->a, 1),
                          *sha = fake_cmd(&f->a, 2);
    assert_int_equal(auth->argc, 3);
    assert_arg(auth, 0, "AUTH");
    assert_arg(auth, 1, "enact");
    assert_arg(auth, 2, "s3cret");
    assert_int_equal(sel->argc, 2);
    assert_arg(sel, 0, "SELECT");
    assert_arg(sel, 1, "3");
    assert_arg(sha, 0, "EVALSHA");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fake_cmd(&f->a, i)->conn, 0);
        assert_int_equal(fake_cmd(&f->a, i)->replies_before, 0);
    }
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 4);
    assert_arg(fake_cmd(&f->a, 3), 0, "EVALSHA");
    assert_int_equal(fake_cmd(&f->a, 3)->conn, 0);
    assert_int_equal(fake_cmd(&f->a, 3)->replies_before, 3);

    /* A password only (redis://:PASSWORD@), database 0: AUTH PASSWORD. */
    open_tcp(f, ":only@", f->a.port, "", false);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 6);
    assert_int_equal(fake_cmd(&f->a, 4)->argc, 2);
    assert_arg(fake_cmd(&f->a, 4), 0, "AUTH");
    assert_arg(fake_cmd(&f->a, 4), 1, "only");
    assert_arg(fake_cmd(&f->a, 5), 0, "EVALSHA");
    assert_int_equal(fake_cmd(&f->a, 5)->replies_before, 0);

    /* A user in the URL, the password from the first line of a file. */
    char pw[PATH_MAX], url[256];
    th_path(pw, sizeof pw, f->dir, "password");
    th_write_file(pw, "from-file\nsecond line\n");
    snprintf(url, sizeof url, "redis://enact@127.0.0.1:%u", f->a.port);
    open_store(f, url, false, 1000 * MS, pw);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 8);
    assert_int_equal(fake_cmd(&f->a, 6)->argc, 3);
    assert_arg(fake_cmd(&f->a, 6), 1, "enact");
    assert_arg(fake_cmd(&f->a, 6), 2, "from-file");

    /* No password, no database: the EVALSHA alone. */
    open_tcp(f, "", f->a.port, "", false);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 9);
    assert_arg(fake_cmd(&f->a, 8), 0, "EVALSHA");
    assert_int_equal(fake_accepts(&f->a), 4);
}

/* A refused password is a failure, whatever follows it: the local store
 * decides (on_down = local) or the answer is backend_down. */
static void test_auth_refused_falls_back(void **state)
{
    struct fixture *f = *state;
    snprintf(f->a.auth, sizeof f->a.auth,
             "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    fake_start_tcp(&f->a);
    open_tcp(f, "enact:wrong@", f->a.port, "/3", true);
    struct store_limits l = rate_only(f);
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_int_equal(f->local.admits, 1);
    assert_int_equal(fake_ncmds(&f->a), 3); /* AUTH, SELECT and the EVALSHA were sent */
    bool up = true;
    char why[192];
    assert_true(redis_store_health_change(f->rs, &up, why, sizeof why));
    assert_false(up);
    assert_non_null(strstr(why, "authentication refused"));
    assert_non_null(strstr(why, "WRONGPASS"));
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));

    open_tcp(f, "enact:wrong@", f->a.port, "/3", false);
    a = admit(f, &l);
    assert_int_equal(a.answer, STORE_UNAVAILABLE);
    assert_non_null(a.reason);
    assert_string_equal(a.reason, "backend_down");
    assert_int_equal(f->local.admits, 1);
}

/* Nothing listening: the first call falls back and reports the backend
 * down once; during the back-off (100 ms) no connection is tried; after
 * it the next call connects, and the backend is reported up once. */
static void test_down_backoff_up(void **state)
{
    struct fixture *f = *state;
    open_unix(f, true, 1000 * MS);
    struct store_limits l = rate_only(f);
    bool up = true;
    char why[192];
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));

    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    uint64_t failed_at = mono_ns();
    assert_int_equal(f->local.admits, 1);
    assert_true(redis_store_health_change(f->rs, &up, why, sizeof why));
    assert_false(up);
    assert_true(why[0] != '\0');
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));

    /* The server is there now, but the back-off has not ended. */
    fake_start_unix(&f->a, f->sock);
    assert_true(mono_ns() - failed_at < 80 * MS); /* else this test proves nothing */
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(f->local.admits, 2);
    sleep_ns(20 * MS);
    assert_int_equal(fake_accepts(&f->a), 0);
    assert_int_equal(fake_ncmds(&f->a), 0);
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));

    uint64_t elapsed = mono_ns() - failed_at;
    if (elapsed < 150 * MS)
        sleep_ns(150 * MS - elapsed);
    struct store_admission a = admit(f, &l);
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_int_equal(f->local.admits, 2);
    assert_int_equal(fake_accepts(&f->a), 1);
    assert_int_equal(fake_ncmds(&f->a), 1);
    assert_true(redis_store_health_change(f->rs, &up, why, sizeof why));
    assert_true(up);
    assert_string_equal(why, "");
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));

    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(f->local.admits, 2);
    assert_false(redis_store_health_change(f->rs, &up, why, sizeof why));
}

/* A server that takes the command and never answers costs one timeout. */
static void test_no_answer_times_out(void **state)
{
    struct fixture *f = *state;
    f->a.evalsha[0] = '\0';
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 30 * MS);
    struct store_limits l = rate_only(f);
    uint64_t t0 = mono_ns();
    struct store_admission a = admit(f, &l);
    uint64_t took = mono_ns() - t0;
    assert_int_equal(a.answer, STORE_ADMITTED);
    assert_int_equal(f->local.admits, 1);
    assert_true(took >= 25 * MS);
    assert_true(took < 500 * MS);
    wait_cmds(&f->a, 1);
    assert_arg(fake_cmd(&f->a, 0), 0, "EVALSHA");
    bool up = true;
    char why[192];
    assert_true(redis_store_health_change(f->rs, &up, why, sizeof why));
    assert_false(up);
    assert_non_null(strstr(why, "timeout"));

    /* on_down = deny | allow: backend_down, as quickly. */
    open_unix(f, false, 30 * MS);
    t0 = mono_ns();
    a = admit(f, &l);
    took = mono_ns() - t0;
    assert_int_equal(a.answer, STORE_UNAVAILABLE);
    assert_string_equal(a.reason, "backend_down");
    assert_true(took < 500 * MS);
    assert_int_equal(f->local.admits, 1);
}

/* A reply the script never gives (too short, not an array, an item not an
 * integer, an error) is a failure, never an admission. */
static void test_wrong_shape_falls_back(void **state)
{
    struct fixture *f = *state;
    fake_start_unix(&f->a, f->sock);
    struct store_limits l = rate_only(f);
    static const char *const shapes[] = {
        "*2\r\n:0\r\n:0\r\n",
        "$2\r\nOK\r\n",
        "+OK\r\n",
        ":0\r\n",
        "*7\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n$1\r\n0\r\n",
        "*8\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n",
        "*7\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n:0\r\n",
        "*-1\r\n",
        "-ERR Error running script (call to f_x): @user_script:1: boom\r\n",
    };
    int n = (int)(sizeof shapes / sizeof shapes[0]);
    for (int i = 0; i < n; i++) {
        fake_answer(&f->a, f->a.evalsha, shapes[i]);
        open_unix(f, true, 1000 * MS);
        int before = f->local.admits;
        struct store_admission a = admit(f, &l);
        assert_int_equal(a.answer, STORE_ADMITTED);
        assert_int_equal(f->local.admits, before + 1);
        bool up = true;
        char why[192];
        assert_true(redis_store_health_change(f->rs, &up, why, sizeof why));
        assert_false(up);
        assert_true(why[0] != '\0');

        open_unix(f, false, 1000 * MS);
        a = admit(f, &l);
        assert_int_equal(a.answer, STORE_UNAVAILABLE);
        assert_string_equal(a.reason, "backend_down");
        assert_int_equal(f->local.admits, before + 1);
    }
    assert_int_equal(fake_ncmds(&f->a), 2 * n);
}

/* MOVED: the call is asked again of the named node, and the process's
 * later calls go there; ASK: the named node once, after ASKING. */
static void test_moved_and_ask(void **state)
{
    struct fixture *f = *state;
    fake_start_tcp(&f->b);
    char moved[FAKE_REPLY];
    snprintf(moved, sizeof moved, "-MOVED 1234 127.0.0.1:%u\r\n", f->b.port);
    snprintf(f->a.evalsha, sizeof f->a.evalsha, "%s", moved);
    fake_start_tcp(&f->a);
    open_tcp(f, "", f->a.port, "", false);
    struct store_limits l = rate_only(f);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->a), 1);
    assert_int_equal(fake_ncmds(&f->b), 1);
    const struct fake_cmd *first = fake_cmd(&f->a, 0), *again = fake_cmd(&f->b, 0);
    assert_arg(again, 0, "EVALSHA");
    assert_int_equal(again->argc, first->argc);
    for (int i = 0; i < first->argc; i++)
        assert_string_equal(again->argv[i], first->argv[i]);

    /* The next call, and a call of another thread (another link). */
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    f->now.owner = OWNER + 1;
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    f->now.owner = OWNER;
    assert_int_equal(fake_ncmds(&f->a), 1);
    assert_int_equal(fake_ncmds(&f->b), 3);
    assert_int_equal(fake_accepts(&f->a), 1);
    assert_int_equal(f->local.admits, 0);

    /* ASK from B (now the target) names A: A once, then B again. */
    char ask[FAKE_REPLY];
    snprintf(ask, sizeof ask, "-ASK 1234 127.0.0.1:%u\r\n", f->a.port);
    fake_answer(&f->b, f->b.evalsha, ask);
    fake_answer(&f->a, f->a.evalsha, ADMIT_REPLY);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->b), 4);
    assert_int_equal(fake_ncmds(&f->a), 3);
    assert_arg(fake_cmd(&f->a, 1), 0, "ASKING");
    assert_arg(fake_cmd(&f->a, 2), 0, "EVALSHA");
    assert_int_equal(fake_cmd(&f->a, 2)->replies_before, 0); /* one write */
    fake_answer(&f->b, f->b.evalsha, ADMIT_REPLY);
    assert_int_equal(admit(f, &l).answer, STORE_ADMITTED);
    assert_int_equal(fake_ncmds(&f->b), 5);
    assert_int_equal(fake_ncmds(&f->a), 3);
    assert_int_equal(f->local.admits, 0);
}

/* A breaker's outcome: EVALSHA with the breaker's key only, "report", the
 * owner, the outcome's code and the policy; {changed, from, to} read. */
static void test_report_outcome(void **state)
{
    struct fixture *f = *state;
    snprintf(f->a.evalsha, sizeof f->a.evalsha, "*3\r\n:1\r\n:0\r\n:1\r\n");
    fake_start_unix(&f->a, f->sock);
    open_unix(f, true, 1000 * MS);
    struct store s = redis_store(f->rs);
    struct breaker_event ev = {0};
    s.ops->report(s.impl, &f->breaker, 0x42, &f->now, OUTCOME_FAILURE, &ev);
    assert_true(ev.changed);
    assert_int_equal(ev.from, BREAKER_CLOSED);
    assert_int_equal(ev.to, BREAKER_OPEN);
    const struct fake_cmd *c = fake_cmd(&f->a, 0);
    assert_int_equal(c->argc, 10);
    assert_arg(c, 0, "EVALSHA");
    assert_arg(c, 1, REDIS_LIMITS_SHA1);
    assert_arg(c, 2, "1");
    assert_arg(c, 3, "{fleet}:b:0000000000000042");
    assert_arg(c, 4, "report");
    assert_arg(c, 5, OWNER_TEXT);
    assert_arg(c, 6, "1");
    assert_arg(c, 7, "3");        /* failure_threshold */
    assert_arg(c, 8, "1");        /* success_threshold */
    assert_arg(c, 9, "86435000"); /* (30 s + 5 s) in ms, and a day */

    fake_answer(&f->a, f->a.evalsha, "*3\r\n:0\r\n:0\r\n:0\r\n");
    static const struct {
        enum call_outcome outcome;
        const char *code;
    } cases[] = {{OUTCOME_SUCCESS, "0"}, {OUTCOME_FAILURE, "1"}, {OUTCOME_NEUTRAL, "2"}};
    for (int i = 0; i < 3; i++) {
        ev = (struct breaker_event){.changed = true};
        s.ops->report(s.impl, &f->breaker, 0x42, &f->now, cases[i].outcome, &ev);
        assert_false(ev.changed);
        assert_int_equal(fake_ncmds(&f->a), 2 + i);
        assert_arg(fake_cmd(&f->a, 1 + i), 6, cases[i].code);
    }
    /* A reply of another shape changes nothing. */
    fake_answer(&f->a, f->a.evalsha, "$2\r\nOK\r\n");
    ev = (struct breaker_event){.changed = true};
    s.ops->report(s.impl, &f->breaker, 0x42, &f->now, OUTCOME_FAILURE, &ev);
    assert_false(ev.changed);
    assert_int_equal(f->local.reports, 0);
}

/* An outcome the backend cannot take goes to the local store when
 * on_down = local, and nowhere otherwise. */
static void test_report_down(void **state)
{
    struct fixture *f = *state;
    struct breaker_event ev = {.changed = true};
    open_unix(f, true, 100 * MS);
    struct store s = redis_store(f->rs);
    s.ops->report(s.impl, &f->breaker, 1, &f->now, OUTCOME_FAILURE, &ev);
    assert_false(ev.changed);
    assert_int_equal(f->local.reports, 1);
    open_unix(f, false, 100 * MS);
    s = redis_store(f->rs);
    ev.changed = true;
    s.ops->report(s.impl, &f->breaker, 1, &f->now, OUTCOME_FAILURE, &ev);
    assert_false(ev.changed);
    assert_int_equal(f->local.reports, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_admitted_one_evalsha),
        T(test_keys_follow_limits),
        T(test_quota_warn_keys_and_levels),
        T(test_quota_low_read_from_reply),
        T(test_admitted_probe_and_change),
        T(test_refusals),
        T(test_noscript_then_eval),
        T(test_hello_pipelined),
        T(test_auth_refused_falls_back),
        T(test_down_backoff_up),
        T(test_no_answer_times_out),
        T(test_wrong_shape_falls_back),
        T(test_moved_and_ask),
        T(test_report_outcome),
        T(test_report_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
