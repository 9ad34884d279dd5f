/* The process's config following its INI (README "Editing the config
 * while agents run"): at most once a second a call looks at the INI, and
 * when it has changed, the config loaded from it is published in the
 * process's config pointer for the calls that follow. Only in the
 * process that watches (never in a vfork child: it shares its parent's
 * memory), by one thread at a time; the others keep deciding with the
 * config they have. Old configs are kept (policy/config_reload.h). */
#ifndef ENACT_CONFIG_WATCH_H
#define ENACT_CONFIG_WATCH_H

#include "../policy/config_reload.h"
#include "../store/clock.h"

#include <stdbool.h>

/* The first config, as config_cache_load gives it, noted for watching. */
struct enact_config *config_watch_load(const char *path, uint64_t build,
                                       struct config_diag *diag);

/* What the process reports with: a record of its own (verdict "error",
 * reason "config_error") with this detail. */
typedef void config_watch_report(const char *detail);

/* Watches from now on: *slot is the process's config (already the first
 * one), replaced by an atomic store; observe: the process was started in
 * observe mode (ENACT_MODE), which every later config keeps. From the
 * constructor, after config_watch_load loaded a config. */
void config_watch_start(const struct enact_config *_Atomic *slot, bool observe,
                        config_watch_report *report);

/* The process's watcher, defined in config_watch.c; read here only by
 * the check inlined into every hook's way in. */
extern struct config_reload config_watch_process __attribute__((visibility("hidden")));

/* The look that is due at now_ns (CLOCK_MONOTONIC_COARSE); keeps errno. */
void config_watch_look(bool may_parse, uint64_t now_ns);

/* One clock read and a compare, unless a look is due. COARSE: the same
 * clock as CLOCK_MONOTONIC at the kernel tick's resolution (1 to 10 ms,
 * plenty for a period of a second), read from the vDSO in a quarter of
 * the time (6 ns instead of 24 here). may_parse: from the hooks' way in
 * (shim_enter), where the INI may be parsed (allocating: never call it
 * holding a lock); false from a hook that may run in a signal handler
 * (the wait family, in a SIGCHLD handler), which takes only an image
 * another process wrote. A connect or exec made from a signal handler
 * parses too when it is the call that finds a look due, the INI changed
 * and no image of it yet: programs seldom make them there. */
static inline void config_watch_tick(bool may_parse)
{
    uint64_t now = clock_now_ns(CLOCK_MONOTONIC_COARSE);
    if (config_reload_due(&config_watch_process, now))
        config_watch_look(may_parse, now);
}

#endif
