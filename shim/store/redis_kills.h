/* Kill switches for a whole fleet (README "Operator control"): one hash,
 * {PREFIX}:kills, field "AGENT\tTOOL" ("" for every agent or every tool),
 * value "UID\tSINCE_MS\tREASON". enact kill and enact resume write it;
 * every governed process reads it at most every REDIS_KILLS_READ_NS, at
 * a decision, so a switch reaches the fleet within a second of being
 * turned on. A process that cannot read it keeps what it read last. */
#ifndef ENACT_REDIS_KILLS_H
#define ENACT_REDIS_KILLS_H

#include "redis_store.h"
#include "state_control.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_KILLS_READ_NS (UINT64_C(500) * 1000000u)

/* The switch of the fleet that stops agent_id's call to tool_id (0: an
 * unmapped call), its words in reason; false when none does. Reads the
 * switches again when they are older than REDIS_KILLS_READ_NS (not in a
 * vfork child: it goes by what its parent read). */
bool redis_kills_find(struct redis_store *rs, uint64_t agent_id, uint64_t tool_id,
                      int32_t owner, uint64_t mono_ns, uint32_t *uid, char *reason, size_t cap);

/* enact kill, enact resume. false or -1 with why. */
bool redis_kills_set(struct redis_store *rs, const struct kill_entry *e, char *why, size_t cap);
int redis_kills_clear(struct redis_store *rs, const char *agent, const char *tool, bool all,
                      char *why, size_t cap);

/* The fleet's switches, read now, for enact status: fn gets each one's
 * agent and tool ("" for every one), uid, since (ms since the epoch) and
 * reason. false when the backend did not answer. */
bool redis_kills_each(struct redis_store *rs,
                      void (*fn)(const char *agent, const char *tool, uint32_t uid,
                                 uint64_t since_ms, const char *reason, void *ctx),
                      void *ctx);

#endif
