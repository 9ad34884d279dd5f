#include "state.h"

#include "clock.h"
#include "pidlock.h"
#include "seq_bytes.h"
#include "state_control.h"
#include "sys.h"
#include "../pure/hash.h"
#include "../pure/text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_LIMIT 64u
#define REGION_ALIGN 64u

/* The tables of the file, in file order. */
static const struct table_kind {
    enum state_region_id region;
    size_t entry_size;
    size_t align;
    uint32_t min, max; /* slots; powers of two */
} TABLES[] = {
    {REGION_BUCKETS, sizeof(struct bucket_slot), _Alignof(struct bucket_slot), 1024, 1u << 22},
    {REGION_QUOTAS, sizeof(struct quota_slot), _Alignof(struct quota_slot), 256, 1u << 20},
    {REGION_BREAKERS, sizeof(struct breaker_slot), _Alignof(struct breaker_slot), 64, 1u << 16},
    {REGION_AGENTS, sizeof(struct agent_slot), _Alignof(struct agent_slot), 256, 1u << 16},
    {REGION_HOSTS, sizeof(struct host_slot), _Alignof(struct host_slot), 1024, 1u << 16},
    {REGION_CHILDREN, sizeof(struct child_slot), _Alignof(struct child_slot), 1024, 1u << 16},
    {REGION_PROCS, sizeof(struct proc_slot), _Alignof(struct proc_slot), 1024, 1u << 16},
    {REGION_KILLS, sizeof(struct kill_slot), _Alignof(struct kill_slot), 64, 64},
    {REGION_COUNTERS, sizeof(struct counter_slot), _Alignof(struct counter_slot), 64, 1u << 16},
    {REGION_APPROVALS, sizeof(struct approval_slot), _Alignof(struct approval_slot), 64, 64},
};
#define NTABLES (sizeof TABLES / sizeof TABLES[0])

/* The tables that grow: those whose slots are claimed for good by key
 * (slot_for). Children, processes, kills, counters and approvals keep
 * their size: their slots are freed or few. */
static bool grows(uint32_t region)
{
    return region == REGION_BUCKETS || region == REGION_QUOTAS || region == REGION_BREAKERS ||
           region == REGION_AGENTS || region == REGION_HOSTS;
}

static const struct table_kind *kind_of(uint32_t region)
{
    _Static_assert(REGION_BUCKETS == 0 && REGION_QUOTAS == 1 && REGION_BREAKERS == 2 &&
                       REGION_AGENTS == 3 && REGION_HOSTS == 4 && REGION_APPROVALS == 9,
                   "TABLES[] is in region order");
    return region < NTABLES ? &TABLES[region] : NULL;
}

/* An extension record sound on its own and past prev_end (the end of
 * what comes before it), ending at or before size; its end, or 0. */
static uint64_t extension_end(const struct state_extension *e, uint64_t prev_end, uint64_t size)
{
    const struct table_kind *k = grows(e->region) ? kind_of(e->region) : NULL;
    if (!k || e->count == 0 || (e->count & (e->count - 1)) != 0 || e->count > k->max ||
        e->offset % STATE_EXTENSION_ALIGN != 0 || e->offset < prev_end || e->offset > size ||
        (uint64_t)e->count * k->entry_size > size - e->offset)
        return 0;
    return e->offset + (uint64_t)e->count * k->entry_size;
}

static uint64_t layout_signature(void)
{
    uint64_t parts[] = {
        STATE_VERSION,
        sizeof(struct state_header),
        _Alignof(struct state_header),
        sizeof(struct state_region),
        offsetof(struct state_header, regions),
        REGION_SLOTS,
        sizeof(struct bucket_slot),
        sizeof(struct quota_slot),
        offsetof(struct quota_slot, ring),
        offsetof(struct quota_slot, slot_ns),
        sizeof(struct quota_ring),
        sizeof(struct breaker_slot),
        offsetof(struct breaker_slot, breaker),
        sizeof(struct breaker),
        QUOTA_RING_SLOTS,
        BREAKER_MAX_PROBES,
        sizeof(struct agent_slot),
        sizeof(struct host_slot),
        offsetof(struct host_slot, name),
        sizeof(struct child_slot),
        offsetof(struct quota_slot, warned_ns),
        sizeof(struct proc_slot),
        sizeof(struct kill_slot),
        sizeof(struct counter_slot),
        sizeof(struct approval_slot),
        VERDICT_COUNT,
        REASON_COUNT,
        sizeof(struct state_extension),
        STATE_EXTENSIONS_MAX,
        STATE_EXTENSION_ALIGN,
        offsetof(struct state_header, extensions),
    };
    return fnv64_words(FNV64_OFFSET, parts, sizeof parts / sizeof parts[0]);
}

static uint32_t pow2_between(uint64_t want, uint32_t min, uint32_t max)
{
    uint32_t n = min;
    while (n < want && n < max)
        n <<= 1;
    return n;
}

