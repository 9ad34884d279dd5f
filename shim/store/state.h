/* The shared state file: one per config, mmap'd by every governed process.
 *
 * File layout (all integers little-endian, native alignment):
 *
 *   offset 0     struct state_header   magic, version, layout signature,
 *                                      file size, a table of regions
 *   regions[]    each {offset, count, entry_size}; a region a later version
 *                does not know is skipped, one it needs and misses makes the
 *                file incompatible (the layout signature changes)
 *   BUCKETS      struct bucket_slot per (agent, tool): a GCRA word
 *   QUOTAS       struct quota_slot per agent and per (agent, tool)
 *   BREAKERS     struct breaker_slot per tool
 *   AGENTS       struct agent_slot per agent that has run: its name, so
 *                that `enact status` and `enact reset` can name the
 *                entries keyed by hashes of it
 *   HOSTS        struct host_slot per address: the DNS name it was last
 *                resolved from, so that a name rule matches a connect by
 *                address, also in another process
 *   CHILDREN     struct child_slot per governed program started, until
 *                its parent has waited for it
 *   PROCS        struct proc_slot per governed process alive (enact ps,
 *                enact kill --signal): state_control.h
 *   KILLS        struct kill_slot per kill switch an operator turned on
 *                (enact kill): state_control.h
 *   COUNTERS     struct counter_slot per tool: decisions by verdict and
 *                reason, outcomes (enact metrics): state_control.h
 *   APPROVALS    struct approval_slot per call held for a person's approval
 *                (enact pending, approve, deny): state_control.h
 *
 * Each table is open-addressed, its count a power of two; key 0 marks a
 * free slot.
 *
 * Growth: a table that is full around a key (its probe window taken) is
 * never rehashed, since other processes update its slots lock-free. An
 * extension, another table of the same slots (STATE_GROW_FACTOR times the
 * previous one's count), is appended at the end of the file instead, under
 * the lock of the state folder, and published in the header's mutable part
 * (extensions[], then extent, then nextensions, each with a release
 * store). A key lives in exactly one place: it is claimed at the first free
 * slot along its probe windows in file order (the table, then each of its
 * extensions), and since slots are never freed, a free slot ends a look-up.
 * Each process maps the extensions it does not know yet when a look-up
 * finds every window it knows full; it never moves or unmaps a mapping
 * another thread may be using. The file grows by at most grow_max bytes
 * past its created size (STATE_GROW_DEFAULT); past that, state_full.
 *
 * Concurrency: a slot's key is claimed by compare-and-swap and never
 * changes afterwards. A bucket word is updated by compare-and-swap
 * (bucket.h); a quota ring or a breaker under its slot's pidlock, which a
 * dead or stuck holder cannot wedge (pidlock.h); a host name under its
 * slot's pidlock for writers, and a sequence count that readers check
 * instead of locking. The file is created
 * complete under a temporary name and linked into place, so no process
 * ever maps a half-written header. */
#ifndef ENACT_STATE_H
#define ENACT_STATE_H

#include "../pure/breaker.h"
#include "../pure/quota.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC "ENACTST\0"
#define STATE_VERSION 8u

enum state_region_id {
    REGION_BUCKETS,
    REGION_QUOTAS,
    REGION_BREAKERS,
    REGION_AGENTS,
    REGION_HOSTS,
    REGION_CHILDREN,
    REGION_PROCS,
    REGION_KILLS,
    REGION_COUNTERS,
    REGION_APPROVALS,
    REGION_SLOTS = 12
};

struct state_region {
    uint64_t offset;
    uint32_t count;
    uint32_t entry_size;
};

/* A table's extension, appended when the table (or its previous
 * extension) was full. Written once, before nextensions counts it. */
struct state_extension {
    uint64_t offset; /* a multiple of STATE_EXTENSION_ALIGN, past the one before */
    uint32_t count;  /* slots; a power of two */
    uint32_t region; /* enum state_region_id of the table it extends */
};

/* Extensions a file can have, all tables together: with each one
 * STATE_GROW_FACTOR times the last, grow_max is reached long before. */
#define STATE_EXTENSIONS_MAX 32u
/* mmap offsets are page multiples; 64 KiB covers every page size Linux uses. */
#define STATE_EXTENSION_ALIGN 65536u
#define STATE_GROW_FACTOR 16u
/* How far a file may grow past its created size, in bytes (README "State
 * file"), unless state_sizes.grow_max said otherwise when it was made. */
#define STATE_GROW_DEFAULT (UINT64_C(256) << 20)
#define STATE_GROW_DEFAULT_TEXT "256 MiB"

struct state_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t layout_sig;
    uint64_t file_size; /* as created: the end of the last table of regions[] */
    uint64_t created_unix_ns;
    struct state_region regions[REGION_SLOTS];
    uint64_t grow_max;         /* bytes the file may grow by past file_size */
    uint64_t audit_failures;   /* records no process could write */
    int32_t audit_last_errno;  /* why the latest of them failed */
    uint32_t kills_active;     /* kill slots in use: 0 lets a decision skip the table */
    uint64_t kill_lock;        /* pidlock of whoever changes the kill table */
    uint64_t extent;           /* the file's size: file_size, then each extension's end */
    uint32_t nextensions;      /* entries of extensions[] in use */
    uint32_t unused;
    struct state_extension extensions[STATE_EXTENSIONS_MAX];
};

