#include "gate.h"

#include "../pure/hash.h"
#include "../store/state.h"

#include <errno.h>
#include <string.h>

uint64_t gate_agent_id(const char *agent)
{
    return fnv64_str(FNV64_OFFSET, agent);
}

static uint64_t entry_key(uint64_t agent_id, uint64_t policy_id)
{
    return fnv64_bytes(agent_id, &policy_id, sizeof policy_id);
}

uint64_t gate_bucket_key(uint64_t agent_id, const struct tool *tool)
{
    return entry_key(agent_id, tool->rate_id);
}

uint64_t gate_tool_quota_key(uint64_t agent_id, const struct tool *tool)
{
    return entry_key(agent_id, tool->quota_id);
}

uint64_t gate_agent_quota_key(uint64_t agent_id, const struct quota_spec *q)
{
    uint64_t numbers[] = {q->policy.max_actions, q->policy.slot_ns};
    return fnv64_bytes(fnv64_str(agent_id, "agent-quota"), numbers, sizeof numbers);
}

static bool observing(const struct enact_config *cfg)
{
    return cfg && cfg->mode == MODE_OBSERVE;
}

static struct gate_result allow(const struct enact_config *cfg)
{
    return (struct gate_result){
        .action = GATE_PROCEED, .audit = cfg->log_allowed, .verdict = "allow"};
}

/* A call that would be refused: observe mode lets it through and says so. */
static struct gate_result refuse(const struct enact_config *cfg, int err, const char *reason,
                                 uint64_t retry_after_ns)
{
    bool watch = observing(cfg);
    return (struct gate_result){
        .action = watch ? GATE_PROCEED : GATE_REFUSE,
        .err = watch ? 0 : err,
        .audit = true,
        .verdict = watch ? "would_deny" : "deny",
        .reason = reason,
        .retry_after_ns = retry_after_ns,
    };
}

/* Enact itself cannot decide: on_error does, or, for a shared backend that
 * cannot answer, backend.on_down (local never gets here: the host's own
 * state decides). */
static struct gate_result undecidable(const struct enact_config *cfg, const struct tool *t,
                                      const char *reason)
{
    bool down = strcmp(reason, "backend_down") == 0;
    bool allows = down ? cfg->backend.on_down == ON_DOWN_ALLOW : cfg->on_error == ON_ERROR_ALLOW;
    /* The backend_down record said once that calls are allowed meanwhile. */
    if (allows)
        return (struct gate_result){.action = GATE_PROCEED,
                                    .audit = !down || cfg->log_allowed,
                                    .verdict = "error",
                                    .reason = reason};
    return refuse(cfg, t->deny_errno, reason, 0);
}

struct gate_result gate_decide(const struct enact_config *cfg, struct store store,
                               const struct gate_call *call)
{
    const struct tool *t = call->tool;
    if (config_simulates(cfg, t))
        return (struct gate_result){
            .action = GATE_SIMULATE, .audit = true, .verdict = "dry_run"};
    const struct quota_spec *aq = call->agent_quota;
    if (!t->rate_limited && !t->quota.enabled && !t->has_breaker && !aq)
        return allow(cfg);

    uint64_t id = call->agent_id;
    struct store_limits limits = {
        .breaker = t->has_breaker ? &t->breaker : NULL,
        .breaker_key = t->breaker_id,
        .rate = t->rate_limited ? &t->rate : NULL,
        .bucket_key = t->rate_limited ? gate_bucket_key(id, t) : 0,
        .tool_quota = t->quota.enabled ? &t->quota.policy : NULL,
        .tool_quota_key = t->quota.enabled ? gate_tool_quota_key(id, t) : 0,
        .agent_quota = aq ? &aq->policy : NULL,
        .agent_quota_key = aq ? gate_agent_quota_key(id, aq) : 0,
        .tool_quota_warns = t->quota.enabled && t->quota.warn_at >= 0,
        .tool_quota_warn = t->quota.warn_at >= 0 ? (uint32_t)t->quota.warn_at : 0,
        .agent_quota_warns = aq && aq->warn_at >= 0,
        .agent_quota_warn = aq && aq->warn_at >= 0 ? (uint32_t)aq->warn_at : 0,
    };
    struct store_now now = {.owner = call->owner, .mono_ns = call->mono_ns,
                            .real_ns = call->real_ns};
    struct store_admission a = store.ops->admit(store.impl, &limits, &now);
    if (a.answer == STORE_UNAVAILABLE)
        return undecidable(cfg, t, a.reason);
    if (a.answer == STORE_REFUSED) {
        struct gate_result r = refuse(cfg, t->deny_errno, a.reason, a.retry_after_ns);
        /* Every limit refusal ends by itself: one that ends within the
         * caller's patience is waited out, not recorded. */
        if (r.action == GATE_REFUSE && a.retry_after_ns > 0 &&
            a.retry_after_ns <= call->may_wait_ns) {
            r.wait_ns = a.retry_after_ns;
            r.audit = false;
        }
        return r;
    }
    struct gate_result r = allow(cfg);
    r.probe = a.probe;
    r.breaker = a.breaker;
    r.tool_quota_low = a.tool_quota_low;
    r.tool_quota_left = a.tool_quota_left;
    r.agent_quota_low = a.agent_quota_low;
    r.agent_quota_left = a.agent_quota_left;
    return r;
}

