/* The errno values a refused call may fail with ([tool.NAME] errno): each
 * is one connect(2) or execve(2) can return anyway, so callers handle it. */
#ifndef ENACT_CONFIG_ERRNO_H
#define ENACT_CONFIG_ERRNO_H

#include <stdbool.h>

/* "EPERM", "ECONNREFUSED", ... for a tool's deny_errno; "EPERM" for a
 * value that is none of them. */
const char *config_errno_name(int value);

/* The value of a name the config may give; false for any other name. */
bool config_errno_value(const char *name, int *value);

/* Whether a refused program start may fail with this errno (EPERM,
 * EACCES: execve's own refusals). */
bool config_errno_fits_exec(int value);

#endif
