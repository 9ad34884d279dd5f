/* The connect-rule index: see connect_index.h. */
#include "connect_index.h"

#include "config.h"
#include "../pure/hash.h"

#include <stdlib.h>
#include <string.h>

static bool indexed(const struct connect_rule *r)
{
    return r->kind == TARGET_INET && !r->any_host && !r->host_glob && r->prefix_bits == 128;
}

static uint32_t bucket_of(const struct connect_index *ix, const uint8_t addr[16])
{
    return (uint32_t)fnv64_bytes(FNV64_OFFSET, addr, 16) & ix->mask;
}

bool connect_index_build(struct connect_index *ix, const struct tool *tools, size_t ntools)
{
    *ix = (struct connect_index){0};
    size_t n = 0;
    for (size_t i = 0; i < ntools; i++)
        n += tools[i].nconnect;
    if (n == 0)
        return true;
    if (n >= UINT32_MAX / 2)
        return false;
    uint32_t buckets = 1;
    while (buckets < 2 * n) /* load factor at most 1/2 */
        buckets <<= 1;
    ix->refs = calloc(n, sizeof *ix->refs);
    ix->scanned = calloc(n, sizeof *ix->scanned);
    ix->next = calloc(n, sizeof *ix->next);
    ix->heads = calloc(buckets, sizeof *ix->heads);
    uint32_t *tails = calloc(buckets, sizeof *tails);
    if (!ix->refs || !ix->scanned || !ix->next || !ix->heads || !tails) {
        free(tails);
        connect_index_free(ix);
        return false;
    }
    ix->mask = buckets - 1;
    for (size_t i = 0; i < ntools; i++)
        for (size_t j = 0; j < tools[i].nconnect; j++) {
            uint32_t k = ix->nrefs++;
            const struct connect_rule *r = &tools[i].connect[j];
            ix->refs[k] = (struct connect_ref){.rule = r, .tool = (uint32_t)i};
            if (!indexed(r)) {
                ix->scanned[ix->nscanned++] = k;
                continue;
            }
            uint32_t b = bucket_of(ix, r->addr);
            if (tails[b])
                ix->next[tails[b] - 1] = k + 1;
            else
                ix->heads[b] = k + 1;
            tails[b] = k + 1;
        }
    free(tails);
    return true;
}

void connect_index_free(struct connect_index *ix)
{
    free(ix->refs);
    free(ix->scanned);
    free(ix->next);
    free(ix->heads);
    *ix = (struct connect_index){0};
}

long connect_index_match(const struct connect_index *ix, const struct net_target *t)
{
    if (ix->nrefs == 0)
        return -1;
    uint32_t best = UINT32_MAX; /* a ref */
    if (t->kind == TARGET_INET)
        for (uint32_t k = ix->heads[bucket_of(ix, t->addr)]; k; k = ix->next[k - 1])
            if (connect_rule_matches(ix->refs[k - 1].rule, t)) {
                best = k - 1;
                break;
            }
    for (uint32_t i = 0; i < ix->nscanned && ix->scanned[i] < best; i++)
        if (connect_rule_matches(ix->refs[ix->scanned[i]].rule, t)) {
            best = ix->scanned[i];
            break;
        }
    return best == UINT32_MAX ? -1 : (long)ix->refs[best].tool;
}
