/* Reading a config file: inih plumbing with line numbers, sections, and
 * what needs the whole file. What each key means is in the key table
 * (config_keys.c). */
#include "config_diag.h"
#include "config_finish.h"
#include "config_keys.h"
#include "config_loader.h"
#include "../pure/hash.h"
#include "../pure/text.h"
#include "../store/file_read.h"
#include "../store/image_file.h"
#include "../store/state.h"
#include "../store/sys.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* inih's line buffer (INI_MAX_LINE) holds this many characters plus "\n\0";
 * longer lines would be split silently, so they are refused up front. */
#define MAX_LINE_CHARS (INI_MAX_LINE - 2)
#define MAX_FILE_BYTES (1u << 20)

/* inih keeps at most 49 characters of a section name, "tool." included. */
#define MAX_TOOL_NAME 44

/* ---- sections ------------------------------------------------------------- */

static bool valid_name(const char *s, size_t max)
{
    if (!*s || strlen(s) > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

static struct tool *find_or_add_tool(struct loader *ld, const char *name)
{
    struct enact_config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->ntools; i++)
        if (strcmp(cfg->tools[i].name, name) == 0)
            return &cfg->tools[i];
    struct tool *grown = realloc(cfg->tools, (cfg->ntools + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    cfg->tools = grown;
    struct tool *t = &cfg->tools[cfg->ntools];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return NULL;
    t->src.line = ld->section_line;
    cfg->ntools++;
    return t;
}

static struct agent_override *find_or_add_agent(struct loader *ld, const char *name)
{
    struct enact_config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->nagents; i++)
        if (strcmp(cfg->agents[i].name, name) == 0)
            return &cfg->agents[i];
    struct agent_override *grown = realloc(cfg->agents, (cfg->nagents + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    cfg->agents = grown;
    struct agent_override *a = &cfg->agents[cfg->nagents];
    memset(a, 0, sizeof *a);
    if (!(a->name = strdup(name)))
        return NULL;
    a->src.line = ld->section_line;
    cfg->nagents++;
    return a;
}

/* ---- inih plumbing ------------------------------------------------------- */

/* A [section] header, seen by read_line before inih parses it, so that a
 * problem is reported once, at the header, even for an empty section. */
static void on_section_header(struct loader *ld, const char *name)
{
    ld->section_bad = true;
    ld->tool = NULL;
    ld->agent = NULL;
    if (strcmp(name, "enact") == 0 || strcmp(name, "agent") == 0 ||
        strcmp(name, "impact") == 0) {
        ld->section_bad = false;
    } else if (strncmp(name, "tool.", 5) == 0 || strncmp(name, "agent.", 6) == 0) {
        bool tool = name[0] == 't';
        const char *id = name + (tool ? 5 : 6);
        if (!valid_name(id, MAX_TOOL_NAME))
            config_error(ld, ld->line,
                         "bad %s name '%s' (use letters, digits, '_', '-', '.'; at most %d)",
                         tool ? "tool" : "agent", id, MAX_TOOL_NAME);
        else if (tool ? !(ld->tool = find_or_add_tool(ld, id))
                      : !(ld->agent = find_or_add_agent(ld, id)))
            config_error(ld, ld->line, "out of memory");
        else
            ld->section_bad = false;
    } else {
        config_error(ld, ld->line,
                     "unknown section [%s] (expected [enact], [tool.NAME], [agent], "
                     "[agent.NAME] or [impact])",
                     name);
    }
}

/* A key of the section being read; [tool.NAME] and [agent.NAME] are named
 * with the whole NAME (inih cuts sections). */
static void section_key(struct loader *ld, const char *section, const char *name,
                        const char *value)
{
    struct enact_config *cfg = ld->cfg;
    if (ld->tool) {
        config_key_apply(ld, SECTION_TOOL, "tool.", ld->tool->name, ld->tool, &ld->tool->src,
                         name, value);
    } else if (ld->agent) {
        config_key_apply(ld, SECTION_AGENT, "agent.", ld->agent->name, &ld->agent->quota,
                         &ld->agent->src, name, value);
    } else if (strcmp(section, "agent") == 0) {
        config_key_apply(ld, SECTION_AGENT, "", section, &cfg->agent_quota, &cfg->agent_src,
                         name, value);
    } else if (strcmp(section, "impact") == 0) {
        config_key_apply(ld, SECTION_IMPACT, "", section, &cfg->impact, NULL, name, value);
    } else {
        config_key_apply(ld, SECTION_ENACT, "", "enact", cfg, &cfg->enact_src, name, value);
    }
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    if (ld->section_bad)
        ; /* its header was reported */
    else if (!*section)
        config_error(ld, ld->line,
                     "'%s' is outside any section; put it under [enact] or [tool.NAME]", name);
    else
        section_key(ld, section, name, value);
    return 1; /* keep going: report every problem in one pass */
}

/* inih reports only its first syntax error, so lines it will refuse are
 * found here too: every one is reported. */
static void syntax_error(struct loader *ld)
{
    config_error(ld, ld->line, "syntax error: expected '[section]', 'key = value' or a comment");
    ld->syntax_errors++;
}

/* Feeds inih one line at a time from memory, counting lines. Leading
 * blanks are dropped: inih would take an indented key for the continuation
 * of the previous value. */
struct mem_stream {
    const char *pos, *end;
    struct loader *ld;
};

static char *read_line(char *out, int size, void *stream)
{
    struct mem_stream *ms = stream;
    while (ms->pos < ms->end && (*ms->pos == ' ' || *ms->pos == '\t'))
        ms->pos++;
    if (ms->pos >= ms->end || size < 2)
        return NULL;
    size_t n = 0;
    while (ms->pos < ms->end && n < (size_t)size - 1) {
        char c = *ms->pos++;
        out[n++] = c;
        if (c == '\n')
            break;
    }
    out[n] = '\0';
    struct loader *ld = ms->ld;
    ld->line++;
    if (out[0] == '[') {
        ld->section_line = ld->line;
        char *close = strchr(out, ']');
        if (close) {
            *close = '\0';
            on_section_header(ld, out + 1);
            *close = ']';
        } else {
            ld->section_bad = true;
            syntax_error(ld);
        }
    } else if (out[0] != ';' && out[0] != '#' && out[0] != '\n' && out[0] != '\r' &&
               out[0] != '\0' && !strpbrk(out, "=:")) {
        syntax_error(ld);
    }
    return out;
}

/* Refuses what inih would silently mangle: NUL bytes and overlong lines. */
static bool prescan(struct loader *ld, const char *text, size_t len)
{
    unsigned line = 1;
    size_t col = 0;
    bool ok = true;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0') {
            config_error(ld, line, "NUL byte in the file: is this a text file?");
            return false;
        }
        if (text[i] == '\n') {
            line++;
            col = 0;
        } else if (++col == MAX_LINE_CHARS + 1) {
            config_error(ld, line, "line longer than %d characters; split the rule or shorten it",
                     MAX_LINE_CHARS);
            ok = false;
        }
    }
    return ok;
}

/* The whole file, NUL-terminated. Sized by fstat, read with read(2): this
 * runs at the start of every governed program, where a 1 MiB buffer was a
 * fresh mapping and its page faults. */
static char *slurp(struct loader *ld, const char *path, size_t *len)
{
    struct file_read_error e;
    char *text = file_read(path, FILE_READ_ANY, MAX_FILE_BYTES, len, &e);
    if (text)
        return text;
    switch (e.fail) {
    case FILE_READ_OPEN: config_error(ld, 0, "cannot open: %s", strerror(e.errnum)); break;
    case FILE_READ_TOO_LARGE:
        config_error(ld, 0, "larger than %u bytes: is this the right file?", MAX_FILE_BYTES);
        break;
    case FILE_READ_NOT_REGULAR:
        config_error(ld, 0, "cannot read: %s",
                     e.errnum ? strerror(e.errnum) : "not a regular file");
        break;
    case FILE_READ_NO_MEMORY:
    case FILE_READ_READ: config_error(ld, 0, "cannot read: %s", strerror(e.errnum)); break;
    }
    return NULL;
}

/* ---- after parsing: defaults and cross-key checks ------------------------ */

bool config_default_file(const char *config_abs_path, const char *suffix, char *out, size_t cap)
{
    /* Formed at every governed start (the image's name): without stdio
     * or basename(), each a first call for the loader to bind (a setuid
     * program's caller does not choose its folder either). */
    const char *xdg = sys_secure_getenv("XDG_RUNTIME_DIR");
    struct text t = text_at(out, cap);
    if (xdg && xdg[0] == '/') {
        text_str(&t, xdg);
        text_str(&t, "/enact");
    } else {
        text_str(&t, "/var/tmp/enact-");
        text_u64(&t, sys_getuid());
    }
    if (t.len >= PATH_MAX)
        return false;
    /* The last component as basename() has it (trailing slashes ignored),
     * without its extension unless the name is all extension. */
    const char *end = config_abs_path + strlen(config_abs_path);
    while (end > config_abs_path + 1 && end[-1] == '/')
        end--;
    const char *stem = end;
    while (stem > config_abs_path && stem[-1] != '/')
        stem--;
    if (stem == end) { /* basename() of "/" is "/", of "" is "." */
        stem = stem > config_abs_path ? stem - 1 : ".";
        end = stem + 1;
    }
    const char *dot = NULL;
    for (const char *p = stem + 1; p < end; p++)
        if (*p == '.')
            dot = p;
    if (dot)
        end = dot;
    text_str(&t, "/");
    text_bytes(&t, stem, (size_t)(end - stem) < 64 ? (size_t)(end - stem) : 64);
    text_str(&t, "-");
    text_hex32(&t, (uint32_t)fnv64_str(FNV64_OFFSET, config_abs_path));
    text_str(&t, suffix);
    return text_fits(&t);
}

bool config_default_state_path(const char *config_abs_path, char *out, size_t cap)
{
    /* The layout version in the name: a new enact build starts a file of
     * its own instead of refusing the old build's. */
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".v%u.state", STATE_VERSION);
    return config_default_file(config_abs_path, suffix, out, cap);
}

static bool finalize(struct loader *ld)
{
    struct enact_config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->ntools; i++)
        config_finish_tool(ld, &cfg->tools[i]);
    config_finish_quota(ld, &cfg->agent_quota, &cfg->agent_src, AK_QUOTA_MAX, AK_QUOTA_WINDOW,
                        AK_QUOTA_WARN, "[agent]");
    for (size_t i = 0; i < cfg->nagents; i++) {
        struct agent_override *a = &cfg->agents[i];
        char where[80];
        snprintf(where, sizeof where, "[agent.%s]", a->name);
        if (!a->src.key_line[AK_QUOTA_MAX] && !a->src.key_line[AK_QUOTA_WINDOW])
            config_error(ld, a->src.line, "%s sets nothing; give it %s", where,
                         config_key_name(AK_QUOTA_MAX));
        config_finish_quota(ld, &a->quota, &a->src, AK_QUOTA_MAX, AK_QUOTA_WINDOW,
                            AK_QUOTA_WARN, where);
    }
    config_finish_backend(ld, cfg);
    if (cfg->ntools == 0 && ld->errors == 0)
        config_error(ld, 0, "no [tool.NAME] section: nothing would be governed");
    if (!cfg->state_path) {
        char path[PATH_MAX];
        if (!config_default_state_path(cfg->path, path, sizeof path) ||
            !(cfg->state_path = strdup(path)))
            config_error(ld, 0, "cannot form a default state path; set [enact] state");
    }
    if (!cfg->audit_path && !(cfg->audit_path = config_resolve_path(ld, "enact-audit.jsonl")))
        config_error(ld, 0, "out of memory");
    if (ld->errors == 0 && !connect_index_build(&cfg->connect_index, cfg->tools, cfg->ntools))
        config_error(ld, 0, "out of memory");
    return ld->errors == 0;
}

