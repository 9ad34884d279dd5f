/* From a config's [enact] backend keys to what the Redis store needs
 * (README "Running a fleet"): the URL, the password from the environment
 * variable or the file the config names, the key prefix, the timeout and
 * what on_down falls back to. Shared by the shim and the CLI. */
#ifndef ENACT_BACKEND_H
#define ENACT_BACKEND_H

#include "config.h"
#include "../store/redis_store.h"

#include <stdbool.h>

/* Whether cfg keeps its limits on a shared backend. */
static inline bool backend_is_shared(const struct enact_config *cfg)
{
    return cfg && cfg->backend.url != NULL;
}

/* Fills out for agent. The environment is read here (password_env), the
 * password file at each connect. */
void backend_options(const struct enact_config *cfg, const char *agent,
                     struct redis_options *out);

#endif
