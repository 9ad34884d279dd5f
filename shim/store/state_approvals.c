/* Calls held for a person's approval: state_control.h. */
#include "state_control.h"

#include "seq_bytes.h"
#include "../pure/hash.h"

#include <stdio.h>
#include <string.h>

/* A request whose deadline passed this long ago, with no one taking its
 * answer, is abandoned: its slot may be taken over. */
#define ABANDONED_NS (UINT64_C(60) * 1000000000u)

static uint32_t state_of(const struct approval_slot *a)
{
    return __atomic_load_n(&a->state, __ATOMIC_ACQUIRE);
}

/* Moves a from `from` to APPROVAL_WRITING: the caller owns it. */
static bool own(struct approval_slot *a, uint32_t from)
{
    return __atomic_compare_exchange_n(&a->state, &from, APPROVAL_WRITING, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Owns a, seen in state `from` holding request id: false when it holds
 * another request now (taken over meanwhile: its state went through
 * WRITING and back), which is then left as it was. */
static bool own_request(struct approval_slot *a, uint32_t from, uint64_t id)
{
    if (!own(a, from))
        return false;
    if (__atomic_load_n(&a->id, __ATOMIC_ACQUIRE) == id)
        return true;
    __atomic_store_n(&a->state, from, __ATOMIC_RELEASE);
    return false;
}

/* Writes v's fields (all but state) into the owned slot a, then moves it
 * to `to`. */
static void publish(struct approval_slot *a, const struct approval_slot *v, uint32_t to)
{
    uint64_t seq = __atomic_load_n(&a->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&a->seq, seq | 1, __ATOMIC_RELAXED);
    size_t head = offsetof(struct approval_slot, pid);
    seq_put((char *)a + head, (const char *)v + head, sizeof *v - head);
    __atomic_store_n(&a->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&a->state, to, __ATOMIC_RELEASE);
}

/* A consistent copy of a; false when a writer kept it busy. */
static bool copy_of(const struct approval_slot *a, struct approval_slot *out)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        uint64_t before = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        seq_copy_out(out, a, sizeof *out);
        if (__atomic_load_n(&a->seq, __ATOMIC_RELAXED) == before) {
            out->agent[sizeof out->agent - 1] = out->tool[sizeof out->tool - 1] = '\0';
            out->op[sizeof out->op - 1] = out->what[sizeof out->what - 1] = '\0';
            out->impact_reason[sizeof out->impact_reason - 1] = '\0';
            out->note[sizeof out->note - 1] = '\0';
            return true;
        }
    }
    return false;
}

/* Whether a held slot may be taken over: its process is gone, or its
 * deadline passed long ago. */
static bool abandoned(const struct approval_slot *a, uint64_t real_ns)
{
    uint64_t deadline = __atomic_load_n(&a->deadline_ns, __ATOMIC_ACQUIRE);
    int32_t pid = __atomic_load_n(&a->pid, __ATOMIC_ACQUIRE);
    uint64_t boot = __atomic_load_n(&a->boot_ns, __ATOMIC_ACQUIRE);
    return real_ns > deadline + ABANDONED_NS || !state_proc_alive(pid, boot);
}

bool state_approval_open(struct state_map *m, const struct approval_request *rq,
                         struct approval_ticket *t)
{
    if (!m->approvals)
        return false;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < m->napprovals; i++) {
            struct approval_slot *a = &m->approvals[i];
            uint32_t s = state_of(a);
            uint64_t held = __atomic_load_n(&a->id, __ATOMIC_ACQUIRE);
            bool usable = s == APPROVAL_FREE ||
                          (pass == 1 && s != APPROVAL_WRITING && abandoned(a, rq->since_ns));
            if (!usable || !(s == APPROVAL_FREE ? own(a, s) : own_request(a, s, held)))
                continue;
            uint64_t mix[] = {(uint64_t)rq->pid, rq->since_ns, i, rq->call_hash};
            struct approval_slot v = {
                .pid = rq->pid,
                .id = (fnv64_bytes(FNV64_OFFSET, mix, sizeof mix) & 0xffffffffu) | 1,
                .agent_id = rq->agent_id,
                .tool_id = rq->tool_id,
                .call_hash = rq->call_hash,
                .boot_ns = rq->boot_ns,
                .since_ns = rq->since_ns,
                .deadline_ns = rq->deadline_ns,
                .impact = rq->impact,
            };
            snprintf(v.agent, sizeof v.agent, "%s", rq->agent ? rq->agent : "");
            snprintf(v.tool, sizeof v.tool, "%s", rq->tool ? rq->tool : "");
            snprintf(v.op, sizeof v.op, "%s", rq->op ? rq->op : "");
            snprintf(v.what, sizeof v.what, "%s", rq->what ? rq->what : "");
            snprintf(v.impact_reason, sizeof v.impact_reason, "%s",
                     rq->impact_reason ? rq->impact_reason : "");
            publish(a, &v, APPROVAL_PENDING);
            *t = (struct approval_ticket){i, v.id};
            return true;
        }
    return false;
}

