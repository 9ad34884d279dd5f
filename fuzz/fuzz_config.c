/* fuzz_config: loading and validating an INI config (config_load in
 * shim/policy/config.h, with inih), then using what was loaded.
 *
 * Properties beyond "no crash" and "no leak" (every config and diagnostic
 * is freed):
 *  - the load gives a config or a diagnostic, never neither: a config comes
 *    with warnings at most, a refusal with at least one error;
 *  - every diagnostic reads "FILE:LINE: message" (or "FILE: message" for the
 *    whole file), names the file as given, a line the file has, and the
 *    list is in line order;
 *  - a loaded config maps calls the way its rules say: a target made from
 *    a tool's connect rule maps to that tool or an earlier one, and the
 *    connect index answers what a plain scan of the rules in file order
 *    answers; the command made of a literal exec rule maps to that tool or
 *    an earlier one.
 *
 * The input is the file's content, written to a file in a private
 * directory (config_load takes a path; relative paths in the file resolve
 * there, where dry_run.response = @response.txt finds a file). */
#include "config.h"
#include "config_errno.h"
#include "config_match.h"
#include "fuzz.h"
#include "glob.h"
#include "impact.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

static char dir[64], path[96], response[96];

static void cleanup(void)
{
    unlink(path);
    unlink(response);
    rmdir(dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/enact-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (strlen(dir) >= sizeof dir - 1 || !mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/fuzz.ini", dir);
    snprintf(response, sizeof response, "%s/response.txt", dir);
    /* for dry_run.response = @response.txt */
    static const char body[] = "HTTP/1.1 200 OK\r\n\r\n{}";
    int fd = open(response, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, body, sizeof body - 1) != (ssize_t)sizeof body - 1 || close(fd) != 0)
        abort();
    atexit(cleanup);
}

static unsigned count_lines(const uint8_t *data, size_t size)
{
    unsigned n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

static void check_diag(const struct config_diag *d, bool loaded, unsigned lines)
{
    size_t plen = strlen(path);
    FUZZ_CHECK(d->warnings <= d->n, "%zu warnings of %zu lines", d->warnings, d->n);
    if (loaded)
        FUZZ_CHECK(d->n == d->warnings, "a config loaded with %zu errors",
                   d->n - d->warnings);
    else
        FUZZ_CHECK(d->n > d->warnings, "refused with no error (%zu warnings)", d->warnings);
    size_t warnings = 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *l = d->lines[i];
        FUZZ_CHECK(l && strncmp(l, path, plen) == 0 && l[plen] == ':',
                   "diagnostic %zu does not start with the file: %s", i, l ? l : "(null)");
        const char *rest = l + plen + 1;
        if (d->at[i]) {
            char want[32];
            snprintf(want, sizeof want, "%u: ", d->at[i]);
            FUZZ_CHECK(strncmp(rest, want, strlen(want)) == 0, "line %u, but: %s", d->at[i], l);
            rest += strlen(want);
            FUZZ_CHECK(d->at[i] <= lines, "line %u of a %u-line file: %s", d->at[i], lines, l);
        } else {
            FUZZ_CHECK(rest[0] == ' ' && rest[1] && rest[1] != ' ', "no message: %s", l);
            rest++;
        }
        FUZZ_CHECK(*rest, "an empty message: %s", l);
        if (strncmp(rest, "warning: ", 9) == 0)
            warnings++;
        if (i > 0)
            FUZZ_CHECK(d->at[i - 1] <= d->at[i], "not in line order: %u then %u", d->at[i - 1],
                       d->at[i]);
    }
    FUZZ_CHECK(warnings == d->warnings, "%zu lines say warning, %zu counted", warnings,
               d->warnings);
}

static long tool_index(const struct enact_config *cfg, const struct tool *t)
{
    return t ? (long)(t - cfg->tools) : -1;
}

static long scan_connect(const struct enact_config *cfg, const struct net_target *t)
{
    for (size_t i = 0; i < cfg->ntools; i++)
        for (size_t j = 0; j < cfg->tools[i].nconnect; j++)
            if (connect_rule_matches(&cfg->tools[i].connect[j], t))
                return (long)i;
    return -1;
}

static void check_target(const struct enact_config *cfg, const struct net_target *t, long at_most)
{
    long got = tool_index(cfg, config_match_connect(cfg, t)), want = scan_connect(cfg, t);
    char text[160];
    net_target_format(t, text, sizeof text);
    FUZZ_CHECK(got == want, "%s maps to tool %ld, a scan of the rules says %ld", text, got, want);
    FUZZ_CHECK(at_most < 0 || (got >= 0 && got <= at_most),
               "%s, made from a rule of tool %ld, maps to tool %ld", text, at_most, got);
}

static void use_config(const struct enact_config *cfg)
{
    FUZZ_CHECK(cfg->path && cfg->path[0] == '/' && cfg->state_path && cfg->audit_path,
               "a config without its paths");
    FUZZ_CHECK(cfg->ntools > 0, "a config without tools");
    for (size_t i = 0; i < cfg->ntools; i++) {
        const struct tool *tl = &cfg->tools[i];
        FUZZ_CHECK(tl->name && *tl->name, "tool %zu has no name", i);
        config_simulates(cfg, tl);
        FUZZ_CHECK(config_errno_name(tl->deny_errno)[0] == 'E', "errno %d", tl->deny_errno);
        for (size_t j = 0; j < tl->nconnect; j++) {
            const struct connect_rule *r = &tl->connect[j];
            struct net_target t = {.kind = r->kind, .port = r->port_lo};
            bool exact = true;
            if (r->kind == TARGET_UNIX) {
                snprintf(t.path, sizeof t.path, "%s", r->unix_glob);
                exact = glob_is_literal(r->unix_glob);
            } else {
                memcpy(t.addr, r->addr, 16);
                t.host = r->host_glob;
                exact = !r->host_glob || glob_is_literal(r->host_glob);
            }
            check_target(cfg, &t, exact ? (long)i : -1);
            t.port = r->port_hi;
            t.addr[15] ^= 1;
            check_target(cfg, &t, -1);
        }
        for (size_t j = 0; j < tl->nexec; j++) {
            const struct exec_rule *r = &tl->exec[j];
            bool literal = true;
            for (size_t k = 0; r->words[k]; k++)
                literal = literal && glob_is_literal(r->words[k]);
            char exe[300];
            snprintf(exe, sizeof exe, r->by_path ? "%s" : "/usr/bin/%s", r->words[0]);
            long got = tool_index(cfg, config_match_exec(cfg, exe, r->words));
            if (literal)
                FUZZ_CHECK(got >= 0 && got <= (long)i,
                           "'%s', made from a rule of tool %zu, maps to tool %ld", exe, i, got);
            {
                struct impact im = impact_of_exec(exe, r->words, &cfg->impact);
                FUZZ_CHECK(im.level <= IMPACT_HIGH && memchr(im.reason, 0, sizeof im.reason),
                           "impact of a rule's command");
            }
        }
    }
    static const char *const targets[] = {"127.0.0.1", "::1", "10.1.2.3", "2001:db8::5"};
    for (int i = 0; i < 4; i++) {
        struct net_target t = {.kind = TARGET_INET, .port = (uint16_t)(80 + i * 8000)};
        uint8_t v4[4];
        if (inet_pton(AF_INET, targets[i], v4) == 1) {
            memcpy(t.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
            memcpy(t.addr + 12, v4, 4);
        } else {
            inet_pton(AF_INET6, targets[i], t.addr);
        }
        t.host = i == 0 ? "api.example.com" : NULL;
        check_target(cfg, &t, -1);
    }
    char *rm[] = {"rm", "-rf", "/tmp/x", NULL};
    config_match_exec(cfg, "/usr/bin/rm", rm);
    impact_of_exec("/usr/bin/rm", rm, &cfg->impact);
    impact_of_payload("DELETE / HTTP/1.1\r\n", 19, &cfg->impact);
    config_agent_quota(cfg, "agent");
    if (cfg->agent)
        config_agent_quota(cfg, cfg->agent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
        abort();
    struct config_diag diag;
    struct enact_config *cfg = config_load(path, &diag);
    check_diag(&diag, cfg != NULL, count_lines(data, size));
    if (cfg)
        use_config(cfg);
    config_free(cfg);
    config_diag_free(&diag);
    /* and, now and then (it costs a second load), without a diagnostic list */
    if (size % 4 == 0)
        config_free(config_load(path, NULL));
    return 0;
}
