/* What every subcommand opens: its config, and the state of that config. */
#include "cli.h"
#include "../policy/backend.h"
#include "../store/local_store.h"
#include "../store/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -c FILE, else $ENACT_CONFIG, else ./enact.ini; NULL when none. */
static const char *config_path(const char *flag_value)
{
    if (flag_value)
        return flag_value;
    const char *env = getenv("ENACT_CONFIG");
    if (env && *env)
        return env;
    if (access("enact.ini", F_OK) == 0)
        return "enact.ini";
    return NULL;
}

struct enact_config *cli_config(const char *flag_value, int *exit_status,
                                const char **used_path)
{
    const char *path = config_path(flag_value);
    if (used_path)
        *used_path = path;
    if (!path) {
        char cwd[4096];
        fprintf(stderr,
                "enact: no config: no -c FILE was given, ENACT_CONFIG is not set, and there is "
                "no enact.ini in %s.\n"
                "To start, let Enact propose one from what your agent does: 'enact learn -o "
                "enact.ini -- CMD [ARGS]'. Or copy the commented example config/enact.ini of "
                "Enact's sources (or a tool map of config/tools/) to ./enact.ini and map the "
                "hosts and programs your agent uses. Check it with 'enact check enact.ini'.\n",
                getcwd(cwd, sizeof cwd) ? cwd : "this folder");
        *exit_status = EXIT_USAGE;
        return NULL;
    }
    struct config_diag diag;
    struct enact_config *cfg = config_load(path, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.lines[i]);
    config_diag_free(&diag);
    *exit_status = cfg ? 0 : EXIT_CONFIG;
    return cfg;
}

/* Opens the state of cfg for reading; false (said why) when there is none. */
bool cli_open_state(const struct enact_config *cfg, struct state_map *m)
{
    if (access(cfg->state_path, F_OK) != 0) {
        fprintf(stderr, "enact: no state yet at %s: nothing has run under this config\n",
                cfg->state_path);
        return false;
    }
    char msg[512];
    struct state_sizes sizes = config_state_sizes(cfg);
    enum state_open_result r = state_open(cfg->state_path, &sizes, m, msg, sizeof msg);
    if (r != STATE_OPENED)
        fprintf(stderr, "enact: %s\n", msg);
    return r != STATE_FAILED;
}

struct cli_quota cli_quota_read(struct store st, uint64_t key, const struct quota_spec *q,
                                uint64_t real_ns)
{
    struct cli_quota v = {.present = q && q->enabled};
    if (!v.present)
        return v;
    v.limit = q->policy.max_actions;
    struct quota_ring ring;
    if (st.ops->read_quota(st.impl, key, &ring)) {
        struct quota_ring rolled = ring; /* quota_remaining moves the ring on to now */
        v.used = v.limit - quota_remaining(&rolled, &q->policy, real_ns);
        v.frees_in_ns = quota_next_release_ns(&ring, &q->policy, real_ns);
    }
    return v;
}

static struct store state_or_none(void *ctx)
{
    struct cli_store *cs = ctx;
    return local_store(cs->mapped ? &cs->m : NULL);
}

bool cli_open_store(const struct enact_config *cfg, struct cli_store *cs)
{
    memset(cs, 0, sizeof *cs);
    if (!backend_is_shared(cfg)) {
        cs->mapped = cli_open_state(cfg, &cs->m);
        cs->st = local_store(&cs->m);
        return cs->mapped;
    }
    cs->mapped = access(cfg->state_path, F_OK) == 0 && cli_open_state(cfg, &cs->m);
    cs->redis = calloc(1, sizeof *cs->redis);
    if (!cs->redis) {
        fprintf(stderr, "enact: out of memory\n");
        cli_close_store(cs);
        return false;
    }
    struct redis_options opt;
    backend_options(cfg, "", &opt);
    /* A person waits for this, not a program's call. */
    if (opt.timeout_ns < 2000000000u)
        opt.timeout_ns = 2000000000u;
    redis_store_init(cs->redis, &opt, (struct redis_fallback){state_or_none, cs},
                     (uint64_t)getpid());
    cs->st = redis_store(cs->redis);
    return true;
}

void cli_close_store(struct cli_store *cs)
{
    if (cs->redis) {
        redis_store_close(cs->redis);
        free(cs->redis);
    }
    if (cs->mapped)
        state_close(&cs->m);
    cs->redis = NULL;
    cs->mapped = false;
}

const struct tool *cli_find_tool(const struct enact_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntools; i++)
        if (strcmp(cfg->tools[i].name, name) == 0)
            return &cfg->tools[i];
    return NULL;
}

bool cli_refuse_governed(const char *cmd)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps)
        return false;
    char line[4096];
    bool governed = false;
    while (!governed && fgets(line, sizeof line, maps))
        governed = strstr(line, "/libenact_shim") != NULL;
    fclose(maps);
    if (governed)
        fprintf(stderr,
                "enact %s: refused: this enact was started by a governed program (an agent), "
                "which must not answer for an operator; run it from a shell of your own\n",
                cmd);
    return governed;
}
