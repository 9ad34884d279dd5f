/* Unit tests for state_control.c: what operators see and steer in the
 * state file. The governed processes (enact ps): registered, rewritten at
 * an exec, left, freed when gone, taken over when their window is full of
 * the dead; kill switches (enact kill, enact resume): which calls each
 * stops, replaced and cleared, the table's bound; decision counters
 * (enact metrics); and all of it kept by the file across maps. Liveness
 * is injected where the API takes it (state_proc_each), real where it
 * asks the system itself (state_proc_alive, the takeover in register). */
#include "helpers.h"

#include <time.h>

#include "hash.h"
#include "state.h"
#include "state_control.h"

#define SEC UINT64_C(1000000000)
#define BOOT0 (UINT64_C(5000) * SEC)
#define REAL0 (UINT64_C(1800000000) * SEC)
#define KILLS 64u
/* Above any pid_max (PID_MAX_LIMIT is 4194304): no such process. */
#define NO_PID 5000000

struct fixture {
    char *dir;
    char path[PATH_MAX];
    char msg[1024];
    struct state_map m;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = th_mkdtemp();
    th_path(f->path, sizeof f->path, f->dir, "enact.state");
    if (state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg) != STATE_OPENED)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    state_close(&f->m);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

static const struct state_header *hdr(const struct fixture *f)
{
    return f->m.base;
}

static uint64_t agent_id(const char *name)
{
    return fnv64_str(FNV64_OFFSET, name);
}

static int32_t owner(void)
{
    return (int32_t)gettid();
}

/* ---- governed processes ------------------------------------------------ */

/* What state_proc_each handed out: copies, in table order. */
enum { SEEN_MAX = 2048 };
struct seen {
    unsigned n;
    struct proc_slot p[SEEN_MAX];
};

static void collect(const struct proc_slot *p, void *ctx)
{
    struct seen *s = ctx;
    assert_true(s->n < SEEN_MAX);
    s->p[s->n++] = *p;
}

static bool all_alive(int32_t pid, uint64_t boot_ns)
{
    (void)pid;
    (void)boot_ns;
    return true;
}

static bool none_alive(int32_t pid, uint64_t boot_ns)
{
    (void)pid;
    (void)boot_ns;
    return false;
}

/* Dead: the pid 4242, only when it registered before BOOT0 + 1 s. */
static bool pid_4242_early_dead(int32_t pid, uint64_t boot_ns)
{
    return !(pid == 4242 && boot_ns < BOOT0 + SEC);
}

static void count_one(const struct proc_slot *p, void *ctx)
{
    (void)p;
    ++*(unsigned *)ctx;
}

/* How many slots are taken (all called alive). */
static unsigned count_procs(struct fixture *f)
{
    unsigned n = 0;
    state_proc_each(&f->m, all_alive, count_one, &n);
    return n;
}

static struct seen *list_procs(struct fixture *f, proc_alive_fn alive, unsigned *freed)
{
    static struct seen s;
    memset(&s, 0, sizeof s);
    unsigned n = state_proc_each(&f->m, alive, collect, &s);
    if (freed)
        *freed = n;
    return &s;
}

/* How many listed slots name pid; the last of them into *out. */
static int count_pid(const struct seen *s, int32_t pid, struct proc_slot *out)
{
    int n = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (s->p[i].key == (uint64_t)(uint32_t)pid) {
            n++;
            if (out)
                *out = s->p[i];
        }
    return n;
}

static struct proc_entry entry(int32_t pid, const char *agent, const char *program,
                               uint64_t boot_ns)
{
    return (struct proc_entry){.pid = pid, .parent = 77, .uid = 1001, .boot_ns = boot_ns,
                               .real_ns = REAL0 + 5, .agent_id = agent_id(agent),
                               .agent = agent, .program = program};
}