struct bucket_slot {
    uint64_t key; /* 0: free; otherwise hash of (agent, tool policy) */
    uint64_t tat; /* bucket.h */
};

struct quota_slot {
    uint64_t key;     /* hash of (agent[, tool], policy) */
    uint64_t lock;    /* pidlock over ring and slot_ns */
    uint64_t slot_ns; /* the ring's slot length, to tell when it has emptied */
    uint64_t warned_ns; /* CLOCK_REALTIME of its last quota_low: one per window */
    struct quota_ring ring;
};

struct breaker_slot {
    uint64_t key;  /* hash of (tool, policy) */
    uint64_t lock; /* pidlock over breaker */
    struct breaker breaker;
};

struct agent_slot {
    uint64_t key;   /* gate_agent_id(name) */
    char name[72];  /* NUL-terminated; written once, by whoever claimed the slot */
};

struct host_slot {
    uint64_t key;  /* hash of addr */
    uint64_t lock; /* pidlock for writers */
    uint64_t seq;  /* odd while a writer is in the middle */
    uint8_t addr[16];
    char name[256]; /* lower case, NUL-terminated */
};

/* A governed program's process, noted at its exec (or spawn) so that the
 * parent that waits for it tells the tool's breaker how it ended: the exec
 * happens in the child, in a process image of its own, and only this file
 * is shared by both. Unlike the other tables, slots are freed. */
struct child_slot {
    uint64_t key;     /* parent << 32 | pid; 0 free, 1 being written */
    uint64_t tool_id; /* the tool's breaker_id */
    uint64_t since_ns; /* CLOCK_REALTIME at the note: stale ones are taken over */
    int32_t owner;    /* the thread holding the decision's probe lease */
    uint32_t unused;
};

struct proc_slot;
struct kill_slot;
struct counter_slot;
struct approval_slot;

/* The header's bytes that never change once the file is made: magic to
 * the table of regions. */
#define STATE_HEADER_FIXED offsetof(struct state_header, audit_failures)

/* An extension as one process maps it. */
struct state_ext_map {
    void *slots;    /* NULL until mapped */
    uint32_t count;
    uint32_t region;
    size_t len;     /* bytes of its own mapping; 0 when inside the first one */
};

struct state_map {
    void *base;
    size_t size;      /* bytes of the file this map reaches: its end, with extensions */
    size_t base_size; /* bytes of the first mapping, from offset 0 */
    uint64_t dev, ino; /* of the file mapped */
    uint64_t layout_sig; /* this build's, checked when mapped */
    /* The fixed part of the header as it was validated when mapped: the
     * same bytes, in a file at least size long, are as valid now
     * (state_still_valid compares them instead of validating again at
     * every decision). */
    unsigned char header[STATE_HEADER_FIXED];
    struct bucket_slot *buckets;
    uint32_t nbuckets; /* power of two */
    struct quota_slot *quotas;
    uint32_t nquotas;
    struct breaker_slot *breakers;
    uint32_t nbreakers;
    struct agent_slot *agents;
    uint32_t nagents;
    struct host_slot *hosts;
    uint32_t nhosts;
    struct child_slot *children;
    uint32_t nchildren;
    struct proc_slot *procs;
    uint32_t nprocs;
    struct kill_slot *kills;
    uint32_t nkills;
    struct counter_slot *counters;
    uint32_t ncounters;
    struct approval_slot *approvals;
    uint32_t napprovals;
    /* Extensions mapped: ext[0..next) are ready (next is stored with
     * release after the entry). Threads of a process share this map;
     * each entry is written with the same values by whichever maps it. */
    uint32_t next;
    struct state_ext_map ext[STATE_EXTENSIONS_MAX];
    /* To map extensions and to grow. Last: of its PATH_MAX bytes a map
     * writes only the path's, next to the fields above. */
    char path[PATH_MAX];
};

/* How many slots of each table a new file gets, and how far it may grow
 * (bytes; 0: STATE_GROW_DEFAULT). */
struct state_sizes {
    uint32_t buckets, quotas, breakers, agents, hosts, children, procs, kills, counters,
        approvals;
    uint64_t grow_max;
};

enum state_open_result { STATE_OPENED, STATE_REBUILT, STATE_FAILED };

/* strict = true: false (msg says why) when another user could change the
 * state at path: the file (when it exists) is not ours alone (another
 * owner, or group- or world-writable), or its folder is not ours or
 * root's, or others may write in it without the sticky bit (they could
 * remove or replace the file). */
bool state_is_private(const char *path, char *msg, size_t cap);

/* Maps the file at path, creating it (and missing folders, mode 0700; the
 * file 0600) when absent. A file that is not a valid state file of this
 * build is moved aside to PATH.corrupt-TIME-PID and rebuilt: STATE_REBUILT,
 * with msg telling what was wrong and where it went. STATE_FAILED leaves msg
 * with the reason. No file descriptor stays open. */
