#include "approval.h"

#include "identity.h"
#include "real.h"
#include "../pure/argv_text.h"
#include "../pure/hash.h"
#include "../pure/jsonw.h"
#include "../store/clock.h"
#include "../store/state_control.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_STEP_NS (UINT64_C(50) * 1000000u)

/* What a held call is, for people and for finding it again. */
struct held_call {
    struct impact im;
    char what[APPROVAL_WHAT_MAX];
    uint64_t hash;
};

/* A request's bytes as a line people can read: line breaks and other
 * control bytes become spaces ("*1 $8 FLUSHALL", "DELETE /items/3 HTTP/1.1
 * Host: ..."). */
static void readable(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        char ch = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : ' ';
        if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
            continue;
        out[k++] = ch;
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
}

/* False for a call approvals do not look at: a connect (its requests are). */
static bool describe(const struct enact_config *cfg, const struct call *c, struct held_call *h)
{
    if (c->argv) {
        h->im = impact_of_exec(c->target, c->argv, &cfg->impact);
        argv_text(c->argv, h->what, sizeof h->what);
    } else if (c->payload) {
        h->im = impact_of_payload(c->payload, c->payload_len, &cfg->impact);
        readable(c->payload, c->payload_len, h->what, sizeof h->what);
    } else {
        return false;
    }
    /* The process's own: a retried call is found again, another process's
     * same call is a request of its own. */
    pid_t pid = shim_pid();
    uint64_t h0 = fnv64_bytes(c->tool->id, &pid, sizeof pid);
    h->hash = fnv64_str(fnv64_str(h0, c->target ? c->target : ""), h->what);
    return true;
}

static void request_text(uint64_t id, char out[9])
{
    snprintf(out, 9, "%08llx", (unsigned long long)(id & 0xffffffffu));
}

/* An approval record about the call: approval_requested, expired. */
static void record(const struct call *c, const struct approval_env *env,
                   const struct held_call *h, const char *verdict, uint64_t id,
                   const char *detail)
{
    char rid[9];
    request_text(id, rid);
    struct audit_event rec = env->base(c);
    rec.verdict = verdict;
    rec.request = rid;
    rec.impact = impact_level_name(h->im.level);
    rec.impact_reason = h->im.reason;
    rec.would_execute = h->what;
    rec.argv = NULL;
    rec.detail = detail;
    env->write(&rec);
}

/* The request as JSON, for approve.command. */
static size_t request_json(const struct enact_config *cfg, const struct call *c,
                           const struct approval_env *env, const struct held_call *h,
                           uint64_t id, uint64_t since_ns, char *buf, size_t cap)
{
    char rid[9];
    request_text(id, rid);
    struct jsonw w;
    jw_init(&w, buf, cap);
    jw_object_begin(&w);
    jw_string(&w, "request", rid, 16);
    jw_string(&w, "agent", env->agent, 100);
    jw_string(&w, "tool", c->tool->name, 100);
    jw_string(&w, "op", c->op, 16);
    jw_string(&w, "impact", impact_level_name(h->im.level), 16);
    jw_string(&w, "impact_reason", h->im.reason, 100);
    jw_string(&w, "would_execute", h->what, APPROVAL_WHAT_MAX);
    if (c->target)
        jw_string(&w, "target", c->target, 300);
    jw_int(&w, "pid", shim_pid());
    jw_timestamp(&w, "since", since_ns);
    jw_uint(&w, "timeout_seconds", (uint64_t)c->tool->approve_timeout_seconds);
    jw_string(&w, "config", cfg->path, 1024);
    jw_object_end(&w);
    jw_raw(&w, "\n", 1);
    return jw_ok(&w) ? w.len : 0;
}

/* The runner: a process of its own session whose parent is gone, with
 * the request on stdin and nothing else of the agent's open. It runs
 * with this process's environment, which holds none of the shim's
 * variables (env.h): the command is not governed. */