struct state_sizes state_sizes_for(size_t rate_tools, size_t quota_kinds, size_t breaker_tools,
                                   uint32_t agents)
{
    uint64_t a = agents ? agents : STATE_AGENTS_DEFAULT;
    /* Twice the entries expected: probes stay short. */
    return (struct state_sizes){
        .buckets = pow2_between((uint64_t)rate_tools * a * 2, TABLES[0].min, TABLES[0].max),
        .quotas = pow2_between((uint64_t)quota_kinds * a * 2, TABLES[1].min, TABLES[1].max),
        .breakers = pow2_between((uint64_t)breaker_tools * 2, TABLES[2].min, TABLES[2].max),
        .agents = pow2_between(a * 2, TABLES[3].min, TABLES[3].max),
        .hosts = TABLES[4].min,
        .children = TABLES[5].min,
        .procs = TABLES[6].min,
        .kills = TABLES[7].min,
        .counters = TABLES[8].min,
        .approvals = TABLES[9].min,
    };
}

static uint32_t wanted(const struct state_sizes *want, size_t table)
{
    const uint32_t asked[] = {want->buckets, want->quotas, want->breakers,
                              want->agents,  want->hosts,  want->children,
                              want->procs,   want->kills,  want->counters,
                              want->approvals};
    _Static_assert(sizeof asked / sizeof asked[0] == NTABLES, "a size for every table");
    uint32_t n = asked[table];
    return pow2_between(n, TABLES[table].min, TABLES[table].max);
}

/* Fills the header's regions for these sizes; returns the file size. */
static size_t lay_out(struct state_header *h, const struct state_sizes *want)
{
    size_t off = sizeof *h;
    for (size_t i = 0; i < NTABLES; i++) {
        off = (off + REGION_ALIGN - 1) / REGION_ALIGN * REGION_ALIGN;
        uint32_t n = wanted(want, i);
        h->regions[TABLES[i].region] = (struct state_region){
            .offset = off, .count = n, .entry_size = (uint32_t)TABLES[i].entry_size};
        off += (size_t)n * TABLES[i].entry_size;
    }
    return off;
}

int state_make_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    return 0;
}


/* Creates a complete file under a temporary name and links it to path.
 * Returns 0, or EEXIST when another process won the race, or an errno. */
static int create_file(const char *path, const struct state_sizes *want)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ENAMETOOLONG;
    unlink(tmp); /* a leftover of a dead process with our pid */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    struct state_header layout = {0};
    size_t size = lay_out(&layout, want);
    int err = 0;
    void *base = MAP_FAILED;
    /* Allocated, not just sized: a hole first touched through the mapping
     * when the disk is full would kill the agent with SIGBUS. */
    if ((err = posix_fallocate(fd, 0, (off_t)size)) != 0) {
        /* err says why */
    } else if ((base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
               MAP_FAILED) {
        err = errno;
    } else {
        struct state_header *h = base;
        *h = layout;
        h->version = STATE_VERSION;
        h->header_size = sizeof *h;
        h->layout_sig = layout_signature();
        h->file_size = size;
        h->extent = size;
        h->grow_max = want->grow_max ? want->grow_max : STATE_GROW_DEFAULT;
        h->created_unix_ns = clock_now_ns(CLOCK_REALTIME);
        memcpy(h->magic, STATE_MAGIC, sizeof h->magic);
        munmap(base, size);
        if (link(tmp, path) != 0)
            err = errno;
    }
    sys_close(fd);
    unlink(tmp);
    return err;
}

/* An intact file of another enact build: refused, never moved aside, or
 * two builds sharing a config would keep rebuilding each other's file. */
static const char INCOMPATIBLE[] = "written by an incompatible enact build";

bool state_is_private(const char *path, char *msg, size_t cap)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    uid_t me = geteuid();
    if (stat(dir, &st) == 0) {
        if (st.st_uid != me && st.st_uid != 0) {
            snprintf(msg, cap, "strict: the state folder %s belongs to uid %u, not to this user",
                     dir, (unsigned)st.st_uid);
            return false;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
            snprintf(msg, cap,
                     "strict: others may write in the state folder %s (mode %03o, no sticky bit)",
                     dir, (unsigned)(st.st_mode & 0777));
            return false;
        }
    }
    if (lstat(path, &st) == 0) {
        if (st.st_uid != me) {
            snprintf(msg, cap, "strict: the state file %s belongs to uid %u, not to this user",
                     path, (unsigned)st.st_uid);
            return false;
        }
        if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
            snprintf(msg, cap, "strict: others may write the state file %s (mode %03o)", path,
                     (unsigned)(st.st_mode & 0777));
            return false;
        }
    }
    return true;
}

/* NULL when the mapping is a valid state file; else what is wrong. sig:
 * layout_signature(), passed in because it costs a thousand instructions
 * and state_still_valid runs at every decision. */