static void test_proc_register_lists_its_fields(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(list_procs(f, all_alive, NULL)->n, 0);
    struct proc_entry e = entry(4242, "alpha", "python3", BOOT0);
    state_proc_register(&f->m, &e);
    unsigned freed;
    struct seen *s = list_procs(f, all_alive, &freed);
    assert_int_equal(freed, 0);
    assert_int_equal(s->n, 1);
    const struct proc_slot *p = &s->p[0];
    assert_int_equal(p->key, 4242);
    assert_int_equal(p->parent, 77);
    assert_int_equal(p->uid, 1001);
    assert_int_equal(p->boot_ns, BOOT0);
    assert_int_equal(p->real_ns, REAL0 + 5);
    assert_int_equal(p->agent_id, agent_id("alpha"));
    assert_string_equal(p->agent, "alpha");
    assert_string_equal(p->program, "python3");

    /* pid 0 and 1 are never noted. */
    state_proc_register(&f->m, &(struct proc_entry){.pid = 1, .agent = "init"});
    state_proc_register(&f->m, &(struct proc_entry){.pid = 0, .agent = "none"});
    assert_int_equal(list_procs(f, all_alive, NULL)->n, 1);
}

/* An exec registers the same pid again: its slot is rewritten with the new
 * program, never a second slot. */
static void test_proc_reregister_rewrites_slot(void **state)
{
    struct fixture *f = *state;
    struct proc_entry e = entry(4242, "alpha", "bash", BOOT0);
    state_proc_register(&f->m, &e);
    e.program = "curl";
    e.real_ns = REAL0 + 9;
    state_proc_register(&f->m, &e);
    struct proc_slot p;
    struct seen *s = list_procs(f, all_alive, NULL);
    assert_int_equal(s->n, 1);
    assert_int_equal(count_pid(s, 4242, &p), 1);
    assert_string_equal(p.program, "curl");
    assert_int_equal(p.real_ns, REAL0 + 9);
}

/* A pid other than q whose probe starts at the same slot as q's (state.h:
 * open addressing from the FNV-1a hash of the pid's bytes). */
static int32_t colliding_pid(const struct state_map *m, int32_t q)
{
    uint32_t mask = m->nprocs - 1;
    uint64_t want = fnv64_bytes(FNV64_OFFSET, &q, sizeof q) & mask;
    for (int32_t p = q + 1; p < q + 1000000; p++)
        if ((fnv64_bytes(FNV64_OFFSET, &p, sizeof p) & mask) == want)
            return p;
    fail_msg("no pid collides with %d", (int)q);
    return 0;
}

/* The exec of a process whose slot is not the first of its probe: a slot
 * before it, freed meanwhile by another process that left, must not get a
 * second copy of the pid (enact ps would list it twice, and its leave
 * would free only one of them). */
static void test_proc_reregister_after_earlier_slot_freed(void **state)
{
    struct fixture *f = *state;
    int32_t q = 6000000, p = colliding_pid(&f->m, q);
    struct proc_entry eq = entry(q, "alpha", "first", BOOT0);
    struct proc_entry ep = entry(p, "beta", "bash", BOOT0);
    state_proc_register(&f->m, &eq); /* the first slot of both probes */
    state_proc_register(&f->m, &ep); /* the next one */
    state_proc_leave(&f->m, q);      /* the first is free again */
    ep.program = "curl";
    state_proc_register(&f->m, &ep); /* p's exec */
    struct proc_slot got;
    struct seen *s = list_procs(f, all_alive, NULL);
    assert_int_equal(count_pid(s, p, &got), 1);
    assert_string_equal(got.program, "curl");
    state_proc_leave(&f->m, p);
    assert_int_equal(list_procs(f, all_alive, NULL)->n, 0);
}

static void test_proc_leave_removes_it(void **state)
{
    struct fixture *f = *state;
    struct proc_entry a = entry(4242, "alpha", "bash", BOOT0);
    struct proc_entry b = entry(4343, "alpha", "curl", BOOT0);
    state_proc_register(&f->m, &a);
    state_proc_register(&f->m, &b);
    state_proc_leave(&f->m, 4242);
    struct seen *s = list_procs(f, all_alive, NULL);
    assert_int_equal(s->n, 1);
    assert_int_equal(count_pid(s, 4343, NULL), 1);
    state_proc_leave(&f->m, 9999); /* not there: nothing */
    state_proc_leave(&f->m, 4343);
    assert_int_equal(list_procs(f, all_alive, NULL)->n, 0);
}