enum approval_state state_approval_get(const struct state_map *m, struct approval_ticket t,
                                       struct approval_slot *out)
{
    if (!m->approvals || t.index >= m->napprovals)
        return APPROVAL_FREE;
    const struct approval_slot *a = &m->approvals[t.index];
    struct approval_slot copy;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint32_t s = state_of(a);
        if (s == APPROVAL_FREE)
            return APPROVAL_FREE;
        if (s == APPROVAL_WRITING || !copy_of(a, &copy) || state_of(a) != s)
            continue;
        if (copy.id != t.id)
            return APPROVAL_FREE;
        if (out)
            *out = copy;
        return (enum approval_state)s;
    }
    return APPROVAL_PENDING; /* being answered right now: ask again */
}

bool state_approval_answer(struct state_map *m, uint64_t id, enum approval_state to, uint32_t uid,
                           const char *note, uint64_t real_ns, struct approval_slot *out)
{
    for (uint32_t i = 0; m->approvals && i < m->napprovals; i++) {
        struct approval_slot *a = &m->approvals[i];
        struct approval_slot v;
        if (state_of(a) != APPROVAL_PENDING || !copy_of(a, &v) || v.id != id)
            continue;
        if (!own_request(a, APPROVAL_PENDING, id))
            return false; /* answered by someone else a moment ago, or taken over */
        copy_of(a, &v);   /* owned: no writer can tear it */
        v.decided_ns = real_ns;
        v.decided_uid = uid;
        snprintf(v.note, sizeof v.note, "%s", note ? note : "");
        publish(a, &v, to);
        if (out)
            *out = v;
        return true;
    }
    return false;
}

bool state_approval_find_call(const struct state_map *m, uint64_t agent_id, uint64_t tool_id,
                              uint64_t call_hash, struct approval_ticket *t)
{
    for (uint32_t i = 0; m->approvals && i < m->napprovals; i++) {
        const struct approval_slot *a = &m->approvals[i];
        struct approval_slot v;
        uint32_t s = state_of(a);
        if (s < APPROVAL_PENDING || !copy_of(a, &v) || v.call_hash != call_hash ||
            v.agent_id != agent_id || v.tool_id != tool_id)
            continue;
        *t = (struct approval_ticket){i, v.id};
        return true;
    }
    return false;
}

void state_approval_close(struct state_map *m, struct approval_ticket t)
{
    if (!m->approvals || t.index >= m->napprovals)
        return;
    struct approval_slot *a = &m->approvals[t.index];
    struct approval_slot v;
    uint32_t s = state_of(a);
    if (s < APPROVAL_PENDING || !copy_of(a, &v) || v.id != t.id || !own_request(a, s, t.id))
        return;
    __atomic_store_n(&a->state, APPROVAL_FREE, __ATOMIC_RELEASE);
}

void state_approval_each(struct state_map *m, void (*fn)(const struct approval_slot *a, void *ctx),
                         void *ctx)
{
    for (uint32_t i = 0; m->approvals && i < m->napprovals; i++) {
        struct approval_slot *a = &m->approvals[i];
        struct approval_slot v;
        uint32_t s = state_of(a);
        if (s < APPROVAL_PENDING || !copy_of(a, &v))
            continue;
        if (!state_proc_alive(v.pid, v.boot_ns)) {
            if (own_request(a, s, v.id))
                __atomic_store_n(&a->state, APPROVAL_FREE, __ATOMIC_RELEASE);
            continue;
        }
        v.state = s;
        fn(&v, ctx);
    }
}