static const char *validate(const void *base, size_t size, uint64_t sig)
{
    const struct state_header *h = base;
    if (size < sizeof *h)
        return "shorter than its header";
    if (memcmp(h->magic, STATE_MAGIC, sizeof h->magic) != 0)
        return "no enact state header (foreign or zeroed file)";
    if (h->version != STATE_VERSION || h->layout_sig != sig ||
        h->header_size != sizeof *h)
        return INCOMPATIBLE;
    /* The size as the header has it: the extensions it counts end there.
     * A process growing the file extends it before it publishes the new
     * extent; one that finds the two apart moves the file aside only after
     * checking again under the folder lock the grower holds. */
    uint32_t next = __atomic_load_n(&h->nextensions, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&h->extent, __ATOMIC_ACQUIRE) != size || h->file_size > size)
        return "size differs from its header (truncated or extended)";
    if (next > STATE_EXTENSIONS_MAX)
        return "a table lies outside the file or over another";
    uint64_t prev_end = h->file_size;
    for (uint32_t i = 0; i < next; i++)
        if ((prev_end = extension_end(&h->extensions[i], prev_end, size)) == 0)
            return "a table lies outside the file or over another";
    size = h->file_size;
    /* In file order, each table after the end of the one before. */
    uint64_t end = sizeof *h;
    for (size_t i = 0; i < NTABLES; i++) {
        const struct table_kind *k = &TABLES[i];
        const struct state_region *r = &h->regions[k->region];
        if (r->entry_size != k->entry_size || r->count < k->min || r->count > k->max ||
            (r->count & (r->count - 1)) != 0 || r->offset < end ||
            r->offset % k->align != 0 || r->offset > size ||
            (uint64_t)r->count * r->entry_size > size - r->offset)
            return "a table lies outside the file or over another";
        end = r->offset + (uint64_t)r->count * r->entry_size;
    }
    return NULL;
}

/* 0 and a mapping, or an errno; *bad names a validation failure. */
static int map_existing(const char *path, struct state_map *m, const char **bad)
{
    *bad = NULL;
    int fd = sys_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    struct stat st;
    if (sys_fstat(fd, &st) != 0) {
        int err = errno;
        sys_close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        sys_close(fd);
        *bad = "not a regular file";
        return 0;
    }
    if (st.st_uid != sys_geteuid()) {
        sys_close(fd);
        return EPERM; /* another user's file: not ours to use or to move */
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(struct state_header)) {
        sys_close(fd);
        *bad = "shorter than its header";
        return 0;
    }
    /* A file with holes (made by an older build, or copied sparse): filled
     * in now, or not used, for the reason create_file allocates. */
    int hole_err = (uint64_t)st.st_blocks * 512 < (uint64_t)size
                       ? posix_fallocate(fd, 0, (off_t)size)
                       : 0;
    if (hole_err) {
        sys_close(fd);
        return hole_err;
    }
    void *base = sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = base == MAP_FAILED ? errno : 0;
    sys_close(fd);
    if (err)
        return err;
    state_touch(base);
    if ((*bad = validate(base, size, layout_signature())) != NULL) {
        munmap(base, size);
        return 0;
    }
    const struct state_header *h = base;
    m->base = base;
    m->size = size;
    m->layout_sig = h->layout_sig;
    memcpy(m->header, base, sizeof m->header);
    m->dev = (uint64_t)st.st_dev;
    m->ino = (uint64_t)st.st_ino;
    const struct state_region *r = h->regions;
    m->buckets = (struct bucket_slot *)((char *)base + r[REGION_BUCKETS].offset);
    m->nbuckets = r[REGION_BUCKETS].count;
    m->quotas = (struct quota_slot *)((char *)base + r[REGION_QUOTAS].offset);
    m->nquotas = r[REGION_QUOTAS].count;
    m->breakers = (struct breaker_slot *)((char *)base + r[REGION_BREAKERS].offset);
    m->nbreakers = r[REGION_BREAKERS].count;
    m->agents = (struct agent_slot *)((char *)base + r[REGION_AGENTS].offset);
    m->nagents = r[REGION_AGENTS].count;
    m->hosts = (struct host_slot *)((char *)base + r[REGION_HOSTS].offset);
    m->nhosts = r[REGION_HOSTS].count;
    m->children = (struct child_slot *)((char *)base + r[REGION_CHILDREN].offset);
    m->nchildren = r[REGION_CHILDREN].count;
    m->procs = (struct proc_slot *)((char *)base + r[REGION_PROCS].offset);
    m->nprocs = r[REGION_PROCS].count;
    m->kills = (struct kill_slot *)((char *)base + r[REGION_KILLS].offset);
    m->nkills = r[REGION_KILLS].count;
    m->counters = (struct counter_slot *)((char *)base + r[REGION_COUNTERS].offset);
    m->ncounters = r[REGION_COUNTERS].count;
    m->approvals = (struct approval_slot *)((char *)base + r[REGION_APPROVALS].offset);
    m->napprovals = r[REGION_APPROVALS].count;
    m->base_size = size;
    struct text t = text_at(m->path, sizeof m->path);
    text_str(&t, path);
    uint32_t next = __atomic_load_n(&h->nextensions, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < next; i++)
        m->ext[i] = (struct state_ext_map){.slots = (char *)base + h->extensions[i].offset,
                                           .count = h->extensions[i].count,
                                           .region = h->extensions[i].region};
    m->next = next;
    return 0;
}

/* An exclusive flock, waited for at most LOCK_WAIT_MS: a holder that is
 * stopped must not hang every process that starts. */
#define LOCK_WAIT_MS 2000

