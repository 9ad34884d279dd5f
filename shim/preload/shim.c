#include "shim.h"

#include "approval.h"
#include "config_watch.h"
#include "env.h"
#include "identity.h"
#include "layout.h"
#include "on_fork.h"
#include "real.h"
#include "strict_filter.h"
#include "../policy/backend.h"
#include "../policy/config_errno.h"
#include "../policy/config_match.h"
#include "../policy/gate.h"
#include "../pure/argv_text.h"
#include "../pure/text.h"
#include "../store/clock.h"
#include "../store/local_store.h"
#include "../store/redis_kills.h"
#include "../store/state.h"
#include "../store/state_control.h"
#include "../store/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How many times one process maps its state file again after finding it
 * broken or replaced; old mappings stay mapped (a thread may still be
 * reading one), so this bounds what a process can leak. */
#define STATE_MAPS 4

/* In the order a start writes it: the small fields, then the first map
 * (whose path comes last), on one page (layout.h). */
static struct {
    bool governed;
    /* NULL when governed but broken. Replaced by an atomic store when
     * the INI is edited (config_watch.h); what it pointed to stays valid. */
    const struct enact_config *_Atomic cfg;
    unsigned maps_used;
    struct state_map *state; /* the current one of maps[], or NULL */
    char agent[65];
    uint64_t agent_id;
    /* The process this program was started in: a fork or vfork child that
     * has not exec'd (a subshell, python's subprocess) still holds its
     * program's pid here, not its own. */
    pid_t program_pid;
    bool fleet;               /* limits on a shared backend (README "Running a fleet") */
    struct state_map maps[STATE_MAPS];
    struct redis_store redis; /* its connections and health, when fleet */
} proc BIG_TABLE __attribute__((aligned(4096)));

static __thread int in_enact __attribute__((tls_model("initial-exec")));

/* Writes a record; one that cannot be written is counted in the state
 * file (enact status shows it) and never fails or blocks the call. */
static void write_record(const struct audit_event *rec)
{
    int err = proc.cfg ? audit_log(proc.cfg->audit_path, rec) : 0;
    struct state_map *m = err ? __atomic_load_n(&proc.state, __ATOMIC_ACQUIRE) : NULL;
    if (m)
        state_note_audit_failure(m, err);
}

static void say(const char *text)
{
    (void)!real.write(2, text, strlen(text));
}

/* The agent is who spends the limits: -a / ENACT_AGENT, else [enact]
 * agent, else this program's name, which is then handed down (env.c) so
 * that the agent's children spend from the same buckets. */
static void choose_agent(const struct enact_config *cfg, const char *env)
{
    const char *name = env && *env ? env : cfg && cfg->agent ? cfg->agent
                                                             : program_invocation_short_name;
    struct text t = text_at(proc.agent, sizeof proc.agent);
    text_str(&t, name);
    proc.agent_id = gate_agent_id(proc.agent);
}

/* A record about the process itself rather than one call of it. */
static struct audit_event process_record(const char *verdict, const char *detail)
{
    return (struct audit_event){
        .unix_ns = clock_now_ns(CLOCK_REALTIME),
        .pid = shim_pid(),
        .agent = proc.agent,
        .exe = program_invocation_short_name,
        .verdict = verdict,
        .detail = detail,
    };
}

/* An edit of the INI this process cannot follow (config_watch.h). */
static void config_problem(const char *what)
{
    struct audit_event ev = process_record("error", what);
    ev.reason = "config_error";
    write_record(&ev);
}

static void audit_state_problem(const char *what)
{
    struct audit_event ev = process_record("error", what);
    ev.reason = "state_error";
    write_record(&ev);
}

/* strict = true: the kernel refuses io_uring from here on, in this process
 * and all it starts (strict_filter.h). Where it cannot, the hooks still
 * refuse io_uring through syscall(), and the log says what is left open,
 * once per process that finds it so. */
