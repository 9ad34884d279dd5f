/* After the whole file: defaults, compiled policies, cross-key checks
 * (config_finish.c). */
#ifndef ENACT_CONFIG_FINISH_H
#define ENACT_CONFIG_FINISH_H

#include "config_loader.h"

void config_finish_tool(struct loader *ld, struct tool *t);
/* max and window: the section's quota.max_actions and quota.window_hours. */
void config_finish_quota(struct loader *ld, struct quota_spec *q, const struct section_source *src,
                         enum config_key max, enum config_key window, enum config_key warn,
                         const char *where);

/* [enact] backend.*: the key prefix's default, keys that need a Redis
 * backend, one source of the password. */
void config_finish_backend(struct loader *ld, struct enact_config *cfg);

#endif