struct enact_config *config_load(const char *path, struct config_diag *diag)
{
    struct loader ld = {.diag = diag, .display_path = path};
    if (diag)
        *diag = (struct config_diag){0};
    struct enact_config *cfg = calloc(1, sizeof *cfg);
    char *text = NULL;
    if (!cfg) {
        config_error(&ld, 0, "out of memory");
        return NULL;
    }
    ld.cfg = cfg;
    for (int k = 0; k < CONFIG_KEY_COUNT; k++)
        if (CONFIG_KEYS[k].section == SECTION_ENACT)
            config_key_default((enum config_key)k, cfg);
    cfg->path = realpath(path, NULL);
    if (!cfg->path) {
        config_error(&ld, 0, "cannot open: %s", strerror(errno));
        goto fail;
    }
    char dircopy[PATH_MAX];
    snprintf(dircopy, sizeof dircopy, "%s", cfg->path);
    if (!(ld.dir = strdup(dirname(dircopy)))) {
        config_error(&ld, 0, "out of memory");
        goto fail;
    }

    size_t len = 0;
    if (!(text = slurp(&ld, cfg->path, &len)) || !prescan(&ld, text, len))
        goto fail;
    struct mem_stream ms = {.pos = text, .end = text + len, .ld = &ld};
    int syntax_line = ini_parse_stream(read_line, &ms, on_entry, &ld);
    /* on_entry never fails, so a line inih reports is a syntax error;
     * read_line has already reported those it recognises. */
    if (syntax_line < 0)
        config_error(&ld, 0, "cannot parse (inih error %d)", syntax_line);
    else if (syntax_line > 0 && ld.syntax_errors == 0)
        config_error(&ld, (unsigned)syntax_line,
                     "syntax error: expected '[section]', 'key = value' or a comment");
    if (!finalize(&ld))
        goto fail;
    free(text);
    free(ld.dir);
    return cfg;
fail:
    free(text);
    free(ld.dir);
    config_free(cfg);
    return NULL;
}

