/* enact ps: the governed processes of a config on this host, as their
 * state file knows them; entries of processes that are gone are dropped. */
#include "cli.h"
#include "../pure/jsonw.h"
#include "../store/clock.h"
#include "../store/state_control.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact ps [-c FILE] [--agent A] [--json]\n"
    "\n"
    "Lists the governed processes of the config running on this host: pid,\n"
    "parent, agent, program, user and how long ago each started (or last\n"
    "started a program). Processes that have ended are dropped from the list\n"
    "as it is read. --json prints one JSON object.\n";

struct ps_view {
    const char *agent; /* only this agent's, or NULL */
    bool json;
    unsigned shown;
    uint64_t real_ns;
};

static void show(const struct proc_slot *p, void *ctx)
{
    struct ps_view *v = ctx;
    if (v->agent && strcmp(v->agent, p->agent) != 0)
        return;
    if (v->json) {
        char buf[512];
        struct jsonw w;
        jw_init(&w, buf, sizeof buf);
        jw_object_begin(&w);
        jw_int(&w, "pid", (long)p->key);
        jw_int(&w, "parent", p->parent);
        jw_string(&w, "agent", p->agent, 100);
        jw_string(&w, "program", p->program, 100);
        jw_uint(&w, "uid", p->uid);
        jw_timestamp(&w, "since", p->real_ns);
        jw_object_end(&w);
        printf("%s%s", v->shown ? "," : "", jw_ok(&w) ? buf : "{}");
    } else {
        char up[32];
        cli_duration_text(v->real_ns > p->real_ns ? v->real_ns - p->real_ns : 0, up, sizeof up);
        printf("%-8llu %-8d %-20s %-16s %-6u %s\n", (unsigned long long)p->key, (int)p->parent,
               p->agent, p->program, (unsigned)p->uid, up);
    }
    v->shown++;
}

int cmd_ps(int argc, char **argv)
{
    const char *config = NULL, *agent = NULL;
    int json = 0;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--agent", .value = &agent},
        {.name = "--json", .flag = &json, .to = 1},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "ps", .help = HELP, .options = options},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(config, &failed, &path);
    if (!cfg)
        return failed;
    struct state_map m;
    bool mapped = access(cfg->state_path, F_OK) == 0 && cli_open_state(cfg, &m);
    struct ps_view v = {.agent = agent, .json = json, .real_ns = clock_now_ns(CLOCK_REALTIME)};
    if (json)
        printf("{\"processes\":[");
    else
        printf("%-8s %-8s %-20s %-16s %-6s %s\n", "PID", "PARENT", "AGENT", "PROGRAM", "UID",
               "SINCE");
    if (mapped)
        state_proc_each(&m, state_proc_alive, show, &v);
    if (json)
        printf("]}\n");
    else if (v.shown == 0)
        printf("(no governed process of %s is running on this host)\n", path);
    if (mapped)
        state_close(&m);
    config_free(cfg);
    return 0;
}
