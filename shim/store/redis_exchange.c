/* One exchange with a Redis server: see redis_exchange.h. */
#include "redis_exchange.h"

#include "clock.h"
#include "redis_limits_lua.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char SCRIPT[] = REDIS_LIMITS_LUA;

#define REDIRECTS_MAX 3
#define TRYAGAIN_NS 2000000 /* 2 ms */

bool redis_error_text(const struct resp_item *it, const char *what, char *why, size_t cap)
{
    snprintf(why, cap, "%s: %.*s", what, (int)(it->len > 120 ? 120 : it->len), it->text);
    return false;
}

bool redis_status_ok(const struct resp_reply *r, const char *what, char *why, size_t cap)
{
    if (r->value.type == RESP_ERROR)
        return redis_error_text(&r->value, what, why, cap);
    return true;
}

/* The password: the URL's (or the environment's, put there by the
 * caller), else the first line of password_file, read on the stack. */
static bool password_of(const struct redis_store *rs, char out[REDIS_SECRET_MAX], char *why,
                        size_t cap)
{
    snprintf(out, REDIS_SECRET_MAX, "%s", rs->opt.url.password);
    if (!rs->opt.password_file[0])
        return true;
    int fd = open(rs->opt.password_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, cap, "cannot read backend.password_file %s: %s", rs->opt.password_file,
                 strerror(errno));
        return false;
    }
    ssize_t n = sys_read(fd, out, REDIS_SECRET_MAX - 1);
    int err = errno;
    sys_close(fd);
    if (n < 0) {
        snprintf(why, cap, "cannot read backend.password_file %s: %s", rs->opt.password_file,
                 strerror(err));
        return false;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return true;
}

/* A connection to t, over TLS for a rediss:// backend. */
bool redis_open_link(struct redis_store *rs, struct redis_link *l, const struct redis_target *t,
                     uint64_t deadline, char *why, size_t cap)
{
    struct redis_tls *tls = NULL;
    if (rs->opt.url.transport == REDIS_TLS) {
        if (!redis_tls_start(&rs->tls, rs->opt.tls_ca_file, why, cap)) {
            redis_link_init(l);
            return false;
        }
        tls = &rs->tls;
    }
    return redis_link_open(l, t, tls, deadline, why, cap);
}

/* What a new connection says first, put before its first command in the
 * same write (so that the first call, too, is one round trip): AUTH and
 * SELECT, as the URL and the password ask. Returns how many replies they
 * add, or -1 when the request does not fit. */
static int hello(const struct redis_store *rs, const char password[REDIS_SECRET_MAX], char *req,
                 size_t cap, size_t *n)
{
    const struct redis_url *u = &rs->opt.url;
    int replies = 0;
    struct cmd c = {0};
    if (password[0]) {
        cmd_str(&c, "AUTH");
        if (u->user[0])
            cmd_str(&c, u->user);
        cmd_str(&c, password);
        if (!cmd_encode(&c, req, cap, n))
            return -1;
        replies++;
    }
    if (u->db) {
        c = (struct cmd){0};
        cmd_str(&c, "SELECT");
        cmd_u64(&c, u->db);
        if (!cmd_encode(&c, req, cap, n))
            return -1;
        replies++;
    }
    return replies;
}

/* Sends cmds over l, with the hello of a new connection before them, and
 * reads the first one's reply into r (the caller reads the others): an
 * error of the hello is the exchange's. */
bool redis_exchange(struct redis_store *rs, struct redis_link *l, const struct cmd *cmds,
                    int ncmds, struct resp_reply *r, uint64_t deadline, char *why, size_t cap)
{
    char req[sizeof SCRIPT + 4096];
    req[0] = '\0'; /* what gcc -O1 cannot tell: nothing is sent before it is written */
    size_t n = 0;
    int greetings = 0;
    if (l->fresh) {
        char password[REDIS_SECRET_MAX];
        if (!password_of(rs, password, why, cap))
            return false;
        greetings = hello(rs, password, req, sizeof req, &n);
        memset(password, 0, sizeof password);
    }
    for (int i = 0; greetings >= 0 && i < ncmds; i++)
        if (!cmd_encode(&cmds[i], req, sizeof req, &n))
            greetings = -1;
    if (greetings < 0) {
        snprintf(why, cap, "a request too large for the backend's buffer");
        return false;
    }
    if (!redis_link_send(l, req, n, deadline, why, cap))
        return false;
    for (int i = 0; i < greetings; i++) {
        if (!redis_link_reply(l, r, deadline, why, cap))
            return false;
        if (r->value.type == RESP_ERROR)
            return redis_error_text(&r->value,
                              i == 0 && (rs->opt.url.password[0] || rs->opt.password_file[0])
                                  ? "authentication refused"
                                  : "the server refused",
                              why, cap);
    }
    l->fresh = false;
    return redis_link_reply(l, r, deadline, why, cap);
}

