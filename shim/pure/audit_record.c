#include "audit_record.h"

#include "jsonw.h"

#include <string.h>

/* Output budgets in bytes, chosen so that the worst case fits
 * AUDIT_RECORD_MAX: keys, numbers and punctuation ~350, host 512 (connect
 * records, which have no argv), names x 128
 * (agent, exe, op, tool, verdict, reason, errno; or from, to, impact,
 * impact_reason in their own records), target 512, argv 1536 + one argument
 * of overshoot + separators, would_execute 512 (dry-run records, whose argv
 * it replaces), detail 256: under 4,000. */
#define NAME_MAX_OUT 128
#define TARGET_MAX_OUT 512
#define ARG_MAX_OUT 256
#define ARGV_MAX_OUT 1536
#define ARGV_MAX_ITEMS 64
#define DETAIL_MAX_OUT 256

static void optional_string(struct jsonw *w, const char *key, const char *v, size_t max_out)
{
    if (v)
        jw_string(w, key, v, max_out);
}

size_t audit_format(const struct audit_event *ev, char *buf, size_t cap)
{
    struct jsonw w;
    jw_init(&w, buf, cap);
    jw_object_begin(&w);
    jw_uint(&w, "v", 1);
    jw_timestamp(&w, "ts", ev->unix_ns);
    jw_int(&w, "pid", ev->pid);
    if (ev->parent > 0)
        jw_int(&w, "parent", ev->parent);
    optional_string(&w, "agent", ev->agent, NAME_MAX_OUT);
    optional_string(&w, "exe", ev->exe, NAME_MAX_OUT);
    optional_string(&w, "op", ev->op, NAME_MAX_OUT);
    optional_string(&w, "tool", ev->tool, NAME_MAX_OUT);
    bool truncated = false;
    if (ev->target && !jw_string(&w, "target", ev->target, TARGET_MAX_OUT))
        truncated = true;
    optional_string(&w, "host", ev->host, TARGET_MAX_OUT);
    if (ev->argv && !ev->would_execute) {
        size_t used = 0, i = 0;
        jw_array_begin(&w, "argv");
        for (; ev->argv[i] && i < ARGV_MAX_ITEMS; i++) {
            size_t before = w.len;
            if (!jw_string(&w, NULL, ev->argv[i], ARG_MAX_OUT))
                truncated = true;
            used += w.len - before;
            if (used > ARGV_MAX_OUT) {
                i++;
                break;
            }
        }
        if (ev->argv[i])
            truncated = true;
        jw_array_end(&w);
    }
    optional_string(&w, "verdict", ev->verdict, NAME_MAX_OUT);
    optional_string(&w, "reason", ev->reason, NAME_MAX_OUT);
    optional_string(&w, "errno", ev->errno_name, NAME_MAX_OUT);
    if (ev->has_retry_after)
        jw_uint(&w, "retry_after_ms", ev->retry_after_ms);
    optional_string(&w, "from", ev->from, NAME_MAX_OUT);
    optional_string(&w, "to", ev->to, NAME_MAX_OUT);
    if (ev->would_execute &&
        !jw_bytes(&w, "would_execute", ev->would_execute,
                  ev->would_execute_len ? ev->would_execute_len : strlen(ev->would_execute),
                  TARGET_MAX_OUT))
        truncated = true;
    optional_string(&w, "impact", ev->impact, NAME_MAX_OUT);
    optional_string(&w, "impact_reason", ev->impact_reason, NAME_MAX_OUT);
    if (ev->has_remaining) {
        jw_uint(&w, "remaining", ev->remaining);
        jw_uint(&w, "limit", ev->limit);
    }
    if (ev->has_uid)
        jw_uint(&w, "uid", ev->uid);
    optional_string(&w, "signal", ev->signal, NAME_MAX_OUT);
    optional_string(&w, "request", ev->request, NAME_MAX_OUT);
    if (ev->has_waited)
        jw_uint(&w, "waited_ms", ev->waited_ms);
    optional_string(&w, "detail", ev->detail, DETAIL_MAX_OUT);
    if (truncated)
        jw_bool(&w, "truncated", true);
    jw_object_end(&w);
    jw_raw(&w, "\n", 1);
    return jw_ok(&w) ? w.len : 0;
}
