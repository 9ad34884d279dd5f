#include "children.h"

#include "shim.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN_MAX 512u /* slots; a probe looks at most PROBE of them */
#define PROBE 64u

struct child_note {
    int32_t pid; /* 0: free */
    int32_t parent;
    int32_t owner;
    uint32_t tool; /* index into the config's tools */
};

struct child_table {
    uint32_t live;
    struct child_note notes[CHILDREN_MAX];
};

static struct child_table *table; /* set once by children_init */
static const struct enact_config *config;

void children_init(const struct enact_config *cfg)
{
    bool wanted = false;
    for (size_t i = 0; i < cfg->ntools; i++)
        wanted = wanted || (cfg->tools[i].nexec > 0 && cfg->tools[i].has_breaker);
    if (!wanted)
        return;
    void *p = mmap(NULL, sizeof *table, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                   0);
    if (p != MAP_FAILED) {
        config = cfg;
        table = p;
    }
}

void children_note(pid_t pid, pid_t parent, const struct tool *tool, int32_t owner)
{
    if (!table || !tool || !tool->has_breaker)
        return;
    for (uint32_t i = 0; i < PROBE; i++) {
        struct child_note *n = &table->notes[((uint32_t)pid + i) % CHILDREN_MAX];
        int32_t free_ = 0;
        if (__atomic_compare_exchange_n(&n->pid, &free_, -1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            n->parent = parent;
            n->owner = owner;
            n->tool = (uint32_t)(tool - config->tools);
            __atomic_store_n(&n->pid, pid, __ATOMIC_RELEASE);
            __atomic_fetch_add(&table->live, 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

/* pid's note, claimed (its pid set to -1); NULL if none. */
static struct child_note *claim(pid_t pid, pid_t parent)
{
    if (!table || pid <= 0 || __atomic_load_n(&table->live, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    for (uint32_t i = 0; i < PROBE; i++) {
        struct child_note *n = &table->notes[((uint32_t)pid + i) % CHILDREN_MAX];
        int32_t want = pid;
        if (__atomic_load_n(&n->pid, __ATOMIC_ACQUIRE) == pid && n->parent == parent &&
            __atomic_compare_exchange_n(&n->pid, &want, -1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return n;
    }
    return NULL;
}

static void release(struct child_note *n)
{
    __atomic_store_n(&n->pid, 0, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&table->live, 1, __ATOMIC_RELEASE);
}

void children_forget(pid_t pid)
{
    struct child_note *n = claim(pid, getppid());
    if (n)
        release(n);
}

void children_reaped(pid_t pid, int status)
{
    if (!(WIFEXITED(status) || WIFSIGNALED(status)))
        return; /* stopped or continued: not over yet */
    struct child_note *n = claim(pid, getpid());
    if (!n)
        return;
    const struct tool *tool = n->tool < config->ntools ? &config->tools[n->tool] : NULL;
    int32_t owner = n->owner;
    release(n);
    if (!tool)
        return;
    int saved = errno;
    const struct enact_config *cfg;
    if (shim_enter(&cfg)) {
        struct call call = {.op = "exec", .tool = tool, .target = tool->name};
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        shim_outcome(&call, ok ? OUTCOME_SUCCESS : OUTCOME_FAILURE, owner);
        shim_leave();
    }
    errno = saved;
}