static bool lock_briefly(int fd)
{
    for (int waited = 0;; waited += 10) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return true;
        if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

/* Moves the invalid file at path aside, under an exclusive lock on its
 * folder, after checking again under that lock that it is still invalid:
 * two processes that both found it bad must not move aside the good file
 * one of them has just created. 1: moved (msg says so), 0: already
 * replaced by a valid file, -1: failed (msg says why). */
static int move_aside(const char *path, const char *bad, char *msg, size_t msglen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || !lock_briefly(dfd)) {
        snprintf(msg, msglen, "state file %s is not valid (%s) and its folder cannot be locked: %s",
                 path, bad, strerror(errno));
        if (dfd >= 0)
            sys_close(dfd);
        return -1;
    }
    struct state_map probe;
    const char *still_bad;
    int result;
    int err = map_existing(path, &probe, &still_bad);
    if (err == ENOENT || (err == 0 && !still_bad)) {
        if (err == 0)
            state_close(&probe);
        result = 0; /* another process got there first */
    } else if (err) {
        snprintf(msg, msglen, "cannot map state file %s: %s", path, strerror(err));
        result = -1;
    } else {
        char aside[PATH_MAX];
        snprintf(aside, sizeof aside, "%s.corrupt-%llu-%ld", path,
                 (unsigned long long)(clock_now_ns(CLOCK_REALTIME) / 1000000000u), (long)getpid());
        if (rename(path, aside) != 0) {
            snprintf(msg, msglen,
                     "state file %s is not valid (%s) and cannot be moved aside: %s", path, bad,
                     strerror(errno));
            result = -1;
        } else {
            snprintf(msg, msglen,
                     "state file %s was not valid (%s); moved aside to %s and rebuilt", path, bad,
                     aside);
            result = 1;
        }
    }
    /* Explicitly: a child forked meanwhile shares the descriptor, and
     * close alone would leave the lock held through its copy. */
    flock(dfd, LOCK_UN);
    sys_close(dfd);
    return result;
}

enum state_open_result state_open(const char *path, const struct state_sizes *want,
                                  struct state_map *m, char *msg, size_t msglen)
{
    /* All but the path's bytes past its end: zeroing its PATH_MAX would
     * touch a page more of m at every start. */
    memset(m, 0, offsetof(struct state_map, path));
    m->path[0] = '\0';
    msg[0] = '\0';
    enum state_open_result result = STATE_OPENED;
    struct state_sizes minimum = {0};
    if (!want)
        want = &minimum;

    int err;
    /* Bounded: each round either maps, creates, or moves a bad file aside.
     * The folder is made only when the file is missing: the usual start
     * maps an existing file with no other system call. */
    for (int round = 0; round < 4; round++) {
        const char *bad;
        err = map_existing(path, m, &bad);
        if (err == 0 && !bad)
            return result;
        if (err == ENOENT || err == ENOTDIR) {
            err = state_make_parents(path);
            if (err) {
                snprintf(msg, msglen, "cannot create the folder of state file %s: %s", path,
                         strerror(err));
                return STATE_FAILED;
            }
            err = create_file(path, want);
            if (err == 0 || err == EEXIST)
                continue;
            snprintf(msg, msglen, "cannot create state file %s: %s", path, strerror(err));
            return STATE_FAILED;
        }
        if (bad == INCOMPATIBLE) {
            snprintf(msg, msglen,
                     "state file %s was %s (layout %u expected); refusing to share or replace "
                     "it: give this config its own [enact] state, or remove the file once no "
                     "agent of the other build uses it",
                     path, bad, STATE_VERSION);
            return STATE_FAILED;
        }
        if (err == EPERM) {
            snprintf(msg, msglen,
                     "state file %s belongs to another user; refusing to share it (set [enact] "
                     "state to a file of your own)",
                     path);
            return STATE_FAILED;
        }
        if (err) {
            snprintf(msg, msglen, "cannot map state file %s: %s", path, strerror(err));
            return STATE_FAILED;
        }
        int moved = move_aside(path, bad, msg, msglen);
        if (moved < 0)
            return STATE_FAILED;
        if (moved > 0)
            result = STATE_REBUILT;
    }
    snprintf(msg, msglen, "state file %s keeps changing under us; giving up", path);
    return STATE_FAILED;
}

void state_close(struct state_map *m)
{
    for (uint32_t i = 0; i < m->next; i++)
        if (m->ext[i].len)
            munmap(m->ext[i].slots, m->ext[i].len);
    if (m->base)
        munmap(m->base, m->base_size);
    memset(m, 0, sizeof *m);
}

/* Takes over slot (now old_key's) for new_key if old_key's entry is idle. */
typedef bool (*take_over_fn)(void *slot, uint64_t old_key, uint64_t new_key, void *ctx);

/* What a probe of one table's window for key found. */
enum probe_end {
    PROBE_FOUND, /* the key's slot (claimed now, when create) */
    PROBE_FREE,  /* a free slot before the key: it is in no later table either */
    PROBE_FULL,  /* every slot of the window another key's */
};

/* Probes one table (entries start with their 64-bit key; key already has
 * its low bit set). With create, the first free slot is claimed. */
static inline enum probe_end probe(struct state_table t, size_t entry_size, uint64_t key, bool create,
                                   void **slot)
{
    uint32_t mask = t.count - 1;
    uint32_t window = PROBE_LIMIT < t.count ? PROBE_LIMIT : t.count;
    for (uint32_t i = 0; i < window; i++) {
        uint64_t *slot_key = (uint64_t *)((char *)t.slots + ((key + i) & mask) * entry_size);
        uint64_t seen = __atomic_load_n(slot_key, __ATOMIC_ACQUIRE);
        if (seen == 0) {
            if (!create)
                return PROBE_FREE;
            if (!__atomic_compare_exchange_n(slot_key, &seen, key, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE) &&
                seen != key)
                continue;
            seen = key;
        }
        if (seen == key) {
            *slot = slot_key;
            return PROBE_FOUND;
        }
    }
    return PROBE_FULL;
}