/* Slots whose process the alive function calls gone are freed, counted,
 * and not handed out; the living are. */
static void test_proc_each_frees_dead(void **state)
{
    struct fixture *f = *state;
    struct proc_entry early = entry(4242, "alpha", "bash", BOOT0);
    struct proc_entry other = entry(4343, "alpha", "curl", BOOT0);
    state_proc_register(&f->m, &early);
    state_proc_register(&f->m, &other);
    unsigned freed;
    struct seen *s = list_procs(f, pid_4242_early_dead, &freed);
    assert_int_equal(freed, 1);
    assert_int_equal(s->n, 1);
    assert_int_equal(count_pid(s, 4343, NULL), 1);
    /* Freed for good: even an alive function that says all live sees it no more. */
    s = list_procs(f, all_alive, &freed);
    assert_int_equal(freed, 0);
    assert_int_equal(s->n, 1);
    /* The same pid registered later (BOOT0 + 2 s, a reused pid) is alive. */
    struct proc_entry later = entry(4242, "beta", "sh", BOOT0 + 2 * SEC);
    state_proc_register(&f->m, &later);
    s = list_procs(f, pid_4242_early_dead, &freed);
    assert_int_equal(freed, 0);
    assert_int_equal(s->n, 2);
    s = list_procs(f, none_alive, &freed);
    assert_int_equal(freed, 2);
    assert_int_equal(s->n, 0);
    assert_int_equal(list_procs(f, all_alive, NULL)->n, 0);
}

static uint64_t boottime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* Every slot of the table held by a pid that does not exist: a live
 * process registering takes over one of them. */
static void test_proc_full_window_of_dead_taken_over(void **state)
{
    struct fixture *f = *state;
    uint32_t n = f->m.nprocs;
    int i = 0;
    for (; count_procs(f) < n; i++) {
        assert_true(i < 1000000);
        struct proc_entry e = entry(NO_PID + i, "ghost", "gone", BOOT0);
        state_proc_register(&f->m, &e);
    }
    int32_t me = (int32_t)getpid();
    uint64_t boot = boottime_ns();
    struct proc_entry e = entry(me, "alpha", "unit", boot);
    state_proc_register(&f->m, &e);
    struct proc_slot got;
    struct seen *s = list_procs(f, all_alive, NULL);
    assert_int_equal(s->n, n); /* one ghost gave its slot */
    assert_int_equal(count_pid(s, me, &got), 1);
    assert_string_equal(got.agent, "alpha");
    assert_int_equal(got.boot_ns, boot);
}

static void test_proc_alive(void **state)
{
    (void)state;
    int32_t me = (int32_t)getpid();
    assert_true(state_proc_alive(me, boottime_ns()));
    assert_false(state_proc_alive(NO_PID, boottime_ns()));
    assert_false(state_proc_alive(0, boottime_ns()));
    assert_false(state_proc_alive(-1, boottime_ns()));
    /* Registered (at 1 ns after boot) long before this process started:
     * a pid reused since, not the process that registered. */
    assert_false(state_proc_alive(me, 1));
}

/* ---- kill switches ----------------------------------------------------- */

static struct kill_entry kill_of(const char *agent, const char *tool, const char *reason)
{
    return (struct kill_entry){.agent = agent, .tool = tool, .reason = reason, .uid = 1001,
                               .signal = 15, .since_ns = REAL0 + 7};
}

static void set_kill(struct fixture *f, const char *agent, const char *tool, const char *reason)
{
    struct kill_entry e = kill_of(agent, tool, reason);
    int err = -1;
    assert_true(state_kill_set(&f->m, &e, owner(), &err));
    assert_int_equal(err, 0);
}

