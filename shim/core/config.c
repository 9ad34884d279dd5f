#include "config.h"

#include "hash.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* inih's line buffer (INI_MAX_LINE) holds this many characters plus "\n\0";
 * longer lines would be split silently, so they are refused up front. */
#define MAX_LINE_CHARS (INI_MAX_LINE - 2)
#define MAX_FILE_BYTES (1u << 20)
#define MAX_BURST UINT64_C(1000000000)

struct loader {
    struct enact_config *cfg;
    struct config_diag *diag;
    const char *display_path; /* as the user named the file */
    char *dir;                /* directory of the config, for relative paths */
    unsigned line;            /* line inih is at */
    unsigned section_line;    /* line of the last [section] header */
    bool section_bad;         /* that header was reported: skip its keys */
    unsigned errors;
    unsigned seen_line[8];    /* first line of each [enact] scalar key */
};

static void diag_add(struct loader *ld, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag_add(struct loader *ld, unsigned line, const char *fmt, ...)
{
    ld->errors++;
    if (!ld->diag)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *text = NULL;
    int n = line ? asprintf(&text, "%s:%u: %s", ld->display_path, line, msg)
                 : asprintf(&text, "%s: %s", ld->display_path, msg);
    struct config_diag *d = ld->diag;
    char **lines = n < 0 ? NULL : realloc(d->lines, (d->n + 1) * sizeof *lines);
    if (lines)
        d->lines = lines;
    unsigned *at = lines ? realloc(d->at, (d->n + 1) * sizeof *at) : NULL;
    if (at)
        d->at = at;
    if (!lines || !at) {
        free(n < 0 ? NULL : text);
        return;
    }
    /* Keep the list in line order (inih's syntax error arrives last). */
    size_t i = d->n++;
    for (; i > 0 && d->at[i - 1] > line; i--) {
        d->lines[i] = d->lines[i - 1];
        d->at[i] = d->at[i - 1];
    }
    d->lines[i] = text;
    d->at[i] = line;
}

/* ---- value parsers ------------------------------------------------------- */

static bool parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

static bool parse_positive_double(const char *v, double *out)
{
    errno = 0;
    char *end;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d <= 0)
        return false;
    *out = d;
    return true;
}

static bool parse_count(const char *v, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < 1 || n > max)
        return false;
    *out = n;
    return true;
}

/* A path from the INI: relative ones are relative to the config's folder. */
static char *resolve_path(const struct loader *ld, const char *v)
{
    char *out = NULL;
    if (v[0] == '/')
        return strdup(v);
    if (asprintf(&out, "%s/%s", ld->dir, v) < 0)
        return NULL;
    return out;
}

/* ---- key tables ---------------------------------------------------------- */

static const char *const ENACT_KEYS[] = {"agent", "state", "audit_log", "mode", "on_error",
                                         "log_allowed", NULL};
static const char *const TOOL_KEYS[] = {"connect", "exec", "rate.max_calls_per_minute",
                                        "rate.burst_size", NULL};
/* Keys of the design that this build does not enforce yet: refused, so that
 * nobody believes a limit holds when it does not. */
static const char *const FUTURE_KEYS[] = {
    "dry_run", "static_binaries", "strict", "quota.max_actions", "quota.window_hours",
    "breaker.failure_threshold", "breaker.success_threshold", "breaker.timeout_seconds",
    "timeout_seconds", "io_timeout_seconds", "retry.max_attempts", "retry.initial_delay",
    "retry.max_delay", "retry.exponential_base", "retry.jitter", "retry.on_exit_nonzero",
    "action", "on_limit", "max_wait", "errno", "dry_run.response", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *closest(const char *const *list, const char *s)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only within two edits */
    for (; *list; list++) {
        size_t d = edit_distance(*list, s);
        if (d < best_d) {
            best_d = d;
            best = *list;
        }
    }
    return best;
}

static void unknown_key(struct loader *ld, const char *section, const char *name,
                        const char *const *known)
{
    if (in_list(FUTURE_KEYS, name)) {
        diag_add(ld, ld->line,
                 "'%s' is not supported by this version of enact yet; remove it (enforcing "
                 "nothing while looking configured would be unsafe)",
                 name);
        return;
    }
    const char *hint = closest(known, name);
    if (hint)
        diag_add(ld, ld->line, "unknown key '%s' in [%s]; did you mean '%s'?", name, section,
                 hint);
    else
        diag_add(ld, ld->line, "unknown key '%s' in [%s]", name, section);
}

/* ---- [enact] ------------------------------------------------------------- */

