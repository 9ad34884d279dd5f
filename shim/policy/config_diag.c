/* The loader's diagnostics, "FILE:LINE: message" in line order, and the
 * paths it resolves against the config's folder. */
#include "config_diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void diag_vadd(struct loader *ld, unsigned line, bool warning, const char *fmt,
                      va_list ap)
{
    if (!warning)
        ld->errors++;
    if (!ld->diag)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *kind = warning ? "warning: " : "";
    char *text = NULL;
    int n = line ? asprintf(&text, "%s:%u: %s%s", ld->display_path, line, kind, msg)
                 : asprintf(&text, "%s: %s%s", ld->display_path, kind, msg);
    struct config_diag *d = ld->diag;
    char **lines = n < 0 ? NULL : realloc(d->lines, (d->n + 1) * sizeof *lines);
    if (lines)
        d->lines = lines;
    unsigned *at = lines ? realloc(d->at, (d->n + 1) * sizeof *at) : NULL;
    if (at)
        d->at = at;
    if (!lines || !at) {
        free(n < 0 ? NULL : text);
        return;
    }
    /* Keep the list in line order (inih's syntax error arrives last). */
    size_t i = d->n++;
    for (; i > 0 && d->at[i - 1] > line; i--) {
        d->lines[i] = d->lines[i - 1];
        d->at[i] = d->at[i - 1];
    }
    d->lines[i] = text;
    d->at[i] = line;
    d->warnings += warning;
}

void config_error(struct loader *ld, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(ld, line, false, fmt, ap);
    va_end(ap);
}

void config_warning(struct loader *ld, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(ld, line, true, fmt, ap);
    va_end(ap);
}

char *config_resolve_path(const struct loader *ld, const char *v)
{
    char *out = NULL;
    if (v[0] == '/')
        return strdup(v);
    if (asprintf(&out, "%s/%s", ld->dir, v) < 0)
        return NULL;
    return out;
}

void config_diag_free(struct config_diag *diag)
{
    for (size_t i = 0; i < diag->n; i++)
        free(diag->lines[i]);
    free(diag->lines);
    free(diag->at);
    *diag = (struct config_diag){0};
}