static bool killed(const struct fixture *f, const char *agent, const char *tool)
{
    struct kill_slot out;
    return state_kill_find(&f->m, agent_id(agent), tool ? state_tool_id(tool) : 0, &out);
}

enum { KILLS_SEEN = 128 };
struct kills_seen {
    int n;
    struct kill_slot k[KILLS_SEEN];
};

static void collect_kill(const struct kill_slot *k, void *ctx)
{
    struct kills_seen *s = ctx;
    assert_true(s->n < KILLS_SEEN);
    s->k[s->n++] = *k;
}

static struct kills_seen *list_kills(const struct fixture *f)
{
    static struct kills_seen s;
    memset(&s, 0, sizeof s);
    state_kill_each(&f->m, collect_kill, &s);
    return &s;
}

static void test_kill_none(void **state)
{
    struct fixture *f = *state;
    assert_false(killed(f, "alpha", "db"));
    assert_false(killed(f, "alpha", NULL));
    assert_int_equal(hdr(f)->kills_active, 0);
    assert_int_equal(list_kills(f)->n, 0);
    /* Nothing to clear. */
    assert_int_equal(state_kill_clear(&f->m, "alpha", NULL, false, owner()), 0);
    assert_int_equal(state_kill_clear(&f->m, NULL, NULL, true, owner()), 0);
}

/* An agent's switch for every tool: its calls to any tool, and its
 * unmapped calls, stop; another agent's do not. The copy out says who,
 * when, why and with what signal. */
static void test_kill_agent_every_tool(void **state)
{
    struct fixture *f = *state;
    set_kill(f, "alpha", NULL, "runaway loop");
    assert_int_equal(hdr(f)->kills_active, 1);
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, agent_id("alpha"), state_tool_id("db"), &out));
    assert_true(out.active);
    assert_string_equal(out.agent, "alpha");
    assert_string_equal(out.tool, "");
    assert_int_equal(out.agent_id, agent_id("alpha"));
    assert_int_equal(out.tool_id, 0);
    assert_string_equal(out.reason, "runaway loop");
    assert_int_equal(out.uid, 1001);
    assert_int_equal(out.signal, 15);
    assert_int_equal(out.since_ns, REAL0 + 7);
    assert_true(killed(f, "alpha", "http"));
    assert_true(killed(f, "alpha", NULL)); /* unmapped: tool_id 0 */
    assert_false(killed(f, "beta", "db"));
    assert_false(killed(f, "beta", NULL));
    /* "" is every tool too. */
    assert_int_equal(state_kill_clear(&f->m, "alpha", "", false, owner()), 1);
    set_kill(f, "alpha", "", "again");
    assert_true(killed(f, "alpha", NULL));
    assert_int_equal(list_kills(f)->n, 1);
}

/* A tool's switch for every agent: that tool stops for all, other tools
 * and unmapped calls go on. */
static void test_kill_tool_every_agent(void **state)
{
    struct fixture *f = *state;
    set_kill(f, NULL, "db", "db is melting");
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, agent_id("alpha"), state_tool_id("db"), &out));
    assert_string_equal(out.agent, "");
    assert_string_equal(out.tool, "db");
    assert_int_equal(out.agent_id, 0);
    assert_int_equal(out.tool_id, state_tool_id("db"));
    assert_true(killed(f, "beta", "db"));
    assert_true(killed(f, "", "db"));
    assert_false(killed(f, "alpha", "http"));
    assert_false(killed(f, "alpha", NULL));
    assert_false(killed(f, "beta", NULL));
}

/* An agent's switch for one tool: only that pair. */
static void test_kill_agent_and_tool(void **state)
{
    struct fixture *f = *state;
    set_kill(f, "alpha", "db", "just db");
    assert_true(killed(f, "alpha", "db"));
    assert_false(killed(f, "alpha", "http"));
    assert_false(killed(f, "alpha", NULL));
    assert_false(killed(f, "beta", "db"));
}