static bool first_time(struct loader *ld, size_t key_index, const char *name)
{
    if (ld->seen_line[key_index]) {
        diag_add(ld, ld->line, "'%s' is set twice (first on line %u)", name,
                 ld->seen_line[key_index]);
        return false;
    }
    ld->seen_line[key_index] = ld->line;
    return true;
}

static void set_path(struct loader *ld, char **slot, const char *v, const char *name)
{
    if (!*v) {
        diag_add(ld, ld->line, "'%s' is empty", name);
        return;
    }
    char *p = resolve_path(ld, v);
    if (!p) {
        diag_add(ld, ld->line, "out of memory");
        return;
    }
    free(*slot);
    *slot = p;
}

static void enact_key(struct loader *ld, const char *name, const char *v)
{
    struct enact_config *cfg = ld->cfg;
    size_t idx = 0;
    while (ENACT_KEYS[idx] && strcmp(ENACT_KEYS[idx], name) != 0)
        idx++;
    if (!ENACT_KEYS[idx]) {
        unknown_key(ld, "enact", name, ENACT_KEYS);
        return;
    }
    if (!first_time(ld, idx, name))
        return;

    if (strcmp(name, "agent") == 0) {
        if (!*v || strlen(v) > 64)
            diag_add(ld, ld->line, "agent name must be 1 to 64 characters");
        else if (!(cfg->agent = strdup(v)))
            diag_add(ld, ld->line, "out of memory");
    } else if (strcmp(name, "state") == 0) {
        set_path(ld, &cfg->state_path, v, name);
    } else if (strcmp(name, "audit_log") == 0) {
        set_path(ld, &cfg->audit_path, v, name);
    } else if (strcmp(name, "mode") == 0) {
        if (strcmp(v, "enforce") == 0)
            cfg->mode = MODE_ENFORCE;
        else if (strcmp(v, "observe") == 0)
            cfg->mode = MODE_OBSERVE;
        else
            diag_add(ld, ld->line, "mode must be 'enforce' or 'observe', not '%s'", v);
    } else if (strcmp(name, "on_error") == 0) {
        if (strcmp(v, "deny") == 0)
            cfg->on_error = ON_ERROR_DENY;
        else if (strcmp(v, "allow") == 0)
            cfg->on_error = ON_ERROR_ALLOW;
        else
            diag_add(ld, ld->line, "on_error must be 'deny' or 'allow', not '%s'", v);
    } else if (strcmp(name, "log_allowed") == 0) {
        if (!parse_bool(v, &cfg->log_allowed))
            diag_add(ld, ld->line, "log_allowed must be true or false, not '%s'", v);
    }
}

/* ---- [tool.NAME] --------------------------------------------------------- */

/* inih keeps at most 49 characters of a section name, "tool." included. */
#define MAX_TOOL_NAME 44

static bool valid_tool_name(const char *s)
{
    if (!*s || strlen(s) > MAX_TOOL_NAME)
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
    t->line = ld->section_line ? ld->section_line : ld->line;
    cfg->ntools++;
    return t;
}

static void add_connect(struct loader *ld, struct tool *t, const char *v)
{
    struct connect_rule parsed[CONNECT_RULE_MAX_EXPANSION];
    size_t n;
    char err[256];
    if (!connect_rule_parse(v, parsed, &n, err, sizeof err)) {
        diag_add(ld, ld->line, "%s", err);
        return;
    }
    struct connect_rule *grown = realloc(t->connect, (t->nconnect + n) * sizeof *grown);
    if (!grown) {
        for (size_t i = 0; i < n; i++)
            connect_rule_free(&parsed[i]);
        diag_add(ld, ld->line, "out of memory");
        return;
    }
    t->connect = grown;
    memcpy(t->connect + t->nconnect, parsed, n * sizeof *parsed);
    t->nconnect += n;
}

static void add_exec(struct loader *ld, struct tool *t, const char *v)
{
    struct exec_rule rule;
    char err[256];
    if (!exec_rule_parse(v, &rule, err, sizeof err)) {
        diag_add(ld, ld->line, "%s", err);
        return;
    }
    struct exec_rule *grown = realloc(t->exec, (t->nexec + 1) * sizeof *grown);
    if (!grown) {
        exec_rule_free(&rule);
        diag_add(ld, ld->line, "out of memory");
        return;
    }
    t->exec = grown;
    t->exec[t->nexec++] = rule;
}

