/* Unit tests for the growth of the state file's tables (state.h, "Growth"):
 * a full table gets an extension instead of refusing, every key keeps its
 * one slot, and other mappings of the file follow. */
#include "state_fixture.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "local_store.h"
#include "state.h"

/* The clock the tests decide at (CLOCK_MONOTONIC ns), as the gate passes it. */
#define T0 (UINT64_C(1000) * 1000000000u)

static int setup(void **state)
{
    struct fixture *f = state_fixture_new();
    *state = f;
    return f ? 0 : -1;
}

/* Spread keys, as gate_bucket_key's hashes are. */
static uint64_t key_of(uint64_t i)
{
    return (i + 1) * UINT64_C(0x9E3779B97F4A7C15);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Slots of region over every table m knows. */
static uint64_t slots_of(struct state_map *m, enum state_region_id region, unsigned *ntables)
{
    struct state_table t[STATE_TABLES_MAX];
    size_t n = state_tables(m, region, t);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i].count;
    if (ntables)
        *ntables = (unsigned)n;
    return total;
}

/* 10,000 keys in a default file (1024 bucket slots): each gets a slot,
 * the earlier ones keep their words, and a mapping made before the growth
 * (another process's) finds the same slots. */
static void test_full_bucket_table_grows(void **state)
{
    struct fixture *f = *state;
    enum { N = 10000 };
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    struct state_map before;
    assert_int_equal(state_open(f->path, NULL, &before, f->msg, sizeof f->msg), STATE_OPENED);
    assert_int_equal(f->m.nbuckets, 1024);
    long long created = file_size(f->path);
    const struct state_header *h = f->m.base;
    assert_int_equal(h->nextensions, 0);

    for (uint64_t i = 0; i < N; i++) {
        uint64_t *w = state_bucket_or_evict(&f->m, key_of(i), T0);
        assert_non_null(w);
        assert_int_equal(*w, 0); /* a new slot: nobody else's */
        *w = T0 + i + 1;
    }
    unsigned ntables;
    assert_true(slots_of(&f->m, REGION_BUCKETS, &ntables) >= N);
    assert_true(ntables >= 2);
    assert_true(h->nextensions >= 1);
    assert_int_equal((long long)h->extent, file_size(f->path));
    assert_true(file_size(f->path) > created);
    assert_true(state_still_valid(&f->m, f->path));
    assert_true(state_still_valid(&before, f->path)); /* grown, not damaged */

    for (uint64_t i = 0; i < N; i++) {
        uint64_t *w = state_bucket(&f->m, key_of(i));
        assert_non_null(w);
        assert_int_equal(*w, T0 + i + 1);
        assert_ptr_equal(state_find_bucket(&f->m, key_of(i)), w);
    }

    /* The older mapping follows: it finds every key, in the same slot
     * (a write through it is seen through the other), and claims none. */
    for (uint64_t i = 0; i < N; i++) {
        uint64_t *w = state_find_bucket(&before, key_of(i));
        assert_non_null(w);
        assert_int_equal(*w, T0 + i + 1);
        *w = T0 + 2 * i + 1;
    }
    assert_true(before.size > before.base_size);
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(*state_find_bucket(&f->m, key_of(i)), T0 + 2 * i + 1);
    assert_null(state_find_bucket(&before, key_of(N + 1)));

    /* A mapping made now maps it all at once. */
    struct state_map after;
    assert_int_equal(state_open(f->path, NULL, &after, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    assert_int_equal(after.size, (size_t)file_size(f->path));
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(*state_find_bucket(&after, key_of(i)), T0 + 2 * i + 1);
    state_close(&after);

    /* Truncated back to its created size: no mapping may touch it. */
    assert_int_equal(truncate(f->path, created), 0);
    assert_false(state_still_valid(&f->m, f->path));
    assert_false(state_still_valid(&before, f->path));
    state_close(&before);
}

/* Quotas, breakers, agents and host names grow the same way; the store's
 * list of agents (enact status, enact reset) names those in extensions. */
static void test_other_tables_grow(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    struct state_map other;
    assert_int_equal(state_open(f->path, NULL, &other, f->msg, sizeof f->msg), STATE_OPENED);
    enum { NQ = 2000, NB = 500, NA = 1500, NH = 3000 };
    for (uint64_t i = 0; i < NQ; i++) {
        struct quota_slot *q = state_quota(&f->m, key_of(i)); /* empty rings: idle, so not _or_evict */
        assert_non_null(q);
        q->slot_ns = i + 1;
    }
    for (uint64_t i = 0; i < NB; i++)
        assert_non_null(state_breaker(&other, key_of(i)));
    for (uint64_t i = 0; i < NA; i++) {
        char name[32];
        snprintf(name, sizeof name, "agent-%llu", (unsigned long long)i);
        state_agent_record(i % 2 ? &f->m : &other, key_of(i), name);
    }
    for (uint64_t i = 0; i < NH; i++) {
        uint8_t addr[16] = {0};
        memcpy(addr, &i, sizeof i);
        state_host_record(&f->m, addr, "host.example", 1);
    }
    for (uint64_t i = 0; i < NQ; i++)
        assert_int_equal(state_find_quota(&other, key_of(i))->slot_ns, i + 1);
    for (uint64_t i = 0; i < NB; i++) {
        struct breaker_slot *b = state_find_breaker(&f->m, key_of(i));
        assert_non_null(b);
        assert_int_equal(b->key, key_of(i) | 1);
    }
    for (uint64_t i = 0; i < NH; i++) {
        uint8_t addr[16] = {0};
        memcpy(addr, &i, sizeof i);
        char name[64];
        assert_true(state_host_lookup(&other, addr, name, sizeof name));
        assert_string_equal(name, "host.example");
    }
    assert_true(slots_of(&other, REGION_QUOTAS, NULL) >= NQ);
    assert_true(slots_of(&other, REGION_BREAKERS, NULL) >= NB);
    assert_true(slots_of(&other, REGION_HOSTS, NULL) >= NH);

    struct store st = local_store(&other);
    char(*names)[STORE_AGENT_NAME_MAX] = NULL;
    size_t n = st.ops->agents(st.impl, &names);
    assert_int_equal(n, NA);
    bool *seen = calloc(NA, sizeof *seen);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++) {
        unsigned long long k;
        assert_int_equal(sscanf(names[i], "agent-%llu", &k), 1);
        assert_true(k < NA && !seen[k]);
        seen[k] = true;
    }
    free(seen);
    free(names);
    state_close(&other);
}

/* Growth stops at grow_max: then a new key is refused (state_full, as a
 * file that cannot grow), and the keys already in keep their slots. */
static void test_growth_bounded(void **state)
{
    struct fixture *f = *state;
    const uint64_t grow_max = 1u << 20;
    assert_int_equal(state_open(f->path, &(struct state_sizes){.grow_max = grow_max}, &f->m,
                                f->msg, sizeof f->msg),
                     STATE_OPENED);
    const struct state_header *h = f->m.base;
    uint64_t i = 0;
    for (; i < 1000000 && state_bucket(&f->m, key_of(i)); i++)
        *state_bucket(&f->m, key_of(i)) = i + 1;
    assert_true(i > 1024 && i < 1000000);
    assert_true(h->extent <= h->file_size + grow_max);
    assert_int_equal((long long)h->extent, file_size(f->path));
    assert_null(state_bucket(&f->m, key_of(i)));
    for (uint64_t j = 0; j < i; j++)
        assert_int_equal(*state_find_bucket(&f->m, key_of(j)), j + 1);
}

/* Processes racing to fill and grow one table: each key ends up in
 * exactly one slot (each process adds 1 to every key's word: every word
 * ends at NPROCS), and the file is valid for a newcomer. */
static void test_processes_grow_together(void **state)
{
    struct fixture *f = *state;
    enum { NPROCS = 4, N = 6000 };
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kids[NPROCS];
    for (int p = 0; p < NPROCS; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(2);
            struct state_map m;
            char msg[512];
            if (state_open(f->path, NULL, &m, msg, sizeof msg) != STATE_OPENED)
                _exit(3);
            /* Each from another starting point: growths from all sides. */
            for (uint64_t k = 0; k < N; k++) {
                uint64_t *w = state_bucket(&m, key_of((k + (uint64_t)p * N / NPROCS) % N));
                if (!w)
                    _exit(4);
                __atomic_fetch_add(w, 1, __ATOMIC_RELAXED);
            }
            state_close(&m);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int p = 0; p < NPROCS; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    struct state_map fresh;
    assert_int_equal(state_open(f->path, NULL, &fresh, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    for (uint64_t k = 0; k < N; k++) {
        assert_int_equal(*state_find_bucket(&fresh, key_of(k)), NPROCS);
        assert_int_equal(*state_find_bucket(&f->m, key_of(k)), NPROCS);
    }
    /* No key twice: claimed slots, over every table, are exactly N. */
    struct state_table t[STATE_TABLES_MAX];
    size_t nt = state_tables(&fresh, REGION_BUCKETS, t);
    uint64_t claimed = 0;
    for (size_t i = 0; i < nt; i++)
        for (uint32_t s = 0; s < t[i].count; s++)
            claimed += ((struct bucket_slot *)t[i].slots)[s].key != 0;
    assert_int_equal(claimed, N);
    state_close(&fresh);
}

/* Threads sharing one mapping (as a process's threads share the shim's)
 * grow a table and map its extensions at the same time: each maps every
 * extension once for all of them, and each key has one slot. */
enum { NTHREADS = 4, TN = 6000 };
static void *thread_claims(void *arg)
{
    struct state_map *m = arg;
    for (uint64_t k = 0; k < TN; k++) {
        uint64_t *w = state_bucket(m, key_of(k));
        if (!w)
            return (void *)1;
        __atomic_fetch_add(w, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_threads_grow_one_map(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_claims, &f->m), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *failed;
        assert_int_equal(pthread_join(th[i], &failed), 0);
        assert_null(failed);
    }
    const struct state_header *h = f->m.base;
    assert_int_equal(f->m.next, h->nextensions);
    for (uint64_t k = 0; k < TN; k++)
        assert_int_equal(*state_find_bucket(&f->m, key_of(k)), NTHREADS);
    assert_int_equal(f->m.size, (size_t)file_size(f->path));
}

/* A growth the file system refuses (here RLIMIT_FSIZE; a full disk
 * alike): the key is refused as from a file that may not grow, the file
 * keeps the size its header says (no half-allocated tail), and the next
 * process maps it as it is. */
static void test_growth_refused_by_the_file_system(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    long long created = file_size(f->path);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* EFBIG instead */
        struct rlimit lim = {(rlim_t)created, (rlim_t)created};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(2);
        uint64_t i = 0;
        while (i < 100000 && state_bucket(&f->m, key_of(i)))
            i++;
        const struct state_header *h = f->m.base;
        if (i < 512 || i >= 100000 || h->nextensions != 0 || file_size(f->path) != created ||
            !state_still_valid(&f->m, f->path))
            _exit(3);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    struct state_map again;
    assert_int_equal(state_open(f->path, NULL, &again, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    /* Without the limit, it grows. */
    assert_non_null(state_bucket(&again, key_of(200000)));
    for (uint64_t i = 0; i < 3000; i++)
        assert_non_null(state_bucket(&again, key_of(i)));
    assert_true(file_size(f->path) > created);
    state_close(&again);
}

/* A file whose header says it is longer than it is (a growth published
 * and the file cut back behind it) is moved aside and rebuilt, as any
 * truncated file. */
static void test_grown_file_truncated_rebuilt(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    for (uint64_t i = 0; i < 4000; i++)
        assert_non_null(state_bucket(&f->m, key_of(i)));
    const struct state_header *h = f->m.base;
    assert_true(h->nextensions >= 1);
    long long created = (long long)h->file_size;
    state_close(&f->m);
    assert_int_equal(truncate(f->path, created), 0);
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_REBUILT);
    assert_non_null(strstr(f->msg, "size differs from its header"));
    assert_null(state_find_bucket(&f->m, key_of(1)));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, state_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_bucket_table_grows),
        T(test_other_tables_grow),
        T(test_growth_bounded),
        T(test_processes_grow_together),
        T(test_threads_grow_one_map),
        T(test_growth_refused_by_the_file_system),
        T(test_grown_file_truncated_rebuilt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
