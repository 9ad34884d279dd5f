/* enact reset: give limits back (the guide's reset), for one agent, one
 * tool, or all. */
#include "cli.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"
#include "../store/audit_sink.h"
#include "../store/clock.h"

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

/* Resets what one agent holds for the selected tools; returns how many
 * entries it touched. */
static unsigned reset_agent(const struct enact_config *cfg, struct store st,
                            const struct store_now *now, const char *agent,
                            const struct tool *only)
{
    unsigned touched = 0;
    uint64_t id = gate_agent_id(agent);
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *t = &cfg->tools[i];
        if (only && t != only)
            continue;
        touched += st.ops->reset_bucket(st.impl, gate_bucket_key(id, t));
        touched += st.ops->reset_quota(st.impl, gate_tool_quota_key(id, t), now);
    }
    const struct quota_spec *aq = config_agent_quota(cfg, agent);
    if (!only && aq)
        touched += st.ops->reset_quota(st.impl, gate_agent_quota_key(id, aq), now);
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
    const struct tool *only = tool_name ? cli_find_tool(cfg, tool_name) : NULL;
    struct cli_store cs;
    int status = 0;
    if (tool_name && !only) {
        fprintf(stderr, "enact reset: no tool '%s' in %s\n", tool_name, path);
        status = EXIT_USAGE;
    } else if (!cli_open_store(cfg, &cs)) {
        status = EXIT_CONFIG;
    } else {
        unsigned touched = 0;
        struct store st = cs.st;
        struct store_now now = {.owner = (int32_t)gettid(),
                                .mono_ns = clock_now_ns(CLOCK_MONOTONIC)};
        if (agent) {
            touched = reset_agent(cfg, st, &now, agent, only);
        } else {
            char (*names)[STORE_AGENT_NAME_MAX];
            size_t n = st.ops->agents(st.impl, &names);
            for (size_t i = 0; i < n; i++)
                touched += reset_agent(cfg, st, &now, names[i], only);
            free(names);
            for (size_t i = 0; i < cfg->ntools; i++)
                if ((!only || only == &cfg->tools[i]) && cfg->tools[i].has_breaker)
                    touched += st.ops->reset_breaker(st.impl, cfg->tools[i].breaker_id, &now);
        }
        printf("enact reset: %u entr%s reset (agent %s, tool %s)\n", touched,
               touched == 1 ? "y" : "ies", agent ? agent : "all", tool_name ? tool_name : "all");
        record_reset(cfg, agent, tool_name, touched);
        cli_close_store(&cs);
    }
    config_free(cfg);
    return status;
}
