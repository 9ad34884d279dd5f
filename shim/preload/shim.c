#include "shim.h"

#include "../core/gate.h"
#include "../core/state.h"
#include "real.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool governed;
    const struct enact_config *cfg; /* NULL when governed but broken */
    struct state_map state;
    char agent[65];
    uint64_t agent_id;
} proc;

static __thread int in_enact __attribute__((tls_model("initial-exec")));

static void say(const char *text)
{
    (void)!write(2, text, strlen(text));
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The agent is who spends the limits: -a / ENACT_AGENT, else [enact]
 * agent, else this program's name, which is then handed down so that the
 * agent's children spend from the same buckets. */
static void choose_agent(const struct enact_config *cfg)
{
    const char *env = getenv("ENACT_AGENT");
    const char *name = env && *env ? env : cfg && cfg->agent ? cfg->agent
                                                             : program_invocation_short_name;
    snprintf(proc.agent, sizeof proc.agent, "%s", name);
    if (!(env && *env) && !(cfg && cfg->agent))
        setenv("ENACT_AGENT", proc.agent, 0);
    proc.agent_id = gate_agent_id(proc.agent);
}

static void audit_state_problem(const struct enact_config *cfg, const char *what)
{
    struct audit_event ev = {
        .unix_ns = clock_ns(CLOCK_REALTIME),
        .pid = getpid(),
        .agent = proc.agent,
        .exe = program_invocation_short_name,
        .verdict = "error",
        .reason = "state_error",
        .detail = what,
    };
    audit_log(cfg->audit_path, &ev);
}

__attribute__((constructor)) static void shim_init(void)
{
    real_resolve();
    const char *path = getenv("ENACT_CONFIG");
    if (!path || !*path)
        return;
    proc.governed = true;
    struct config_diag diag;
    struct enact_config *cfg = config_load(path, &diag);
    if (!cfg) {
        say("enact: cannot load the configuration; every connect and exec will be refused:\n");
        for (size_t i = 0; i < diag.n; i++) {
            say("enact: ");
            say(diag.lines[i]);
            say("\n");
        }
        config_diag_free(&diag);
        choose_agent(NULL);
        return;
    }
    choose_agent(cfg);
    /* A relative path would name another file once a child changes folder. */
    if (path[0] != '/')
        setenv("ENACT_CONFIG", cfg->path, 1);
    const char *mode = getenv("ENACT_MODE"); /* enact run --observe */
    if (mode && strcmp(mode, "observe") == 0)
        cfg->mode = MODE_OBSERVE;
    char msg[512];
    enum state_open_result r = state_open(cfg->state_path, state_bucket_slots_for(cfg->ntools),
                                          &proc.state, msg, sizeof msg);
    if (r != STATE_OPENED)
        audit_state_problem(cfg, msg);
    proc.cfg = cfg;
}

bool shim_enter(const struct enact_config **cfg)
{
    if (!real.posix_spawnp)
        real_resolve();
    if (!proc.governed || in_enact)
        return false;
    in_enact = 1;
    *cfg = proc.cfg;
    return true;
}

void shim_leave(void)
{
    in_enact = 0;
}

int shim_govern(const struct call *c)
{
    const struct enact_config *cfg = proc.cfg;
    if (!cfg || !c->tool)
        return EPERM; /* config_error: said on stderr at start */
    int saved = errno;
    struct gate_result g =
        gate_decide(cfg, &proc.state, c->tool, proc.agent_id, clock_ns(CLOCK_MONOTONIC));
    if (g.audit && !c->quiet) {
        struct audit_event ev = {
            .unix_ns = clock_ns(CLOCK_REALTIME),
            .pid = getpid(),
            .agent = proc.agent,
            .exe = program_invocation_short_name,
            .op = c->op,
            .tool = c->tool->name,
            .target = c->target,
            .argv = c->argv,
            .verdict = g.verdict,
            .reason = g.reason,
            .errno_name = g.admit ? NULL : "EPERM",
            .has_retry_after = g.retry_after_ns > 0,
            .retry_after_ms = (g.retry_after_ns + 999999) / 1000000,
        };
        audit_log(cfg->audit_path, &ev);
    }
    errno = saved;
    return g.admit ? 0 : EPERM;
}