/* Maps extension i of the file (recorded in the header as e, ending at
 * end) for m, unless another thread has; false when it cannot be. */
static bool map_extension(struct state_map *m, uint32_t i, struct state_extension e,
                          uint64_t end)
{
    size_t len = (size_t)(end - e.offset);
    int fd = open(m->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    void *slots = MAP_FAILED;
    /* The same file, and long enough: a mapping past its end is SIGBUS. */
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == m->dev && (uint64_t)st.st_ino == m->ino &&
        (uint64_t)st.st_size >= end)
        slots = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)e.offset);
    sys_close(fd);
    if (slots == MAP_FAILED)
        return false;
    struct state_ext_map *x = &m->ext[i];
    __atomic_store_n(&x->count, e.count, __ATOMIC_RELAXED);
    __atomic_store_n(&x->region, e.region, __ATOMIC_RELAXED);
    __atomic_store_n(&x->len, len, __ATOMIC_RELAXED);
    void *none = NULL;
    if (!__atomic_compare_exchange_n(&x->slots, &none, slots, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        munmap(slots, len); /* another thread mapped it first; ours was never seen */
    /* What m reaches, before anyone is told the extension is there. */
    size_t reach = __atomic_load_n(&m->size, __ATOMIC_ACQUIRE);
    while (reach < end && !__atomic_compare_exchange_n(&m->size, &reach, (size_t)end, true,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
    uint32_t want = i;
    __atomic_compare_exchange_n(&m->next, &want, i + 1, false, __ATOMIC_RELEASE,
                                __ATOMIC_RELAXED);
    return true;
}

/* Maps the extensions the header counts and m does not know yet; true when
 * m knows more than before. Safe in a vfork child too: it only adds
 * mappings of the same file to the address space it shares with its
 * parent, published as the parent's own threads would publish them, and
 * unmaps only a mapping of its own that lost the race. */
static bool refresh(struct state_map *m)
{
    const struct state_header *h = m->base;
    if (!h)
        return false;
    uint32_t known = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE);
    uint32_t next = __atomic_load_n(&h->nextensions, __ATOMIC_ACQUIRE);
    if (next > STATE_EXTENSIONS_MAX)
        return false; /* scribbled over: state_still_valid will say so */
    uint64_t extent = __atomic_load_n(&h->extent, __ATOMIC_ACQUIRE);
    uint64_t prev_end = h->file_size;
    if (known > 0) {
        const struct state_extension *before = &h->extensions[known - 1];
        const struct table_kind *k = kind_of(before->region);
        prev_end = k ? before->offset + (uint64_t)before->count * k->entry_size : UINT64_MAX;
    }
    bool more = false;
    for (uint32_t i = known; i < next; i++) {
        struct state_extension e = h->extensions[i];
        uint64_t end = extension_end(&e, prev_end, extent);
        if (end == 0 || !map_extension(m, i, e, end))
            break;
        prev_end = end;
        more = true;
    }
    return more;
}

/* region's table of regions[]; no slots for a table that does not grow. */
static inline struct state_table main_table(const struct state_map *m, uint32_t region)
{
    switch (region) {
    case REGION_BUCKETS:
        return (struct state_table){m->buckets, m->nbuckets};
    case REGION_QUOTAS:
        return (struct state_table){m->quotas, m->nquotas};
    case REGION_BREAKERS:
        return (struct state_table){m->breakers, m->nbreakers};
    case REGION_AGENTS:
        return (struct state_table){m->agents, m->nagents};
    case REGION_HOSTS:
        return (struct state_table){m->hosts, m->nhosts};
    default:
        return (struct state_table){NULL, 0};
    }
}

static size_t tables_of(struct state_map *m, enum state_region_id region, struct state_table *out)
{
    out[0] = main_table(m, region);
    if (!out[0].slots)
        return 0;
    size_t n = 1;
    uint32_t next = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < next; i++)
        if (__atomic_load_n(&m->ext[i].region, __ATOMIC_RELAXED) == (uint32_t)region)
            out[n++] = (struct state_table){__atomic_load_n(&m->ext[i].slots, __ATOMIC_RELAXED),
                                            __atomic_load_n(&m->ext[i].count, __ATOMIC_RELAXED)};
    return n;
}

size_t state_tables(struct state_map *m, enum state_region_id region, struct state_table *out)
{
    refresh(m);
    return tables_of(m, region, out);
}

/* Appends an extension of k's table to the file, under the folder lock
 * (which move_aside takes too: it never moves a file aside halfway
 * through a growth). True when the file has an extension m does not know
 * yet, this one or another process's. */
static bool grow(struct state_map *m, const struct table_kind *k)
{
    struct state_header *h = m->base;
    uint32_t known = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&h->nextensions, __ATOMIC_ACQUIRE) != known)
        return true;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", m->path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return false;
    if (!lock_briefly(dfd)) {
        sys_close(dfd);
        return false;
    }
    bool grown = false;
    struct stat st;
    int fd = open(m->path, O_RDWR | O_CLOEXEC);
    uint32_t next = __atomic_load_n(&h->nextensions, __ATOMIC_ACQUIRE);
    uint64_t extent = __atomic_load_n(&h->extent, __ATOMIC_ACQUIRE);
    if (next != known) {
        grown = true; /* another process grew it while we waited for the lock */
    } else if (fd >= 0 && next < STATE_EXTENSIONS_MAX && fstat(fd, &st) == 0 &&
               (uint64_t)st.st_dev == m->dev && (uint64_t)st.st_ino == m->ino &&
               (uint64_t)st.st_size >= extent) {
        /* Longer than published: a grower died between extending the file
         * and publishing. Nothing maps past the extent, and we hold the
         * lock: cut back, or the next process to map it would move it
         * aside. */
        if ((uint64_t)st.st_size > extent)
            (void)!ftruncate(fd, (off_t)extent);
        /* STATE_GROW_FACTOR times the table's last count: few extensions,
         * so few windows to probe; halved to fit what the file may take. */
        struct state_table t[STATE_TABLES_MAX];
        size_t nt = tables_of(m, (enum state_region_id)k->region, t);
        uint64_t count = nt ? (uint64_t)t[nt - 1].count * STATE_GROW_FACTOR : 0;
        if (count > k->max)
            count = k->max;
        uint64_t offset = (extent + STATE_EXTENSION_ALIGN - 1) / STATE_EXTENSION_ALIGN *
                          STATE_EXTENSION_ALIGN;
        uint64_t limit = h->file_size + h->grow_max;
        while (count >= k->min && offset + count * k->entry_size > limit)
            count >>= 1;
        uint64_t end = offset + count * k->entry_size;
        /* Allocated, for the reason create_file allocates; the padding
         * before the extension too, so that the file has no hole. */
        if (count >= k->min && end <= limit) {
            if (posix_fallocate(fd, (off_t)extent, (off_t)(end - extent)) != 0) {
                (void)!ftruncate(fd, (off_t)extent); /* a partial one: back to what is published */
            } else {
                h->extensions[next] = (struct state_extension){
                    .offset = offset, .count = (uint32_t)count, .region = k->region};
                __atomic_store_n(&h->extent, end, __ATOMIC_RELEASE);
                __atomic_store_n(&h->nextensions, next + 1, __ATOMIC_RELEASE);
                grown = true;
            }
        }
    }
    if (fd >= 0)
        sys_close(fd);
    /* Explicitly, as in move_aside: a child forked meanwhile shares dfd. */
    flock(dfd, LOCK_UN);
    sys_close(dfd);
    return grown;
}