static void tool_key(struct loader *ld, const char *tool_name, const char *name, const char *v)
{
    if (!in_list(TOOL_KEYS, name)) {
        char section[80];
        snprintf(section, sizeof section, "tool.%s", tool_name);
        unknown_key(ld, section, name, TOOL_KEYS);
        return;
    }
    struct tool *t = find_or_add_tool(ld, tool_name);
    if (!t) {
        diag_add(ld, ld->line, "out of memory");
        return;
    }
    if (strcmp(name, "connect") == 0 || strcmp(name, "exec") == 0)
        t->rule_lines++;
    if (strcmp(name, "connect") == 0) {
        add_connect(ld, t, v);
        return;
    }
    if (strcmp(name, "exec") == 0) {
        add_exec(ld, t, v);
        return;
    }
    unsigned *seen = strcmp(name, "rate.burst_size") == 0 ? &t->burst_line : &t->rate_line;
    if (*seen) {
        diag_add(ld, ld->line, "'%s' is set twice for tool '%s' (first on line %u)", name,
                 tool_name, *seen);
        return;
    }
    *seen = ld->line;
    if (strcmp(name, "rate.max_calls_per_minute") == 0) {
        if (!parse_positive_double(v, &t->max_calls_per_minute))
            diag_add(ld, ld->line,
                     "rate.max_calls_per_minute must be a number above 0 (e.g. 60 or 0.5), "
                     "not '%s'",
                     v);
    } else if (!parse_count(v, MAX_BURST, &t->burst_size)) {
        diag_add(ld, ld->line, "rate.burst_size must be a whole number from 1 to %llu, not '%s'",
                 (unsigned long long)MAX_BURST, v);
    }
}

/* ---- inih plumbing ------------------------------------------------------- */

/* A [section] header, seen by read_line before inih parses it, so that a
 * problem is reported once, at the header, even for an empty section. */
static void on_section_header(struct loader *ld, const char *name)
{
    ld->section_bad = true;
    if (strcmp(name, "enact") == 0) {
        ld->section_bad = false;
    } else if (strncmp(name, "tool.", 5) == 0) {
        if (!valid_tool_name(name + 5))
            diag_add(ld, ld->line,
                     "bad tool name '%s' (use letters, digits, '_', '-', '.'; at most %d)",
                     name + 5, MAX_TOOL_NAME);
        else if (!find_or_add_tool(ld, name + 5))
            diag_add(ld, ld->line, "out of memory");
        else
            ld->section_bad = false;
    } else if (strcmp(name, "agent") == 0 || strncmp(name, "agent.", 6) == 0 ||
               strcmp(name, "impact") == 0) {
        diag_add(ld, ld->line,
                 "section [%s] is not supported by this version of enact yet; remove it", name);
    } else {
        diag_add(ld, ld->line, "unknown section [%s] (expected [enact] or [tool.NAME])", name);
    }
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    if (ld->section_bad)
        ; /* its header was reported */
    else if (!*section)
        diag_add(ld, ld->line, "'%s' is outside any section; put it under [enact] or [tool.NAME]",
                 name);
    else if (strcmp(section, "enact") == 0)
        enact_key(ld, name, value);
    else
        tool_key(ld, section + 5, name, value);
    return 1; /* keep going: report every problem in one pass */
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
            ld->section_bad = true; /* inih reports the syntax error */
        }
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
            diag_add(ld, line, "NUL byte in the file: is this a text file?");
            return false;
        }
        if (text[i] == '\n') {
            line++;
            col = 0;
        } else if (++col == MAX_LINE_CHARS + 1) {
            diag_add(ld, line, "line longer than %d characters; split the rule or shorten it",
                     MAX_LINE_CHARS);
            ok = false;
        }
    }
    return ok;
}

