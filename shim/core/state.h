/* The shared state file: one per config, mmap'd by every governed process.
 *
 * File layout (all integers little-endian, native alignment):
 *
 *   offset 0     struct state_header   magic, version, layout signature,
 *                                      file size, a table of regions
 *   regions[]    each {offset, count, entry_size}; a region a later version
 *                does not know is skipped, one it needs and misses makes the
 *                file incompatible (the layout signature changes)
 *   BUCKETS      open-addressed table of struct bucket_slot, count a power
 *                of two; key 0 marks a free slot
 *
 * Regions for quotas, breakers, agents and host names are reserved in the
 * header and empty in this version.
 *
 * Concurrency: a slot's key is claimed by compare-and-swap and never
 * changes afterwards; its word is updated by compare-and-swap (bucket.h).
 * No lock is taken, so nothing can be left held by a process that dies.
 * The file is created complete under a temporary name and linked into
 * place, so no process ever maps a half-written header. */
#ifndef ENACT_STATE_H
#define ENACT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC "ENACTST\0"
#define STATE_VERSION 1u

enum state_region_id {
    REGION_BUCKETS,
    REGION_QUOTAS,
    REGION_BREAKERS,
    REGION_AGENTS,
    REGION_HOSTS,
    REGION_SLOTS = 8
};

struct state_region {
    uint64_t offset;
    uint32_t count;
    uint32_t entry_size;
};

struct state_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t layout_sig;
    uint64_t file_size;
    uint64_t created_unix_ns;
    struct state_region regions[REGION_SLOTS];
};

struct bucket_slot {
    uint64_t key; /* 0: free; otherwise hash of (agent, tool policy) */
    uint64_t tat; /* bucket.h */
};

struct state_map {
    void *base;
    size_t size;
    struct bucket_slot *buckets;
    uint32_t nbuckets; /* power of two */
};

enum state_open_result { STATE_OPENED, STATE_REBUILT, STATE_FAILED };

/* Maps the file at path, creating it (and missing folders, mode 0700; the
 * file 0600) when absent. A file that is not a valid state file of this
 * build is moved aside to PATH.corrupt-TIME-PID and rebuilt: STATE_REBUILT,
 * with msg telling what was wrong and where it went. STATE_FAILED leaves msg
 * with the reason. No file descriptor stays open. */
enum state_open_result state_open(const char *path, uint32_t min_bucket_slots,
                                  struct state_map *m, char *msg, size_t msglen);
void state_close(struct state_map *m);

/* Number of bucket slots to create for a config with ntools tools. */
uint32_t state_bucket_slots_for(size_t ntools);

/* The bucket word for key, claiming a free slot if needed; NULL when the
 * table is full around key (the caller applies on_error). Lock-free. */
uint64_t *state_bucket(struct state_map *m, uint64_t key);

#endif
