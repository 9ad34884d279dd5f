/* How the loader reports problems (config_diag.c). */
#ifndef ENACT_CONFIG_DIAG_H
#define ENACT_CONFIG_DIAG_H

#include "config_loader.h"

/* An error (fails the load) or a warning, at line (0: the whole file). */
void config_error(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_warning(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A path from the INI: relative ones are relative to the config's folder. */
char *config_resolve_path(const struct loader *ld, const char *v);

#endif
