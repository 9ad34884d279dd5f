/* Unit tests for state.c: the mmap'd shared state file. */
#include "state_fixture.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "bucket.h"
#include "pidlock.h"
#include "quota.h"
#include "state.h"
#include "state_control.h"

/* The minimum of each table (state.h / state.c). */
#define MIN_BUCKETS 1024u
#define MIN_QUOTAS 256u
#define MIN_BREAKERS 64u
#define MIN_AGENTS 256u
#define MIN_HOSTS 1024u
#define MIN_CHILDREN 1024u
#define MIN_PROCS 1024u
#define KILLS 64u
#define MIN_COUNTERS 64u
#define APPROVALS 64u
#define REGION_ALIGN 64u
static const struct state_sizes MIN_SIZES = {.buckets = MIN_BUCKETS,
                                             .quotas = MIN_QUOTAS,
                                             .breakers = MIN_BREAKERS,
                                             .agents = MIN_AGENTS,
                                             .hosts = MIN_HOSTS,
                                             .children = MIN_CHILDREN,
                                             .procs = MIN_PROCS,
                                             .kills = KILLS,
                                             .counters = MIN_COUNTERS,
                                             .approvals = APPROVALS};

/* The minimum sizes, in a file that may not grow: its tables fill up. */
static const struct state_sizes NO_GROWTH = {.grow_max = 1};

/* Sizes that differ from the minimum in some tables. */
static struct state_sizes sizes_with(uint32_t buckets, uint32_t quotas, uint32_t breakers,
                                     uint32_t agents, uint32_t hosts)
{
    return (struct state_sizes){.buckets = buckets,
                                .quotas = quotas,
                                .breakers = breakers,
                                .agents = agents,
                                .hosts = hosts,
                                .children = MIN_CHILDREN,
                                .procs = MIN_PROCS,
                                .kills = KILLS,
                                .counters = MIN_COUNTERS,
                                .approvals = APPROVALS};
}

/* The tables of the file, in file order, as state.h documents them. */
enum { NTABLES = 10 };
static const struct {
    enum state_region_id region;
    size_t entry_size;
} TABLES[NTABLES] = {
    {REGION_BUCKETS, sizeof(struct bucket_slot)},   {REGION_QUOTAS, sizeof(struct quota_slot)},
    {REGION_BREAKERS, sizeof(struct breaker_slot)}, {REGION_AGENTS, sizeof(struct agent_slot)},
    {REGION_HOSTS, sizeof(struct host_slot)},       {REGION_CHILDREN, sizeof(struct child_slot)},
    {REGION_PROCS, sizeof(struct proc_slot)},       {REGION_KILLS, sizeof(struct kill_slot)},
    {REGION_COUNTERS, sizeof(struct counter_slot)}, {REGION_APPROVALS, sizeof(struct approval_slot)},
};

static uint32_t count_of(struct state_sizes s, int table)
{
    const uint32_t n[NTABLES] = {s.buckets, s.quotas,   s.breakers, s.agents,  s.hosts,
                                 s.children, s.procs, s.kills,    s.counters, s.approvals};
    return n[table];
}

