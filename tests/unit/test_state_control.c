/* Unit tests for state_control.c: what operators see and steer in the
 * state file. The governed processes (enact ps): registered, rewritten at
 * an exec, left, freed when gone, taken over when their window is full of
 * the dead; kill switches (enact kill, enact resume): which calls each
 * stops, replaced and cleared, the table's bound; decision counters
 * (enact metrics); and all of it kept by the file across maps. Liveness
 * is injected where the API takes it (state_proc_each), real where it
 * asks the system itself (state_proc_alive, the takeover in register). */
#include "state_fixture.h"

#include <pthread.h>
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

static int setup(void **state)
{
    struct fixture *f = state_fixture_new();
    *state = f;
    return f && state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg) == STATE_OPENED ? 0 : -1;
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

/* ---- approvals ---------------------------------------------------------- */

#define APPROVALS 64u

/* A request of this process (alive: its pid, booted now) unless pid says
 * otherwise; since and deadline as given. */
static struct approval_request request_of(int32_t pid, uint64_t since, uint64_t deadline,
                                          uint64_t call_hash)
{
    return (struct approval_request){
        .pid = pid,
        .boot_ns = boottime_ns(),
        .agent_id = agent_id("alpha"),
        .tool_id = state_tool_id("shell"),
        .call_hash = call_hash,
        .since_ns = since,
        .deadline_ns = deadline,
        .impact = 3, /* IMPACT_HIGH */
        .agent = "alpha",
        .tool = "shell",
        .op = "exec",
        .what = "rm -rf /srv/data",
        .impact_reason = "rm deletes files",
    };
}

static struct approval_request my_request(uint64_t call_hash)
{
    return request_of((int32_t)getpid(), REAL0, REAL0 + 300 * SEC, call_hash);
}

static struct approval_ticket open_ok(struct fixture *f, const struct approval_request *rq)
{
    struct approval_ticket t = {UINT32_MAX, 0};
    assert_true(state_approval_open(&f->m, rq, &t));
    assert_true(t.index < f->m.napprovals);
    assert_int_not_equal(t.id, 0);
    return t;
}

enum { APPROVALS_SEEN = 128 };
struct approvals_seen {
    unsigned n;
    struct approval_slot a[APPROVALS_SEEN];
};

static void collect_approval(const struct approval_slot *a, void *ctx)
{
    struct approvals_seen *s = ctx;
    assert_true(s->n < APPROVALS_SEEN);
    s->a[s->n++] = *a;
}

static struct approvals_seen *list_approvals_of(struct state_map *m)
{
    static struct approvals_seen s;
    memset(&s, 0, sizeof s);
    state_approval_each(m, collect_approval, &s);
    return &s;
}

static struct approvals_seen *list_approvals(struct fixture *f)
{
    return list_approvals_of(&f->m);
}

/* The listed request of id, or NULL. */
static const struct approval_slot *listed(const struct approvals_seen *s, uint64_t id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->a[i].id == id)
            return &s->a[i];
    return NULL;
}