struct state_sizes config_state_sizes(const struct enact_config *cfg)
{
    size_t rate = 0, quota = 1, breaker = 0;
    for (size_t i = 0; i < cfg->ntools; i++) {
        rate += cfg->tools[i].rate_limited;
        quota += cfg->tools[i].quota.enabled;
        breaker += cfg->tools[i].has_breaker;
    }
    struct state_sizes sizes = state_sizes_for(rate, quota, breaker, cfg->max_agents);
    sizes.counters = (uint32_t)(cfg->ntools * 2); /* every tool counts its decisions */
    return sizes;
}

void config_free(struct enact_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->image) {
        image_file_release(cfg->image, cfg->image_len); /* the config lives in it */
        return;
    }
    for (size_t i = 0; i < cfg->ntools; i++) {
        struct tool *t = &cfg->tools[i];
        for (size_t j = 0; j < t->nconnect; j++)
            connect_rule_free(&t->connect[j]);
        for (size_t j = 0; j < t->nexec; j++)
            exec_rule_free(&t->exec[j]);
        free(t->connect);
        free(t->exec);
        free(t->name);
        free(t->dry_run_response.data);
        free(t->dry_run_http_body.data);
        free(t->quota.warn_remaining);
        free(t->approve_command);
    }
    free(cfg->tools);
    connect_index_free(&cfg->connect_index);
    for (size_t i = 0; i < cfg->nagents; i++) {
        free(cfg->agents[i].name);
        free(cfg->agents[i].quota.warn_remaining);
    }
    free(cfg->agent_quota.warn_remaining);
    free(cfg->agents);
    for (size_t i = 0; i < cfg->impact.nexec; i++)
        exec_rule_free(&cfg->impact.exec[i].rule);
    free(cfg->impact.exec);
    free(cfg->impact.verbs);
    free(cfg->path);
    free(cfg->agent);
    free(cfg->state_path);
    free(cfg->audit_path);
    free(cfg->backend.url);
    free(cfg->backend.key_prefix);
    free(cfg->backend.password_file);
    free(cfg->backend.password_env);
    free(cfg->backend.tls_ca_file);
    free(cfg);
}