static void close_io_uring(void)
{
    int saved = errno; /* the program starts with the errno it had */
    if (strict_filter_install() != STRICT_FILTER_FAILED)
        return;
    char what[240];
    snprintf(what, sizeof what,
             "strict = true: the kernel filter that refuses io_uring could not be installed "
             "(%s); io_uring set up past syscall() (inline asm) is not refused",
             strerror(errno));
    struct audit_event ev = process_record("error", what);
    ev.reason = "strict";
    write_record(&ev);
    errno = saved;
}

/* The parent's pid by the syscall() found at start: getppid() is called
 * by nothing else at start, and its first call cost about 700
 * instructions of the loader's binding for the same system call. */
static pid_t parent_pid(void)
{
    real_ensure();
    return (pid_t)real.syscall(SYS_getppid);
}

/* Notes this process among the governed ones (enact ps, enact kill
 * --signal): at start, after each exec (the same pid, a new program) and
 * in each forked child. */
static void register_process(struct state_map *m)
{
    state_proc_register(m, &(struct proc_entry){
                               .pid = shim_pid(),
                               .parent = parent_pid(),
                               .uid = sys_getuid(),
                               .boot_ns = clock_now_ns_syscall(CLOCK_BOOTTIME),
                               .real_ns = clock_now_ns_syscall(CLOCK_REALTIME),
                               .agent_id = proc.agent_id,
                               .agent = proc.agent,
                               .program = program_invocation_short_name,
                           });
}

static void registered_forked(void)
{
    struct state_map *m = __atomic_load_n(&proc.state, __ATOMIC_ACQUIRE);
    if (m && proc.cfg && state_still_valid(m, proc.cfg->state_path))
        register_process(m);
}

/* Maps the state file into the next of proc.maps and makes it current.
 * why: what was wrong with the previous mapping, or NULL at start. */
static struct state_map *map_state(const struct enact_config *cfg, const char *why)
{
    unsigned k = __atomic_fetch_add(&proc.maps_used, 1, __ATOMIC_ACQ_REL);
    if (k >= STATE_MAPS)
        return NULL; /* the gate decides without state from now on */
    struct state_map *m = &proc.maps[k];
    char msg[512];
    if (!gate_trusts_state(cfg, msg, sizeof msg)) {
        audit_state_problem(msg);
        return NULL;
    }
    struct state_sizes sizes = config_state_sizes(cfg);
    enum state_open_result r = state_open(cfg->state_path, &sizes, m, msg, sizeof msg);
    if (r != STATE_OPENED || why) {
        char detail[768];
        snprintf(detail, sizeof detail, "%s%s%s", why ? why : "", why && msg[0] ? ": " : "",
                 msg);
        audit_state_problem(detail);
    }
    if (r == STATE_FAILED)
        return NULL;
    state_agent_record(m, proc.agent_id, proc.agent);
    register_process(m);
    __atomic_store_n(&proc.state, m, __ATOMIC_RELEASE);
    return m;
}

/* The state to decide with: mapped again when the file was removed,
 * replaced, truncated or scribbled over since (a truncated mapping would
 * fault on its next access). NULL when it cannot be had. */
static struct state_map *current_state(const struct enact_config *cfg)
{
    struct state_map *m = __atomic_load_n(&proc.state, __ATOMIC_ACQUIRE);
    if (m && state_still_valid(m, cfg->state_path))
        return m;
    /* Never mapped: the failure to open it says why, not "while in use". */
    return map_state(cfg, m ? "the state file was removed, replaced or damaged while in use"
                            : NULL);
}

/* The host's own store, for on_down = local and the audit failure count. */
static struct store host_store(void *cfg)
{
    return local_store(current_state(cfg));
}

static void fleet_forked(void)
{
    redis_store_forked(&proc.redis);
}