static void test_approval_open_get_copies_fields(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->m.napprovals, APPROVALS);
    struct approval_request rq = my_request(0xc0ffee);
    struct approval_ticket t = open_ok(f, &rq);
    assert_true(t.id <= UINT32_MAX); /* shown as 8 hex digits */
    struct approval_slot a;
    memset(&a, 0x5a, sizeof a);
    assert_int_equal(state_approval_get(&f->m, t, &a), APPROVAL_PENDING);
    assert_int_equal(a.state, APPROVAL_PENDING);
    assert_int_equal(a.id, t.id);
    assert_int_equal(a.pid, rq.pid);
    assert_int_equal(a.boot_ns, rq.boot_ns);
    assert_int_equal(a.agent_id, agent_id("alpha"));
    assert_int_equal(a.tool_id, state_tool_id("shell"));
    assert_int_equal(a.call_hash, 0xc0ffee);
    assert_int_equal(a.since_ns, REAL0);
    assert_int_equal(a.deadline_ns, REAL0 + 300 * SEC);
    assert_int_equal(a.impact, 3);
    assert_string_equal(a.agent, "alpha");
    assert_string_equal(a.tool, "shell");
    assert_string_equal(a.op, "exec");
    assert_string_equal(a.what, "rm -rf /srv/data");
    assert_string_equal(a.impact_reason, "rm deletes files");
    /* Not answered: no one, never, no note. */
    assert_int_equal(a.decided_ns, 0);
    assert_int_equal(a.decided_uid, 0);
    assert_string_equal(a.note, "");
    /* out may be left out. */
    assert_int_equal(state_approval_get(&f->m, t, NULL), APPROVAL_PENDING);
    /* A ticket of no slot, or of another id, reads FREE. */
    assert_int_equal(state_approval_get(&f->m, (struct approval_ticket){APPROVALS, t.id}, &a),
                     APPROVAL_FREE);
    assert_int_equal(state_approval_get(&f->m, (struct approval_ticket){t.index, t.id ^ 2}, &a),
                     APPROVAL_FREE);
}

/* NULL strings are held as ""; long ones are cut to their fields. */
static void test_approval_null_and_long_fields(void **state)
{
    struct fixture *f = *state;
    char what[APPROVAL_WHAT_MAX + 100], agent[STATE_NAME_MAX + 50];
    memset(what, 'w', sizeof what - 1);
    what[sizeof what - 1] = '\0';
    memset(agent, 'a', sizeof agent - 1);
    agent[sizeof agent - 1] = '\0';
    struct approval_request rq = my_request(1);
    rq.what = what;
    rq.agent = agent;
    rq.op = "a-very-long-operation-name";
    rq.tool = NULL;
    rq.impact_reason = NULL;
    struct approval_ticket t = open_ok(f, &rq);
    struct approval_slot a;
    assert_int_equal(state_approval_get(&f->m, t, &a), APPROVAL_PENDING);
    assert_int_equal(strlen(a.what), APPROVAL_WHAT_MAX - 1);
    assert_int_equal(strlen(a.agent), STATE_NAME_MAX - 1);
    assert_int_equal(strlen(a.op), sizeof a.op - 1);
    assert_string_equal(a.tool, "");
    assert_string_equal(a.impact_reason, "");
    assert_true(state_approval_answer(&f->m, t.id, APPROVAL_APPROVED, 0, NULL, REAL0 + SEC, &a));
    assert_string_equal(a.note, "");
}

/* Answered once: the copy out and get say how, by whom, when, with what
 * note; a second answer of either kind is refused and changes nothing. */
