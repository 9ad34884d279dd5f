/* The value parsers the key table names (config_values.c). */
#ifndef ENACT_CONFIG_VALUES_H
#define ENACT_CONFIG_VALUES_H

#include "config_loader.h"

key_parser parse_bool_key, parse_choice_key, parse_count_key, parse_number_key, parse_path_key,
    parse_quota_warn_key, parse_audit_log_key, parse_agent_name_key, parse_backend_key, parse_key_prefix_key,
    parse_env_name_key, parse_errno_key, parse_bytes_key,
    parse_connect_key, parse_exec_key, parse_impact_exec_key, parse_impact_verb_key;

/* k's value in the section's struct at base, in the INI's terms, into out
 * (at most cap bytes, NUL-terminated). */
void config_value_format(const struct key_def *k, const void *base, char *out, size_t cap);

/* Stores k's default (dflt) into the section's struct at base. */
void config_value_default(const struct key_def *k, void *base);

#endif
