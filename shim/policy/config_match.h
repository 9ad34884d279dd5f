/* Which tool, and which agent quota, a call is governed by
 * (config_match.c). Allocation-free and lock-free: called from
 * interposers, also in vfork children. */
#ifndef ENACT_CONFIG_MATCH_H
#define ENACT_CONFIG_MATCH_H

#include "config.h"

/* The quota that applies to an agent's every mapped call: its [agent.NAME]
 * override, else [agent]; NULL when neither sets one. */
const struct quota_spec *config_agent_quota(const struct enact_config *cfg, const char *agent);

/* The first tool (file order) with a rule matching the call, or NULL. */
const struct tool *config_match_connect(const struct enact_config *cfg,
                                        const struct net_target *t);
const struct tool *config_match_exec(const struct enact_config *cfg, const char *path,
                                     char *const argv[]);

#endif
