#include "children.h"

#include "identity.h"
#include "shim.h"
#include "../store/clock.h"
#include "../store/state.h"

#include <errno.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The process's: some tool with exec rules has a breaker, in a config
 * this process has had (it may follow an edited INI: config_watch.h);
 * once set, never cleared. checked: the config last looked at. */
static bool enabled;
static const struct enact_config *checked;

void children_init(const struct enact_config *cfg)
{
    bool some = false;
    for (size_t i = 0; i < cfg->ntools; i++)
        some = some || (cfg->tools[i].nexec > 0 && cfg->tools[i].has_breaker);
    if (some)
        __atomic_store_n(&enabled, true, __ATOMIC_RELAXED);
    __atomic_store_n(&checked, cfg, __ATOMIC_RELAXED);
}

/* One load and a compare while the config is the one checked. */
static bool tracking(void)
{
    if (__atomic_load_n(&enabled, __ATOMIC_RELAXED))
        return true;
    const struct enact_config *cfg = shim_config();
    if (cfg && cfg != __atomic_load_n(&checked, __ATOMIC_RELAXED))
        children_init(cfg);
    return __atomic_load_n(&enabled, __ATOMIC_RELAXED);
}

void children_note(pid_t pid, pid_t parent, const struct tool *tool, int32_t owner)
{
    struct state_map *m = tool && tool->has_breaker && tracking() ? shim_state() : NULL;
    if (m)
        state_child_note(m, pid, parent, tool->breaker_id, owner,
                         clock_now_ns(CLOCK_REALTIME));
}

void children_forget(pid_t pid)
{
    struct state_map *m = tracking() ? shim_state() : NULL;
    uint64_t id;
    int32_t owner;
    if (m)
        state_child_take(m, pid, getppid(), &id, &owner);
}

static const struct tool *tool_by_breaker(uint64_t id)
{
    const struct enact_config *cfg = shim_config();
    for (size_t i = 0; cfg && i < cfg->ntools; i++)
        if (cfg->tools[i].has_breaker && cfg->tools[i].breaker_id == id)
            return &cfg->tools[i];
    return NULL;
}

void children_ended(const struct tool *tool, int status, int32_t owner)
{
    const struct enact_config *cfg;
    if (!tool || !tool->has_breaker || !shim_enter_held(&cfg))
        return;
    struct call call = {.op = "exec", .tool = tool};
    bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    shim_outcome(&call, ok ? OUTCOME_SUCCESS : OUTCOME_FAILURE, owner);
    shim_leave();
}

void children_reaped(pid_t pid, int status)
{
    if (!tracking() || !(WIFEXITED(status) || WIFSIGNALED(status)))
        return; /* stopped or continued: not over yet */
    int saved = errno;
    const struct enact_config *cfg;
    const struct tool *tool = NULL;
    int32_t owner = 0;
    if (shim_enter_held(&cfg)) {
        struct state_map *m = shim_state();
        uint64_t id;
        if (m && state_child_take(m, pid, shim_pid(), &id, &owner))
            tool = tool_by_breaker(id);
        shim_leave();
    }
    children_ended(tool, status, owner);
    errno = saved;
}