/* Nothing connects here: the first mapped call does. */
static void start_fleet(const struct enact_config *cfg)
{
    struct redis_options opt;
    backend_options(cfg, proc.agent, &opt);
    uint64_t nonce = 0;
    /* Through syscall(): getrandom alone would make the shim need
     * GLIBC_2.25, a version the loader checks at every start. */
    if (real.syscall(SYS_getrandom, (long)&nonce, (long)sizeof nonce, (long)GRND_NONBLOCK) !=
        (long)sizeof nonce)
        nonce = clock_now_ns(CLOCK_REALTIME) ^ ((uint64_t)shim_pid() << 32);
    redis_store_init(&proc.redis, &opt, (struct redis_fallback){host_store, (void *)cfg}, nonce);
    on_fork_child(fleet_forked);
    proc.fleet = true;
}

/* Where this process's limits are decided; m: this host's current state. */
static struct store limits_store(struct state_map *m)
{
    return proc.fleet ? redis_store(&proc.redis) : local_store(m);
}

/* The backend went down or came back: one record per process per change,
 * saying what decides calls meanwhile. */
static void record_backend_change(void)
{
    bool up;
    char why[192];
    if (!proc.fleet || !redis_store_health_change(&proc.redis, &up, why, sizeof why))
        return;
    static const char *const fallback[] = {
        [ON_DOWN_LOCAL] = "; until it answers, this host's state file keeps every limit "
                          "(backend.on_down = local)",
        [ON_DOWN_DENY] = "; until it answers, mapped calls are refused (backend.on_down = deny)",
        [ON_DOWN_ALLOW] = "; until it answers, mapped calls are allowed (backend.on_down = allow)",
    };
    char where[300], detail[600];
    redis_url_where(&proc.redis.opt.url, where, sizeof where);
    snprintf(detail, sizeof detail, "%s%s", up ? "decisions are the backend's again" : why,
             up ? "" : fallback[proc.cfg->backend.on_down]);
    struct audit_event ev = process_record(up ? "backend_up" : "backend_down", detail);
    ev.op = "backend";
    ev.target = where;
    write_record(&ev);
}

const struct enact_config *shim_start(const struct env_start *env)
{
    const char *path = env->config;
    proc.governed = true;
    proc.program_pid = shim_pid();
    char mode[16] = "";
    if (env->mode) {
        struct text t = text_at(mode, sizeof mode);
        text_str(&t, env->mode);
    }
    struct config_diag diag;
    /* The compiled image when one matches the INI: no parse at start. */
    struct enact_config *cfg = config_watch_load(path, real.shim_build, &diag);
    choose_agent(cfg, env->agent);
    /* Children get the config by absolute path: a relative one would name
     * another file once a child changes folder. */
    env_init(cfg ? cfg->path : path, proc.agent, mode);
    if (!cfg) {
        say("enact: cannot load the configuration; every connect and exec will be refused:\n");
        for (size_t i = 0; i < diag.n; i++) {
            say("enact: ");
            say(diag.lines[i]);
            say("\n");
        }
        config_diag_free(&diag);
        return NULL;
    }
    if (strcmp(mode, "observe") == 0)
        cfg->mode = MODE_OBSERVE;
    proc.cfg = cfg;
    config_watch_start(&proc.cfg, strcmp(mode, "observe") == 0, config_problem);
    if (cfg->strict)
        close_io_uring();
    map_state(cfg, NULL);
    on_fork_child(registered_forked);
    if (backend_is_shared(cfg))
        start_fleet(cfg);
    return cfg;
}

void shim_stop(void)
{
    struct state_map *m = __atomic_load_n(&proc.state, __ATOMIC_ACQUIRE);
    if (proc.cfg && m && state_still_valid(m, proc.cfg->state_path))
        state_proc_leave(m, shim_pid());
}

const struct enact_config *shim_config(void)
{
    return proc.cfg;
}

struct state_map *shim_state(void)
{
    return proc.cfg ? current_state(proc.cfg) : NULL;
}

static inline bool enter(const struct enact_config **cfg, bool look)
{
    real_ensure();
    if (!proc.governed || in_enact)
        return false;
    in_enact = 1;
    if (look)
        config_watch_tick(true);
    *cfg = proc.cfg;
    return true;
}