_Noreturn static void run_command(const char *cmd, const char *json, size_t len, uint64_t id)
{
    int p[2];
    if (pipe(p) != 0)
        _exit(127);
    /* A request is far smaller than a pipe's buffer: this never blocks. */
    (void)!real.write(p[1], json, len);
    real.dup2(p[0], 0);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        real.dup2(null, 1);
        real.dup2(null, 2);
    }
    real.syscall(SYS_close_range, 3L, (long)~0u, 0L);
    setsid();
    char rid[9];
    request_text(id, rid);
    char *argv[] = {(char *)cmd, rid, NULL};
    real.execve(cmd, argv, environ);
    _exit(127);
}

/* Starts approve.command for the request, as watchdog.c starts its
 * watchdog: an intermediate clone with no exit signal (invisible to
 * wait(-1), reaped here with __WCLONE) clones the runner and exits,
 * leaving it to init. Raw clones: no atfork handler runs; vfork-safe. */
static void notify(const struct enact_config *cfg, const struct call *c,
                   const struct approval_env *env, const struct held_call *h, uint64_t id,
                   uint64_t since_ns)
{
    if (!c->tool->approve_command)
        return;
    char json[4096]; /* each string is capped below (jw_string): they fit together */
    size_t len = request_json(cfg, c, env, h, id, since_ns, json, sizeof json);
    if (len == 0)
        return;
    long mid = real.syscall(SYS_clone, 0L /* no exit signal */, 0L, 0L, 0L, 0L);
    if (mid == 0) {
        if (real.syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L) == 0)
            run_command(c->tool->approve_command, json, len, id);
        _exit(0);
    }
    if (mid > 0)
        while (real.wait4((pid_t)mid, NULL, __WCLONE, NULL) < 0 && errno == EINTR)
            ;
}

/* Holds a new request; APPROVAL_NO_ROOM when it cannot be. */
static bool open_request(const struct enact_config *cfg, struct state_map *m,
                         const struct call *c, const struct approval_env *env,
                         const struct held_call *h, struct approval_ticket *t)
{
    uint64_t now = clock_now_ns(CLOCK_REALTIME);
    double timeout = c->tool->approve_timeout_seconds;
    struct approval_request rq = {
        .pid = shim_pid(),
        .boot_ns = clock_now_ns(CLOCK_BOOTTIME),
        .agent_id = env->agent_id,
        .tool_id = c->tool->id,
        .call_hash = h->hash,
        .since_ns = now,
        .deadline_ns = now + (uint64_t)(timeout * 1e9),
        .impact = (uint32_t)h->im.level,
        .agent = env->agent,
        .tool = c->tool->name,
        .op = c->op,
        .what = h->what,
        .impact_reason = h->im.reason,
    };
    if (!m || !state_approval_open(m, &rq, t))
        return false;
    char rid[9], detail[200];
    request_text(t->id, rid);
    snprintf(detail, sizeof detail,
             "waits up to %g s for a person: enact approve %s (or enact deny %s)", timeout, rid,
             rid);
    record(c, env, h, "approval_requested", t->id, detail);
    notify(cfg, c, env, h, t->id, now);
    return true;
}

/* What an answered request means for the call; its slot is let go. */
static enum approval_where taken(struct state_map *m, struct approval_ticket t,
                                 enum approval_state s)
{
    state_approval_close(m, t);
    return s == APPROVAL_APPROVED ? APPROVAL_GRANTED
           : s == APPROVAL_DENIED ? APPROVAL_REFUSED
                                  : APPROVAL_TIMED_OUT;
}

/* The deadline passed: the request expires, unless a person answered it
 * a moment ago. */
