/* Limits on Redis: see redis_store.h. Commands are built by redis_cmd.h,
 * sent and answered by redis_exchange.h; this file keeps the process's
 * links and health, and turns replies into the store's answers. */
#include "redis_store.h"

#include "clock.h"
#include "redis_cmd.h"
#include "redis_exchange.h"
#include "redis_limits_lua.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_FIRST_NS 100000000ull /* 100 ms */
#define BACKOFF_MAX_NS 5000000000ull  /* 5 s */
#define SLOT_WAIT_NS 1000000000ull    /* 1 s: the longest a thread waits for a link */

/* ---- health -------------------------------------------------------------- */

/* Copies why in or out of the store under its lock: the thread that saw
 * the backend fail writes it while others may be reading it. */
static void copy_why(struct redis_store *rs, char *to, size_t cap, const char *from)
{
    while (__atomic_exchange_n(&rs->why_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
    snprintf(to, cap, "%s", from);
    __atomic_store_n(&rs->why_lock, 0, __ATOMIC_RELEASE);
}

static void went(struct redis_store *rs, enum redis_health to, const char *why)
{
    int from = __atomic_load_n(&rs->health, __ATOMIC_ACQUIRE);
    if (from == (int)to ||
        !__atomic_compare_exchange_n(&rs->health, &from, (int)to, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    copy_why(rs, rs->why, sizeof rs->why, why);
    /* The first answer is no change to report; the first failure is. */
    if (!(from == REDIS_UNTRIED && to == REDIS_UP))
        __atomic_store_n(&rs->change_due, 1, __ATOMIC_RELEASE);
}

static void failed(struct redis_store *rs, const char *why)
{
    uint32_t k = __atomic_add_fetch(&rs->failures, 1, __ATOMIC_ACQ_REL);
    uint64_t wait = k >= 6 ? BACKOFF_MAX_NS : BACKOFF_FIRST_NS << (k - 1);
    __atomic_store_n(&rs->retry_at_ns, clock_now_ns(CLOCK_MONOTONIC) + wait, __ATOMIC_RELEASE);
    went(rs, REDIS_DOWN, why);
}

static void answered(struct redis_store *rs)
{
    __atomic_store_n(&rs->failures, 0, __ATOMIC_RELEASE);
    if (__atomic_load_n(&rs->health, __ATOMIC_ACQUIRE) != REDIS_UP)
        went(rs, REDIS_UP, "");
}

/* While down, one thread at a time may try again once the back-off ends;
 * the others decide by the fallback without waiting. */
static bool may_try(struct redis_store *rs)
{
    if (__atomic_load_n(&rs->health, __ATOMIC_ACQUIRE) != REDIS_DOWN)
        return true;
    uint64_t at = __atomic_load_n(&rs->retry_at_ns, __ATOMIC_ACQUIRE);
    uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
    return now >= at && __atomic_compare_exchange_n(&rs->retry_at_ns, &at, now + BACKOFF_MAX_NS,
                                                    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

bool redis_store_health_change(struct redis_store *rs, bool *up, char *why, size_t cap)
{
    /* A load first: this is asked after every decision, and a change is rare. */
    if (!__atomic_load_n(&rs->change_due, __ATOMIC_ACQUIRE) ||
        !__atomic_exchange_n(&rs->change_due, 0, __ATOMIC_ACQ_REL))
        return false;
    *up = __atomic_load_n(&rs->health, __ATOMIC_ACQUIRE) == REDIS_UP;
    if (*up)
        why[0] = '\0';
    else
        copy_why(rs, why, cap, rs->why);
    return true;
}

/* ---- the process's links ------------------------------------------------- */

/* A free link of the process's, waited for until deadline: a thread that
 * finds all of them busy (more threads deciding at once than links) waits
 * its turn rather than giving the call to on_down. */
static struct redis_slot *take_slot(struct redis_store *rs, int32_t owner, uint64_t deadline)
{
    for (unsigned round = 0;; round++) {
        for (unsigned i = 0; i < REDIS_LINKS; i++) {
            struct redis_slot *s = &rs->slots[((unsigned)owner + i) % REDIS_LINKS];
            if (!__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
                return s;
        }
        if (clock_now_ns(CLOCK_MONOTONIC) >= deadline)
            return NULL;
        if (round < 64)
            sched_yield();
        else
            nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL); /* 20 us */
    }
}

static void give_slot(struct redis_slot *s)
{
    __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/* The node to ask, as a MOVED may be changing it. */
static struct redis_target current_target(struct redis_store *rs)
{
    while (__atomic_exchange_n(&rs->target_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
    struct redis_target t = rs->target;
    __atomic_store_n(&rs->target_lock, 0, __ATOMIC_RELEASE);
    return t;
}

/* The slot's link, ready: made again when it was never made, when the
 * program closed or reused its descriptor, or when the fleet's slot moved. */
static bool slot_ready(struct redis_store *rs, struct redis_slot *s, uint64_t deadline,
                       char *why, size_t cap)
{
    uint32_t gen = __atomic_load_n(&rs->target_gen, __ATOMIC_ACQUIRE);
    if (s->ready && s->target_gen == gen && redis_link_intact(&s->link))
        return true;
    if (s->ready && redis_link_intact(&s->link))
        redis_link_close(&s->link);
    s->ready = false;
    struct redis_target t = current_target(rs);
    if (t.len == 0) {
        /* A name, resolved on first use (never in a vfork child). */
        if (!redis_target_resolve(&rs->opt.url, &t, why, cap))
            return false;
        while (__atomic_exchange_n(&rs->target_lock, 1, __ATOMIC_ACQUIRE))
            sched_yield();
        if (rs->target.len == 0)
            rs->target = t;
        __atomic_store_n(&rs->target_lock, 0, __ATOMIC_RELEASE);
    }
    if (!redis_open_link(rs, &s->link, &t, deadline, why, cap))
        return false;
    s->ready = true;
    s->target_gen = gen;
    return true;
}

/* Whether this is the process the links belong to. A vfork child (and a
 * child made by a raw clone, which runs no fork handler) is not. */
static bool own_process(const struct redis_store *rs)
{
    return getpid() == rs->pid;
}

/* Runs c and reads its reply: over a pooled link in the process that owns
 * them (*held: that slot, taken until done()), else over scratch, a link
 * of the caller's own stack made for this call (*held NULL). The reply
 * points into the link's inbox. Health is the pooled path's to change. */
static bool run(struct redis_store *rs, struct cmd *c, int32_t owner, struct resp_reply *r,
                struct redis_slot **held, struct redis_link *scratch, char *why, size_t cap)
{
    *held = NULL;
    uint64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + rs->opt.timeout_ns;
    if (!own_process(rs)) {
        /* Only an address resolved before, and no TLS: nothing allocates. */
        struct redis_target t = current_target(rs);
        bool ok = t.len > 0 && rs->opt.url.transport != REDIS_TLS &&
                  redis_open_link(rs, scratch, &t, deadline, why, cap) &&
                  redis_eval(rs, scratch, c, false, r, deadline, why, cap, NULL);
        if (!ok && t.len == 0)
            snprintf(why, cap, "a child that shares its parent's memory has no connection");
        if (!ok)
            redis_link_close(scratch);
        return ok; /* the caller closes scratch once the reply is read */
    }
    bool retrying = __atomic_load_n(&rs->health, __ATOMIC_ACQUIRE) == REDIS_DOWN;
    if (!may_try(rs)) {
        copy_why(rs, why, cap, rs->why);
        return false;
    }
    /* Waiting for a link of the process's is not waiting for the backend:
     * a backend that answers serves every thread in turn (SLOT_WAIT_NS at
     * most), and timeout_ms counts from when the link is had. */
    uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
    uint64_t wait = rs->opt.timeout_ns > SLOT_WAIT_NS ? rs->opt.timeout_ns : SLOT_WAIT_NS;
    struct redis_slot *s = take_slot(rs, owner, now + wait);
    if (!s) {
        snprintf(why, cap, "every connection to the backend stayed busy for %llu ms",
                 (unsigned long long)(wait / 1000000));
        return false;
    }
    if (!retrying && __atomic_load_n(&rs->health, __ATOMIC_ACQUIRE) == REDIS_DOWN) {
        /* It went down while this thread waited: the back-off holds. */
        give_slot(s);
        copy_why(rs, why, cap, rs->why);
        return false;
    }
    deadline = clock_now_ns(CLOCK_MONOTONIC) + rs->opt.timeout_ns;
    uint32_t moved_gen = 0;
    bool ok = slot_ready(rs, s, deadline, why, cap) &&
              redis_eval(rs, &s->link, c, true, r, deadline, why, cap, &moved_gen);
    if (moved_gen)
        s->target_gen = moved_gen; /* already connected where the slot went */
    if (!ok) {
        redis_link_close(&s->link);
        s->ready = false;
        give_slot(s);
        failed(rs, why);
        return false;
    }
    *held = s;
    answered(rs);
    return true;
}

/* Ends what run() began: gives the slot back, or closes the own link. */
static void done(struct redis_slot *held, struct redis_link *scratch)
{
    if (held)
        give_slot(held);
    else
        redis_link_close(scratch);
}

bool redis_store_script(struct redis_store *rs, struct cmd *c, int32_t owner,
                        void (*take)(const struct resp_reply *r, void *ctx), void *ctx)
{
    struct resp_reply r;
    struct redis_link scratch;
    struct redis_slot *held;
    redis_link_init(&scratch);
    char why[192];
    if (!run(rs, c, owner, &r, &held, &scratch, why, sizeof why))
        return false;
    take(&r, ctx);
    done(held, &scratch);
    return true;
}

/* ---- admission ----------------------------------------------------------- */

static uint64_t us_up(uint64_t ns)
{
    return (ns + 999) / 1000;
}

static void owner_of(const struct redis_store *rs, int32_t owner, char out[40])
{
    snprintf(out, 40, "%016" PRIx64 ":%d", rs->nonce, (int)owner);
}

static struct store_admission fallback_admit(struct redis_store *rs,
                                             const struct store_limits *l,
                                             const struct store_now *now)
{
    if (!rs->opt.fallback_local)
        return (struct store_admission){.answer = STORE_UNAVAILABLE, .reason = "backend_down"};
    struct store local = rs->fallback.get(rs->fallback.ctx);
    return local.ops->admit(local.impl, l, now);
}

static const char *const REASONS[] = {NULL, "circuit_open", "rate_limited", "quota_exceeded"};

static struct store_admission admit(void *impl, const struct store_limits *l,
                                    const struct store_now *now)
{
    struct redis_store *rs = impl;
    /* Only the keys of the limits the call has (redis_limits.lua says why). */
    char keys[7][REDIS_KEY_MAX], owner[40];
    int nkeys = 0;
    if (l->breaker)
        redis_key_of(rs, keys[nkeys++], 'b', l->breaker_key);
    if (l->rate)
        redis_key_of(rs, keys[nkeys++], 't', l->bucket_key);
    if (l->tool_quota)
        redis_key_of(rs, keys[nkeys++], 'q', l->tool_quota_key);
    if (l->agent_quota)
        redis_key_of(rs, keys[nkeys++], 'q', l->agent_quota_key);
    redis_agents_key(rs, keys[nkeys++]);
    if (l->tool_quota && l->tool_quota_warns)
        redis_key_of(rs, keys[nkeys++], 'w', l->tool_quota_key);
    if (l->agent_quota && l->agent_quota_warns)
        redis_key_of(rs, keys[nkeys++], 'w', l->agent_quota_key);
    owner_of(rs, now->owner, owner);
    struct cmd c = {0};
    cmd_str(&c, "EVALSHA");
    cmd_str(&c, REDIS_LIMITS_SHA1);
    cmd_u64(&c, (uint64_t)nkeys);
    for (int i = 0; i < nkeys; i++)
        cmd_str(&c, keys[i]);
    cmd_str(&c, "admit");
    cmd_str(&c, owner);
    cmd_u64(&c, l->breaker ? l->breaker->success_threshold : 0);
    cmd_u64(&c, l->breaker ? us_up(l->breaker->open_ns) : 0);
    cmd_u64(&c, l->breaker ? us_up(l->breaker->probe_ns) : 0);
    uint64_t interval = l->rate ? us_up(l->rate->interval_ns) : 0;
    cmd_u64(&c, interval);
    /* tau is (burst - 1) intervals: the same burst in whole microseconds. */
    cmd_u64(&c, l->rate ? l->rate->tolerance_ns / l->rate->interval_ns * interval : 0);
    cmd_u64(&c, l->tool_quota ? l->tool_quota->max_actions : 0);
    cmd_double(&c, l->tool_quota ? (double)l->tool_quota->slot_ns / 1000.0 : 0);
    cmd_u64(&c, l->agent_quota ? l->agent_quota->max_actions : 0);
    cmd_double(&c, l->agent_quota ? (double)l->agent_quota->slot_ns / 1000.0 : 0);
    cmd_str(&c, rs->opt.agent);
    cmd_i64(&c, l->tool_quota && l->tool_quota_warns ? (int64_t)l->tool_quota_warn : -1);
    cmd_i64(&c, l->agent_quota && l->agent_quota_warns ? (int64_t)l->agent_quota_warn : -1);

    struct resp_reply r;
    struct redis_link scratch;
    struct redis_slot *held;
    redis_link_init(&scratch);
    char why[192];
    if (!run(rs, &c, now->owner, &r, &held, &scratch, why, sizeof why))
        return fallback_admit(rs, l, now);
    bool shaped = r.value.type == RESP_ARRAY && r.n == 11;
    for (size_t i = 0; shaped && i < 11; i++)
        shaped = r.items[i].type == RESP_INTEGER;
    struct store_admission a = {.answer = STORE_ADMITTED};
    if (shaped && r.items[0].integer == 1) {
        int64_t code = r.items[1].integer;
        a.answer = STORE_REFUSED;
        a.reason = code >= 1 && code <= 3 ? REASONS[code] : "rate_limited";
        a.retry_after_ns = (uint64_t)(r.items[2].integer > 0 ? r.items[2].integer : 0) * 1000;
    } else if (shaped) {
        a.probe = r.items[3].integer == 1;
        a.breaker = (struct breaker_event){.changed = r.items[4].integer == 1,
                                           .from = (enum breaker_state)r.items[5].integer,
                                           .to = (enum breaker_state)r.items[6].integer};
        a.tool_quota_low = r.items[7].integer == 1;
        a.tool_quota_left = (uint32_t)r.items[8].integer;
        a.agent_quota_low = r.items[9].integer == 1;
        a.agent_quota_left = (uint32_t)r.items[10].integer;
    }
    done(held, &scratch);
    if (!shaped) {
        failed(rs, "the limits script answered in a shape Enact does not know");
        return fallback_admit(rs, l, now);
    }
    return a;
}

static void report(void *impl, const struct breaker_policy *policy, uint64_t breaker_key,
                   const struct store_now *now, enum call_outcome outcome,
                   struct breaker_event *ev)
{
    struct redis_store *rs = impl;
    ev->changed = false;
    char key[REDIS_KEY_MAX], owner[40];
    redis_key_of(rs, key, 'b', breaker_key);
    owner_of(rs, now->owner, owner);
    struct cmd c = {0};
    cmd_str(&c, "EVALSHA");
    cmd_str(&c, REDIS_LIMITS_SHA1);
    cmd_str(&c, "1");
    cmd_str(&c, key);
    cmd_str(&c, "report");
    cmd_str(&c, owner);
    cmd_u64(&c, outcome == OUTCOME_SUCCESS ? 0 : outcome == OUTCOME_FAILURE ? 1 : 2);
    cmd_u64(&c, policy->failure_threshold);
    cmd_u64(&c, policy->success_threshold);
    /* Long enough for an open breaker to be seen half-open, and a day of
     * failure counting. */
    cmd_u64(&c, (policy->open_ns + policy->probe_ns) / 1000000 + 86400000);
    struct resp_reply r;
    struct redis_link scratch;
    struct redis_slot *held;
    redis_link_init(&scratch);
    char why[192];
    if (!run(rs, &c, now->owner, &r, &held, &scratch, why, sizeof why)) {
        if (rs->opt.fallback_local) {
            struct store local = rs->fallback.get(rs->fallback.ctx);
            local.ops->report(local.impl, policy, breaker_key, now, outcome, ev);
        }
        return;
    }
    if (r.value.type == RESP_ARRAY && r.n == 3 && r.items[0].type == RESP_INTEGER)
        *ev = (struct breaker_event){.changed = r.items[0].integer == 1,
                                     .from = (enum breaker_state)r.items[1].integer,
                                     .to = (enum breaker_state)r.items[2].integer};
    done(held, &scratch);
}

/* ---- readers, for enact status and enact reset --------------------------- */

bool redis_store_query(struct redis_store *rs, struct cmd *cmds, int n,
                       void (*take)(int i, const struct resp_reply *r, void *ctx), void *ctx)
{
    char why[192];
    if (!own_process(rs) || !may_try(rs))
        return false;
    uint64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + rs->opt.timeout_ns;
    struct redis_slot *s = take_slot(rs, 0, deadline);
    if (!s)
        return false;
    struct resp_reply r;
    bool ok = slot_ready(rs, s, deadline, why, sizeof why) &&
              redis_exchange(rs, &s->link, cmds, n, &r, deadline, why, sizeof why);
    for (int i = 0; ok && i < n; i++) {
        if (i > 0)
            ok = redis_link_reply(&s->link, &r, deadline, why, sizeof why);
        if (ok && r.value.type == RESP_ERROR)
            ok = redis_error_text(&r.value, "the server refused", why, sizeof why);
        if (ok)
            take(i, &r, ctx);
    }
    if (!ok) {
        redis_link_close(&s->link);
        s->ready = false;
        failed(rs, why);
    } else {
        answered(rs);
    }
    give_slot(s);
    return ok;
}

/* A key's value read beside the server's clock, so that times stored in
 * the server's microseconds can be told in the caller's clocks. */
struct timed_read {
    char key[REDIS_KEY_MAX];
    uint64_t server_us;
    bool found;
    char value[512];
    size_t len;
    struct resp_reply hash; /* HGETALL: items copied out below */
    char flat[4096];
};

static int64_t whole(const struct resp_item *it)
{
    if (it->type == RESP_INTEGER)
        return it->integer;
    char buf[32];
    size_t n = it->len < sizeof buf - 1 ? it->len : sizeof buf - 1;
    memcpy(buf, it->text, n);
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

static void take_timed(int i, const struct resp_reply *r, void *ctx)
{
    struct timed_read *t = ctx;
    if (i == 0) {
        if (r->value.type == RESP_ARRAY && r->n == 2)
            t->server_us = (uint64_t)whole(&r->items[0]) * 1000000 + (uint64_t)whole(&r->items[1]);
        return;
    }
    if (r->value.type == RESP_BULK && r->value.len <= sizeof t->value) {
        t->found = true;
        t->len = r->value.len;
        memcpy(t->value, r->value.text, r->value.len);
    } else if (r->value.type == RESP_ARRAY && r->n > 0) {
        /* HGETALL: keep the items, their text copied into flat. */
        size_t used = 0;
        t->found = true;
        t->hash = *r;
        for (size_t k = 0; k < r->n; k++) {
            size_t n = r->items[k].len;
            if (r->items[k].type != RESP_BULK || used + n > sizeof t->flat) {
                t->found = false;
                return;
            }
            memcpy(t->flat + used, r->items[k].text, n);
            t->hash.items[k].text = t->flat + used;
            used += n;
        }
    }
}

static bool read_timed(struct redis_store *rs, const char *verb, struct timed_read *t)
{
    struct cmd c[2] = {{0}, {0}};
    cmd_str(&c[0], "TIME");
    cmd_str(&c[1], verb);
    cmd_str(&c[1], t->key);
    t->found = false;
    return redis_store_query(rs, c, 2, take_timed, t) && t->found;
}

/* A server time (us) in the caller's monotonic clock. */
static uint64_t local_mono(uint64_t at_us, uint64_t server_us)
{
    uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
    if (at_us >= server_us)
        return now + (at_us - server_us) * 1000;
    uint64_t ago = (server_us - at_us) * 1000;
    return ago < now ? now - ago : 1;
}

static bool read_bucket(void *impl, uint64_t key, uint64_t *tat)
{
    struct redis_store *rs = impl;
    struct timed_read t;
    redis_key_of(rs, t.key, 't', key);
    *tat = 0;
    if (!read_timed(rs, "GET", &t))
        return false;
    t.value[t.len < sizeof t.value ? t.len : sizeof t.value - 1] = '\0';
    uint64_t us = strtoull(t.value, NULL, 10);
    *tat = us > t.server_us ? local_mono(us, t.server_us) : 0;
    return true;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool read_quota(void *impl, uint64_t key, struct quota_ring *ring)
{
    struct redis_store *rs = impl;
    struct timed_read t;
    redis_key_of(rs, t.key, 'q', key);
    if (!read_timed(rs, "GET", &t) || t.len != 8 + 4 * (QUOTA_RING_SLOTS + 1))
        return false;
    const unsigned char *p = (const unsigned char *)t.value;
    double newest;
    uint64_t bits = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
    memcpy(&newest, &bits, sizeof newest);
    memset(ring, 0, sizeof *ring);
    ring->newest = newest > 0 ? (uint64_t)newest : 0;
    ring->used = le32(p + 8);
    for (int i = 0; i < QUOTA_RING_SLOTS; i++)
        ring->counts[i] = le32(p + 12 + 4 * i);
    return true;
}

static bool field_is(const struct resp_item *it, const char *name)
{
    return it->len == strlen(name) && memcmp(it->text, name, it->len) == 0;
}

static bool read_breaker(void *impl, uint64_t key, struct breaker *b)
{
    struct redis_store *rs = impl;
    struct timed_read t;
    redis_key_of(rs, t.key, 'b', key);
    if (!read_timed(rs, "HGETALL", &t))
        return false;
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i + 1 < t.hash.n; i += 2) {
        const struct resp_item *k = &t.hash.items[i], *v = &t.hash.items[i + 1];
        int64_t n = whole(v);
        if (field_is(k, "st"))
            b->state = (uint32_t)n;
        else if (field_is(k, "f"))
            b->failures = (uint32_t)n;
        else if (field_is(k, "s"))
            b->successes = (uint32_t)n;
        else if (field_is(k, "since"))
            b->since_ns = local_mono((uint64_t)n, t.server_us);
        else if (k->len >= 2 && k->len <= 3 && k->text[0] == 'd') {
            int idx = 0;
            for (size_t d = 1; d < k->len; d++)
                idx = idx * 10 + (k->text[d] >= '0' && k->text[d] <= '9' ? k->text[d] - '0' : 99);
            if (idx >= 1 && idx <= BREAKER_MAX_PROBES) {
                /* Leases of other hosts have no pid here: 1 stands for "held". */
                b->leases[idx - 1].pid = 1;
                b->leases[idx - 1].deadline_ns = local_mono((uint64_t)n, t.server_us);
            }
        }
    }
    return true;
}

struct deleted {
    bool any;
};

static void take_deleted(int i, const struct resp_reply *r, void *ctx)
{
    (void)i;
    if (r->value.type == RESP_INTEGER && r->value.integer > 0)
        ((struct deleted *)ctx)->any = true;
}

static bool delete_key(struct redis_store *rs, char kind, uint64_t key)
{
    char name[REDIS_KEY_MAX];
    redis_key_of(rs, name, kind, key);
    struct cmd c = {0};
    cmd_str(&c, "DEL");
    cmd_str(&c, name);
    struct deleted d = {false};
    return redis_store_query(rs, &c, 1, take_deleted, &d) && d.any;
}

static bool reset_bucket(void *impl, uint64_t key)
{
    return delete_key(impl, 't', key);
}

static bool reset_quota(void *impl, uint64_t key, const struct store_now *now)
{
    (void)now;
    delete_key(impl, 'w', key);
    return delete_key(impl, 'q', key);
}

static bool reset_breaker(void *impl, uint64_t key, const struct store_now *now)
{
    (void)now;
    return delete_key(impl, 'b', key);
}

struct agent_list {
    char (*names)[STORE_AGENT_NAME_MAX];
    size_t n;
};

static void take_agents(int i, const struct resp_reply *r, void *ctx)
{
    (void)i;
    struct agent_list *a = ctx;
    if (r->value.type != RESP_ARRAY)
        return;
    a->names = calloc(r->n ? r->n : 1, sizeof *a->names);
    for (size_t k = 0; a->names && k < r->n; k++) {
        const struct resp_item *it = &r->items[k];
        if (it->type != RESP_BULK || it->len >= STORE_AGENT_NAME_MAX)
            continue;
        memcpy(a->names[a->n], it->text, it->len);
        a->names[a->n++][it->len] = '\0';
    }
}

static size_t agents(void *impl, char (**names)[STORE_AGENT_NAME_MAX])
{
    struct redis_store *rs = impl;
    char key[REDIS_KEY_MAX];
    redis_agents_key(rs, key);
    struct cmd c = {0};
    cmd_str(&c, "SMEMBERS");
    cmd_str(&c, key);
    struct agent_list a = {NULL, 0};
    if (!redis_store_query(rs, &c, 1, take_agents, &a) || !a.names) {
        *names = calloc(1, sizeof **names);
        return 0;
    }
    *names = a.names;
    return a.n;
}

/* Audit failures are each host's: its own state file counts them. */
static uint64_t audit_failures(void *impl, int *last_errno)
{
    struct redis_store *rs = impl;
    struct store local = rs->fallback.get(rs->fallback.ctx);
    *last_errno = 0;
    return local.impl ? local.ops->audit_failures(local.impl, last_errno) : 0;
}

static const struct store_ops REDIS_OPS = {
    .admit = admit,
    .report = report,
    .read_bucket = read_bucket,
    .read_quota = read_quota,
    .read_breaker = read_breaker,
    .reset_bucket = reset_bucket,
    .reset_quota = reset_quota,
    .reset_breaker = reset_breaker,
    .agents = agents,
    .audit_failures = audit_failures,
};

struct store redis_store(struct redis_store *rs)
{
    return (struct store){.ops = &REDIS_OPS, .impl = rs};
}

void redis_store_init(struct redis_store *rs, const struct redis_options *opt,
                      struct redis_fallback fallback, uint64_t nonce)
{
    rs->opt = *opt;
    rs->fallback = fallback;
    rs->pid = getpid();
    rs->nonce = nonce;
    for (unsigned i = 0; i < REDIS_LINKS; i++)
        redis_link_init(&rs->slots[i].link);
    /* Numbers and socket paths need no resolver, so a vfork child can use
     * them even before the parent's first call; a name waits for that. */
    char why[160];
    if (opt->url.transport == REDIS_UNIX ||
        redis_target_numeric(opt->url.host, opt->url.port, &rs->target))
        (void)redis_target_resolve(&opt->url, &rs->target, why, sizeof why);
}

void redis_store_close(struct redis_store *rs)
{
    for (unsigned i = 0; i < REDIS_LINKS; i++) {
        redis_link_close(&rs->slots[i].link);
        rs->slots[i].ready = false;
    }
}

void redis_store_forked(struct redis_store *rs)
{
    for (unsigned i = 0; i < REDIS_LINKS; i++) {
        struct redis_slot *s = &rs->slots[i];
        /* A thread of the parent may have held it; it does not exist here. */
        __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
        redis_link_drop(&s->link);
        s->ready = false;
    }
    __atomic_store_n(&rs->target_lock, 0, __ATOMIC_RELEASE);
    rs->pid = getpid();
    rs->nonce ^= (uint64_t)rs->pid * 0x9e3779b97f4a7c15ull;
}

bool redis_store_probe(struct redis_store *rs, uint64_t *rtt_ns, char *server_version,
                       size_t vcap, char *why, size_t cap)
{
    struct redis_target t;
    if (!redis_target_resolve(&rs->opt.url, &t, why, cap))
        return false;
    uint64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + rs->opt.timeout_ns;
    struct redis_link l;
    if (!redis_open_link(rs, &l, &t, deadline, why, cap))
        return false;
    struct cmd load = {0}, ping = {0}, info = {0};
    redis_cmd_script_load(&load);
    cmd_str(&ping, "PING");
    cmd_str(&info, "INFO");
    cmd_str(&info, "server");
    struct resp_reply r;
    bool ok = redis_exchange(rs, &l, &load, 1, &r, deadline, why, cap) &&
              redis_status_ok(&r, "SCRIPT LOAD", why, cap);
    if (ok && (r.value.type != RESP_BULK || r.value.len != 40 ||
               memcmp(r.value.text, REDIS_LIMITS_SHA1, 40) != 0))
        ok = redis_error_text(&r.value, "SCRIPT LOAD answered another digest", why, cap);
    uint64_t t0 = clock_now_ns(CLOCK_MONOTONIC);
    ok = ok && redis_exchange(rs, &l, &ping, 1, &r, deadline, why, cap) &&
         redis_status_ok(&r, "PING", why, cap);
    *rtt_ns = clock_now_ns(CLOCK_MONOTONIC) - t0;
    server_version[0] = '\0';
    if (ok && redis_exchange(rs, &l, &info, 1, &r, deadline, why, cap) &&
        r.value.type == RESP_BULK) {
        const char *v = memmem(r.value.text, r.value.len, "redis_version:", 14);
        if (v) {
            v += 14;
            size_t k = strcspn(v, "\r\n");
            snprintf(server_version, vcap, "%.*s", (int)(k < 32 ? k : 32), v);
        }
    }
    redis_link_close(&l);
    return ok;
}
