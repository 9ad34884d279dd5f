#include "config_watch.h"

#include "identity.h"
#include "on_fork.h"
#include "real.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The process's watcher: never due until a config is loaded. */
struct config_reload config_watch_process = {.next_ns = UINT64_MAX};
static const struct enact_config *_Atomic *slot; /* the process's config pointer */
static bool observe;
static config_watch_report *report;
/* The process that watches: a fork's child notes itself (atfork); a
 * vfork or posix_spawn child runs no handler and so never matches. */
static pid_t watcher_pid;
/* Every config the process has replaced: a thread may still be deciding
 * with one, and a connection keeps its tool until it is closed, so none is
 * freed; bounded by config_reload.h. Written by the claim holder only. */
static const struct enact_config *replaced[CONFIG_RELOAD_MAX];
static unsigned nreplaced;

static void forked(void)
{
    watcher_pid = shim_pid();
    config_reload_forked(&config_watch_process);
}

struct enact_config *config_watch_load(const char *path, uint64_t build,
                                       struct config_diag *diag)
{
    return config_reload_first(&config_watch_process, path, build, diag,
                               clock_now_ns_syscall(CLOCK_MONOTONIC_COARSE));
}

void config_watch_start(const struct enact_config *_Atomic *config, bool observe_mode,
                        config_watch_report *reporter)
{
    slot = config;
    observe = observe_mode;
    report = reporter;
    watcher_pid = shim_pid();
    on_fork_child(forked);
}

static void say(const char *text)
{
    (void)!real.write(2, text, strlen(text));
}

/* Once per version of the INI that does not load: on stderr as at start,
 * and in the audit log. */
static void say_broken(const char *path, const struct config_diag *diag)
{
    say("enact: the edited configuration cannot be loaded; this process keeps its previous one:\n");
    char detail[1024];
    size_t used = (size_t)snprintf(detail, sizeof detail,
                                   "%s was edited and does not load; this process keeps the "
                                   "config it had:",
                                   path);
    for (size_t i = 0; i < diag->n; i++) {
        say("enact: ");
        say(diag->lines[i]);
        say("\n");
        if (used < sizeof detail)
            used += (size_t)snprintf(detail + used, sizeof detail - used, " %s",
                                     diag->lines[i]);
    }
    report(detail);
}

static void look(bool may_parse)
{
    const struct enact_config *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    struct enact_config *next = NULL;
    struct config_diag diag;
    enum config_reload_result r =
        cur ? config_reload_look(&config_watch_process, cur, observe, may_parse, &next, &diag)
            : RELOAD_SAME;
    switch (r) {
    case RELOAD_NEW:
        if (nreplaced < CONFIG_RELOAD_MAX)
            replaced[nreplaced++] = cur;
        __atomic_store_n(slot, next, __ATOMIC_RELEASE);
        break;
    case RELOAD_BROKEN:
        say_broken(cur->path, &diag);
        config_diag_free(&diag);
        break;
    case RELOAD_FULL: {
        char detail[256];
        snprintf(detail, sizeof detail,
                 "this process has followed %u edits of its config, the most it keeps; "
                 "later edits reach only the processes started after them",
                 (unsigned)CONFIG_RELOAD_MAX);
        say("enact: ");
        say(detail);
        say("\n");
        report(detail);
        break;
    }
    case RELOAD_SAME:
        break;
    }
}

void config_watch_look(bool may_parse, uint64_t now)
{
    int saved = errno;
    /* getpid is a system call: paid once a second, not at each call. */
    if (shim_pid() == watcher_pid && config_reload_claim(&config_watch_process, now)) {
        look(may_parse);
        config_reload_release(&config_watch_process);
    }
    errno = saved;
}