/* The slot for key in the growable table k, main table then extensions; a
 * free slot is claimed for it when create is set. When every window is
 * full: the extensions m has not mapped yet are looked at, then an idle
 * slot taken over (take_over given), then the table grown. */
static void *slot_for(struct state_map *m, const struct table_kind *k, uint64_t key, bool create,
                      take_over_fn take_over, void *ctx)
{
    struct state_table t[STATE_TABLES_MAX];
    size_t nt = m->base ? tables_of(m, (enum state_region_id)k->region, t) : 0;
    if (nt == 0)
        return NULL;
    key |= 1; /* never 0, the free marker */
    void *slot;
    /* Once a table has grown, most keys live in its newest extension,
     * where a free slot comes soon: a hit there spares probing the full
     * windows before it. A miss proves nothing; the scan in order does. */
    if (nt > 1 && probe(t[nt - 1], k->entry_size, key, false, &slot) == PROBE_FOUND)
        return slot;
    bool took_over = !create || !take_over;
    size_t i = 0;
    /* Bounded: each round but the last maps extensions, takes over or
     * grows (another process's growth, of another table, counts: it uses
     * up one of the extensions), or gives up. */
    for (unsigned round = 0; round < STATE_EXTENSIONS_MAX + 2; round++) {
        for (; i < nt; i++) {
            enum probe_end end = probe(t[i], k->entry_size, key, create, &slot);
            if (end == PROBE_FOUND)
                return slot;
            if (end == PROBE_FREE)
                return NULL;
        }
        if (refresh(m)) {
            nt = tables_of(m, (enum state_region_id)k->region, t);
            continue;
        }
        if (!create)
            return NULL;
        if (!took_over) {
            took_over = true;
            for (size_t j = 0; j < nt; j++) {
                uint32_t mask = t[j].count - 1;
                uint32_t window = PROBE_LIMIT < t[j].count ? PROBE_LIMIT : t[j].count;
                for (uint32_t w = 0; w < window; w++) {
                    uint64_t *slot_key =
                        (uint64_t *)((char *)t[j].slots + ((key + w) & mask) * k->entry_size);
                    uint64_t seen = __atomic_load_n(slot_key, __ATOMIC_ACQUIRE);
                    if (seen == key || (seen != 0 && take_over(slot_key, seen, key, ctx)))
                        return slot_key;
                }
            }
        }
        if (!grow(m, k))
            return NULL;
        refresh(m);
        nt = tables_of(m, (enum state_region_id)k->region, t);
    }
    return NULL;
}

/* slot_for, with the common case first: a file that has never grown,
 * where one probe of the table decides (the decision's hot path). */
static inline void *slot_in(struct state_map *m, const struct table_kind *k, uint64_t key,
                            bool create, take_over_fn take_over, void *ctx)
{
    if (__atomic_load_n(&m->next, __ATOMIC_ACQUIRE) == 0) {
        struct state_table t = main_table(m, k->region);
        void *slot;
        enum probe_end end = t.slots ? probe(t, k->entry_size, key | 1, create, &slot)
                                     : PROBE_FREE;
        if (end == PROBE_FOUND)
            return slot;
        if (end == PROBE_FREE)
            return NULL;
    }
    return slot_for(m, k, key, create, take_over, ctx);
}

