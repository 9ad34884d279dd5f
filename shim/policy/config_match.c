/* See config_match.h. */
#include "config_match.h"

#include <string.h>

const struct tool *config_match_connect(const struct enact_config *cfg, const struct net_target *t)
{
    long i = connect_index_match(&cfg->connect_index, t);
    return i < 0 ? NULL : &cfg->tools[i];
}

const struct tool *config_match_exec(const struct enact_config *cfg, const char *path,
                                     char *const argv[])
{
    for (size_t i = 0; i < cfg->ntools; i++)
        for (size_t j = 0; j < cfg->tools[i].nexec; j++)
            if (exec_rule_matches(&cfg->tools[i].exec[j], path, argv))
                return &cfg->tools[i];
    return NULL;
}

const struct quota_spec *config_agent_quota(const struct enact_config *cfg, const char *agent)
{
    for (size_t i = 0; i < cfg->nagents; i++)
        if (strcmp(cfg->agents[i].name, agent) == 0)
            return cfg->agents[i].quota.enabled ? &cfg->agents[i].quota : NULL;
    return cfg->agent_quota.enabled ? &cfg->agent_quota : NULL;
}
