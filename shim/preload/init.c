/* The library's constructor: sets a governed process up before the
 * program's main, and so before it can fork, vfork or start a thread.
 *
 * The one place that knows every part the process needs: libc's own
 * functions first (no hook may call dlsym later, in a vfork child), then
 * the identity caches, the connection table, the decision path (shim.c) and the children's
 * notes. Nothing else calls upward into it. */
#include "children.h"
#include "conn.h"
#include "env.h"
#include "identity.h"
#include "real.h"
#include "shim.h"

__attribute__((constructor)) static void enact_init(void)
{
    real_resolve();
    struct env_start env; /* none in a setuid or setgid process */
    env_start_read(&env);
    if (!env.config || !*env.config)
        return;
    identity_init();
    conn_init();
    const struct enact_config *cfg = shim_start(&env);
    if (cfg)
        children_init(cfg);
}

/* The library's DT_FINI (the Makefile links it with -fini=enact_fini), not
 * a destructor: the loader would otherwise call _fini, the few bytes of
 * .fini at the very end of the text, whose page a governed process would
 * fault in only to return from it (bench/NOTES.md, B6). The loader calls
 * DT_FINI after the library's destructors, when a destructor would run. */
__attribute__((visibility("hidden"))) void enact_fini(void);
void enact_fini(void)
{
    shim_stop();
}