/* validate() reads the fixed part of the header, the extensions and the
 * size: the fixed bytes never change, and the extensions only ever get
 * more, each checked as it is mapped (refresh), so the same fixed bytes
 * with the file at least as long validate the same. No thread of a process
 * writes them after the file is made (only another process scribbling
 * over the file could), so they are read as validate() reads them. */
static bool header_unchanged(const struct state_map *m)
{
    return memcmp(m->base, m->header, sizeof m->header) == 0;
}

/* At least as long as what m reaches, not the same length: another
 * process may have grown the file since (m follows when a look-up needs
 * the new tables); shorter is truncated, and touching it would be SIGBUS. */
bool state_still_valid(const struct state_map *m, const char *path)
{
    struct stat st;
    return m->base && sys_stat(path, &st) == 0 && (uint64_t)st.st_dev == m->dev &&
           (uint64_t)st.st_ino == m->ino &&
           (size_t)st.st_size >= __atomic_load_n(&m->size, __ATOMIC_ACQUIRE) &&
           header_unchanged(m);
}

uint64_t *state_bucket(struct state_map *m, uint64_t key)
{
    struct bucket_slot *s = slot_in(m, kind_of(REGION_BUCKETS), key, true, NULL, NULL);
    return s ? &s->tat : NULL;
}

struct quota_slot *state_quota(struct state_map *m, uint64_t key)
{
    return slot_in(m, kind_of(REGION_QUOTAS), key, true, NULL, NULL);
}

struct breaker_slot *state_breaker(struct state_map *m, uint64_t key)
{
    return slot_in(m, kind_of(REGION_BREAKERS), key, true, NULL, NULL);
}

/* A bucket full for BUCKET_IDLE_NS: its word (a TAT in the past) is a
 * full bucket for any policy, so only the key changes hands. The idle time
 * keeps a process that looked the old key up a moment ago from charging
 * the new owner. */
static bool take_idle_bucket(void *slot, uint64_t old_key, uint64_t new_key, void *ctx)
{
    struct bucket_slot *b = slot;
    uint64_t now = *(const uint64_t *)ctx;
    uint64_t tat = __atomic_load_n(&b->tat, __ATOMIC_ACQUIRE);
    return tat <= now && now - tat >= BUCKET_IDLE_NS &&
           __atomic_compare_exchange_n(&b->key, &old_key, new_key | 1, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

struct quota_take_over {
    uint64_t real_ns;
    int32_t owner;
};

/* A quota ring whose window holds nothing any more. */
static bool take_idle_quota(void *slot, uint64_t old_key, uint64_t new_key, void *ctx)
{
    struct quota_slot *q = slot;
    const struct quota_take_over *t = ctx;
    if (!pidlock_try(&q->lock, t->owner, pidlock_clock_ms(), pidlock_pid_alive))
        return false;
    bool idle = true;
    if (q->slot_ns) {
        struct quota_policy p = {.max_actions = UINT32_MAX, .slot_ns = q->slot_ns};
        struct quota_ring copy = q->ring;
        idle = quota_remaining(&copy, &p, t->real_ns) == UINT32_MAX;
    }
    bool taken = idle && __atomic_compare_exchange_n(&q->key, &old_key, new_key | 1, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    if (taken) {
        quota_reset(&q->ring);
        q->slot_ns = q->warned_ns = 0;
    }
    pidlock_release(&q->lock, t->owner);
    return taken;
}

uint64_t *state_bucket_or_evict(struct state_map *m, uint64_t key, uint64_t mono_ns)
{
    struct bucket_slot *s =
        slot_in(m, kind_of(REGION_BUCKETS), key, true, take_idle_bucket, &mono_ns);
    return s ? &s->tat : NULL;
}

struct quota_slot *state_quota_or_evict(struct state_map *m, uint64_t key, uint64_t real_ns,
                                        int32_t owner)
{
    struct quota_take_over ctx = {real_ns, owner};
    return slot_in(m, kind_of(REGION_QUOTAS), key, true, take_idle_quota, &ctx);
}

uint64_t *state_find_bucket(struct state_map *m, uint64_t key)
{
    struct bucket_slot *s = slot_in(m, kind_of(REGION_BUCKETS), key, false, NULL, NULL);
    return s ? &s->tat : NULL;
}

struct quota_slot *state_find_quota(struct state_map *m, uint64_t key)
{
    return slot_in(m, kind_of(REGION_QUOTAS), key, false, NULL, NULL);
}

struct breaker_slot *state_find_breaker(struct state_map *m, uint64_t key)
{
    return slot_in(m, kind_of(REGION_BREAKERS), key, false, NULL, NULL);
}

void state_agent_record(struct state_map *m, uint64_t agent_id, const char *name)
{
    if (m->agents && m->nagents)
        state_touch(&m->agents[(agent_id | 1) & (m->nagents - 1)]);
    struct agent_slot *a = slot_in(m, kind_of(REGION_AGENTS), agent_id, true, NULL, NULL);
    if (!a || __atomic_load_n(&a->name[0], __ATOMIC_ACQUIRE))
        return;
    size_t n = strnlen(name, sizeof a->name - 1);
    memcpy(a->name + 1, name + 1, n > 1 ? n - 1 : 0);
    a->name[n] = '\0';
    /* The first byte last: a reader that sees it sees the rest. */
    __atomic_store_n(&a->name[0], n ? name[0] : '?', __ATOMIC_RELEASE);
}

void state_host_record(struct state_map *m, const uint8_t addr[16], const char *name,
                       int32_t owner)
{
    uint64_t key = fnv64_bytes(FNV64_OFFSET, addr, 16);
    struct host_slot *h = slot_in(m, kind_of(REGION_HOSTS), key, true, NULL, NULL);
    if (!h || !pidlock_try(&h->lock, owner, pidlock_clock_ms(), pidlock_pid_alive))
        return; /* another writer is at it: its name is as good as ours */
    uint64_t seq = __atomic_load_n(&h->seq, __ATOMIC_RELAXED) | 1;
    __atomic_store_n(&h->seq, seq, __ATOMIC_RELAXED);
    seq_put(h->addr, addr, 16);
    uint8_t lower[sizeof h->name];
    size_t n = 0;
    for (; name[n] && n < sizeof h->name - 1; n++)
        lower[n] = (uint8_t)tolower((unsigned char)name[n]);
    lower[n] = '\0';
    seq_put((uint8_t *)h->name, lower, n + 1);
    __atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELEASE);
    pidlock_release(&h->lock, owner);
}

bool state_host_lookup(struct state_map *m, const uint8_t addr[16], char *out, size_t cap)
{
    if (!m->hosts || cap == 0)
        return false;
    uint64_t key = fnv64_bytes(FNV64_OFFSET, addr, 16);
    struct host_slot *h = slot_in(m, kind_of(REGION_HOSTS), key, false, NULL, NULL);
    if (!h)
        return false;
    /* A few tries against a writer in the middle; then unknown. */
    for (int attempt = 0; attempt < 4; attempt++) {
        uint64_t before = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        bool same = true;
        for (size_t i = 0; i < 16; i++)
            same &= seq_get(&h->addr[i]) == addr[i];
        size_t n = 0;
        for (char c; n < cap - 1 && n < sizeof h->name &&
                     (c = (char)seq_get((const uint8_t *)&h->name[n])) != '\0';
             n++)
            out[n] = c;
        out[n] = '\0';
        if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) == before)
            return same && before != 0 && n > 0;
    }
    return false;
}