static void test_kill_everything(void **state)
{
    struct fixture *f = *state;
    set_kill(f, NULL, NULL, "stop the world");
    assert_true(killed(f, "alpha", "db"));
    assert_true(killed(f, "beta", "http"));
    assert_true(killed(f, "alpha", NULL));
    assert_true(killed(f, "", NULL));
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, 12345, 0, &out));
    assert_string_equal(out.reason, "stop the world");
}

/* The same (agent, tool) again replaces the switch: still one on, the
 * latest reason. */
static void test_kill_same_pair_replaces(void **state)
{
    struct fixture *f = *state;
    set_kill(f, "alpha", "db", "first");
    set_kill(f, "alpha", "db", "second");
    assert_int_equal(hdr(f)->kills_active, 1);
    struct kills_seen *s = list_kills(f);
    assert_int_equal(s->n, 1);
    assert_string_equal(s->k[0].reason, "second");
    /* A different pair is a second switch. */
    set_kill(f, "alpha", NULL, "third");
    assert_int_equal(hdr(f)->kills_active, 2);
    assert_int_equal(list_kills(f)->n, 2);
}

static void test_kill_clear_exact_and_all(void **state)
{
    struct fixture *f = *state;
    set_kill(f, "alpha", NULL, "a-all");
    set_kill(f, "alpha", "db", "a-db");
    set_kill(f, "alpha", "http", "a-http");
    set_kill(f, "beta", NULL, "b-all");
    set_kill(f, "beta", "db", "b-db");
    set_kill(f, NULL, "db", "all-db");
    set_kill(f, NULL, NULL, "all-all");
    assert_int_equal(hdr(f)->kills_active, 7);

    /* Exact: that (agent, tool) only; a pair not on clears nothing. */
    assert_int_equal(state_kill_clear(&f->m, "alpha", "db", false, owner()), 1);
    assert_int_equal(state_kill_clear(&f->m, "alpha", "db", false, owner()), 0);
    assert_int_equal(state_kill_clear(&f->m, "gamma", NULL, false, owner()), 0);
    assert_int_equal(hdr(f)->kills_active, 6);
    /* NULL agent and tool exactly: the every-agent, every-tool switch. */
    assert_int_equal(state_kill_clear(&f->m, NULL, NULL, false, owner()), 1);
    assert_int_equal(hdr(f)->kills_active, 5);
    assert_false(killed(f, "gamma", "http")); /* only that one stopped it */
    assert_true(killed(f, "gamma", "db"));    /* every agent, db: still on */

    /* All of alpha's: its two left, not beta's, not every agent's. */
    assert_int_equal(state_kill_clear(&f->m, "alpha", NULL, true, owner()), 2);
    assert_int_equal(hdr(f)->kills_active, 3);
    assert_false(killed(f, "alpha", "http"));
    assert_true(killed(f, "alpha", "db")); /* by the every-agent db switch */
    assert_true(killed(f, "beta", "http"));
    struct kills_seen *s = list_kills(f);
    assert_int_equal(s->n, 3);
    for (int i = 0; i < s->n; i++)
        assert_string_not_equal(s->k[i].agent, "alpha");

    /* All with NULL: every switch. */
    assert_int_equal(state_kill_clear(&f->m, NULL, NULL, true, owner()), 3);
    assert_int_equal(hdr(f)->kills_active, 0);
    assert_false(killed(f, "beta", "db"));
    assert_false(killed(f, "alpha", NULL));
    assert_int_equal(list_kills(f)->n, 0);
}

/* 64 switches fill the table: the 65th is refused (ENOSPC), an existing
 * one may still be replaced, and a cleared slot is used again. */