bool shim_enter(const struct enact_config **cfg)
{
    return enter(cfg, true);
}

bool shim_enter_held(const struct enact_config **cfg)
{
    return enter(cfg, false);
}

void shim_leave(void)
{
    in_enact = 0;
}

/* The fields every record of this process shares. */
/* The program that started the caller (README "The audit log",
 * "parent"): the one it is a copy of, when it is a fork that has not
 * exec'd, else its parent. A call decided for another process
 * (posix_spawn's child, decided in the parent) names that process, and
 * this program as what started it. */
static struct audit_event record_for(const struct call *c)
{
    pid_t self = shim_pid();
    bool other = c->pid && c->pid != self;
    pid_t parent = other || proc.program_pid != self ? proc.program_pid : getppid();
    return (struct audit_event){
        .unix_ns = clock_now_ns(CLOCK_REALTIME),
        .pid = other ? c->pid : self,
        .parent = parent,
        .agent = proc.agent,
        .exe = program_invocation_short_name,
        .op = c->op,
        .tool = c->tool ? c->tool->name : NULL,
        .target = c->target,
        .host = c->host,
        .argv = c->argv,
    };
}

static void record_breaker_change(const struct call *c, const struct breaker_event *ev)
{
    if (!ev->changed)
        return;
    struct audit_event rec = record_for(c);
    rec.argv = NULL;
    rec.verdict = "breaker";
    rec.from = breaker_state_name(ev->from);
    rec.to = breaker_state_name(ev->to);
    write_record(&rec);
}

/* The errno a record names: a tool's (config_errno_name) or strict mode's. */
static const char *errno_name(int err)
{
    return err == ENOSYS ? "ENOSYS" : config_errno_name(err);
}

/* The record of a verdict, when one is due. A simulated program start
 * says what would have run; a simulated connection's record waits for
 * what it sends (shim_simulated). */
static void record_verdict(const struct call *c, const struct gate_result *g)
{
    if (!g->audit || c->quiet || (g->action == GATE_SIMULATE && c->defer_dry_run))
        return;
    struct audit_event rec = record_for(c);
    rec.verdict = g->verdict;
    rec.reason = g->reason;
    rec.detail = g->detail;
    rec.errno_name = g->err ? errno_name(g->err) : NULL;
    rec.has_retry_after = g->retry_after_ns > 0;
    rec.retry_after_ms = (g->retry_after_ns + 999999) / 1000000;
    char line[512];
    struct impact im; /* rec.impact_reason may point into it */
    if (g->action == GATE_SIMULATE) {
        im = c->argv ? impact_of_exec(c->target, c->argv, &proc.cfg->impact)
                     : (struct impact){.level = IMPACT_UNKNOWN, .reason = "nothing sent"};
        argv_text(c->argv, line, sizeof line);
        rec.would_execute = c->argv ? line : c->target;
        rec.impact = impact_level_name(im.level);
        rec.impact_reason = im.reason;
    }
    write_record(&rec);
}

static struct decision act_on(const struct gate_result *g)
{
    return (struct decision){
        .action = g->action, .err = g->err, .wait_ns = g->wait_ns, .probe = g->probe};
}

/* The kill switch that stops this agent's call to t (NULL: an unmapped
 * call), this host's or the fleet's, with the words its record gives;
 * false when none is on. */
static bool killed(struct state_map *m, const struct tool *t, int32_t owner, uint64_t mono_ns,
                   char *detail, size_t cap)
{
    struct kill_slot k;
    uint64_t tool_id = t ? t->id : 0;
    if (state_kill_find(m, proc.agent_id, tool_id, &k)) {
        snprintf(detail, cap, "stopped by enact kill (uid %u)%s%s", (unsigned)k.uid,
                 k.reason[0] ? ": " : "", k.reason);
        return true;
    }
    uint32_t uid;
    char reason[REDIS_KILL_REASON_MAX];
    if (proc.fleet &&
        redis_kills_find(&proc.redis, proc.agent_id, tool_id, owner, mono_ns, &uid, reason,
                         sizeof reason)) {
        snprintf(detail, cap, "stopped by enact kill for the fleet (uid %u)%s%s", (unsigned)uid,
                 reason[0] ? ": " : "", reason);
        return true;
    }
    return false;
}

