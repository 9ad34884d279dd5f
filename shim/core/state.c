#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_BUCKETS 1024u
#define MAX_BUCKETS (1u << 22)
#define PROBE_LIMIT 64u
/* An agent slot per tool for this many agents before probing gets long. */
#define AGENTS_PLANNED 64u

static uint64_t layout_signature(void)
{
    uint64_t parts[] = {
        STATE_VERSION,
        sizeof(struct state_header),
        _Alignof(struct state_header),
        sizeof(struct state_region),
        sizeof(struct bucket_slot),
        _Alignof(struct bucket_slot),
        offsetof(struct state_header, regions),
        REGION_SLOTS,
    };
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        h ^= parts[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint32_t state_bucket_slots_for(size_t ntools)
{
    uint64_t want = (uint64_t)ntools * AGENTS_PLANNED * 2;
    uint32_t n = MIN_BUCKETS;
    while (n < want && n < MAX_BUCKETS)
        n <<= 1;
    return n;
}

static size_t file_size_for(uint32_t nbuckets)
{
    return sizeof(struct state_header) + (size_t)nbuckets * sizeof(struct bucket_slot);
}

/* mkdir -p for the folders above path, 0700. */
static int make_parents(const char *path)
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

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Creates a complete file under a temporary name and links it to path.
 * Returns 0, or EEXIST when another process won the race, or an errno. */
static int create_file(const char *path, uint32_t nbuckets)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ENAMETOOLONG;
    unlink(tmp); /* a leftover of a dead process with our pid */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    size_t size = file_size_for(nbuckets);
    int err = 0;
    void *base = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) != 0 ||
        (base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        err = errno;
    } else {
        struct state_header *h = base;
        h->version = STATE_VERSION;
        h->header_size = sizeof *h;
        h->layout_sig = layout_signature();
        h->file_size = size;
        h->created_unix_ns = realtime_ns();
        h->regions[REGION_BUCKETS] = (struct state_region){
            .offset = sizeof *h, .count = nbuckets, .entry_size = sizeof(struct bucket_slot)};
        memcpy(h->magic, STATE_MAGIC, sizeof h->magic);
        munmap(base, size);
        if (link(tmp, path) != 0)
            err = errno;
    }
    close(fd);
    unlink(tmp);
    return err;
}

/* NULL when the mapping is a valid state file; else what is wrong. */
static const char *validate(const void *base, size_t size)
{
    const struct state_header *h = base;
    if (size < sizeof *h)
        return "shorter than its header";
    if (memcmp(h->magic, STATE_MAGIC, sizeof h->magic) != 0)
        return "no enact state header (foreign or zeroed file)";
    if (h->version != STATE_VERSION || h->layout_sig != layout_signature() ||
        h->header_size != sizeof *h)
        return "written by an incompatible enact version";
    if (h->file_size != size)
        return "size differs from its header (truncated or extended)";
    const struct state_region *b = &h->regions[REGION_BUCKETS];
    if (b->entry_size != sizeof(struct bucket_slot) || b->count == 0 ||
        (b->count & (b->count - 1)) != 0 || b->count > MAX_BUCKETS || b->offset < sizeof *h ||
        b->offset % _Alignof(struct bucket_slot) != 0 || b->offset > size ||
        (uint64_t)b->count * b->entry_size > size - b->offset)
        return "bucket table out of bounds";
    return NULL;
}

/* 0 and a mapping, or an errno; *bad names a validation failure. */
static int map_existing(const char *path, struct state_map *m, const char **bad)
{
    *bad = NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        *bad = "not a regular file";
        return 0;
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(struct state_header)) {
        close(fd);
        *bad = "shorter than its header";
        return 0;
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = base == MAP_FAILED ? errno : 0;
    close(fd);
    if (err)
        return err;
    if ((*bad = validate(base, size)) != NULL) {
        munmap(base, size);
        return 0;
    }
    const struct state_header *h = base;
    m->base = base;
    m->size = size;
    m->buckets = (struct bucket_slot *)((char *)base + h->regions[REGION_BUCKETS].offset);
    m->nbuckets = h->regions[REGION_BUCKETS].count;
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
            close(dfd);
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
                 (unsigned long long)(realtime_ns() / 1000000000u), (long)getpid());
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
    close(dfd);
    return result;
}

enum state_open_result state_open(const char *path, uint32_t min_bucket_slots,
                                  struct state_map *m, char *msg, size_t msglen)
{
    memset(m, 0, sizeof *m);
    msg[0] = '\0';
    enum state_open_result result = STATE_OPENED;
    uint32_t nbuckets = state_bucket_slots_for(0);
    while (nbuckets < min_bucket_slots && nbuckets < MAX_BUCKETS)
        nbuckets <<= 1;

    int err = make_parents(path);
    if (err) {
        snprintf(msg, msglen, "cannot create the folder of state file %s: %s", path,
                 strerror(err));
        return STATE_FAILED;
    }
    /* Bounded: each round either maps, creates, or moves a bad file aside. */
    for (int round = 0; round < 4; round++) {
        const char *bad;
        err = map_existing(path, m, &bad);
        if (err == 0 && !bad)
            return result;
        if (err == ENOENT) {
            err = create_file(path, nbuckets);
            if (err == 0 || err == EEXIST)
                continue;
            snprintf(msg, msglen, "cannot create state file %s: %s", path, strerror(err));
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
    if (m->base)
        munmap(m->base, m->size);
    memset(m, 0, sizeof *m);
}

uint64_t *state_bucket(struct state_map *m, uint64_t key)
{
    if (!m->buckets)
        return NULL;
    key |= 1; /* never 0, the free marker */
    uint32_t mask = m->nbuckets - 1;
    for (uint32_t i = 0; i < PROBE_LIMIT && i < m->nbuckets; i++) {
        struct bucket_slot *s = &m->buckets[(key + i) & mask];
        uint64_t seen = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (seen == 0 && __atomic_compare_exchange_n(&s->key, &seen, key, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return &s->tat;
        if (seen == key)
            return &s->tat;
    }
    return NULL;
}
