/* A running process following its edited INI (README "Editing the config
 * while agents run"): when to look at the file again, whether it is
 * another file now, and the config to use instead. Time comes in as an
 * argument (CLOCK_MONOTONIC ns), so that tests inject it.
 *
 * Looks are claimed by one thread at a time and never wait: a thread that
 * finds the claim taken keeps the config it has. The configs a process
 * replaces are never freed (the caller keeps them: a thread may still be
 * deciding with one, a connection keeps its tool), hence the bound. */
#ifndef ENACT_CONFIG_RELOAD_H
#define ENACT_CONFIG_RELOAD_H

#include "config.h"
#include "../store/image_file.h"

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_RELOAD_PERIOD_NS 1000000000ull
/* Configs one process replaces at most: each edit keeps one config (as
 * an image, 3 kB for one tool, 13 kB for the ten of config/tools/) until
 * the process ends; later edits reach only new processes. */
#define CONFIG_RELOAD_MAX 32

struct config_reload {
    uint64_t next_ns; /* the next look; read by any thread without the claim */
    int busy;         /* 1 while a thread looks */
    uint64_t build;   /* config_cache_load's */
    /* The INI the current config was made from, or the last version of
     * it that did not load (not tried again until it changes). */
    struct file_identity seen;
    unsigned replaced;
    bool said_full;
};

enum config_reload_result {
    RELOAD_SAME,   /* keep the current config (the INI is as seen, missing, or changed
                      while it was read: looked at again next time) */
    RELOAD_NEW,    /* use *out */
    RELOAD_BROKEN, /* this version of the INI does not load: diag says why */
    RELOAD_FULL,   /* CONFIG_RELOAD_MAX configs replaced: no more; once */
};

/* The first config, as config_cache_load(path, build, diag, ...) gives it,
 * noting what it is made from (looked at before it is read: an edit while
 * it is read is seen at the first look). now_ns: the first look is a
 * period later. */
struct enact_config *config_reload_first(struct config_reload *r, const char *path,
                                         uint64_t build, struct config_diag *diag,
                                         uint64_t now_ns);

/* Whether a look is due: one load and a compare. Never, before
 * config_reload_first has loaded a config. */
static inline bool config_reload_due(const struct config_reload *r, uint64_t now_ns)
{
    return now_ns >= __atomic_load_n(&r->next_ns, __ATOMIC_RELAXED);
}

/* The due look for the calling thread, or false (another has it, or it
 * is not due). Then config_reload_look, then config_reload_release. */
bool config_reload_claim(struct config_reload *r, uint64_t now_ns);
void config_reload_release(struct config_reload *r);

/* Looks at the INI cur was loaded from (cur->path). RELOAD_NEW: *out is
 * the INI as it is now, with what stays the process's taken from cur
 * (its agent, state file, audit log and backend: README "Editing the
 * config while agents run") and mode = observe when observe (the
 * process was started so: ENACT_MODE). RELOAD_BROKEN: diag holds the
 * errors (config_diag_free). may_parse: read the INI itself when no
 * image matches it (allocates); else only an image another process
 * wrote will do (config_cache_image: no allocation). Never in a vfork
 * child: it writes r. */
enum config_reload_result config_reload_look(struct config_reload *r,
                                             const struct enact_config *cur, bool observe,
                                             bool may_parse, struct enact_config **out,
                                             struct config_diag *diag);

/* A fork's child: the thread that held the claim is not in it. */
void config_reload_forked(struct config_reload *r);

#endif
