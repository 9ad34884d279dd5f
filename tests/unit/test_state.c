/* Unit tests for state.c: the mmap'd shared state file. */
#include "helpers.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "bucket.h"
#include "state.h"

#define MIN_BUCKETS 1024u /* state.c */

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
    umask(022);
    f->dir = th_mkdtemp();
    th_path(f->path, sizeof f->path, f->dir, "enact.state");
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

static void assert_valid_fresh_map(const struct state_map *m, uint32_t nbuckets)
{
    assert_non_null(m->base);
    assert_int_equal(m->nbuckets, nbuckets);
    assert_int_equal(m->size, sizeof(struct state_header) + (size_t)nbuckets * sizeof(struct bucket_slot));
    const struct state_header *h = m->base;
    assert_memory_equal(h->magic, STATE_MAGIC, 8);
    assert_int_equal(h->version, STATE_VERSION);
    assert_int_equal(h->header_size, sizeof(struct state_header));
    assert_int_equal(h->file_size, m->size);
    assert_int_equal(h->regions[REGION_BUCKETS].count, nbuckets);
    assert_int_equal(h->regions[REGION_BUCKETS].entry_size, sizeof(struct bucket_slot));
    assert_ptr_equal(m->buckets, (char *)m->base + h->regions[REGION_BUCKETS].offset);
    for (uint32_t i = 0; i < nbuckets; i++) {
        assert_int_equal(m->buckets[i].key, 0);
        assert_int_equal(m->buckets[i].tat, 0);
    }
}

static void test_slots_for(void **state)
{
    (void)state;
    assert_int_equal(state_sizes_for(0).buckets, 1024);
    assert_int_equal(state_sizes_for(1).buckets, 1024);
    assert_int_equal(state_sizes_for(8).buckets, 1024);   /* 8 x 64 x 2 = 1024 */
    assert_int_equal(state_sizes_for(9).buckets, 2048);
    assert_int_equal(state_sizes_for(100).buckets, 16384); /* 12800 -> 16384 */
    assert_int_equal(state_sizes_for(1000000).buckets, 1u << 22);
}

static void test_open_creates_file_and_folders(void **state)
{
    struct fixture *f = *state;
    th_path(f->path, sizeof f->path, f->dir, "a/b/c/enact.state");
    int fds = count_open_fds();
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_string_equal(f->msg, "");
    assert_int_equal(count_open_fds(), fds); /* no descriptor stays open */
    assert_valid_fresh_map(&f->m, MIN_BUCKETS);

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
    assert_valid_fresh_map(&f->m, 8192);
    state_close(&f->m);
    assert_null(f->m.base);
    assert_null(f->m.buckets);
    state_close(&f->m); /* twice is harmless */

    char other[PATH_MAX];
    th_path(other, sizeof other, f->dir, "other.state");
    assert_int_equal(state_open(other, &(struct state_sizes){.buckets = 1024}, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
    assert_valid_fresh_map(&f->m, 1024);
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
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
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
    assert_int_equal(state_open(f->path, NULL, &f->m, f->msg, sizeof f->msg), STATE_OPENED);
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
    assert_valid_fresh_map(&f->m, MIN_BUCKETS);
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
    static char bytes[2][64 * 1024];
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
    size_t len = sizeof(struct state_header) + 1024 * sizeof(struct bucket_slot);
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
    size_t len = sizeof(struct state_header) + 1024 * sizeof(struct bucket_slot);
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

static void test_wrong_version_rebuilt(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *bytes = valid_file_bytes(f, "ver.state", &len);
    struct state_header *h = (struct state_header *)bytes;
    h->version = STATE_VERSION + 1;
    char path[PATH_MAX];
    th_path(path, sizeof path, f->dir, "ver.state");
    th_write_bytes(path, bytes, len);
    expect_rebuilt(f, "ver.state", bytes, len, "incompatible enact version");

    /* Same version, different layout signature. */
    bytes = valid_file_bytes(f, "sig.state", &len);
    h = (struct state_header *)bytes;
    h->layout_sig ^= 1;
    th_path(path, sizeof path, f->dir, "sig.state");
    th_write_bytes(path, bytes, len);
    expect_rebuilt(f, "sig.state", bytes, len, "incompatible enact version");
}

static void test_bad_bucket_region_rebuilt(void **state)
{
    struct fixture *f = *state;
    const struct {
        const char *name;
        uint64_t offset;
        uint32_t count;
    } cases[] = {
        {"npot.state", sizeof(struct state_header), 1000},     /* not a power of two */
        {"zero.state", sizeof(struct state_header), 0},        /* empty */
        {"past.state", sizeof(struct state_header) + 16, 1024}, /* runs past the end */
        {"inhdr.state", 8, 1024},                               /* overlaps the header */
        {"odd.state", sizeof(struct state_header) + 4, 512},   /* misaligned */
        /* offset + count * 16 wraps around 2^64 to 0: must not pass as "in
         * bounds", or every process would index far outside the mapping. */
        {"wrap.state", UINT64_C(0xFFFFFFFFFFFFC000), 1024},
        {"wrap2.state", UINT64_C(0xFFFFFFFFFFFFFFF8), 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *bytes = valid_file_bytes(f, cases[i].name, &len);
        struct state_header *h = (struct state_header *)bytes;
        h->regions[REGION_BUCKETS].offset = cases[i].offset;
        h->regions[REGION_BUCKETS].count = cases[i].count;
        char path[PATH_MAX];
        th_path(path, sizeof path, f->dir, cases[i].name);
        th_write_bytes(path, bytes, len);
        expect_rebuilt(f, cases[i].name, bytes, len, "bucket table out of bounds");
    }
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
    static char zeros[sizeof(struct state_header) + 1024 * sizeof(struct bucket_slot)];
    size_t len = sizeof zeros;
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
    size_t len = sizeof(struct state_header) + 1024 * sizeof(struct bucket_slot);
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
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_slots_for),
        T(test_open_creates_file_and_folders),
        T(test_open_sizes_table),
        T(test_reopen_maps_same_table),
        T(test_bucket_keys),
        T(test_bucket_probe_window_full),
        T(test_bucket_table_full),
        T(test_truncated_file_rebuilt),
        T(test_zeroed_file_rebuilt),
        T(test_random_file_rebuilt),
        T(test_wrong_version_rebuilt),
        T(test_bad_bucket_region_rebuilt),
        T(test_unwritable_folder_fails),
        T(test_processes_share_one_bucket),
        T(test_concurrent_rebuild_one_table),
        T(test_rebuild_race_keeps_one_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