static void test_kill_table_full(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->m.nkills, KILLS);
    char name[32];
    for (unsigned i = 0; i < KILLS; i++) {
        snprintf(name, sizeof name, "agent%u", i);
        set_kill(f, name, NULL, "fill");
    }
    assert_int_equal(hdr(f)->kills_active, KILLS);
    struct kill_entry e = kill_of("one-too-many", NULL, "overflow");
    int err = 0;
    assert_false(state_kill_set(&f->m, &e, owner(), &err));
    assert_int_equal(err, ENOSPC);
    assert_false(killed(f, "one-too-many", "db"));
    assert_int_equal(hdr(f)->kills_active, KILLS);

    set_kill(f, "agent63", NULL, "replaced while full");
    assert_int_equal(hdr(f)->kills_active, KILLS);
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, agent_id("agent63"), 0, &out));
    assert_string_equal(out.reason, "replaced while full");

    assert_int_equal(state_kill_clear(&f->m, "agent5", NULL, false, owner()), 1);
    set_kill(f, "one-too-many", NULL, "room now");
    assert_true(killed(f, "one-too-many", "db"));
    assert_false(killed(f, "agent5", "db"));
    assert_int_equal(hdr(f)->kills_active, KILLS);
}

/* A long reason and long names are cut to their fields, NUL-terminated. */
static void test_kill_long_fields_truncated(void **state)
{
    struct fixture *f = *state;
    char agent[200], reason[400];
    memset(agent, 'a', sizeof agent - 1);
    agent[sizeof agent - 1] = '\0';
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    set_kill(f, agent, NULL, reason);
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, agent_id(agent), 0, &out));
    assert_int_equal(strlen(out.agent), STATE_NAME_MAX - 1);
    assert_int_equal(strlen(out.reason), KILL_REASON_MAX - 1);
    assert_int_equal(out.agent_id, agent_id(agent)); /* the id of the whole name */
}

/* ---- decision counters ------------------------------------------------- */

static void test_counters(void **state)
{
    struct fixture *f = *state;
    struct counter_slot c;
    assert_false(state_counters_read(&f->m, "db", &c));
    uint64_t db = state_tool_id("db"), http = state_tool_id("http");
    for (int i = 0; i < 3; i++)
        state_count_decision(&f->m, db, "db", VERDICT_ALLOW, REASON_NONE);
    state_count_decision(&f->m, db, "db", VERDICT_DENY, REASON_RATE_LIMITED);
    state_count_decision(&f->m, db, "db", VERDICT_DENY, REASON_RATE_LIMITED);
    state_count_decision(&f->m, db, "db", VERDICT_WOULD_DENY, REASON_QUOTA_EXCEEDED);
    state_count_decision(&f->m, db, "db", VERDICT_DENY, REASON_KILLED);
    state_count_outcome(&f->m, db, "db", true);
    state_count_outcome(&f->m, db, "db", true);
    state_count_outcome(&f->m, db, "db", false);
    state_count_decision(&f->m, http, "http", VERDICT_ERROR, REASON_STATE_FULL);
    /* Out of range: ignored, nothing else moves. */
    state_count_decision(&f->m, db, "db", VERDICT_COUNT, REASON_NONE);
    state_count_decision(&f->m, db, "db", VERDICT_ALLOW, REASON_COUNT);

    assert_true(state_counters_read(&f->m, "db", &c));
    assert_int_equal(c.key, db);
    assert_string_equal(c.tool, "db");
    uint64_t total = 0;
    for (int v = 0; v < VERDICT_COUNT; v++)
        for (int r = 0; r < REASON_COUNT; r++)
            total += c.decisions[v][r];
    assert_int_equal(total, 7);
    assert_int_equal(c.decisions[VERDICT_ALLOW][REASON_NONE], 3);
    assert_int_equal(c.decisions[VERDICT_DENY][REASON_RATE_LIMITED], 2);
    assert_int_equal(c.decisions[VERDICT_WOULD_DENY][REASON_QUOTA_EXCEEDED], 1);
    assert_int_equal(c.decisions[VERDICT_DENY][REASON_KILLED], 1);
    assert_int_equal(c.outcomes[1], 2); /* successes */
    assert_int_equal(c.outcomes[0], 1); /* failures */

    /* The other tool is counted apart. */
    assert_true(state_counters_read(&f->m, "http", &c));
    assert_int_equal(c.key, http);
    assert_string_equal(c.tool, "http");
    assert_int_equal(c.decisions[VERDICT_ERROR][REASON_STATE_FULL], 1);
    assert_int_equal(c.decisions[VERDICT_ALLOW][REASON_NONE], 0);
    assert_int_equal(c.outcomes[0] + c.outcomes[1], 0);
    /* An outcome alone makes a tool's counters. */
    state_count_outcome(&f->m, state_tool_id("ls"), "ls", false);
    assert_true(state_counters_read(&f->m, "ls", &c));
    assert_int_equal(c.outcomes[0], 1);
    assert_false(state_counters_read(&f->m, "never", &c));
}