static int setup(void **state)
{
    umask(022);
    struct fixture *f = state_fixture_new();
    *state = f;
    return f ? 0 : -1;
}

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Names in dir starting with prefix; the first one into first (if any). */
static int count_entries(const char *dir, const char *prefix, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (th_starts_with(e->d_name, prefix)) {
            if (n == 0 && first)
                snprintf(first, cap, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static size_t align_up(size_t n)
{
    return (n + REGION_ALIGN - 1) / REGION_ALIGN * REGION_ALIGN;
}

/* Where each table starts: after the header, then each after the one
 * before, each on a 64-byte boundary. offsets[NTABLES] is the file size. */
static void expected_offsets(struct state_sizes s, size_t offsets[NTABLES + 1])
{
    size_t off = sizeof(struct state_header);
    for (int i = 0; i < NTABLES; i++) {
        offsets[i] = off = align_up(off);
        off += (size_t)count_of(s, i) * TABLES[i].entry_size;
    }
    offsets[NTABLES] = off;
}

static size_t expected_size(struct state_sizes s)
{
    size_t offsets[NTABLES + 1];
    expected_offsets(s, offsets);
    return offsets[NTABLES];
}

static size_t table_offset(struct state_sizes s, enum state_region_id region)
{
    size_t offsets[NTABLES + 1];
    expected_offsets(s, offsets);
    for (int i = 0; i < NTABLES; i++)
        if (TABLES[i].region == region)
            return offsets[i];
    fail_msg("no region %d", (int)region);
    return 0;
}

/* Every entry of a table of n entries of size bytes is zero; tables
 * larger than 8192 entries are checked at their ends only. */
static void assert_zero_entries(const void *table, uint32_t n, size_t size)
{
    static const char zero[512];
    assert_true(size <= sizeof zero);
    enum { CHECK = 4096 };
    for (uint32_t i = 0; i < n; i++) {
        if (i == CHECK && n > 2 * CHECK)
            i = n - CHECK;
        assert_memory_equal((const char *)table + (size_t)i * size, zero, size);
    }
}

/* A fresh map of these table sizes: header, regions, and every slot free. */
static void assert_valid_fresh_map(const struct state_map *m, struct state_sizes s)
{
    assert_non_null(m->base);
    assert_int_equal(m->nbuckets, s.buckets);
    assert_int_equal(m->nquotas, s.quotas);
    assert_int_equal(m->nbreakers, s.breakers);
    assert_int_equal(m->nagents, s.agents);
    assert_int_equal(m->nhosts, s.hosts);
    assert_int_equal(m->nchildren, s.children);
    assert_int_equal(m->nprocs, s.procs);
    assert_int_equal(m->nkills, s.kills);
    assert_int_equal(m->ncounters, s.counters);
    assert_int_equal(m->napprovals, s.approvals);
    assert_int_equal(m->size, expected_size(s));
    const struct state_header *h = m->base;
    assert_memory_equal(h->magic, STATE_MAGIC, 8);
    assert_int_equal(h->version, STATE_VERSION);
    assert_int_equal(h->header_size, sizeof(struct state_header));
    assert_int_equal(h->file_size, m->size);

    size_t offsets[NTABLES + 1];
    expected_offsets(s, offsets);
    const struct state_region *r = h->regions;
    bool used[REGION_SLOTS] = {false};
    for (int i = 0; i < NTABLES; i++) {
        const struct state_region *t = &r[TABLES[i].region];
        used[TABLES[i].region] = true;
        assert_int_equal(t->offset, offsets[i]);
        assert_int_equal(t->count, count_of(s, i));
        assert_int_equal(t->entry_size, TABLES[i].entry_size);
    }
    /* Regions no table uses are empty. */
    for (int i = 0; i < REGION_SLOTS; i++) {
        if (used[i])
            continue;
        assert_int_equal(r[i].offset, 0);
        assert_int_equal(r[i].count, 0);
        assert_int_equal(r[i].entry_size, 0);
    }
    const char *base = m->base;
    assert_ptr_equal(m->buckets, base + r[REGION_BUCKETS].offset);
    assert_ptr_equal(m->quotas, base + r[REGION_QUOTAS].offset);
    assert_ptr_equal(m->breakers, base + r[REGION_BREAKERS].offset);
    assert_ptr_equal(m->agents, base + r[REGION_AGENTS].offset);
    assert_ptr_equal(m->hosts, base + r[REGION_HOSTS].offset);
    assert_ptr_equal(m->children, base + r[REGION_CHILDREN].offset);
    assert_zero_entries(m->buckets, s.buckets, sizeof *m->buckets);
    assert_zero_entries(m->quotas, s.quotas, sizeof *m->quotas);
    assert_zero_entries(m->breakers, s.breakers, sizeof *m->breakers);
    assert_zero_entries(m->agents, s.agents, sizeof *m->agents);
    assert_zero_entries(m->hosts, s.hosts, sizeof *m->hosts);
    assert_zero_entries(m->children, s.children, sizeof *m->children);
}

static void assert_sizes(struct state_sizes got, uint32_t buckets, uint32_t quotas,
                         uint32_t breakers)
{
    assert_int_equal(got.buckets, buckets);
    assert_int_equal(got.quotas, quotas);
    assert_int_equal(got.breakers, breakers);
    /* Agents and host names do not grow with tools. */
    assert_int_equal(got.agents, MIN_AGENTS);
    assert_int_equal(got.hosts, MIN_HOSTS);
    assert_int_equal(got.children, MIN_CHILDREN);
}

/* N tools, each with a rate limit, a quota and a breaker. */
static struct state_sizes for_tools(size_t n, uint32_t agents)
{
    return state_sizes_for(n, n + 1, n, agents);
}

static void test_slots_for(void **state)
{
    (void)state;
    /* buckets: tools x 64 agents x 2; quotas: (tools + 1) x 64 x 2 (one per
     * agent, one per agent and tool); breakers: tools x 2; each a power of
     * two between its minimum and maximum. */
    assert_sizes(for_tools(0, 0), 1024, 256, 64);
    assert_sizes(for_tools(1, 0), 1024, 256, 64);
    assert_sizes(for_tools(7, 0), 1024, 1024, 64);   /* 8 x 128 = 1024 */
    assert_sizes(for_tools(8, 0), 1024, 2048, 64);   /* 8 x 128 = 1024; 9 x 128 = 1152 */
    assert_sizes(for_tools(9, 0), 2048, 2048, 64);
    assert_sizes(for_tools(32, 0), 4096, 8192, 64);  /* 32 x 2 = 64 breakers */
    assert_sizes(for_tools(33, 0), 8192, 8192, 128);
    assert_sizes(for_tools(100, 0), 16384, 16384, 256); /* 12800, 12928, 200 */
    assert_sizes(for_tools(1000000, 0), 1u << 22, 1u << 20, 1u << 16);

    /* [enact] max_agents: room for that many agents in each tool's tables
     * and in the agents table (1 tool, 10,000 agents: 20,000 -> 32768). */
    struct state_sizes many = for_tools(1, 10000);
    assert_int_equal(many.buckets, 32768);
    assert_int_equal(many.quotas, 65536);
    assert_int_equal(many.breakers, 64);
    assert_int_equal(many.agents, 32768);
    assert_int_equal(for_tools(1, 0).agents, 256);
    assert_int_equal(for_tools(1, 64).buckets, for_tools(1, 0).buckets);
}

static void test_open_creates_file_and_folders(void **state)
{
    struct fixture *f = *state;
    th_path(f->path, sizeof f->path, f->dir, "a/b/c/enact.state");
    int fds = count_open_fds();
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    assert_int_equal(count_open_fds(), fds); /* no descriptor stays open */
    assert_valid_fresh_map(&f->m, MIN_SIZES);

    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal((size_t)st.st_size, f->m.size);
    const char *dirs[] = {"a", "a/b", "a/b/c"};
    for (size_t i = 0; i < 3; i++) {
        char p[PATH_MAX];
        th_path(p, sizeof p, f->dir, dirs[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    /* Only the state file: no temporary left behind. */
    char folder[PATH_MAX];
    th_path(folder, sizeof folder, f->dir, "a/b/c");
    assert_int_equal(count_entries(folder, "", NULL, 0), 1);
}

static void test_open_sizes_table(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, &(struct state_sizes){.buckets = 5000}, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_valid_fresh_map(&f->m, sizes_with(8192, MIN_QUOTAS, MIN_BREAKERS, MIN_AGENTS, MIN_HOSTS));
    state_close(&f->m);
    assert_null(f->m.base);
    assert_null(f->m.buckets);
    assert_null(f->m.quotas);
    assert_null(f->m.breakers);
    assert_null(f->m.agents);
    assert_null(f->m.hosts);
    state_close(&f->m); /* twice is harmless */

    /* An existing file keeps its sizes, whatever the opener wants. */
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(f->m.nbuckets, 8192);
    assert_int_equal(f->m.size, expected_size(sizes_with(8192, MIN_QUOTAS, MIN_BREAKERS, MIN_AGENTS, MIN_HOSTS)));
    state_close(&f->m);

    char other[PATH_MAX];
    th_path(other, sizeof other, f->dir, "other.state");
    assert_int_equal(state_open(other, &(struct state_sizes){.buckets = 1024}, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_valid_fresh_map(&f->m, MIN_SIZES);
    state_close(&f->m);

    /* Each table rounds up to a power of two, at least its minimum. */
    th_path(other, sizeof other, f->dir, "rounded.state");
    assert_int_equal(state_open(other, &(struct state_sizes){.buckets = 1, .quotas = 300, .breakers = 65, .agents = 257, .hosts = 1025},
                                &f->m, f->msg, sizeof f->msg),
                     STATE_OPENED);
    assert_valid_fresh_map(&f->m, sizes_with(1024, 512, 128, 512, 2048));
    state_close(&f->m);

    /* ... and at most its maximum. */
    th_path(other, sizeof other, f->dir, "capped.state");
    assert_int_equal(state_open(other, &(struct state_sizes){.breakers = UINT32_MAX, .agents = UINT32_MAX, .hosts = UINT32_MAX}, &f->m, f->msg,
                                sizeof f->msg),
                     STATE_OPENED);
    assert_valid_fresh_map(&f->m, sizes_with(1024, 256, 1u << 16, 1u << 16, 1u << 16));
    state_close(&f->m);

    /* What the sizes ask for is what a new file gets. */
    th_path(other, sizeof other, f->dir, "for.state");
    struct state_sizes want = for_tools(40, 0);
    assert_int_equal(state_open(other, &want, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_valid_fresh_map(&f->m, sizes_with(8192, 8192, 128, MIN_AGENTS, MIN_HOSTS));
}

static void test_reopen_maps_same_table(void **state)
{
    struct fixture *f = *state;
    struct state_map m2 = {0}, m3 = {0};
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    assert_ptr_not_equal(f->m.base, m2.base);
    assert_int_equal(m2.nbuckets, f->m.nbuckets);

    uint64_t *w1 = state_bucket(&f->m, UINT64_C(0x1234567890abcdef));
    assert_non_null(w1);
    *w1 = UINT64_C(987654321);
    uint64_t *w2 = state_bucket(&m2, UINT64_C(0x1234567890abcdef));
    assert_non_null(w2);
    assert_ptr_not_equal(w1, w2);
    assert_int_equal(*w2, UINT64_C(987654321));
    /* Same slot index in both maps. */
    assert_int_equal((char *)w1 - (char *)f->m.base, (char *)w2 - (char *)m2.base);
    /* And the other way round, through bucket_take. */
    struct rate_policy p;
    assert_true(rate_policy_init(&p, 60, 1));
    assert_true(bucket_take(w2, &p, UINT64_C(5000000000)).admit);
    assert_int_equal(*w1, UINT64_C(6000000000));

    /* A later open after both closed still sees it. */
    state_close(&f->m);
    state_close(&m2);
    assert_int_equal(state_open(f->path, NULL, &m3, f->msg, sizeof f->msg), STATE_OPENED);
    uint64_t *w3 = state_bucket(&m3, UINT64_C(0x1234567890abcdef));
    assert_non_null(w3);
    assert_int_equal(*w3, UINT64_C(6000000000));
    state_close(&m3);
}

static void test_bucket_keys(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    uint64_t *a = state_bucket(&f->m, 42);
    uint64_t *b = state_bucket(&f->m, 42);
    uint64_t *c = state_bucket(&f->m, 4242);
    uint64_t *d = state_bucket(&f->m, UINT64_MAX);
    assert_non_null(a);
    assert_non_null(c);
    assert_non_null(d);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_ptr_not_equal(c, d);
    assert_ptr_not_equal(a, d);
    /* Words lie inside the table. */
    uint64_t *lo = &f->m.buckets[0].key, *hi = &f->m.buckets[f->m.nbuckets - 1].tat;
    assert_true(a >= lo && a <= hi);
    /* A fresh word is a full bucket. */
    assert_int_equal(*c, 0);
    /* Key 0 is usable too (it is not the free marker for callers). */
    uint64_t *z = state_bucket(&f->m, 0);
    assert_non_null(z);
    assert_ptr_equal(z, state_bucket(&f->m, 0));

    /* An unmapped map has no buckets. */
    struct state_map none = {0};
    assert_null(state_bucket(&none, 42));
}

static void test_bucket_probe_window_full(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, &NO_GROWTH, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(f->m.nbuckets, 1024);
    /* Keys whose home slot is 1: they fill slots 1..64, the probe window. */
    uint64_t *words[64];
    for (uint64_t j = 1; j <= 64; j++) {
        words[j - 1] = state_bucket(&f->m, (j << 11) | 1);
        assert_non_null(words[j - 1]);
        for (uint64_t k = 1; k < j; k++)
            assert_ptr_not_equal(words[j - 1], words[k - 1]);
    }
    assert_null(state_bucket(&f->m, (UINT64_C(65) << 11) | 1));
    /* Known keys are still found. */
    for (uint64_t j = 1; j <= 64; j++)
        assert_ptr_equal(state_bucket(&f->m, (j << 11) | 1), words[j - 1]);
    /* A key with another home still finds room past the cluster. */
    uint64_t *other = state_bucket(&f->m, (UINT64_C(1) << 12) | 3);
    assert_non_null(other);
    assert_ptr_equal(other, &f->m.buckets[65].tat);
}

static void test_bucket_table_full(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, &NO_GROWTH, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    /* 1024 distinct keys fill all 1024 slots. */
    for (uint64_t i = 0; i < 1024; i++)
        assert_non_null(state_bucket(&f->m, 2 * i + 1));
    for (uint32_t s = 0; s < f->m.nbuckets; s++)
        assert_int_not_equal(f->m.buckets[s].key, 0);
    /* Then any new key gets NULL, old keys their word. */
    assert_null(state_bucket(&f->m, 2049));
    assert_null(state_bucket(&f->m, UINT64_C(0xdeadbeefcafe)));
    for (uint64_t i = 0; i < 1024; i++)
        assert_non_null(state_bucket(&f->m, 2 * i + 1));
}

/* ---- quota, breaker and host tables ------------------------------------ */

static void test_quota_and_breaker_keys(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    struct quota_slot *qa = state_quota(&f->m, 42), *qb = state_quota(&f->m, 42);
    struct quota_slot *qc = state_quota(&f->m, 4242);
    assert_non_null(qa);
    assert_non_null(qc);
    assert_ptr_equal(qa, qb);
    assert_ptr_not_equal(qa, qc);
    assert_true(qa >= f->m.quotas && qa < f->m.quotas + f->m.nquotas);
    assert_true(qc >= f->m.quotas && qc < f->m.quotas + f->m.nquotas);
    /* The slot's key is the one asked for, made odd (0 marks free slots). */
    assert_int_equal(qa->key, 43);
    assert_int_equal(qc->key, 4243);
    /* A fresh slot: unlocked, an empty ring. */
    assert_int_equal(qa->lock, 0);
    assert_int_equal(qa->ring.used, 0);
    assert_int_equal(qa->ring.newest, 0);

    struct breaker_slot *ba = state_breaker(&f->m, 42), *bb = state_breaker(&f->m, 42);
    struct breaker_slot *bc = state_breaker(&f->m, UINT64_MAX);
    assert_non_null(ba);
    assert_non_null(bc);
    assert_ptr_equal(ba, bb);
    assert_ptr_not_equal(ba, bc);
    assert_true(ba >= f->m.breakers && ba < f->m.breakers + f->m.nbreakers);
    assert_int_equal(ba->key, 43);
    assert_int_equal(ba->lock, 0);
    assert_int_equal(breaker_get_state(&ba->breaker), BREAKER_CLOSED);
    assert_int_equal(ba->breaker.failures, 0);

    /* Same key, three tables: three independent entries. */
    uint64_t *word = state_bucket(&f->m, 42);
    assert_non_null(word);
    *word = UINT64_C(0x1111111111111111);
    struct quota_policy qp;
    assert_true(quota_policy_init(&qp, 10, 1));
    quota_consume(&qa->ring, &qp, UINT64_C(7200000000000));
    ba->breaker.failures = 3;
    assert_int_equal(*word, UINT64_C(0x1111111111111111));
    assert_int_equal(qa->ring.used, 1);
    assert_int_equal(ba->breaker.failures, 3);
    assert_int_equal(state_quota(&f->m, 42)->ring.used, 1);
    assert_int_equal(state_breaker(&f->m, 42)->breaker.failures, 3);

    /* Key 0 is usable in every table. */
    assert_non_null(state_quota(&f->m, 0));
    assert_ptr_equal(state_quota(&f->m, 0), state_quota(&f->m, 0));
    assert_non_null(state_breaker(&f->m, 0));

    struct state_map none = {0};
    assert_null(state_quota(&none, 42));
    assert_null(state_breaker(&none, 42));
}

static void test_quota_and_breaker_tables_full(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, &NO_GROWTH, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(f->m.nquotas, MIN_QUOTAS);
    assert_int_equal(f->m.nbreakers, MIN_BREAKERS);
    /* Keys whose home slot is 1 fill the quota table's probe window
     * (slots 1..64); the 65th gets none. */
    struct quota_slot *slots[64];
    for (uint64_t j = 1; j <= 64; j++) {
        slots[j - 1] = state_quota(&f->m, (j << 8) | 1);
        assert_non_null(slots[j - 1]);
        assert_ptr_equal(slots[j - 1], &f->m.quotas[j]);
    }
    assert_null(state_quota(&f->m, (UINT64_C(65) << 8) | 1));
    for (uint64_t j = 1; j <= 64; j++)
        assert_ptr_equal(state_quota(&f->m, (j << 8) | 1), slots[j - 1]);
    /* Another home still finds room. */
    assert_ptr_equal(state_quota(&f->m, (UINT64_C(1) << 9) | 3), &f->m.quotas[65]);

    /* The breaker table is smaller than the probe window: it fills whole. */
    struct breaker_slot *brs[MIN_BREAKERS];
    for (uint64_t i = 0; i < MIN_BREAKERS; i++) {
        brs[i] = state_breaker(&f->m, 2 * i + 1);
        assert_non_null(brs[i]);
    }
    for (uint32_t s = 0; s < f->m.nbreakers; s++)
        assert_int_not_equal(f->m.breakers[s].key, 0);
    assert_null(state_breaker(&f->m, 2 * MIN_BREAKERS + 1));
    assert_null(state_breaker(&f->m, UINT64_C(0xdeadbeefcafe)));
    for (uint64_t i = 0; i < MIN_BREAKERS; i++)
        assert_ptr_equal(state_breaker(&f->m, 2 * i + 1), brs[i]);
}

static void test_slots_shared_across_maps(void **state)
{
    struct fixture *f = *state;
    struct state_map m2;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    struct quota_policy qp;
    assert_true(quota_policy_init(&qp, 3, 24));
    const uint64_t now = UINT64_C(1800000000) * 1000000000u;
    struct quota_slot *q1 = state_quota(&f->m, 777), *q2 = state_quota(&m2, 777);
    assert_non_null(q1);
    assert_non_null(q2);
    assert_ptr_not_equal(q1, q2);
    assert_int_equal((char *)q1 - (char *)f->m.base, (char *)q2 - (char *)m2.base);
    quota_consume(&q1->ring, &qp, now);
    quota_consume(&q2->ring, &qp, now);
    assert_int_equal(quota_remaining(&q1->ring, &qp, now), 1);
    quota_consume(&q1->ring, &qp, now);
    uint64_t retry = 0;
    assert_false(quota_check(&q2->ring, &qp, now, &retry));
    assert_true(retry > 0);

    struct breaker_policy bp;
    assert_true(breaker_policy_init(&bp, 2, 1, 60, 30));
    struct breaker_slot *b1 = state_breaker(&f->m, 888), *b2 = state_breaker(&m2, 888);
    struct breaker_event ev;
    breaker_record(&b1->breaker, &bp, 5, 1, false, &ev);
    assert_false(ev.changed);
    breaker_record(&b2->breaker, &bp, 6, 1, false, &ev);
    assert_true(ev.changed);
    assert_int_equal(ev.from, BREAKER_CLOSED);
    assert_int_equal(ev.to, BREAKER_OPEN);
    assert_true(breaker_is_open(&b1->breaker, &bp, 7));
    /* Locks live in the file too: a lock taken through one map is held in
     * the other. */
    assert_true(pidlock_try(&q1->lock, 4242, 100, NULL));
    assert_false(pidlock_try(&q2->lock, 4343, 101, NULL));
    pidlock_release(&q2->lock, 4242);
    assert_int_equal(q1->lock, 0);
    state_close(&m2);
}

static void v6_of_v4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    out[12] = a;
    out[13] = b;
    out[14] = c;
    out[15] = d;
}

static void test_hosts(void **state)
{
    struct fixture *f = *state;
    struct state_map m2;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    uint8_t a[16], b[16];
    v6_of_v4(a, 10, 1, 2, 3);
    v6_of_v4(b, 10, 1, 2, 4);
    char out[300];
    assert_false(state_host_lookup(&f->m, a, out, sizeof out));

    state_host_record(&f->m, a, "Api.Example.COM", (int32_t)gettid());
    assert_true(state_host_lookup(&f->m, a, out, sizeof out));
    assert_string_equal(out, "api.example.com");
    /* Another map of the file, as another process would see it. */
    memset(out, 'x', sizeof out);
    assert_true(state_host_lookup(&m2, a, out, sizeof out));
    assert_string_equal(out, "api.example.com");
    assert_false(state_host_lookup(&m2, b, out, sizeof out));
    /* The last name wins. */
    state_host_record(&m2, a, "db.internal", (int32_t)gettid());
    assert_true(state_host_lookup(&f->m, a, out, sizeof out));
    assert_string_equal(out, "db.internal");
    /* No lock is left held. */
    for (uint32_t i = 0; i < f->m.nhosts; i++)
        assert_int_equal(f->m.hosts[i].lock, 0);
    /* A small buffer gets a terminated prefix. */
    char tiny[4];
    assert_true(state_host_lookup(&f->m, a, tiny, sizeof tiny));
    assert_string_equal(tiny, "db.");
    assert_false(state_host_lookup(&f->m, a, tiny, 0));
    /* A long name is kept up to 255 characters. */
    char longname[400];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    state_host_record(&f->m, b, longname, (int32_t)gettid());
    assert_true(state_host_lookup(&m2, b, out, sizeof out));
    assert_int_equal(strlen(out), 255);
    assert_memory_equal(out, longname, 255);
    /* Unmapped: nothing known, nothing recorded, no crash. */
    struct state_map none = {0};
    state_host_record(&none, a, "x.example", 1);
    assert_false(state_host_lookup(&none, a, out, sizeof out));
    state_close(&m2);
}

/* A child's note is taken once, by its parent only, also through another
 * map of the file (the parent's); a note an hour old is taken over when
 * the table has no other room; many notes fit side by side. */
static void test_children(void **state)
{
    struct fixture *f = *state;
    struct state_map parent_view;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &parent_view, f->msg, sizeof f->msg),
                     STATE_OPENED);
    const uint64_t now = UINT64_C(1800000000) * 1000000000u;
    uint64_t id;
    int32_t owner;
    assert_false(state_child_take(&f->m, 4242, 100, &id, &owner));
    assert_true(state_child_note(&f->m, 4242, 100, 0xabcdef, 77, now));
    assert_false(state_child_take(&parent_view, 4242, 101, &id, &owner)); /* not its parent */
    assert_false(state_child_take(&parent_view, 4243, 100, &id, &owner)); /* another child */
    assert_true(state_child_take(&parent_view, 4242, 100, &id, &owner));
    assert_int_equal(id, 0xabcdef);
    assert_int_equal(owner, 77);
    assert_false(state_child_take(&f->m, 4242, 100, &id, &owner)); /* taken once */

    /* 1000 children of one parent at once: each found with its own tool. */
    unsigned noted = 0;
    for (int32_t pid = 1; pid <= 1000; pid++)
        noted += state_child_note(&f->m, pid, 7, (uint64_t)pid * 3, pid, now);
    assert_true(noted >= 990); /* a probe window may fill up: a few may not fit */
    unsigned taken = 0;
    for (int32_t pid = 1; pid <= 1000; pid++) {
        if (state_child_take(&parent_view, pid, 7, &id, &owner)) {
            assert_int_equal(id, (uint64_t)pid * 3);
            assert_int_equal(owner, pid);
            taken++;
        }
    }
    assert_int_equal(taken, noted);

    /* A full table: fresh notes do not push each other out; stale ones go. */
    for (int32_t pid = 1; pid <= 4000; pid++)
        state_child_note(&f->m, pid, 9, 1, 1, now);
    bool fitted = state_child_note(&f->m, 999999, 9, 5, 5, now + 1);
    uint64_t later = now + UINT64_C(3601) * 1000000000u;
    assert_true(fitted || state_child_note(&f->m, 999999, 9, 5, 5, later));
    assert_true(state_child_take(&f->m, 999999, 9, &id, &owner));
    assert_int_equal(id, 5);
    state_close(&parent_view);
}

static void test_find_does_not_claim(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_null(state_find_bucket(&f->m, 42));
    assert_null(state_find_quota(&f->m, 42));
    assert_null(state_find_breaker(&f->m, 42));
    for (uint32_t i = 0; i < f->m.nbuckets; i++)
        assert_int_equal(f->m.buckets[i].key, 0);
    for (uint32_t i = 0; i < f->m.nquotas; i++)
        assert_int_equal(f->m.quotas[i].key, 0);
    uint64_t *w = state_bucket(&f->m, 42);
    struct quota_slot *q = state_quota(&f->m, 42);
    struct breaker_slot *b = state_breaker(&f->m, 42);
    assert_ptr_equal(state_find_bucket(&f->m, 42), w);
    assert_ptr_equal(state_find_quota(&f->m, 42), q);
    assert_ptr_equal(state_find_breaker(&f->m, 42), b);
    /* Past a cluster of other keys, too. */
    for (uint64_t j = 1; j <= 10; j++)
        assert_non_null(state_quota(&f->m, (j << 8) | 1));
    assert_null(state_find_quota(&f->m, (UINT64_C(11) << 8) | 1));
    assert_ptr_equal(state_find_quota(&f->m, (UINT64_C(10) << 8) | 1), &f->m.quotas[10]);
    struct state_map none = {0};
    assert_null(state_find_bucket(&none, 42));
    assert_null(state_find_quota(&none, 42));
    assert_null(state_find_breaker(&none, 42));
}

/* The agent whose id a slot has, by scanning the table. */
static const struct agent_slot *agent_slot_of(const struct state_map *m, uint64_t id)
{
    for (uint32_t i = 0; i < m->nagents; i++)
        if (m->agents[i].key == (id | 1))
            return &m->agents[i];
    return NULL;
}

static void test_agents_table(void **state)
{
    struct fixture *f = *state;
    struct state_map m2;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    assert_null(agent_slot_of(&f->m, 1001));
    state_agent_record(&f->m, 1001, "alpha");
    const struct agent_slot *a = agent_slot_of(&m2, 1001);
    assert_non_null(a);
    assert_string_equal(a->name, "alpha");
    /* Written once: the first name stays. */
    state_agent_record(&m2, 1001, "beta");
    assert_string_equal(agent_slot_of(&f->m, 1001)->name, "alpha");
    /* A long name is cut to 71 characters; an empty one is '?'. */
    char longname[100];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    state_agent_record(&f->m, 2002, longname);
    assert_int_equal(strlen(agent_slot_of(&f->m, 2002)->name), 71);
    state_agent_record(&f->m, 3003, "");
    assert_string_equal(agent_slot_of(&f->m, 3003)->name, "?");
    /* Full table: quietly nothing. */
    for (uint64_t i = 0; i < f->m.nagents; i++)
        state_agent_record(&f->m, UINT64_C(1) << 40 | (2 * i + 1), "filler");
    state_agent_record(&f->m, 4004, "late");
    assert_null(agent_slot_of(&f->m, 4004));
    struct state_map none = {0};
    state_agent_record(&none, 1, "x");
    state_close(&m2);
}

/* A state file of another user is not ours to use or to move aside. */
static void test_other_users_file_refused(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* making a file of another user needs root */
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    state_close(&f->m);
    assert_int_equal(chown(f->path, 4242, 4242), 0);
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_FAILED);
    assert_non_null(strstr(f->msg, "belongs to another user"));
    assert_null(f->m.base);
    /* Left where it was, not moved aside. */
    assert_int_equal(count_entries(f->dir, "enact.state", NULL, 0), 1);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_uid, 4242);
}

/* Whether the file at the path is still the one mapped, whole. */
static void test_still_valid(void **state)
{
    struct fixture *f = *state;
    struct state_map m2;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    assert_true(state_still_valid(&f->m, f->path));
    assert_true(state_still_valid(&m2, f->path));
    *state_bucket(&f->m, 5) = 77; /* use changes nothing */
    assert_true(state_still_valid(&f->m, f->path));
    struct state_map none = {0};
    assert_false(state_still_valid(&none, f->path));

    /* Scribbled over: the header zeroed through the file. */
    int fd = open(f->path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    static const char zeros[sizeof(struct state_header)];
    assert_int_equal(pwrite(fd, zeros, sizeof zeros, 0), (ssize_t)sizeof zeros);
    close(fd);
    assert_false(state_still_valid(&f->m, f->path));
    assert_false(state_still_valid(&m2, f->path));
    state_close(&f->m);
    state_close(&m2);

    /* Removed, or replaced by another file. */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_true(state_still_valid(&f->m, f->path));
    assert_int_equal(unlink(f->path), 0);
    assert_false(state_still_valid(&f->m, f->path));
    assert_int_equal(state_open(f->path, NULL, &m2, f->msg, sizeof f->msg), STATE_OPENED);
    assert_false(state_still_valid(&f->m, f->path)); /* another inode */
    assert_true(state_still_valid(&m2, f->path));
    state_close(&f->m);

    /* Truncated (checked by size first: the mapping is not read past the
     * end of the file). */
    assert_int_equal(truncate(f->path, 100), 0);
    assert_false(state_still_valid(&m2, f->path));
    state_close(&m2);
}

/* Processes counting actions in one quota ring under its pidlock: the
 * quota is never exceeded and never under-used. */
enum { QPROCS = 6, QTRIES = 300, QMAX = 1000 };
#define QUOTA_KEY UINT64_C(0x9a0a9a0a9a0a9a0a)

static int quota_child(const char *path, int start_fd)
{
    char buf;
    if (read(start_fd, &buf, 1) != 0)
        return QTRIES + 1;
    struct state_map m;
    char msg[512];
    if (state_open(path, NULL, &m, msg, sizeof msg) != STATE_OPENED)
        return QTRIES + 2;
    struct quota_slot *q = state_quota(&m, QUOTA_KEY);
    struct quota_policy p;
    if (!q || !quota_policy_init(&p, QMAX, 24))
        return QTRIES + 3;
    int admitted = 0;
    const uint64_t now = UINT64_C(1800000000) * 1000000000u;
    for (int i = 0; i < QTRIES; i++) {
        int32_t me = (int32_t)gettid();
        if (!pidlock_acquire(&q->lock, me, pidlock_clock_ms, pidlock_pid_alive))
            return QTRIES + 4;
        uint64_t retry;
        if (quota_check(&q->ring, &p, now, &retry)) {
            quota_consume(&q->ring, &p, now);
            admitted++;
        }
        pidlock_release(&q->lock, me);
    }
    state_close(&m);
    return admitted;
}

static void test_processes_share_one_quota(void **state)
{
    struct fixture *f = *state;
    int *admitted = mmap(NULL, sizeof(int) * QPROCS, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(admitted != MAP_FAILED);
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    int start[2];
    assert_int_equal(pipe(start), 0);
    pid_t kids[QPROCS];
    for (int i = 0; i < QPROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(start[1]);
            int r = quota_child(f->path, start[0]);
            admitted[i] = r;
            th_child_exit(r > QTRIES ? 1 : 0);
        }
    }
    close(start[0]);
    close(start[1]);
    int total = 0;
    for (int i = 0; i < QPROCS; i++) {
        int status;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %d failed: status 0x%x, result %d", i, status, admitted[i]);
        total += admitted[i];
    }
    munmap(admitted, sizeof(int) * QPROCS);
    assert_int_equal(total, QMAX);
    /* 6 x 300 tries for 1000 actions: exactly 1000 counted, the lock free. */
    struct quota_slot *q = state_quota(&f->m, QUOTA_KEY);
    assert_non_null(q);
    assert_int_equal(q->ring.used, QMAX);
    assert_int_equal(q->lock, 0);
}

/* ---- invalid files ------------------------------------------------------- */

/* Opens path expecting a rebuild: checks the message, the file moved aside
 * with the old bytes, and a usable fresh map. */
static void expect_rebuilt(struct fixture *f, const char *name, const void *old, size_t old_len,
                           const char *reason)
{
    char path[PATH_MAX], prefix[PATH_MAX], aside[PATH_MAX];
    th_path(path, sizeof path, f->dir, name);
    snprintf(prefix, sizeof prefix, "%s.corrupt-", name);
    state_close(&f->m);
    int fds = count_open_fds();
    enum state_open_result r = state_open(path, NULL, &f->m, f->msg, sizeof f->msg);
    if (r != STATE_REBUILT)
        fail_msg("%s: state_open gave %d ('%s'), expected STATE_REBUILT (%d)", name, (int)r,
                 f->msg, (int)STATE_REBUILT);
    assert_int_equal(count_open_fds(), fds);
    if (!strstr(f->msg, reason) || !strstr(f->msg, "moved aside to"))
        fail_msg("unexpected message for %s: %s", name, f->msg);
    assert_valid_fresh_map(&f->m, MIN_SIZES);
    assert_non_null(state_bucket(&f->m, 7));

    assert_int_equal(count_entries(f->dir, prefix, aside, sizeof aside), 1);
    assert_non_null(strstr(f->msg, aside));
    size_t len;
    char *bytes = th_read_file(aside, &len);
    bool same = len == old_len && memcmp(bytes, old, old_len) == 0;
    free(bytes);
    if (!same)
        fail_msg("%s does not hold the old bytes (%zu bytes, expected %zu)", aside, len, old_len);

    /* The rebuilt file is valid: the next open just maps it. */
    struct state_map again;
    assert_int_equal(state_open(path, NULL, &again, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    state_close(&again);
}

/* Creates a valid state file at <dir>/name and returns its bytes (in a
 * static buffer: no heap that a failing assertion would leak). */
static char *valid_file_bytes(struct fixture *f, const char *name, size_t *len)
{
    static char bytes[2][1024 * 1024];
    static int which;
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, name);
    struct state_map m;
    assert_int_equal(state_open(path, NULL, &m, f->msg, sizeof f->msg), STATE_OPENED);
    *state_bucket(&m, 99) = 12345; /* some content */
    state_close(&m);
    char *heap = th_read_file(path, len);
    assert_true(*len <= sizeof bytes[0]);
    char *out = bytes[which++ % 2];
    memcpy(out, heap, *len);
    free(heap);
    return out;
}

static void test_truncated_file_rebuilt(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *good = valid_file_bytes(f, "trunc.state", &len);
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "trunc.state");
    th_write_bytes(path, good, len / 2);
    expect_rebuilt(f, "trunc.state", good, len / 2, "size differs from its header");

    th_path(path, sizeof path, f->dir, "short.state");
    th_write_bytes(path, good, 10);
    expect_rebuilt(f, "short.state", good, 10, "shorter than its header");

    th_path(path, sizeof path, f->dir, "empty.state");
    th_write_bytes(path, "", 0);
    expect_rebuilt(f, "empty.state", "", 0, "shorter than its header");

    /* Extended: longer than the header says. */
    char *longer = calloc(1, len + 4096);
    assert_non_null(longer);
    memcpy(longer, good, len);
    th_path(path, sizeof path, f->dir, "long.state");
    th_write_bytes(path, longer, len + 4096);
    expect_rebuilt(f, "long.state", longer, len + 4096, "size differs from its header");
    free(longer);
}

static void test_zeroed_file_rebuilt(void **state)
{
    struct fixture *f = *state;
    size_t len = expected_size(MIN_SIZES);
    char *zeros = calloc(1, len);
    assert_non_null(zeros);
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "zero.state");
    th_write_bytes(path, zeros, len);
    expect_rebuilt(f, "zero.state", zeros, len, "no enact state header");
    free(zeros);
}

static void test_random_file_rebuilt(void **state)
{
    struct fixture *f = *state;
    size_t len = expected_size(MIN_SIZES);
    unsigned char *noise = malloc(len);
    assert_non_null(noise);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < len; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        noise[i] = (unsigned char)(s >> 56);
    }
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "noise.state");
    th_write_bytes(path, noise, len);
    expect_rebuilt(f, "noise.state", noise, len, "no enact state header");
    free(noise);
}

/* An intact file of another build is refused, left where it is and as it
 * is: two builds sharing a config must not keep rebuilding each other's. */
static void expect_refused_as_incompatible(struct fixture *f, const char *name,
                                           const char *bytes, size_t len)
{
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, name);
    th_write_bytes(path, bytes, len);
    struct state_map m;
    assert_int_equal(state_open(path, NULL, &m, f->msg, sizeof f->msg), STATE_FAILED);
    assert_non_null(strstr(f->msg, "incompatible enact build"));
    assert_non_null(strstr(f->msg, path));
    assert_null(m.base);
    char *now = th_read_file(path, NULL);
    assert_memory_equal(now, bytes, len);
    free(now);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.corrupt-", name);
    assert_int_equal(count_entries(f->dir, prefix, NULL, 0), 0);
}

static void test_wrong_version_refused(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *bytes = valid_file_bytes(f, "ver.state", &len);
    ((struct state_header *)bytes)->version = STATE_VERSION + 1;
    expect_refused_as_incompatible(f, "ver.state", bytes, len);

    /* Same version, different layout signature. */
    bytes = valid_file_bytes(f, "sig.state", &len);
    ((struct state_header *)bytes)->layout_sig ^= 1;
    expect_refused_as_incompatible(f, "sig.state", bytes, len);
}

/* Rewrites one region of a valid file and expects a rebuild. */
static void expect_region_rebuilt(struct fixture *f, const char *name, enum state_region_id region,
                                  uint64_t offset, uint32_t count, uint32_t entry_size,
                                  const char *reason)
{
    size_t len;
    char *bytes = valid_file_bytes(f, name, &len);
    struct state_header *h = (struct state_header *)bytes;
    h->regions[region].offset = offset;
    h->regions[region].count = count;
    if (entry_size)
        h->regions[region].entry_size = entry_size;
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, name);
    th_write_bytes(path, bytes, len);
    expect_rebuilt(f, name, bytes, len, reason);
}

static void test_bad_bucket_region_rebuilt(void **state)
{
    struct fixture *f = *state;
    const uint64_t hdr = sizeof(struct state_header);
    const uint64_t at = align_up(hdr); /* where the bucket table starts */
    const struct {
        const char *name;
        uint64_t offset;
        uint32_t count;
    } cases[] = {
        {"npot.state", at, 1000},              /* not a power of two */
        {"zero.state", at, 0},                 /* empty */
        {"small.state", at, 512},              /* below the minimum */
        {"big.state", at, 1u << 23},           /* above the maximum */
        {"past.state", at, 1u << 22},          /* runs past the end */
        {"inhdr.state", 8, 1024},              /* overlaps the header */
        {"odd.state", at + 4, 1024},           /* misaligned */
        /* offset + count * 16 wraps around 2^64 to 0: must not pass as "in
         * bounds", or every process would index far outside the mapping. */
        {"wrap.state", UINT64_C(0xFFFFFFFFFFFFC000), 1024},
        {"wrap2.state", UINT64_C(0xFFFFFFFFFFFFFFF8), 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_region_rebuilt(f, cases[i].name, REGION_BUCKETS, cases[i].offset, cases[i].count, 0,
                              "a table lies outside the file");
    /* An entry size this build does not use. */
    expect_region_rebuilt(f, "esize.state", REGION_BUCKETS, at, 1024, 32,
                          "a table lies outside the file");
}

static void test_bad_quota_and_breaker_regions_rebuilt(void **state)
{
    struct fixture *f = *state;
    const uint64_t hdr = sizeof(struct state_header);
    const uint64_t qat = table_offset(MIN_SIZES, REGION_QUOTAS);
    const uint64_t bat = table_offset(MIN_SIZES, REGION_BREAKERS);
    const uint64_t aat = table_offset(MIN_SIZES, REGION_AGENTS);
    const uint64_t hat = table_offset(MIN_SIZES, REGION_HOSTS);
    assert_true(hdr < qat);
    const size_t size = expected_size(MIN_SIZES);
    const char *why = "a table lies outside the file";

    expect_region_rebuilt(f, "q-npot.state", REGION_QUOTAS, qat, 300, 0, why);
    expect_region_rebuilt(f, "q-zero.state", REGION_QUOTAS, qat, 0, 0, why);
    expect_region_rebuilt(f, "q-small.state", REGION_QUOTAS, qat, 128, 0, why);
    expect_region_rebuilt(f, "q-big.state", REGION_QUOTAS, qat, 1u << 21, 0, why);
    expect_region_rebuilt(f, "q-past.state", REGION_QUOTAS, qat, 1u << 20, 0, why);
    expect_region_rebuilt(f, "q-hdr.state", REGION_QUOTAS, 0, 256, 0, why);
    expect_region_rebuilt(f, "q-odd.state", REGION_QUOTAS, qat + 4, 256, 0, why);
    expect_region_rebuilt(f, "q-esize.state", REGION_QUOTAS, qat, 256,
                          (uint32_t)sizeof(struct quota_slot) + 8, why);
    expect_region_rebuilt(f, "q-wrap.state", REGION_QUOTAS, UINT64_MAX - 7, 256, 0, why);

    expect_region_rebuilt(f, "b-npot.state", REGION_BREAKERS, bat, 65, 0, why);
    expect_region_rebuilt(f, "b-zero.state", REGION_BREAKERS, bat, 0, 0, why);
    expect_region_rebuilt(f, "b-small.state", REGION_BREAKERS, bat, 32, 0, why);
    expect_region_rebuilt(f, "b-big.state", REGION_BREAKERS, bat, 1u << 17, 0, why);
    expect_region_rebuilt(f, "b-past.state", REGION_BREAKERS, size - 64, 64, 0, why);
    expect_region_rebuilt(f, "b-end.state", REGION_BREAKERS, size + 64, 64, 0, why);
    expect_region_rebuilt(f, "b-odd.state", REGION_BREAKERS, bat + 4, 64, 0, why);
    expect_region_rebuilt(f, "b-esize.state", REGION_BREAKERS, bat, 64, 8, why);
    expect_region_rebuilt(f, "b-wrap.state", REGION_BREAKERS, UINT64_C(0xFFFFFFFFFFFFF000), 64, 0,
                          why);

    expect_region_rebuilt(f, "a-npot.state", REGION_AGENTS, aat, 300, 0, why);
    expect_region_rebuilt(f, "a-small.state", REGION_AGENTS, aat, 128, 0, why);
    expect_region_rebuilt(f, "a-past.state", REGION_AGENTS, size - 64, MIN_AGENTS, 0, why);
    expect_region_rebuilt(f, "a-esize.state", REGION_AGENTS, aat, MIN_AGENTS, 8, why);
    expect_region_rebuilt(f, "h-npot.state", REGION_HOSTS, hat, 1000, 0, why);
    expect_region_rebuilt(f, "h-small.state", REGION_HOSTS, hat, 512, 0, why);
    expect_region_rebuilt(f, "h-past.state", REGION_HOSTS, hat + 64, MIN_HOSTS, 0, why);
    expect_region_rebuilt(f, "h-odd.state", REGION_HOSTS, hat + 4, MIN_HOSTS, 0, why);
}

/* Two tables over the same bytes would let a bucket's compare-and-swap
 * scribble over a quota ring or a lock: such a header is as invalid as one
 * that points outside the file. */
static void test_overlapping_regions_rebuilt(void **state)
{
    struct fixture *f = *state;
    const uint64_t bucket_at = table_offset(MIN_SIZES, REGION_BUCKETS);
    const uint64_t qat = table_offset(MIN_SIZES, REGION_QUOTAS);
    /* The quota table moved onto the bucket table (both inside the file). */
    expect_region_rebuilt(f, "ov-q.state", REGION_QUOTAS, bucket_at, MIN_QUOTAS, 0, "table");
    /* The breaker table moved into the quota table. */
    expect_region_rebuilt(f, "ov-b.state", REGION_BREAKERS, qat, MIN_BREAKERS, 0, "table");
    /* The host table moved onto the quota table. */
    expect_region_rebuilt(f, "ov-h.state", REGION_HOSTS, qat, MIN_HOSTS, 0, "table");
}

static void test_unwritable_folder_fails(void **state)
{
    struct fixture *f = *state;
    /* A regular file where a folder should be (fails even for root). */
    char file[PATH_MAX], path[PATH_MAX];
    th_path(file, sizeof file, f->dir, "plain");
    th_write_file(file, "x");
    th_path(path, sizeof path, f->dir, "plain/sub/enact.state");
    memset(&f->m, 0xff, sizeof f->m);
    assert_int_equal(state_open(path, NULL, &f->m, f->msg, sizeof f->msg), STATE_FAILED);
    assert_non_null(strstr(f->msg, "cannot create the folder"));
    assert_non_null(strstr(f->msg, "Not a directory"));
    assert_null(f->m.base);
    assert_null(state_bucket(&f->m, 1));

    th_path(path, sizeof path, f->dir, "plain/enact.state");
    assert_int_equal(state_open(path, NULL, &f->m, f->msg, sizeof f->msg), STATE_FAILED);
    assert_non_null(strstr(f->msg, path));
    assert_non_null(strstr(f->msg, "Not a directory"));
    assert_null(f->m.base);

    /* A path too long for the system. */
    char huge[PATH_MAX + 64];
    memset(huge, 'x', sizeof huge - 1);
    huge[0] = '/';
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(state_open(huge, NULL, &f->m, f->msg, sizeof f->msg), STATE_FAILED);
    assert_true(strlen(f->msg) > 0);
    assert_null(f->m.base);

    /* A folder where the file should be. */
    th_path(path, sizeof path, f->dir, "isdir.state");
    assert_int_equal(mkdir(path, 0700), 0);
    enum state_open_result r = state_open(path, NULL, &f->m, f->msg, sizeof f->msg);
    assert_int_not_equal(r, STATE_OPENED);
    assert_true(strlen(f->msg) > 0);
    if (r == STATE_FAILED)
        assert_null(f->m.base);
    state_close(&f->m);

    /* A small message buffer is still terminated. */
    char tiny[16];
    th_path(path, sizeof path, f->dir, "plain/sub/enact.state");
    assert_int_equal(state_open(path, NULL, &f->m, tiny, sizeof tiny), STATE_FAILED);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

/* ---- processes x threads on one bucket ----------------------------------- */

enum { PROCS = 8, THREADS = 2, TRIES = 400, BURST = 500 };
#define SHARED_KEY UINT64_C(0x5eed5eed5eed5eed)

struct child_thread {
    uint64_t *word;
    const struct rate_policy *p;
    pthread_barrier_t *go;
    int admitted;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *child_thread_main(void *arg)
{
    struct child_thread *t = arg;
    pthread_barrier_wait(t->go);
    for (int i = 0; i < TRIES; i++)
        if (bucket_take(t->word, t->p, mono_ns()).admit)
            t->admitted++;
    return NULL;
}

/* results[i]: admits of child i, or -1 - state_open result on failure. */
static int child_main(const char *path, int start_fd, int *result)
{
    char buf;
    if (read(start_fd, &buf, 1) != 0) /* returns 0 when the parent closes it */
        return 1;
    struct state_map m;
    char msg[512];
    enum state_open_result r = state_open(path, NULL, &m, msg, sizeof msg);
    if (r != STATE_OPENED) {
        *result = -1 - (int)r;
        return 1;
    }
    uint64_t *word = state_bucket(&m, SHARED_KEY);
    if (!word) {
        *result = -10;
        return 1;
    }
    struct rate_policy p;
    if (!rate_policy_init(&p, 1, BURST))
        return 1;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    pthread_t th[THREADS];
    struct child_thread ct[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ct[i] = (struct child_thread){.word = word, .p = &p, .go = &go};
        if (pthread_create(&th[i], NULL, child_thread_main, &ct[i]) != 0)
            return 1;
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += ct[i].admitted;
    }
    __atomic_store_n(result, total, __ATOMIC_RELEASE);
    state_close(&m);
    return 0;
}

static void test_processes_share_one_bucket(void **state)
{
    struct fixture *f = *state;
    th_path(f->path, sizeof f->path, f->dir, "shared/enact.state");
    int *results = mmap(NULL, sizeof(int) * PROCS, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(results != MAP_FAILED);
    for (int i = 0; i < PROCS; i++)
        results[i] = -100;
    int start[2];
    assert_int_equal(pipe(start), 0);
    pid_t kids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(start[1]);
            th_child_exit(child_main(f->path, start[0], &results[i]));
        }
    }
    close(start[0]);
    close(start[1]); /* go: every child creates/opens the file at once */
    int total = 0;
    for (int i = 0; i < PROCS; i++) {
        int status;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %d failed: status 0x%x, result %d", i, status, results[i]);
        assert_true(results[i] >= 0);
        total += results[i];
    }
    assert_int_equal(total, BURST);
    munmap(results, sizeof(int) * PROCS);

    /* One state file, nothing moved aside, no temporary left. */
    char folder[PATH_MAX];
    th_path(folder, sizeof folder, f->dir, "shared");
    assert_int_equal(count_entries(folder, "", NULL, 0), 1);
    assert_int_equal(count_entries(folder, "enact.state", NULL, 0), 1);

    /* The parent sees the emptied bucket. */
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    uint64_t *word = state_bucket(&f->m, SHARED_KEY);
    assert_non_null(word);
    struct rate_policy p;
    assert_true(rate_policy_init(&p, 1, BURST));
    assert_int_equal(bucket_remaining(*word, &p, mono_ns()), 0);
}

/* Many processes find the same invalid file at once (say, after an upgrade
 * all of an agent's workers start together). Exactly one copy is moved
 * aside, and every process ends up on the one table that stays at PATH:
 * a process must never be left counting in a file that another process
 * has since moved aside. */
static void test_concurrent_rebuild_one_table(void **state)
{
    struct fixture *f = *state;
    enum { KIDS = 12, ROUNDS = 12 };
    int *opened = mmap(NULL, sizeof(int) * KIDS, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(opened != MAP_FAILED);
    static char zeros[1024 * 1024];
    assert_true(expected_size(MIN_SIZES) <= sizeof zeros);
    size_t len = expected_size(MIN_SIZES);
    for (int round = 0; round < ROUNDS; round++) {
        char name[64], folder[PATH_MAX];
        snprintf(name, sizeof name, "r%d", round);
        th_path(folder, sizeof folder, f->dir, name);
        assert_int_equal(mkdir(folder, 0700), 0);
        th_path(f->path, sizeof f->path, folder, "enact.state");
        th_write_bytes(f->path, zeros, len); /* invalid: no header */
        int start[2];
        assert_int_equal(pipe(start), 0);
        pid_t kids[KIDS];
        for (int i = 0; i < KIDS; i++) {
            opened[i] = -1;
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                close(start[1]);
                char c;
                if (read(start[0], &c, 1) != 0)
                    th_child_exit(1);
                struct state_map m;
                char msg[512];
                enum state_open_result r = state_open(f->path, NULL, &m, msg, sizeof msg);
                if (r == STATE_FAILED)
                    th_child_exit(2);
                uint64_t *w = state_bucket(&m, SHARED_KEY);
                if (!w)
                    th_child_exit(3);
                __atomic_fetch_add(w, 1, __ATOMIC_ACQ_REL);
                opened[i] = (int)r;
                state_close(&m);
                th_child_exit(0);
            }
        }
        close(start[0]);
        close(start[1]);
        for (int i = 0; i < KIDS; i++) {
            int status;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(count_entries(folder, "enact.state.corrupt-", NULL, 0), 1);
        assert_int_equal(count_entries(folder, "", NULL, 0), 2);
        struct state_map m;
        assert_int_equal(state_open(f->path, NULL, &m, f->msg, sizeof f->msg), STATE_OPENED);
        uint64_t *w = state_bucket(&m, SHARED_KEY);
        assert_non_null(w);
        if (*w != KIDS)
            fail_msg("round %d: only %llu of %d processes share the table at the path", round,
                     (unsigned long long)*w, KIDS);
        state_close(&m);
    }
    munmap(opened, sizeof(int) * KIDS);
}

/* ---- a deterministic interleaving for the rebuild race ------------------- */

/* state.c calls rename(2) to move an invalid file aside. This definition
 * (linked into the test binary ahead of libc's) lets a test run "another
 * process" at exactly that moment: after this process has found the file
 * invalid, before it moves whatever is at the path. */
static struct {
    bool armed;
    pid_t owner;
    const char *path;
    pid_t other;
    bool other_done;
    int other_status;
} hook;

static void other_process(const char *path)
{
    struct state_map m;
    char msg[512];
    if (state_open(path, NULL, &m, msg, sizeof msg) == STATE_FAILED)
        th_child_exit(2);
    uint64_t *w = state_bucket(&m, SHARED_KEY);
    if (!w)
        th_child_exit(3);
    __atomic_fetch_add(w, 1, __ATOMIC_ACQ_REL);
    state_close(&m);
    th_child_exit(0);
}

int rename(const char *from, const char *to)
{
    if (hook.armed && getpid() == hook.owner) {
        hook.armed = false;
        hook.other = fork();
        if (hook.other == 0)
            other_process(hook.path);
        /* Let it run to the end; if it waits for us (a lock), go on after
         * a while so that it can finish once we are done. */
        for (int i = 0; i < 1000 && !hook.other_done; i++) {
            if (waitpid(hook.other, &hook.other_status, WNOHANG) == hook.other)
                hook.other_done = true;
            else
                usleep(1000);
        }
    }
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

static void test_rebuild_race_keeps_one_table(void **state)
{
    struct fixture *f = *state;
    size_t len = expected_size(MIN_SIZES);
    char *zeros = calloc(1, len);
    assert_non_null(zeros);
    th_write_bytes(f->path, zeros, len); /* invalid: no header */
    free(zeros);

    memset(&hook, 0, sizeof hook);
    hook.owner = getpid();
    hook.path = f->path;
    hook.armed = true;
    enum state_open_result r = state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg);
    assert_false(hook.armed); /* the interleaving happened */
    assert_int_not_equal(r, STATE_FAILED);
    uint64_t *mine = state_bucket(&f->m, SHARED_KEY);
    assert_non_null(mine);
    __atomic_fetch_add(mine, 1, __ATOMIC_ACQ_REL);
    if (!hook.other_done)
        assert_int_equal(waitpid(hook.other, &hook.other_status, 0), hook.other);
    assert_true(WIFEXITED(hook.other_status));
    assert_int_equal(WEXITSTATUS(hook.other_status), 0);

    /* Both processes counted in the same table, the one at the path ... */
    assert_int_equal(*mine, 2);
    struct state_map now;
    assert_int_equal(state_open(f->path, NULL, &now, f->msg, sizeof f->msg), STATE_OPENED);
    uint64_t *w = state_bucket(&now, SHARED_KEY);
    assert_non_null(w);
    assert_int_equal(*w, 2);
    state_close(&now);
    /* ... and only the invalid file was moved aside. */
    assert_int_equal(count_entries(f->dir, "enact.state.corrupt-", NULL, 0), 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, state_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_slots_for),
        T(test_children),
        T(test_open_creates_file_and_folders),
        T(test_open_sizes_table),
        T(test_reopen_maps_same_table),
        T(test_bucket_keys),
        T(test_bucket_probe_window_full),
        T(test_bucket_table_full),
        T(test_quota_and_breaker_keys),
        T(test_quota_and_breaker_tables_full),
        T(test_slots_shared_across_maps),
        T(test_hosts),
        T(test_find_does_not_claim),
        T(test_still_valid),
        T(test_agents_table),
        T(test_other_users_file_refused),
        T(test_processes_share_one_quota),
        T(test_truncated_file_rebuilt),
        T(test_zeroed_file_rebuilt),
        T(test_random_file_rebuilt),
        T(test_wrong_version_refused),
        T(test_bad_bucket_region_rebuilt),
        T(test_bad_quota_and_breaker_regions_rebuilt),
        T(test_overlapping_regions_rebuilt),
        T(test_unwritable_folder_fails),
        T(test_processes_share_one_bucket),
        T(test_concurrent_rebuild_one_table),
        T(test_rebuild_race_keeps_one_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