static void answer_once(struct fixture *f, enum approval_state to)
{
    struct approval_request rq = my_request(100 + to);
    struct approval_ticket t = open_ok(f, &rq);
    struct approval_slot a;
    memset(&a, 0, sizeof a);
    assert_true(state_approval_answer(&f->m, t.id, to, 1001, "looks fine", REAL0 + 7 * SEC, &a));
    assert_int_equal(a.id, t.id);
    assert_int_equal(a.decided_uid, 1001);
    assert_int_equal(a.decided_ns, REAL0 + 7 * SEC);
    assert_string_equal(a.note, "looks fine");
    assert_string_equal(a.what, "rm -rf /srv/data");
    struct approval_slot got;
    assert_int_equal(state_approval_get(&f->m, t, &got), to);
    assert_int_equal(got.state, to);
    assert_int_equal(got.decided_uid, 1001);
    assert_int_equal(got.decided_ns, REAL0 + 7 * SEC);
    assert_string_equal(got.note, "looks fine");
    assert_string_equal(got.agent, "alpha");
    assert_int_equal(got.since_ns, REAL0);

    /* Answered already: no second answer of any kind. */
    static const enum approval_state again[] = {APPROVAL_APPROVED, APPROVAL_DENIED,
                                                APPROVAL_EXPIRED};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        memset(&a, 0, sizeof a);
        assert_false(state_approval_answer(&f->m, t.id, again[i], 0, "changed my mind",
                                           REAL0 + 9 * SEC, &a));
    }
    assert_int_equal(state_approval_get(&f->m, t, &got), to);
    assert_int_equal(got.decided_uid, 1001);
    assert_int_equal(got.decided_ns, REAL0 + 7 * SEC);
    assert_string_equal(got.note, "looks fine");
    /* An id nothing holds. */
    assert_false(state_approval_answer(&f->m, t.id ^ 0x10, APPROVAL_APPROVED, 0, NULL, REAL0,
                                       NULL));
    assert_false(state_approval_answer(&f->m, 0, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
}

static void test_approval_answer_approved(void **state)
{
    answer_once(*state, APPROVAL_APPROVED);
}

static void test_approval_answer_denied(void **state)
{
    answer_once(*state, APPROVAL_DENIED);
}

static void test_approval_answer_expired(void **state)
{
    answer_once(*state, APPROVAL_EXPIRED);
}

/* Answering one request leaves another pending. */
static void test_approval_answer_only_its_request(void **state)
{
    struct fixture *f = *state;
    struct approval_request r1 = my_request(1), r2 = my_request(2);
    struct approval_ticket t1 = open_ok(f, &r1), t2 = open_ok(f, &r2);
    assert_true(state_approval_answer(&f->m, t2.id, APPROVAL_DENIED, 5, "no", REAL0, NULL));
    assert_int_equal(state_approval_get(&f->m, t1, NULL), APPROVAL_PENDING);
    assert_int_equal(state_approval_get(&f->m, t2, NULL), APPROVAL_DENIED);
    assert_true(state_approval_answer(&f->m, t1.id, APPROVAL_APPROVED, 5, "yes", REAL0, NULL));
    assert_int_equal(state_approval_get(&f->m, t1, NULL), APPROVAL_APPROVED);
    assert_int_equal(state_approval_get(&f->m, t2, NULL), APPROVAL_DENIED);
}

static void test_approval_find_call(void **state)
{
    struct fixture *f = *state;
    struct approval_ticket t;
    assert_false(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 77,
                                          &t));
    struct approval_request other = my_request(76);
    struct approval_ticket to = open_ok(f, &other);
    struct approval_request rq = my_request(77);
    struct approval_ticket want = open_ok(f, &rq);
    memset(&t, 0, sizeof t);
    assert_true(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 77,
                                         &t));
    assert_int_equal(t.index, want.index);
    assert_int_equal(t.id, want.id);
    assert_true(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 76,
                                         &t));
    assert_int_equal(t.id, to.id);
    /* Any of the three different: not that call. */
    assert_false(state_approval_find_call(&f->m, agent_id("beta"), state_tool_id("shell"), 77,
                                          &t));
    assert_false(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("http"), 77,
                                          &t));
    assert_false(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 78,
                                          &t));
    /* Answered (and not yet closed): still found, so the retry learns its answer. */
    assert_true(state_approval_answer(&f->m, want.id, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
    assert_true(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 77,
                                         &t));
    assert_int_equal(t.id, want.id);
    assert_int_equal(state_approval_get(&f->m, t, NULL), APPROVAL_APPROVED);
}

