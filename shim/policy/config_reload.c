#include "config_reload.h"

#include "config_cache.h"

#include <stdlib.h>
#include <string.h>

static bool same_file(const struct file_identity *a, const struct file_identity *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

struct enact_config *config_reload_first(struct config_reload *r, const char *path,
                                         uint64_t build, struct config_diag *diag,
                                         uint64_t now_ns)
{
    /* Unknown (a stat that failed and a load that did not): all ones
     * differs from any file, so the first look reads the INI again. */
    struct enact_config *cfg = config_cache_load(path, build, diag, &r->seen);
    r->build = build;
    r->busy = 0;
    r->replaced = 0;
    r->said_full = false;
    __atomic_store_n(&r->next_ns, cfg ? now_ns + CONFIG_RELOAD_PERIOD_NS : UINT64_MAX,
                     __ATOMIC_RELAXED);
    return cfg;
}

bool config_reload_claim(struct config_reload *r, uint64_t now_ns)
{
    int free_ = 0;
    if (!config_reload_due(r, now_ns) ||
        !__atomic_compare_exchange_n(&r->busy, &free_, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return false;
    /* Checked again under the claim: a thread that read the old time may
     * have lost the race to one that has just looked. */
    if (!config_reload_due(r, now_ns)) {
        config_reload_release(r);
        return false;
    }
    __atomic_store_n(&r->next_ns, now_ns + CONFIG_RELOAD_PERIOD_NS, __ATOMIC_RELAXED);
    return true;
}

void config_reload_release(struct config_reload *r)
{
    __atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
}

void config_reload_forked(struct config_reload *r)
{
    __atomic_store_n(&r->busy, 0, __ATOMIC_RELEASE);
}

/* What a process set up from its first config and keeps until it ends or
 * execs: the agent it spends as (handed to its children too), the state
 * file it mapped, where its records go, the backend it connected to, and
 * the state file's size. next borrows cur's strings (cur is never freed);
 * its own are freed, or live in its image. */
static void keep_process_fields(struct enact_config *next, const struct enact_config *cur,
                                bool observe)
{
    if (!next->image) {
        char *own[] = {next->agent, next->state_path, next->audit_path, next->backend.url,
                       next->backend.key_prefix, next->backend.password_file,
                       next->backend.password_env, next->backend.tls_ca_file};
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
            free(own[i]);
    }
    next->agent = cur->agent;
    next->state_path = cur->state_path;
    next->audit_path = cur->audit_path;
    next->backend = cur->backend;
    next->max_agents = cur->max_agents;
    if (observe)
        next->mode = MODE_OBSERVE;
}

enum config_reload_result config_reload_look(struct config_reload *r,
                                             const struct enact_config *cur, bool observe,
                                             bool may_parse, struct enact_config **out,
                                             struct config_diag *diag)
{
    *out = NULL;
    *diag = (struct config_diag){0};
    struct file_identity before, after;
    /* Missing: removed, or an editor's rename under way; kept meanwhile. */
    if (!file_identity_of(cur->path, &before) || same_file(&before, &r->seen))
        return RELOAD_SAME;
    if (r->replaced >= CONFIG_RELOAD_MAX) {
        bool say = !r->said_full;
        r->said_full = true;
        return say ? RELOAD_FULL : RELOAD_SAME;
    }
    struct enact_config *next = may_parse ? config_cache_load(cur->path, r->build, diag, NULL)
                                          : config_cache_image(cur->path, r->build);
    /* No image yet: a caller that may parse, or a new process, makes it. */
    if (!next && !may_parse)
        return RELOAD_SAME;
    /* Changed while it was read (written in place, not renamed over):
     * what was read may be half of it, so it is neither used nor
     * reported; the next look reads it whole. */
    if (!file_identity_of(cur->path, &after) || !same_file(&before, &after)) {
        config_free(next);
        config_diag_free(diag);
        return RELOAD_SAME;
    }
    r->seen = before;
    if (!next)
        return RELOAD_BROKEN;
    config_diag_free(diag); /* warnings: enact check's to print */
    keep_process_fields(next, cur, observe);
    r->replaced++;
    *out = next;
    return RELOAD_NEW;
}