static void count_decision(struct state_map *m, const struct tool *t, const struct gate_result *g)
{
    if (m && t && !g->wait_ns)
        state_count_decision(m, t->id, t->name, verdict_kind_of(g->verdict),
                             reason_kind_of(g->reason));
}

/* A quota that has just fallen to quota.warn_remaining (once per window). */
static void record_quota_low(const struct call *c, const struct quota_spec *q, bool of_tool,
                             uint32_t left)
{
    struct audit_event rec = record_for(c);
    rec.argv = NULL;
    rec.target = NULL;
    rec.host = NULL;
    rec.tool = of_tool ? c->tool->name : NULL;
    rec.verdict = "quota_low";
    rec.reason = of_tool ? "tool_quota" : "agent_quota";
    rec.has_remaining = true;
    rec.remaining = left;
    rec.limit = q->max_actions;
    char detail[200];
    snprintf(detail, sizeof detail,
             "%u of %llu actions left in the rolling window of %g h (quota.warn_remaining = %s)",
             (unsigned)left, (unsigned long long)q->max_actions, q->window_hours,
             q->warn_remaining);
    rec.detail = detail;
    write_record(&rec);
}

struct decision shim_govern(const struct call *c)
{
    const struct enact_config *cfg = proc.cfg;
    if (!cfg || !c->tool) {
        struct gate_result g = gate_without_config();
        return act_on(&g);
    }
    int saved = errno;
    const struct quota_spec *aq = config_agent_quota(cfg, proc.agent);
    struct gate_call call = {
        .tool = c->tool,
        .agent_quota = aq,
        .agent_id = proc.agent_id,
        .owner = c->tid ? c->tid : shim_thread_id(),
        .mono_ns = clock_now_ns(CLOCK_MONOTONIC),
        .real_ns = clock_now_ns(CLOCK_REALTIME),
        .may_wait_ns = c->may_wait_ns,
    };
    struct state_map *m = current_state(cfg);
    char why[KILL_REASON_MAX + 64];
    struct gate_result g;
    bool counted = !c->approval_only;
    if (killed(m, c->tool, call.owner, call.mono_ns, why, sizeof why)) {
        g = gate_killed(c->tool, why);
        counted = true;
    } else if (c->approval_only) {
        /* The connect paid this request's limits: only approval is left. */
        g = gate_approval(cfg, c->tool, APPROVAL_GRANTED);
        g.audit = false;
    } else {
        g = gate_decide(cfg, limits_store(m), &call);
    }
    if (g.action == GATE_PROCEED && c->tool->approve != APPROVE_NEVER) {
        struct approval_env env = {.state_path = cfg->state_path,
                                   .agent = proc.agent, .agent_id = proc.agent_id,
                                   .base = record_for, .write = write_record};
        counted |= approval_hold(cfg, m, c, &env, &g);
    }
    record_backend_change();
    record_breaker_change(c, &g.breaker);
    record_verdict(c, &g);
    if (g.tool_quota_low)
        record_quota_low(c, &c->tool->quota, true, g.tool_quota_left);
    if (g.agent_quota_low && aq)
        record_quota_low(c, aq, false, g.agent_quota_left);
    if (counted)
        count_decision(m, c->tool, &g);
    errno = saved;
    return act_on(&g);
}

bool shim_may_stop_unmapped(void)
{
    const struct enact_config *cfg = proc.cfg;
    /* Checked first: a truncated file must not be read through its old
     * mapping (SIGBUS). */
    if (!cfg || cfg->kill_scope != KILL_SCOPE_ALL)
        return false;
    struct state_map *m = current_state(cfg);
    return (m && __atomic_load_n(&((struct state_header *)m->base)->kills_active,
                                 __ATOMIC_ACQUIRE)) ||
           proc.fleet;
}

