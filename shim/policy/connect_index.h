/* Which connect rule a destination meets first, without trying every rule.
 *
 * Rules that name one exact address (an IP with no prefix, no DNS name)
 * are found through a hash of the address; the others (CIDRs, names, any
 * host, unix paths) are tried in file order, but only those written before
 * the best indexed match. The answer is always the first rule in file order
 * that matches, as a plain scan would give: 10,000 exact-address rules cost
 * what 10 do.
 *
 * Built once when the config is loaded; lookups allocate nothing, take no
 * lock and write nothing, so they are safe in a vfork child. */
#ifndef ENACT_CONNECT_INDEX_H
#define ENACT_CONNECT_INDEX_H

#include "../pure/rule.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tool;

struct connect_ref {
    const struct connect_rule *rule;
    uint32_t tool; /* index in the config's tools */
};

struct connect_index {
    struct connect_ref *refs; /* every connect rule, in file order */
    uint32_t nrefs;
    uint32_t *scanned; /* refs not in the hash, ascending */
    uint32_t nscanned;
    uint32_t *heads; /* per hash bucket: first ref + 1, 0 when empty */
    uint32_t *next;  /* per ref: next ref + 1 in its bucket, ascending */
    uint32_t mask;   /* hash buckets - 1 */
};

/* False when out of memory (the index is then empty and must be freed). */
bool connect_index_build(struct connect_index *ix, const struct tool *tools, size_t ntools);
void connect_index_free(struct connect_index *ix);

/* The index in tools of the tool whose rule matches t first, or -1. */
long connect_index_match(const struct connect_index *ix, const struct net_target *t);

#endif
