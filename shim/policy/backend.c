#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void backend_options(const struct enact_config *cfg, const char *agent,
                     struct redis_options *out)
{
    const struct backend_spec *b = &cfg->backend;
    memset(out, 0, sizeof *out);
    out->url = b->parsed;
    if (b->password_env) {
        const char *v = secure_getenv(b->password_env);
        snprintf(out->url.password, sizeof out->url.password, "%s", v ? v : "");
    }
    if (b->password_file)
        snprintf(out->password_file, sizeof out->password_file, "%s", b->password_file);
    if (b->tls_ca_file)
        snprintf(out->tls_ca_file, sizeof out->tls_ca_file, "%s", b->tls_ca_file);
    snprintf(out->prefix, sizeof out->prefix, "%s", b->key_prefix ? b->key_prefix : "enact");
    out->timeout_ns = b->timeout_ms * 1000000ull;
    out->fallback_local = b->on_down == ON_DOWN_LOCAL;
    snprintf(out->agent, sizeof out->agent, "%s", agent ? agent : "");
}
