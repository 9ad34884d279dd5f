/* The store of one host: the shared state file (state.h), mapped by every
 * governed process of a config. Every mechanism's state lives in the
 * mapping; a bucket is one word updated by compare-and-swap, a quota ring
 * or a breaker is changed under its slot's pidlock, so a decision is
 * exact across processes and a refusal charges nothing.
 *
 * Allocation-free and vfork-safe, but for the agents() reader. */
#ifndef ENACT_LOCAL_STORE_H
#define ENACT_LOCAL_STORE_H

#include "state.h"
#include "store.h"

/* A store over m, which stays the caller's; m may be NULL (the state file
 * could not be had): admit then answers UNAVAILABLE "state_error", the
 * readers find nothing and the resets reset nothing. */
struct store local_store(struct state_map *m);

#endif