static enum approval_where expire(struct state_map *m, const struct call *c,
                                  const struct approval_env *env, const struct held_call *h,
                                  struct approval_ticket t)
{
    if (state_approval_answer(m, t.id, APPROVAL_EXPIRED, 0, NULL, clock_now_ns(CLOCK_REALTIME),
                              NULL)) {
        char detail[160];
        snprintf(detail, sizeof detail, "no answer within approve.timeout_seconds = %g: "
                 "approve.on_timeout = %s", c->tool->approve_timeout_seconds,
                 c->tool->approve_on_timeout == APPROVE_TIMEOUT_ALLOW ? "allow" : "deny");
        record(c, env, h, "expired", t.id, detail);
        state_approval_close(m, t);
        return APPROVAL_TIMED_OUT;
    }
    struct approval_slot a;
    enum approval_state s = state_approval_get(m, t, &a);
    return s == APPROVAL_PENDING || s == APPROVAL_FREE ? APPROVAL_TIMED_OUT : taken(m, t, s);
}

/* Where the request stands now, for a caller that waits no longer:
 * APPROVAL_WAITING while pending. */
static enum approval_where look(struct state_map *m, const struct call *c,
                                const struct approval_env *env, const struct held_call *h,
                                struct approval_ticket t)
{
    struct approval_slot a;
    enum approval_state s = state_approval_get(m, t, &a);
    if (s == APPROVAL_FREE)
        return APPROVAL_TIMED_OUT; /* its slot was taken over: abandoned */
    if (s != APPROVAL_PENDING)
        return taken(m, t, s);
    return clock_now_ns(CLOCK_REALTIME) >= a.deadline_ns ? expire(m, c, env, h, t)
                                                         : APPROVAL_WAITING;
}

/* Sleeps until the request is answered or expires. A request's sleep
 * interrupted by a signal hands EINTR back (*interrupted): its retry
 * finds the request again; a program start waits on. */
static enum approval_where wait_for(struct state_map *m, const struct call *c,
                                    const struct approval_env *env, const struct held_call *h,
                                    struct approval_ticket t, bool *interrupted)
{
    for (;;) {
        /* A state file removed or cut short meanwhile must not be read
         * through the old mapping (SIGBUS): the request is lost, and
         * on_error decides. */
        if (!state_still_valid(m, env->state_path))
            return APPROVAL_NO_ROOM;
        enum approval_where w = look(m, c, env, h, t);
        if (w != APPROVAL_WAITING)
            return w;
        struct kill_slot k;
        if (state_kill_find(m, env->agent_id, c->tool->id, &k)) {
            state_approval_answer(m, t.id, APPROVAL_EXPIRED, 0, "killed",
                                  clock_now_ns(CLOCK_REALTIME), NULL);
            state_approval_close(m, t);
            return APPROVAL_STOPPED;
        }
        struct timespec step = {0, (long)WAIT_STEP_NS};
        if (nanosleep(&step, NULL) != 0 && errno == EINTR && c->payload) {
            *interrupted = true;
            return APPROVAL_WAITING;
        }
    }
}

bool approval_hold(const struct enact_config *cfg, struct state_map *m, const struct call *c,
                   const struct approval_env *env, struct gate_result *g)
{
    struct held_call h;
    if (c->tool->approve == APPROVE_NEVER || !describe(cfg, c, &h) ||
        !gate_needs_approval(c->tool, h.im.level))
        return false;
    int saved = errno;
    enum approval_where where;
    struct approval_ticket t;
    bool interrupted = false;
    if (cfg->mode == MODE_OBSERVE)
        where = APPROVAL_OBSERVED;
    else if (m && state_approval_find_call(m, env->agent_id, c->tool->id, h.hash, &t))
        where = c->nonblocking ? look(m, c, env, &h, t)
                               : wait_for(m, c, env, &h, t, &interrupted);
    else if (!open_request(cfg, m, c, env, &h, &t))
        where = APPROVAL_NO_ROOM;
    else
        where = c->nonblocking ? APPROVAL_WAITING : wait_for(m, c, env, &h, t, &interrupted);
    *g = gate_approval(cfg, c->tool, where);
    if (interrupted) {
        g->err = EINTR;
        g->audit = false;
    }
    errno = saved;
    return true;
}
