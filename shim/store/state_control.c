#include "state_control.h"

#include "pidlock.h"
#include "seq_bytes.h"
#include "sys.h"
#include "../pure/hash.h"
#include "../pure/text.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_WRITING 1u
#define PROBE_LIMIT 64u

uint64_t state_tool_id(const char *tool)
{
    return fnv64_str(fnv64_str(FNV64_OFFSET, "tool"), tool) | 1;
}

static void put_name(char *dst, size_t cap, const char *src)
{
    char buf[256] = "";
    snprintf(buf, cap < sizeof buf ? cap : sizeof buf, "%s", src ? src : "");
    seq_put(dst, buf, cap < sizeof buf ? cap : sizeof buf);
}

/* ---- governed processes ------------------------------------------------ */

static struct proc_slot *proc_probe(const struct state_map *m, int32_t pid, uint32_t i)
{
    uint64_t h = fnv64_bytes(FNV64_OFFSET, &pid, sizeof pid);
    return &m->procs[(h + i) & (m->nprocs - 1)];
}

static uint32_t window(uint32_t n)
{
    return PROBE_LIMIT < n ? PROBE_LIMIT : n;
}

static void proc_fill(struct proc_slot *s, const struct proc_entry *e)
{
    struct proc_slot v = {.boot_ns = e->boot_ns, .real_ns = e->real_ns, .agent_id = e->agent_id,
                          .uid = e->uid, .parent = e->parent};
    /* Without stdio: every governed process registers at start, where a
     * first snprintf costs 1,800 instructions with its binding. */
    struct text t = text_at(v.agent, sizeof v.agent);
    text_str(&t, e->agent ? e->agent : "");
    t = text_at(v.program, sizeof v.program);
    text_str(&t, e->program ? e->program : "");
    uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq | 1, __ATOMIC_RELAXED);
    size_t head = offsetof(struct proc_slot, boot_ns);
    _Static_assert(offsetof(struct proc_slot, boot_ns) % 8 == 0 && sizeof v % 8 == 0,
                   "a proc slot is read and written by words");
    seq_put_words((char *)s + head, (const char *)&v + head, sizeof v - head);
    __atomic_store_n(&s->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

/* Claims slot s (seen holding `seen`) for e: true when written. */
static bool proc_claim(struct proc_slot *s, uint64_t seen, const struct proc_entry *e)
{
    if (!__atomic_compare_exchange_n(&s->key, &seen, PROC_WRITING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return false;
    proc_fill(s, e);
    __atomic_store_n(&s->key, (uint64_t)(uint32_t)e->pid, __ATOMIC_RELEASE);
    return true;
}

static uint64_t slot_boot_ns(const struct proc_slot *s)
{
    return __atomic_load_n(&s->boot_ns, __ATOMIC_ACQUIRE);
}

void state_proc_register(struct state_map *m, const struct proc_entry *e)
{
    if (!m->procs || e->pid <= 1)
        return;
    uint64_t key = (uint64_t)(uint32_t)e->pid;
    state_touch(proc_probe(m, e->pid, 0));
    /* Our pid's own slot first (an exec rewrites it: a free slot before
     * it must not make a second one), then a free one, then a slot of a
     * process that is gone. */
    for (int pass = 0; pass < 3; pass++)
        for (uint32_t i = 0; i < window(m->nprocs); i++) {
            struct proc_slot *s = proc_probe(m, e->pid, i);
            uint64_t seen = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
            bool usable = pass == 0   ? seen == key
                          : pass == 1 ? seen == 0
                                      : seen > PROC_WRITING && seen != key &&
                                            !state_proc_alive((int32_t)seen, slot_boot_ns(s));
            if (usable && proc_claim(s, seen, e))
                return;
        }
}

void state_proc_leave(struct state_map *m, int32_t pid)
{
    if (!m->procs)
        return;
    uint64_t key = (uint64_t)(uint32_t)pid;
    for (uint32_t i = 0; i < window(m->nprocs); i++) {
        struct proc_slot *s = proc_probe(m, pid, i);
        uint64_t want = key;
        if (__atomic_load_n(&s->key, __ATOMIC_ACQUIRE) == key &&
            __atomic_compare_exchange_n(&s->key, &want, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return;
    }
}

/* Field 22 of /proc/PID/stat, the start in clock ticks since boot, in ns;
 * 0 when it cannot be read. */
static uint64_t proc_start_ns(int32_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = sys_read(fd, buf, sizeof buf - 1);
    sys_close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The program's name, field 2, may hold spaces and parentheses: the
     * fields counted start after its last ')'. */
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    unsigned long long ticks = strtoull(p + 1, NULL, 10);
    return hz > 0 ? ticks * (1000000000ull / (unsigned long long)hz) : 0;
}

bool state_proc_alive(int32_t pid, uint64_t boot_ns)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    uint64_t started = proc_start_ns(pid);
    return started == 0 || started <= boot_ns;
}

unsigned state_proc_each(struct state_map *m, proc_alive_fn alive,
                         void (*fn)(const struct proc_slot *p, void *ctx), void *ctx)
{
    unsigned freed = 0;
    for (uint32_t i = 0; m->procs && i < m->nprocs; i++) {
        struct proc_slot *s = &m->procs[i];
        uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (key <= PROC_WRITING)
            continue;
        struct proc_slot copy;
        uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        seq_copy_words(&copy, s, sizeof copy);
        if ((seq & 1) || __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != seq ||
            __atomic_load_n(&s->key, __ATOMIC_ACQUIRE) != key)
            continue; /* rewritten meanwhile: its process is alive */
        copy.key = key;
        copy.agent[sizeof copy.agent - 1] = copy.program[sizeof copy.program - 1] = '\0';
        if (alive((int32_t)key, copy.boot_ns)) {
            fn(&copy, ctx);
        } else if (__atomic_compare_exchange_n(&s->key, &key, 0, false, __ATOMIC_ACQ_REL,
                                               __ATOMIC_RELAXED)) {
            freed++;
        }
    }
    return freed;
}

/* ---- kill switches ----------------------------------------------------- */

static struct state_header *header(const struct state_map *m)
{
    return m->base;
}

static uint64_t agent_id_of(const char *agent)
{
    return agent && *agent ? fnv64_str(FNV64_OFFSET, agent) : 0;
}

static uint64_t tool_id_of(const char *tool)
{
    return tool && *tool ? state_tool_id(tool) : 0;
}

static bool kill_lock(const struct state_map *m, int32_t owner)
{
    return pidlock_acquire(&header(m)->kill_lock, owner, pidlock_clock_ms, pidlock_pid_alive);
}

static void kill_unlock(const struct state_map *m, int32_t owner)
{
    pidlock_release(&header(m)->kill_lock, owner);
}

/* Rewrites slot k to hold v (active or not); under the kill lock. */
static void kill_write(struct kill_slot *k, const struct kill_slot *v)
{
    uint64_t seq = __atomic_load_n(&k->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&k->seq, seq | 1, __ATOMIC_RELAXED);
    seq_put((char *)k + sizeof k->seq, (const char *)v + sizeof v->seq,
            sizeof *v - sizeof v->seq);
    __atomic_store_n(&k->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

static void count_active(const struct state_map *m)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nkills; i++)
        n += __atomic_load_n(&m->kills[i].active, __ATOMIC_RELAXED) != 0;
    __atomic_store_n(&header(m)->kills_active, n, __ATOMIC_RELEASE);
}

bool state_kill_set(struct state_map *m, const struct kill_entry *e, int32_t owner, int *err)
{
    if (!m->kills || !kill_lock(m, owner)) {
        *err = m->kills ? EBUSY : EINVAL;
        return false;
    }
    struct kill_slot v = {.active = 1, .agent_id = agent_id_of(e->agent),
                          .tool_id = tool_id_of(e->tool), .since_ns = e->since_ns,
                          .uid = e->uid, .signal = e->signal};
    snprintf(v.agent, sizeof v.agent, "%s", e->agent ? e->agent : "");
    snprintf(v.tool, sizeof v.tool, "%s", e->tool ? e->tool : "");
    snprintf(v.reason, sizeof v.reason, "%s", e->reason ? e->reason : "");
    struct kill_slot *free_slot = NULL, *same = NULL;
    for (uint32_t i = 0; i < m->nkills && !same; i++) {
        struct kill_slot *k = &m->kills[i];
        if (!k->active && !free_slot)
            free_slot = k;
        else if (k->active && k->agent_id == v.agent_id && k->tool_id == v.tool_id)
            same = k;
    }
    struct kill_slot *target = same ? same : free_slot;
    if (target) {
        kill_write(target, &v);
        count_active(m);
    }
    kill_unlock(m, owner);
    *err = target ? 0 : ENOSPC;
    return target != NULL;
}

int state_kill_clear(struct state_map *m, const char *agent, const char *tool, bool all,
                     int32_t owner)
{
    if (!m->kills || !kill_lock(m, owner))
        return -1;
    uint64_t aid = agent_id_of(agent), tid = tool_id_of(tool);
    int n = 0;
    for (uint32_t i = 0; i < m->nkills; i++) {
        struct kill_slot *k = &m->kills[i];
        bool match = all ? (!aid || k->agent_id == aid) : k->agent_id == aid && k->tool_id == tid;
        if (!k->active || !match)
            continue;
        kill_write(k, &(struct kill_slot){0});
        n++;
    }
    count_active(m);
    kill_unlock(m, owner);
    return n;
}

/* A consistent copy of slot k; false when a writer kept it busy. */
static bool kill_read(const struct kill_slot *k, struct kill_slot *out)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        uint64_t before = __atomic_load_n(&k->seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        seq_copy_out(out, k, sizeof *out);
        if (__atomic_load_n(&k->seq, __ATOMIC_RELAXED) == before) {
            out->agent[sizeof out->agent - 1] = out->tool[sizeof out->tool - 1] = '\0';
            out->reason[sizeof out->reason - 1] = '\0';
            return true;
        }
    }
    return false;
}

bool state_kill_find(const struct state_map *m, uint64_t agent_id, uint64_t tool_id,
                     struct kill_slot *out)
{
    if (!m || !m->kills || __atomic_load_n(&header(m)->kills_active, __ATOMIC_ACQUIRE) == 0)
        return false;
    for (uint32_t i = 0; i < m->nkills; i++) {
        const struct kill_slot *k = &m->kills[i];
        if (!__atomic_load_n(&k->active, __ATOMIC_ACQUIRE))
            continue;
        struct kill_slot copy;
        /* A slot being rewritten stops the call: a switch is never missed
         * because an operator is turning another one on. */
        if (!kill_read(k, &copy)) {
            memset(out, 0, sizeof *out);
            snprintf(out->reason, sizeof out->reason, "a kill switch is being changed");
            return true;
        }
        bool agent_ok = !copy.agent_id || copy.agent_id == agent_id;
        bool tool_ok = !copy.tool_id || (tool_id && copy.tool_id == tool_id);
        if (copy.active && agent_ok && tool_ok) {
            *out = copy;
            return true;
        }
    }
    return false;
}

void state_kill_each(const struct state_map *m, void (*fn)(const struct kill_slot *k, void *ctx),
                     void *ctx)
{
    for (uint32_t i = 0; m->kills && i < m->nkills; i++) {
        struct kill_slot copy;
        if (__atomic_load_n(&m->kills[i].active, __ATOMIC_ACQUIRE) &&
            kill_read(&m->kills[i], &copy) && copy.active)
            fn(&copy, ctx);
    }
}

/* ---- decision counters ------------------------------------------------- */

static struct counter_slot *counter_slot(const struct state_map *m, uint64_t tool_id,
                                         const char *tool, bool create)
{
    if (!m || !m->counters)
        return NULL;
    uint32_t mask = m->ncounters - 1;
    for (uint32_t i = 0; i < window(m->ncounters); i++) {
        struct counter_slot *c = &m->counters[(tool_id + i) & mask];
        uint64_t seen = __atomic_load_n(&c->key, __ATOMIC_ACQUIRE);
        if (seen == tool_id)
            return c;
        if (seen != 0)
            continue;
        if (!create)
            return NULL;
        /* The name first: a reader that sees the key sees it. */
        if (__atomic_compare_exchange_n(&c->key, &seen, PROC_WRITING, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            put_name(c->tool, sizeof c->tool, tool);
            __atomic_store_n(&c->key, tool_id, __ATOMIC_RELEASE);
            return c;
        }
        if (seen == tool_id)
            return c;
        if (seen == PROC_WRITING)
            return NULL; /* another process is naming it: this count is lost */
    }
    return NULL;
}

void state_count_decision(struct state_map *m, uint64_t tool_id, const char *tool,
                          enum verdict_kind v, enum reason_kind r)
{
    struct counter_slot *c = counter_slot(m, tool_id, tool, true);
    if (c && v < VERDICT_COUNT && r < REASON_COUNT)
        __atomic_fetch_add(&c->decisions[v][r], 1, __ATOMIC_RELAXED);
}

void state_count_outcome(struct state_map *m, uint64_t tool_id, const char *tool, bool success)
{
    struct counter_slot *c = counter_slot(m, tool_id, tool, true);
    if (c)
        __atomic_fetch_add(&c->outcomes[success], 1, __ATOMIC_RELAXED);
}

bool state_counters_read(const struct state_map *m, const char *tool, struct counter_slot *out)
{
    const struct counter_slot *c = counter_slot(m, state_tool_id(tool), tool, false);
    if (!c)
        return false;
    out->key = c->key;
    snprintf(out->tool, sizeof out->tool, "%s", tool);
    for (int v = 0; v < VERDICT_COUNT; v++)
        for (int r = 0; r < REASON_COUNT; r++)
            out->decisions[v][r] = __atomic_load_n(&c->decisions[v][r], __ATOMIC_RELAXED);
    for (int k = 0; k < 2; k++)
        out->outcomes[k] = __atomic_load_n(&c->outcomes[k], __ATOMIC_RELAXED);
    return true;
}