static char *slurp(struct loader *ld, const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        diag_add(ld, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, f) : 0;
    bool failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        diag_add(ld, 0, "cannot read: %s", buf ? strerror(errno) : "out of memory");
        free(buf);
        return NULL;
    }
    if (n > MAX_FILE_BYTES) {
        diag_add(ld, 0, "larger than %u bytes: is this the right file?", MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- after parsing: defaults and cross-key checks ------------------------ */

static void finalize_tool(struct loader *ld, struct tool *t)
{
    if (t->rule_lines == 0)
        diag_add(ld, t->line,
                 "tool '%s' has no 'connect =' or 'exec =' rule, so no call can map to it",
                 t->name);
    if (t->burst_line && !t->rate_line)
        diag_add(ld, t->burst_line,
                 "tool '%s' sets rate.burst_size without rate.max_calls_per_minute", t->name);
    if (t->rate_line) {
        if (!t->burst_size)
            t->burst_size = (uint64_t)ceil(t->max_calls_per_minute);
        if (t->max_calls_per_minute > 0 &&
            !rate_policy_init(&t->rate, t->max_calls_per_minute, t->burst_size))
            diag_add(ld, t->rate_line,
                     "tool '%s': rate %.6g/min with burst %llu is out of range (one token "
                     "must come at least every nanosecond, the burst within 146 years)",
                     t->name, t->max_calls_per_minute, (unsigned long long)t->burst_size);
        else
            t->rate_limited = t->max_calls_per_minute > 0;
    }
    uint64_t id = fnv64_str(FNV64_OFFSET, t->name);
    id = fnv64_bytes(id, &t->rate, sizeof t->rate);
    t->policy_id = id;
}

bool config_default_state_path(const char *config_abs_path, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n = xdg && xdg[0] == '/' ? snprintf(dir, sizeof dir, "%s/enact", xdg)
                                 : snprintf(dir, sizeof dir, "/var/tmp/enact-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= sizeof dir)
        return false;
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", config_abs_path);
    char *stem = basename(copy);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    uint32_t h = (uint32_t)fnv64_str(FNV64_OFFSET, config_abs_path);
    n = snprintf(out, cap, "%s/%.64s-%08x.state", dir, stem, h);
    return n > 0 && (size_t)n < cap;
}

static bool finalize(struct loader *ld)
{
    struct enact_config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->ntools; i++)
        finalize_tool(ld, &cfg->tools[i]);
    if (cfg->ntools == 0 && ld->errors == 0)
        diag_add(ld, 0, "no [tool.NAME] section: nothing would be governed");
    if (!cfg->state_path) {
        char path[PATH_MAX];
        if (!config_default_state_path(cfg->path, path, sizeof path) ||
            !(cfg->state_path = strdup(path)))
            diag_add(ld, 0, "cannot form a default state path; set [enact] state");
    }
    if (!cfg->audit_path && !(cfg->audit_path = resolve_path(ld, "enact-audit.jsonl")))
        diag_add(ld, 0, "out of memory");
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
        diag_add(&ld, 0, "out of memory");
        return NULL;
    }
    ld.cfg = cfg;
    cfg->path = realpath(path, NULL);
    if (!cfg->path) {
        diag_add(&ld, 0, "cannot open: %s", strerror(errno));
        goto fail;
    }
    char dircopy[PATH_MAX];
    snprintf(dircopy, sizeof dircopy, "%s", cfg->path);
    if (!(ld.dir = strdup(dirname(dircopy)))) {
        diag_add(&ld, 0, "out of memory");
        goto fail;
    }

    size_t len = 0;
    if (!(text = slurp(&ld, cfg->path, &len)) || !prescan(&ld, text, len))
        goto fail;
    struct mem_stream ms = {.pos = text, .end = text + len, .ld = &ld};
    int syntax_line = ini_parse_stream(read_line, &ms, on_entry, &ld);
    /* on_entry never fails, so a line inih reports is a syntax error; inih
     * reports only the first one. */
    if (syntax_line < 0)
        diag_add(&ld, 0, "cannot parse (inih error %d)", syntax_line);
    else if (syntax_line > 0)
        diag_add(&ld, (unsigned)syntax_line,
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

void config_free(struct enact_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->ntools; i++) {
        struct tool *t = &cfg->tools[i];
        for (size_t j = 0; j < t->nconnect; j++)
            connect_rule_free(&t->connect[j]);
        for (size_t j = 0; j < t->nexec; j++)
            exec_rule_free(&t->exec[j]);
        free(t->connect);
        free(t->exec);
        free(t->name);
    }
    free(cfg->tools);
    free(cfg->path);
    free(cfg->agent);
    free(cfg->state_path);
    free(cfg->audit_path);
    free(cfg);
}

void config_diag_free(struct config_diag *diag)
{
    for (size_t i = 0; i < diag->n; i++)
        free(diag->lines[i]);
    free(diag->lines);
    free(diag->at);
    *diag = (struct config_diag){0};
}

/* ---- matching ------------------------------------------------------------ */

const struct tool *config_match_connect(const struct enact_config *cfg, const struct net_target *t)
{
    for (size_t i = 0; i < cfg->ntools; i++)
        for (size_t j = 0; j < cfg->tools[i].nconnect; j++)
            if (connect_rule_matches(&cfg->tools[i].connect[j], t))
                return &cfg->tools[i];
    return NULL;
}

const struct tool *config_match_exec(const struct enact_config *cfg, const char *path,
                                     char *const argv[])
{
    for (size_t i = 0; i < cfg->ntools; i++)
        for (size_t j = 0; j < cfg->tools[i].nexec; j++)
            if (exec_rule_matches(&cfg->tools[i].exec[j], path, argv))
                return &cfg->tools[i];
    return NULL;
}