/* The process's target from now on; returns its generation, which the
 * link already connected there is at. */
static uint32_t move_to(struct redis_store *rs, const struct redis_target *t)
{
    while (__atomic_exchange_n(&rs->target_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
    rs->target = *t;
    uint32_t gen = __atomic_add_fetch(&rs->target_gen, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&rs->target_lock, 0, __ATOMIC_RELEASE);
    return gen;
}

/* EVALSHA DIGEST ... becomes EVAL BODY ...: a server without the script
 * runs it and keeps it for the next EVALSHA. */
static void use_eval(struct cmd *c)
{
    c->argv[0] = "EVAL";
    c->lens[0] = 4;
    c->argv[1] = SCRIPT;
    c->lens[1] = sizeof SCRIPT - 1;
}

/* Runs the script command c over l and reads its reply into r, following
 * NOSCRIPT (EVAL of the body, which also caches it) and cluster
 * redirections: MOVED reconnects l to the slot's new node (and, pooled,
 * moves the process's target there), ASK asks the named node once. A
 * decision's answer is integers only, so a reply read over another link
 * holds nothing that points into it; an ASK answered with text (the kill
 * switches, while the slot migrates) is refused, and read again later. */
bool redis_eval(struct redis_store *rs, struct redis_link *l, struct cmd *c, bool pooled,
                struct resp_reply *r, uint64_t deadline, char *why, size_t cap,
                uint32_t *moved_gen)
{
    for (int hop = 0; hop <= REDIRECTS_MAX; hop++) {
        if (!redis_exchange(rs, l, c, 1, r, deadline, why, cap))
            return false;
        if (r->value.type != RESP_ERROR)
            return true;
        if (resp_error_is(&r->value, "TRYAGAIN")) {
            /* The slot is being migrated and its keys are split for a
             * moment: ask again shortly, within the call's deadline. */
            if (clock_now_ns(CLOCK_MONOTONIC) + TRYAGAIN_NS >= deadline)
                return redis_error_text(&r->value, "the cluster kept the slot busy", why, cap);
            nanosleep(&(struct timespec){.tv_nsec = TRYAGAIN_NS}, NULL);
            hop--;
            continue;
        }
        if (resp_error_is(&r->value, "NOSCRIPT")) {
            use_eval(c);
            hop--;
            continue;
        }
        char host[REDIS_HOST_MAX];
        uint16_t port;
        bool ask;
        struct redis_target t;
        if (!resp_redirect(&r->value, &ask, host, sizeof host, &port))
            return redis_error_text(&r->value, "the server refused", why, cap);
        if (!redis_target_of(host, port, &t, why, cap))
            return false;
        if (ask) {
            struct redis_link once;
            bool ok = redis_open_link(rs, &once, &t, deadline, why, cap);
            for (int load = 0; ok && load < 2; load++) {
                struct cmd both[2] = {{0}, *c};
                cmd_str(&both[0], "ASKING");
                ok = redis_exchange(rs, &once, both, 2, r, deadline, why, cap) &&
                     redis_status_ok(r, "ASKING", why, cap) &&
                     redis_link_reply(&once, r, deadline, why, cap);
                if (!ok || !resp_error_is(&r->value, "NOSCRIPT"))
                    break;
                use_eval(c); /* the importing node has not run the script yet */
            }
            if (ok && r->value.type == RESP_ERROR)
                ok = redis_error_text(&r->value, "the server refused", why, cap);
            for (size_t i = 0; ok && i < r->n; i++)
                if (r->items[i].type != RESP_INTEGER)
                    ok = redis_error_text(&r->value, "an ASK reply of an unexpected kind", why,
                                          cap);
            redis_link_close(&once);
            return ok;
        }
        redis_link_close(l);
        if (pooled)
            *moved_gen = move_to(rs, &t);
        if (!redis_open_link(rs, l, &t, deadline, why, cap))
            return false;
    }
    snprintf(why, cap, "more than %d cluster redirections for one call", REDIRECTS_MAX);
    return false;
}

void redis_cmd_script_load(struct cmd *c)
{
    cmd_str(c, "SCRIPT");
    cmd_str(c, "LOAD");
    cmd_arg(c, SCRIPT, sizeof SCRIPT - 1);
}
