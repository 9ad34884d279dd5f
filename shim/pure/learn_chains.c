#include "learn_chains.h"

#include <stdlib.h>

struct chain {
    size_t first, last; /* step indexes */
    int32_t pid;
    bool root;
    long next; /* the same process's chain before this one, or -1 */
};

struct proc {
    int32_t pid; /* 0: a free slot */
    long open;   /* its chain that may still grow, or -1 */
    long chains; /* its latest chain, or -1 */
    bool decided;      /* what started it has been looked at, at its first step */
    uint8_t inherited; /* a role all its calls take from what started it, or 0 */
    int32_t started_by; /* the parent it had then: another parent is another process */
};

struct procs {
    struct proc *slots;
    size_t cap, used;
};

static struct proc *proc_of(struct procs *t, int32_t pid, bool create);

static bool procs_grow(struct procs *t)
{
    struct procs bigger = {.cap = t->cap ? t->cap * 2 : 256};
    if (!(bigger.slots = calloc(bigger.cap, sizeof *bigger.slots)))
        return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].pid)
            *proc_of(&bigger, t->slots[i].pid, true) = t->slots[i];
    free(t->slots);
    *t = bigger;
    return true;
}

/* The slot of pid; a new one when create (room is made beforehand). NULL
 * when it has none. */
static struct proc *proc_of(struct procs *t, int32_t pid, bool create)
{
    if (!t->cap)
        return NULL;
    size_t at = ((uint32_t)pid * 2654435761u) & (t->cap - 1);
    while (t->slots[at].pid && t->slots[at].pid != pid)
        at = (at + 1) & (t->cap - 1);
    if (t->slots[at].pid == pid)
        return &t->slots[at];
    if (!create)
        return NULL;
    t->used++;
    t->slots[at] = (struct proc){.pid = pid, .open = -1, .chains = -1};
    return &t->slots[at];
}

/* The chain of pid that holds step i strictly inside, or NULL. */
static const struct chain *chain_around(const struct chain *chains, const struct proc *p, size_t i)
{
    for (long c = p ? p->chains : -1; c >= 0; c = chains[c].next)
        if (chains[c].first < i && i < chains[c].last)
            return &chains[c];
    return NULL;
}

static void mark_chain(const struct learn_step *steps, const struct chain *c, uint8_t *roles)
{
    for (size_t i = c->first; i <= c->last; i++) {
        if (steps[i].pid != c->pid)
            continue;
        if (c->root)
            roles[i] = LEARN_ROLE_START;
        else if (i == c->first)
            roles[i] = LEARN_ROLE_CALL;
        else if (i == c->last && steps[i].program != steps[c->first].program)
            roles[i] = LEARN_ROLE_CALL;
        else
            roles[i] = LEARN_ROLE_WRAPPER;
    }
}

bool learn_chains_classify(const struct learn_step *steps, size_t n, uint8_t *roles)
{
    struct procs t = {0};
    struct chain *chains = NULL;
    size_t nchains = 0, cap = 0;
    /* Steps that continue their process's chain: a program exec'd in
     * place names its parent process, not the program it was a fork of,
     * so a change of parent there is no new process. */
    bool *continued = calloc(n ? n : 1, sizeof *continued);
    bool ok = continued != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        roles[i] = LEARN_ROLE_CALL;
        if (steps[i].pid == 0)
            continue; /* no process named: a call of its own */
        if (t.used * 2 >= t.cap && !procs_grow(&t)) {
            ok = false;
            break;
        }
        struct proc *p = proc_of(&t, steps[i].pid, true);
        if (p->open >= 0) {
            struct chain *c = &chains[p->open];
            if (steps[i].exec && !steps[i].from_enact &&
                steps[i].ts_ms <= steps[c->last].ts_ms + LEARN_CHAIN_GAP_MS) {
                c->last = i;
                continued[i] = true;
                continue;
            }
            p->open = -1;
        }
        if (!steps[i].exec)
            continue;
        if (nchains == cap) {
            size_t bigger = cap ? cap * 2 : 64;
            struct chain *more = realloc(chains, bigger * sizeof *chains);
            if (!more) {
                ok = false;
                break;
            }
            chains = more;
            cap = bigger;
        }
        chains[nchains] = (struct chain){.first = i, .last = i, .pid = steps[i].pid,
                                         .root = steps[i].from_enact, .next = p->chains};
        p->chains = p->open = (long)nchains++;
    }
    for (size_t c = 0; ok && c < nchains; c++)
        mark_chain(steps, &chains[c], roles);
    /* What a wrapper (or the command's start) starts, and all it does: told
     * at a process's first step, when it was started. */
    for (size_t i = 0; ok && i < n; i++) {
        if (steps[i].pid == 0)
            continue;
        struct proc *p = proc_of(&t, steps[i].pid, false);
        bool reused = p->decided && steps[i].exec && !continued[i] &&
                      p->started_by != steps[i].parent; /* the pid, taken again */
        if (!p->decided || reused) {
            struct proc *parent = steps[i].parent ? proc_of(&t, steps[i].parent, false) : NULL;
            const struct chain *c = chain_around(chains, parent, i);
            p->inherited = parent && parent->inherited ? parent->inherited
                           : c                         ? (c->root ? LEARN_ROLE_START
                                                                  : LEARN_ROLE_WRAPPER)
                                                       : 0;
            p->started_by = steps[i].parent;
            p->decided = true;
        }
        if (p->inherited)
            roles[i] = p->inherited;
    }
    free(continued);
    free(chains);
    free(t.slots);
    return ok;
}