/* Many tools: each keeps its own counts (the table probes past taken
 * slots). */
static void test_counters_many_tools(void **state)
{
    struct fixture *f = *state;
    char name[32];
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "tool%d", i);
        for (int k = 0; k <= i; k++)
            state_count_decision(&f->m, state_tool_id(name), name, VERDICT_ALLOW, REASON_NONE);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "tool%d", i);
        struct counter_slot c;
        assert_true(state_counters_read(&f->m, name, &c));
        assert_int_equal(c.decisions[VERDICT_ALLOW][REASON_NONE], (uint64_t)i + 1);
    }
}

/* ---- shared by processes ----------------------------------------------- */

/* Closed and mapped again (as another process maps it): switches,
 * processes and counters are all still there. */
static void test_reopened_file_keeps_control_state(void **state)
{
    struct fixture *f = *state;
    set_kill(f, "alpha", NULL, "kept");
    set_kill(f, NULL, "db", "kept too");
    struct proc_entry e = entry(4242, "alpha", "bash", BOOT0);
    state_proc_register(&f->m, &e);
    state_count_decision(&f->m, state_tool_id("db"), "db", VERDICT_DENY, REASON_KILLED);
    state_count_outcome(&f->m, state_tool_id("db"), "db", true);
    state_close(&f->m);

    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(hdr(f)->kills_active, 2);
    struct kill_slot out;
    assert_true(state_kill_find(&f->m, agent_id("alpha"), state_tool_id("http"), &out));
    assert_string_equal(out.reason, "kept");
    assert_true(killed(f, "beta", "db"));
    assert_false(killed(f, "beta", "http"));
    struct proc_slot p;
    struct seen *s = list_procs(f, all_alive, NULL);
    assert_int_equal(s->n, 1);
    assert_int_equal(count_pid(s, 4242, &p), 1);
    assert_string_equal(p.agent, "alpha");
    assert_string_equal(p.program, "bash");
    struct counter_slot c;
    assert_true(state_counters_read(&f->m, "db", &c));
    assert_int_equal(c.decisions[VERDICT_DENY][REASON_KILLED], 1);
    assert_int_equal(c.outcomes[1], 1);

    /* And a change made in the new map is seen by a second map of the file. */
    struct state_map other = {0};
    assert_int_equal(state_open(f->path, NULL, &other, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_kill_clear(&other, NULL, NULL, true, owner()), 2);
    assert_false(killed(f, "alpha", "http"));
    assert_int_equal(hdr(f)->kills_active, 0);
    state_close(&other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_proc_register_lists_its_fields),
        T(test_proc_reregister_rewrites_slot),
        T(test_proc_reregister_after_earlier_slot_freed),
        T(test_proc_leave_removes_it),
        T(test_proc_each_frees_dead),
        T(test_proc_full_window_of_dead_taken_over),
        T(test_proc_alive),
        T(test_kill_none),
        T(test_kill_agent_every_tool),
        T(test_kill_tool_every_agent),
        T(test_kill_agent_and_tool),
        T(test_kill_everything),
        T(test_kill_same_pair_replaces),
        T(test_kill_clear_exact_and_all),
        T(test_kill_table_full),
        T(test_kill_long_fields_truncated),
        T(test_counters),
        T(test_counters_many_tools),
        T(test_reopened_file_keeps_control_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