struct gate_result gate_killed(const struct tool *tool, const char *detail)
{
    return (struct gate_result){
        .action = GATE_REFUSE,
        .err = tool ? tool->deny_errno : EPERM,
        .audit = true,
        .verdict = "deny",
        .reason = "killed",
        .detail = detail,
    };
}

bool gate_needs_approval(const struct tool *t, enum impact_level level)
{
    switch (t->approve) {
    case APPROVE_ALWAYS: return true;
    case APPROVE_MEDIUM: return level >= IMPACT_MEDIUM;
    case APPROVE_HIGH: return level == IMPACT_HIGH;
    default: return false;
    }
}

struct gate_result gate_approval(const struct enact_config *cfg, const struct tool *t,
                                 enum approval_where where)
{
    struct gate_result r;
    switch (where) {
    case APPROVAL_GRANTED:
        return allow(cfg);
    case APPROVAL_REFUSED:
        r = refuse(cfg, t->deny_errno, "approval_denied", 0);
        r.detail = "a person denied it (enact deny)";
        return r;
    case APPROVAL_TIMED_OUT:
        if (t->approve_on_timeout == APPROVE_TIMEOUT_ALLOW) {
            r = allow(cfg);
            r.audit = true;
            r.reason = "approval_expired";
            r.detail = "no one answered in approve.timeout_seconds: approve.on_timeout = allow";
            return r;
        }
        r = refuse(cfg, t->deny_errno, "approval_expired", 0);
        r.detail = "no one answered in approve.timeout_seconds: approve.on_timeout = deny";
        return r;
    case APPROVAL_WAITING:
        r = refuse(cfg, t->deny_errno, "approval_pending", 0);
        r.audit = false; /* its approval_requested record said so */
        return r;
    case APPROVAL_STOPPED:
        return gate_killed(t, "a kill switch was turned on while the call waited for approval");
    case APPROVAL_OBSERVED:
        r = refuse(cfg, t->deny_errno, "approval_pending", 0);
        r.detail = "observe mode: this call would have waited for enact approve";
        return r;
    default:
        r = undecidable(cfg, t, "state_error");
        r.detail = "no request for approval could be held (no state, or every slot in use)";
        return r;
    }
}

struct gate_result gate_without_config(void)
{
    return (struct gate_result){.action = GATE_REFUSE, .err = EPERM, .verdict = "deny"};
}

struct gate_result gate_unfollowable(const struct enact_config *cfg, const char *reason)
{
    if (!cfg || !config_checks_programs(cfg))
        return (struct gate_result){.action = GATE_PROCEED, .verdict = "allow"};
    /* A program that could not be read may be static or not: under deny,
     * on_error decides, as for any call Enact cannot decide; strict mode
     * refuses whatever it cannot follow. */
    bool unknown = strcmp(reason, "unreadable_program") == 0;
    bool under_deny = cfg->static_binaries == STATIC_DENY;
    bool deny = cfg->strict || (under_deny && !(unknown && cfg->on_error == ON_ERROR_ALLOW));
    struct gate_result r = deny ? refuse(cfg, EPERM, reason, 0)
                                : (struct gate_result){
                                      .action = GATE_PROCEED,
                                      .audit = true,
                                      .verdict = unknown && under_deny ? "error" : "allow",
                                      .reason = reason,
                                  };
    r.detail = unknown ? "the program could not be read before it starts, so whether the "
                         "preload can follow it is not known"
                       : "the preload cannot follow this program: its own calls are not governed";
    return r;
}

struct gate_result gate_strict_syscall(const struct enact_config *cfg)
{
    struct gate_result r = refuse(cfg, ENOSYS, "strict", 0);
    r.detail = "strict = true: io_uring performs calls the preload cannot see";
    return r;
}

struct gate_result gate_strict_call(const struct enact_config *cfg, const char *detail)
{
    struct gate_result r = refuse(cfg, 0, "strict", 0);
    r.detail = detail;
    return r;
}

bool gate_trusts_state(const struct enact_config *cfg, char *why, size_t cap)
{
    return !cfg->strict || state_is_private(cfg->state_path, why, cap);
}

void gate_report(struct store store, const struct tool *tool, int32_t owner, uint64_t mono_ns,
                 enum call_outcome outcome, struct breaker_event *ev)
{
    ev->changed = false;
    if (!tool->has_breaker)
        return;
    struct store_now now = {.owner = owner, .mono_ns = mono_ns};
    store.ops->report(store.impl, &tool->breaker, tool->breaker_id, &now, outcome, ev);
}