/* ---- children ------------------------------------------------------------ */

#define CHILD_STALE_NS (UINT64_C(3600) * 1000000000u)
#define CHILD_WRITING 1u

static uint64_t child_key(int32_t pid, int32_t parent)
{
    return (uint64_t)(uint32_t)parent << 32 | (uint32_t)pid;
}

static struct child_slot *child_probe(struct state_map *m, uint64_t key, uint32_t i)
{
    uint64_t h = fnv64_bytes(FNV64_OFFSET, &key, sizeof key);
    return &m->children[(h + i) & (m->nchildren - 1)];
}

bool state_child_note(struct state_map *m, int32_t pid, int32_t parent, uint64_t tool_id,
                      int32_t owner, uint64_t real_ns)
{
    uint64_t key = child_key(pid, parent);
    if (!m->children || key <= CHILD_WRITING)
        return false;
    uint32_t window = PROBE_LIMIT < m->nchildren ? PROBE_LIMIT : m->nchildren;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < window; i++) {
            struct child_slot *c = child_probe(m, key, i);
            uint64_t seen = __atomic_load_n(&c->key, __ATOMIC_ACQUIRE);
            /* First pass: a free slot or our own old note; second: a stale one. */
            bool usable = seen == 0 || seen == key ||
                          (pass == 1 && seen != CHILD_WRITING &&
                           real_ns - __atomic_load_n(&c->since_ns, __ATOMIC_RELAXED) >
                               CHILD_STALE_NS);
            if (!usable || !__atomic_compare_exchange_n(&c->key, &seen, CHILD_WRITING, false,
                                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                continue;
            c->tool_id = tool_id;
            c->owner = owner;
            __atomic_store_n(&c->since_ns, real_ns, __ATOMIC_RELAXED);
            __atomic_store_n(&c->key, key, __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

bool state_child_take(struct state_map *m, int32_t pid, int32_t parent, uint64_t *tool_id,
                      int32_t *owner)
{
    uint64_t key = child_key(pid, parent);
    if (!m->children || key <= CHILD_WRITING)
        return false;
    uint32_t window = PROBE_LIMIT < m->nchildren ? PROBE_LIMIT : m->nchildren;
    for (uint32_t i = 0; i < window; i++) {
        struct child_slot *c = child_probe(m, key, i);
        if (__atomic_load_n(&c->key, __ATOMIC_ACQUIRE) != key)
            continue;
        uint64_t id = c->tool_id;
        int32_t who = c->owner;
        uint64_t want = key;
        if (__atomic_compare_exchange_n(&c->key, &want, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            *tool_id = id;
            *owner = who;
            return true;
        }
    }
    return false;
}

void state_note_audit_failure(struct state_map *m, int err)
{
    struct state_header *h = m->base;
    __atomic_fetch_add(&h->audit_failures, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&h->audit_last_errno, err, __ATOMIC_RELAXED);
}
