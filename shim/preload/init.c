/* The library's constructor: sets a governed process up before the
 * program's main, and so before it can fork, vfork or start a thread.
 *
 * The one place that knows every part the process needs: libc's own
 * functions first (no hook may call dlsym later, in a vfork child), then
 * the identity caches, the connection table, the decision path (shim.c) and the children's
 * notes. Nothing else calls upward into it. */
#include "children.h"
#include "conn.h"
#include "identity.h"
#include "real.h"
#include "shim.h"

#include <stdlib.h>

__attribute__((constructor)) static void enact_init(void)
{
    real_resolve();
    /* secure_getenv: a setuid or setgid process ignores ENACT_* (if the
     * loader loads the shim at all there, e.g. from /etc/ld.so.preload). */
    const char *path = secure_getenv("ENACT_CONFIG");
    if (!path || !*path)
        return;
    identity_init();
    conn_init();
    const struct enact_config *cfg = shim_start(path);
    if (cfg)
        children_init(cfg);
}

__attribute__((destructor)) static void enact_fini(void)
{
    shim_stop();
}
