/* enact reset: give limits back (the guide's reset), for one agent, one
 * tool, or all. */
#include "cli.h"

#include "../store/audit_sink.h"
#include "../store/clock.h"
#include "../policy/gate.h"
#include "../store/pidlock.h"
#include "../store/state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Limits given back are an operator's act worth a record: an agent that
 * resets its own limits is seen doing it. */
static void record_reset(const struct enact_config *cfg, const char *agent, const char *tool,
                         unsigned touched)
{
    char detail[96];
    snprintf(detail, sizeof detail, "%u entr%s reset", touched, touched == 1 ? "y" : "ies");
    struct audit_event ev = {
        .unix_ns = clock_now_ns(CLOCK_REALTIME),
        .pid = getpid(),
        .agent = agent,
        .exe = "enact",
        .op = "reset",
        .tool = tool,
        .verdict = "reset",
        .detail = detail,
    };
    int err = audit_log(cfg->audit_path, &ev);
    if (err)
        fprintf(stderr, "enact reset: the audit record could not be written to %s: %s\n",
                cfg->audit_path, strerror(err));
}

static const char HELP[] =
    "usage: enact reset [-c FILE] [--agent A] [--tool T]\n"
    "\n"
    "Refills rate buckets and empties quotas of agent A (default: every agent\n"
    "that has run) for tool T (default: every tool). Without --agent, the\n"
    "tool's breaker is closed too; without --tool, the agent's own quota is\n"
    "emptied too.\n";

static const struct tool *find_tool(const struct enact_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntools; i++)
        if (strcmp(cfg->tools[i].name, name) == 0)
            return &cfg->tools[i];
    return NULL;
}

/* Empties a quota ring under its lock; true when it was there to empty. */
static bool reset_quota(struct quota_slot *q)
{
    int32_t me = (int32_t)gettid();
    if (!q || !pidlock_acquire(&q->lock, me, pidlock_clock_ms, pidlock_pid_alive))
        return false;
    quota_reset(&q->ring);
    pidlock_release(&q->lock, me);
    return true;
}

static bool reset_breaker(struct breaker_slot *b)
{
    int32_t me = (int32_t)gettid();
    if (!b || !pidlock_acquire(&b->lock, me, pidlock_clock_ms, pidlock_pid_alive))
        return false;
    struct breaker_event ignored;
    breaker_reset(&b->breaker, clock_now_ns(CLOCK_MONOTONIC), &ignored);
    pidlock_release(&b->lock, me);
    return true;
}

/* Resets what one agent holds for the selected tools; returns how many
 * entries it touched. */
static unsigned reset_agent(const struct enact_config *cfg, struct state_map *m,
                            const char *agent, const struct tool *only)
{
    unsigned touched = 0;
    uint64_t id = gate_agent_id(agent);
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        if (only && t != only)
            continue;
        uint64_t *word = state_find_bucket(m, gate_bucket_key(id, t));
        if (word) {
            bucket_reset(word);
            touched++;
        }
        touched += reset_quota(state_find_quota(m, gate_tool_quota_key(id, t)));
    }
    const struct quota_spec *aq = config_agent_quota(cfg, agent);
    if (!only && aq)
        touched += reset_quota(state_find_quota(m, gate_agent_quota_key(id, aq)));
    return touched;
}

int cmd_reset(int argc, char **argv)
{
    const char *config = NULL, *agent = NULL, *tool_name = NULL;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--agent", .value = &agent},
        {.name = "--tool", .value = &tool_name},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "reset", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(config, &failed, &path);
    if (!cfg)
        return failed;
    const struct tool *only = tool_name ? find_tool(cfg, tool_name) : NULL;
    struct state_map m;
    int status = 0;
    if (tool_name && !only) {
        fprintf(stderr, "enact reset: no tool '%s' in %s\n", tool_name, path);
        status = EXIT_USAGE;
    } else if (!cli_open_state(cfg, &m)) {
        status = EXIT_CONFIG;
    } else {
        unsigned touched = 0;
        if (agent) {
            touched = reset_agent(cfg, &m, agent, only);
        } else {
            char (*names)[72];
            size_t n = cli_state_agents(&m, &names);
            for (size_t i = 0; i < n; i++)
                touched += reset_agent(cfg, &m, names[i], only);
            free(names);
            for (size_t i = 0; i < cfg->ntools; i++)
                if ((!only || only == &cfg->tools[i]) && cfg->tools[i].has_breaker)
                    touched += reset_breaker(state_find_breaker(&m, cfg->tools[i].breaker_id));
        }
        printf("enact reset: %u entr%s reset (agent %s, tool %s)\n", touched,
               touched == 1 ? "y" : "ies", agent ? agent : "all", tool_name ? tool_name : "all");
        record_reset(cfg, agent, tool_name, touched);
        state_close(&m);
    }
    config_free(cfg);
    return status;
}