int shim_unmapped_refusal(const struct call *c)
{
    int saved = errno;
    /* shim_may_stop_unmapped, just before, checked this mapping. */
    struct state_map *m = __atomic_load_n(&proc.state, __ATOMIC_ACQUIRE);
    char why[KILL_REASON_MAX + 64];
    int err = 0;
    if (killed(m, NULL, shim_thread_id(), clock_now_ns(CLOCK_MONOTONIC), why, sizeof why)) {
        struct gate_result g = gate_killed(NULL, why);
        record_verdict(c, &g);
        err = g.err;
    }
    errno = saved;
    return err;
}

void shim_simulated(const struct call *c, const char *text, size_t len, const struct impact *im)
{
    if (!proc.cfg || !c->tool)
        return;
    int saved = errno;
    struct audit_event rec = record_for(c);
    rec.verdict = "dry_run";
    rec.would_execute = len ? text : "";
    rec.would_execute_len = len;
    rec.impact = impact_level_name(im->level);
    rec.impact_reason = im->reason;
    write_record(&rec);
    errno = saved;
}

struct decision shim_unfollowable(const struct call *c, const char *reason)
{
    int saved = errno;
    struct gate_result g = gate_unfollowable(proc.cfg, reason);
    record_verdict(c, &g);
    if (proc.cfg)
        count_decision(current_state(proc.cfg), c->tool, &g);
    errno = saved;
    return act_on(&g);
}

void shim_outcome(const struct call *c, enum call_outcome outcome, int32_t owner)
{
    if (!proc.cfg || !c->tool || !c->tool->has_breaker)
        return;
    int saved = errno;
    struct breaker_event ev;
    struct state_map *m = current_state(proc.cfg);
    gate_report(limits_store(m), c->tool, owner, clock_now_ns(CLOCK_MONOTONIC), outcome, &ev);
    if (m && outcome != OUTCOME_NEUTRAL)
        state_count_outcome(m, c->tool->id, c->tool->name, outcome == OUTCOME_SUCCESS);
    record_backend_change();
    record_breaker_change(c, &ev);
    errno = saved;
}

void shim_note_host(const struct enact_config *cfg, const uint8_t addr[16], const char *name)
{
    struct state_map *m = cfg && cfg->has_name_rules ? current_state(cfg) : NULL;
    if (m)
        state_host_record(m, addr, name, shim_thread_id());
}

bool shim_host_of(const struct enact_config *cfg, const uint8_t addr[16], char *out, size_t cap)
{
    struct state_map *m = cfg && cfg->has_name_rules ? current_state(cfg) : NULL;
    return m && state_host_lookup(m, addr, out, cap);
}

bool shim_strict_refusal(const char *syscall_name)
{
    int saved = errno;
    struct gate_result g = gate_strict_syscall(proc.cfg);
    record_verdict(&(struct call){.op = "syscall", .target = syscall_name}, &g);
    errno = saved;
    return g.action == GATE_REFUSE;
}

bool shim_strict_call(const char *op, const char *target, const char *detail)
{
    int saved = errno;
    struct gate_result g = gate_strict_call(proc.cfg, detail);
    record_verdict(&(struct call){.op = op, .target = target}, &g);
    errno = saved;
    return g.action == GATE_REFUSE;
}

void shim_record(const struct call *c, const char *verdict, int err, uint64_t after_ns,
                 const char *detail)
{
    if (!proc.cfg || !c->tool)
        return;
    int saved = errno;
    struct audit_event rec = record_for(c);
    rec.verdict = verdict;
    rec.errno_name = err ? errno_name(err) : NULL;
    rec.has_retry_after = after_ns > 0;
    rec.retry_after_ms = (after_ns + 999999) / 1000000;
    rec.detail = detail;
    write_record(&rec);
    errno = saved;
}