static void test_approval_close_frees_slot(void **state)
{
    struct fixture *f = *state;
    struct approval_request rq = my_request(55);
    struct approval_ticket t = open_ok(f, &rq);
    assert_true(state_approval_answer(&f->m, t.id, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
    assert_int_equal(list_approvals(f)->n, 1);

    /* A stale ticket (another id in the slot, or no slot): nothing. */
    state_approval_close(&f->m, (struct approval_ticket){t.index, t.id ^ 2});
    state_approval_close(&f->m, (struct approval_ticket){APPROVALS + 3, t.id});
    assert_int_equal(state_approval_get(&f->m, t, NULL), APPROVAL_APPROVED);
    assert_int_equal(list_approvals(f)->n, 1);

    state_approval_close(&f->m, t);
    struct approval_slot a;
    assert_int_equal(state_approval_get(&f->m, t, &a), APPROVAL_FREE);
    struct approval_ticket found;
    assert_false(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 55,
                                          &found));
    assert_int_equal(list_approvals(f)->n, 0);
    /* Closed: no answer reaches it, and closing again is nothing. */
    assert_false(state_approval_answer(&f->m, t.id, APPROVAL_DENIED, 0, NULL, REAL0, NULL));
    state_approval_close(&f->m, t);
    assert_int_equal(state_approval_get(&f->m, t, NULL), APPROVAL_FREE);

    /* A pending request may be closed too (its caller gave up). */
    struct approval_request r2 = my_request(56);
    struct approval_ticket t2 = open_ok(f, &r2);
    state_approval_close(&f->m, t2);
    assert_int_equal(state_approval_get(&f->m, t2, NULL), APPROVAL_FREE);
    assert_int_equal(list_approvals(f)->n, 0);
}

/* each lists pending and answered requests with their state; the request
 * of a process that is gone is not listed, and its slot is freed. */
static void test_approval_each(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(list_approvals(f)->n, 0);
    struct approval_request r1 = my_request(1), r2 = my_request(2), r3 = my_request(3);
    struct approval_request gone = request_of(NO_PID, REAL0, REAL0 + 300 * SEC, 4);
    struct approval_ticket t1 = open_ok(f, &r1), t2 = open_ok(f, &r2), t3 = open_ok(f, &r3);
    struct approval_ticket tg = open_ok(f, &gone);
    assert_int_equal(state_approval_get(&f->m, tg, NULL), APPROVAL_PENDING);
    assert_true(state_approval_answer(&f->m, t2.id, APPROVAL_APPROVED, 7, "ok", REAL0, NULL));
    assert_true(state_approval_answer(&f->m, t3.id, APPROVAL_DENIED, 8, "no", REAL0, NULL));

    struct approvals_seen *s = list_approvals(f);
    assert_int_equal(s->n, 3);
    const struct approval_slot *a1 = listed(s, t1.id), *a2 = listed(s, t2.id),
                               *a3 = listed(s, t3.id);
    assert_non_null(a1);
    assert_non_null(a2);
    assert_non_null(a3);
    assert_null(listed(s, tg.id));
    assert_int_equal(a1->state, APPROVAL_PENDING);
    assert_int_equal(a2->state, APPROVAL_APPROVED);
    assert_int_equal(a2->decided_uid, 7);
    assert_string_equal(a2->note, "ok");
    assert_int_equal(a3->state, APPROVAL_DENIED);
    assert_string_equal(a3->note, "no");
    assert_string_equal(a1->what, "rm -rf /srv/data");
    assert_int_equal(a1->call_hash, 1);

    /* The gone process's slot is free now. */
    assert_int_equal(state_approval_get(&f->m, tg, NULL), APPROVAL_FREE);
    struct approval_ticket found;
    assert_false(state_approval_find_call(&f->m, agent_id("alpha"), state_tool_id("shell"), 4,
                                          &found));
    assert_false(state_approval_answer(&f->m, tg.id, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
    assert_int_equal(list_approvals(f)->n, 3);
}

/* 64 requests fill the table: the 65th is refused. A slot whose deadline
 * passed more than a minute before the new request is taken over (not one
 * just a minute past), and so is one whose process is gone. */
static void test_approval_table_full_and_takeover(void **state)
{
    struct fixture *f = *state;
    struct approval_ticket t[APPROVALS];
    const unsigned late = 17; /* its deadline: REAL0 */
    for (unsigned i = 0; i < APPROVALS; i++) {
        struct approval_request rq =
            request_of((int32_t)getpid(), REAL0, i == late ? REAL0 : REAL0 + 3600 * SEC, i);
        t[i] = open_ok(f, &rq);
    }
    assert_int_equal(list_approvals(f)->n, APPROVALS);
    struct approval_ticket nt = {0, 0};
    struct approval_request extra = my_request(1000);
    assert_false(state_approval_open(&f->m, &extra, &nt));
    /* Exactly a minute past the deadline: not abandoned yet. */
    extra.since_ns = REAL0 + 60 * SEC;
    assert_false(state_approval_open(&f->m, &extra, &nt));
    for (unsigned i = 0; i < APPROVALS; i++)
        assert_int_equal(state_approval_get(&f->m, t[i], NULL), APPROVAL_PENDING);

    /* More than a minute past: the late request's slot is taken over. */
    extra.since_ns = REAL0 + 61 * SEC;
    extra.deadline_ns = REAL0 + 3600 * SEC;
    assert_true(state_approval_open(&f->m, &extra, &nt));
    assert_int_equal(nt.index, t[late].index);
    assert_int_not_equal(nt.id, t[late].id);
    assert_int_equal(state_approval_get(&f->m, t[late], NULL), APPROVAL_FREE);
    struct approval_slot a;
    assert_int_equal(state_approval_get(&f->m, nt, &a), APPROVAL_PENDING);
    assert_int_equal(a.call_hash, 1000);
    assert_int_equal(a.since_ns, REAL0 + 61 * SEC);
    assert_string_equal(a.note, "");
    assert_int_equal(a.decided_ns, 0);
    for (unsigned i = 0; i < APPROVALS; i++)
        if (i != late)
            assert_int_equal(state_approval_get(&f->m, t[i], NULL), APPROVAL_PENDING);
    /* Full again. */
    struct approval_request more = my_request(1001);
    more.since_ns = REAL0 + 62 * SEC;
    assert_false(state_approval_open(&f->m, &more, &(struct approval_ticket){0, 0}));

    /* One slot freed and held by a process that is gone: full again, and
     * that slot is taken over. */
    const unsigned ghost = 40;
    state_approval_close(&f->m, t[ghost]);
    struct approval_request gone = request_of(NO_PID, REAL0 + 62 * SEC, REAL0 + 3600 * SEC, 2000);
    struct approval_ticket tg = open_ok(f, &gone);
    assert_int_equal(tg.index, t[ghost].index);
    more.since_ns = REAL0 + 63 * SEC;
    struct approval_ticket tm = {0, 0};
    assert_true(state_approval_open(&f->m, &more, &tm));
    assert_int_equal(tm.index, tg.index);
    assert_int_equal(state_approval_get(&f->m, tg, NULL), APPROVAL_FREE);
    assert_int_equal(state_approval_get(&f->m, tm, &a), APPROVAL_PENDING);
    assert_int_equal(a.call_hash, 1001);
    assert_int_equal(a.pid, (int32_t)getpid());
    assert_int_equal(list_approvals(f)->n, APPROVALS);
    more.since_ns = REAL0 + 64 * SEC;
    assert_false(state_approval_open(&f->m, &more, &nt));
}

/* An answered request no one took, a minute past its deadline, is
 * abandoned as well. */
static void test_approval_answered_abandoned_taken_over(void **state)
{
    struct fixture *f = *state;
    struct approval_ticket t[APPROVALS];
    for (unsigned i = 0; i < APPROVALS; i++) {
        struct approval_request rq = request_of((int32_t)getpid(), REAL0,
                                                i == 3 ? REAL0 + SEC : REAL0 + 3600 * SEC, i);
        t[i] = open_ok(f, &rq);
    }
    assert_true(state_approval_answer(&f->m, t[3].id, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
    struct approval_request extra = request_of((int32_t)getpid(), REAL0 + 62 * SEC,
                                               REAL0 + 3600 * SEC, 99);
    struct approval_ticket nt;
    assert_true(state_approval_open(&f->m, &extra, &nt));
    assert_int_equal(nt.index, t[3].index);
    assert_int_equal(state_approval_get(&f->m, t[3], NULL), APPROVAL_FREE);
    assert_int_equal(state_approval_get(&f->m, nt, NULL), APPROVAL_PENDING);
}

/* Ids of requests differ: of two held at once, and of the next one in a
 * freed slot. */
static void test_approval_ids_differ(void **state)
{
    struct fixture *f = *state;
    struct approval_request r1 = my_request(9), r2 = my_request(9);
    struct approval_ticket t1 = open_ok(f, &r1), t2 = open_ok(f, &r2);
    assert_int_not_equal(t1.index, t2.index);
    assert_int_not_equal(t1.id, t2.id);
    assert_true(t1.id <= UINT32_MAX && t2.id <= UINT32_MAX);
    state_approval_close(&f->m, t1);
    struct approval_request r3 = my_request(9);
    r3.since_ns = REAL0 + 1;
    struct approval_ticket t3 = open_ok(f, &r3);
    assert_int_equal(t3.index, t1.index);
    assert_int_not_equal(t3.id, t1.id);
    assert_int_not_equal(t3.id, t2.id);
    /* The old ticket reads the slot as another's. */
    assert_int_equal(state_approval_get(&f->m, t1, NULL), APPROVAL_FREE);
    assert_int_equal(state_approval_get(&f->m, t3, NULL), APPROVAL_PENDING);
    /* Many at once: all different. */
    struct approval_ticket t[APPROVALS];
    unsigned n = 0;
    struct approval_request rq = my_request(0);
    while (n < APPROVALS && state_approval_open(&f->m, &rq, &t[n]))
        n++;
    assert_int_equal(n, APPROVALS - 2);
    for (unsigned i = 0; i < n; i++) {
        assert_int_not_equal(t[i].id, t2.id);
        assert_int_not_equal(t[i].id, t3.id);
        for (unsigned j = i + 1; j < n; j++)
            assert_int_not_equal(t[i].id, t[j].id);
    }
}

/* Requests are in the file: another map of it sees and answers them. */
static void test_approval_shared_across_maps(void **state)
{
    struct fixture *f = *state;
    struct approval_request rq = my_request(31);
    struct approval_ticket t = open_ok(f, &rq);
    struct state_map other = {0};
    assert_int_equal(state_open(f->path, NULL, &other, f->msg, sizeof f->msg), STATE_OPENED);
    struct approval_ticket found;
    assert_true(state_approval_find_call(&other, agent_id("alpha"), state_tool_id("shell"), 31,
                                         &found));
    assert_int_equal(found.id, t.id);
    assert_true(state_approval_answer(&other, t.id, APPROVAL_APPROVED, 42, "go", REAL0, NULL));
    state_close(&other);
    struct approval_slot a;
    assert_int_equal(state_approval_get(&f->m, t, &a), APPROVAL_APPROVED);
    assert_int_equal(a.decided_uid, 42);
    assert_string_equal(a.note, "go");
}

/* Races on an abandoned slot. A request of a pid reused since (this
 * process, registered "at 1 ns after boot") counts as gone, and asking
 * so reads /proc: a window of microseconds between the look at a slot
 * and the compare-and-swap that claims it. A live request (this process,
 * deadline an hour away) must never be freed or overwritten by another
 * thread: open taking the abandoned slot over, or each freeing it. */
struct race {
    struct state_map *m;
    int me;
    bool run_each; /* this thread only lists (each), opens nothing */
    volatile bool *stop;
    long iters, lost;
};

static void ignore_approval(const struct approval_slot *a, void *ctx)
{
    (void)a;
    (void)ctx;
}

static void *race_thread(void *arg)
{
    struct race *r = arg;
    uint64_t boot = boottime_ns();
    time_t end = time(NULL) + 2;
    while (!*r->stop && time(NULL) < end && r->lost == 0) {
        if (r->run_each) {
            state_approval_each(r->m, ignore_approval, NULL);
            continue;
        }
        long i = ++r->iters;
        uint64_t since = REAL0 + (uint64_t)(2 * i + r->me);
        struct approval_request reused =
            request_of((int32_t)getpid(), since, REAL0 + 3600 * SEC, 500 + r->me);
        reused.boot_ns = 1;
        struct approval_request live =
            request_of((int32_t)getpid(), since, REAL0 + 3600 * SEC, 600 + r->me);
        live.boot_ns = boot;
        struct approval_ticket g, l;
        if (!state_approval_open(r->m, &reused, &g) || !state_approval_open(r->m, &live, &l))
            continue;
        for (volatile int k = 0; k < 2000; k++)
            ;
        if (state_approval_get(r->m, l, NULL) != APPROVAL_PENDING) {
            r->lost++;
            continue;
        }
        state_approval_close(r->m, l);
    }
    return NULL;
}

/* Fills all but `spare` slots with live requests, then runs the racers. */
static long run_race(struct fixture *f, unsigned spare, bool with_each)
{
    struct approval_ticket t[APPROVALS];
    for (unsigned i = 0; i < APPROVALS; i++) {
        struct approval_request rq = my_request(i);
        rq.deadline_ns = REAL0 + 3600 * SEC;
        t[i] = open_ok(f, &rq);
    }
    for (unsigned i = 0; i < spare; i++)
        state_approval_close(&f->m, t[i]);
    volatile bool stop = false;
    struct race r[2] = {{.m = &f->m, .me = 0, .stop = &stop},
                        {.m = &f->m, .me = 1, .run_each = with_each, .stop = &stop}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (unsigned i = spare; i < APPROVALS; i++)
        assert_int_equal(state_approval_get(&f->m, t[i], NULL), APPROVAL_PENDING);
    return r[0].lost + r[1].lost;
}

static void test_approval_each_races_takeover(void **state)
{
    /* each copies a slot, asks whether its process lives, then frees it:
     * a slot taken over meanwhile (PENDING -> WRITING -> PENDING, a new
     * request of a live process) must not be freed by that swap. */
    struct fixture *f = *state;
    assert_int_equal(run_race(f, 1, true), 0);
}

static void test_approval_open_races_takeover(void **state)
{
    /* Two openers that both judge one slot abandoned: the second must not
     * overwrite the live request the first put there. */
    struct fixture *f = *state;
    assert_int_equal(run_race(f, 2, false), 0);
}

/* An unmapped state: nothing is held, nothing found, nothing crashes. */
static void test_approval_without_state(void **state)
{
    (void)state;
    struct state_map none = {0};
    struct approval_request rq = my_request(1);
    struct approval_ticket t = {0, 1};
    assert_false(state_approval_open(&none, &rq, &t));
    assert_int_equal(state_approval_get(&none, t, NULL), APPROVAL_FREE);
    assert_false(state_approval_answer(&none, 1, APPROVAL_APPROVED, 0, NULL, REAL0, NULL));
    assert_false(state_approval_find_call(&none, 0, 0, 0, &t));
    state_approval_close(&none, t);
    assert_int_equal(list_approvals_of(&none)->n, 0);
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
#define T(name) cmocka_unit_test_setup_teardown(name, setup, state_fixture_teardown)
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
        T(test_approval_open_get_copies_fields),
        T(test_approval_null_and_long_fields),
        T(test_approval_answer_approved),
        T(test_approval_answer_denied),
        T(test_approval_answer_expired),
        T(test_approval_answer_only_its_request),
        T(test_approval_find_call),
        T(test_approval_close_frees_slot),
        T(test_approval_each),
        T(test_approval_table_full_and_takeover),
        T(test_approval_answered_abandoned_taken_over),
        T(test_approval_ids_differ),
        T(test_approval_shared_across_maps),
        T(test_approval_each_races_takeover),
        T(test_approval_open_races_takeover),
        T(test_approval_without_state),
        T(test_reopened_file_keeps_control_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