enum state_open_result state_open(const char *path, const struct state_sizes *want,
                                  struct state_map *m, char *msg, size_t msglen);
void state_close(struct state_map *m);

/* mkdir -p for the folders above path, each 0700; 0 or an errno. */
int state_make_parents(const char *path);

/* Whether the file at path is still the valid file m maps: same file, at
 * least as long as what m reaches (another process may have grown it),
 * intact header. One stat(2); no allocation. False when the file was
 * removed, replaced, truncated, zeroed or scribbled over: the caller maps
 * it again (state_open rebuilds what is broken). */
bool state_still_valid(const struct state_map *m, const char *path);

/* A write of nothing to the byte at p, as the first touch of its page by
 * this process: a write fault on the shared mapping maps that one page,
 * where a read maps the 16 around it (the kernel's fault-around) and the
 * process's RSS counts them all. For the pages every process touches at
 * its start: the header, its registration, its agent's name. */
static inline void state_touch(void *p)
{
    __atomic_fetch_or((unsigned char *)p, 0, __ATOMIC_RELAXED);
}

/* Agents a new state file has room for, per tool ([enact] max_agents):
 * beyond them, its tables grow (see Growth above). */
#define STATE_AGENTS_DEFAULT 64u
#define STATE_AGENTS_MAX 1048576u
#define STATE_AGENTS_MAX_TEXT "1048576"

/* Table sizes for what uses each table: tools with a rate limit, kinds of
 * quota (tools with one, plus one for the agents' own), tools with a
 * breaker, and room for agents agents (0: STATE_AGENTS_DEFAULT). The file
 * is allocated in full (no holes: a hole touched on a full disk would be
 * SIGBUS), so it is sized to what is used. A zeroed state_sizes asks for
 * the minimum of each table. */
struct state_sizes state_sizes_for(size_t rate_tools, size_t quota_kinds, size_t breaker_tools,
                                   uint32_t agents);

/* The entry for key, claiming a free slot if needed, growing the table
 * when it is full around key; NULL when it cannot grow (the caller applies
 * on_error). Lock-free but for the growth itself. */
uint64_t *state_bucket(struct state_map *m, uint64_t key);
struct quota_slot *state_quota(struct state_map *m, uint64_t key);
struct breaker_slot *state_breaker(struct state_map *m, uint64_t key);

/* As state_bucket and state_quota, but when the table is full around key,
 * an entry of another key that has been idle is taken over before the
 * table grows: a bucket full for BUCKET_IDLE_NS, a quota ring with nothing
 * left in its window. Live state is never overwritten. owner: the caller's
 * thread id (for the quota slot's lock). */
#define BUCKET_IDLE_NS (UINT64_C(600) * 1000000000u)
uint64_t *state_bucket_or_evict(struct state_map *m, uint64_t key, uint64_t mono_ns);
struct quota_slot *state_quota_or_evict(struct state_map *m, uint64_t key, uint64_t real_ns,
                                        int32_t owner);

/* The same entries, looked up only: NULL when no process has used them.
 * For readers that must not fill the tables (enact status, enact reset). */
uint64_t *state_find_bucket(struct state_map *m, uint64_t key);
struct quota_slot *state_find_quota(struct state_map *m, uint64_t key);
struct breaker_slot *state_find_breaker(struct state_map *m, uint64_t key);

/* A growable table's slots, in look-up order: the table of regions[],
 * then each extension mapped. For readers that walk a whole table. */
struct state_table {
    void *slots;
    uint32_t count;
};
#define STATE_TABLES_MAX (1 + STATE_EXTENSIONS_MAX)
/* Maps the extensions m does not know yet, then fills out (room for
 * STATE_TABLES_MAX) with region's tables; how many. */
size_t state_tables(struct state_map *m, enum state_region_id region, struct state_table *out);

/* Remembers an agent's name under its id (gate_agent_id); quietly does
 * nothing when the table is full and cannot grow. */
void state_agent_record(struct state_map *m, uint64_t agent_id, const char *name);

/* Remembers that addr (IPv6 or v4-mapped) was resolved from name; owner
 * is the caller's thread id. Quietly does nothing when the table is full
 * around addr or its slot is busy. */
void state_host_record(struct state_map *m, const uint8_t addr[16], const char *name,
                       int32_t owner);

/* The name addr was last resolved from, into out (lower case); false when
 * none is known. Lock-free. */
bool state_host_lookup(struct state_map *m, const uint8_t addr[16], char *out, size_t cap);

/* Counts a record that could not be written (err: why), for enact status. */
void state_note_audit_failure(struct state_map *m, int err);

/* Notes that pid, a child of parent, runs a program of the tool whose
 * breaker_id is tool_id. False when the table has no room (a note older
 * than an hour is taken over). */
bool state_child_note(struct state_map *m, int32_t pid, int32_t parent, uint64_t tool_id,
                      int32_t owner, uint64_t real_ns);

/* Takes the note of pid, a child of parent: its tool_id and owner. */
bool state_child_take(struct state_map *m, int32_t pid, int32_t parent, uint64_t *tool_id,
                      int32_t *owner);

#endif
