/* enact pending, enact approve, enact deny: the calls held for a person's
 * approval on this host, and the answers to them (README "Operator
 * control"). */
#include "cli.h"
#include "../pure/jsonw.h"
#include "../store/audit_sink.h"
#include "../store/clock.h"
#include "../store/state_control.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char PENDING_HELP[] =
    "usage: enact pending [-c FILE] [--json]\n"
    "\n"
    "Lists the calls held for approval on this host (tools with approve =):\n"
    "the request's id, agent, tool, impact, what would run or be sent, and\n"
    "how long it has waited. enact approve ID or enact deny ID answers one.\n";

static const char APPROVE_HELP[] =
    "usage: enact approve [-c FILE] ID [--note TEXT]\n"
    "\n"
    "Lets the held call ID (enact pending lists them) go ahead. The record\n"
    "(verdict approved) says who, after how long, and the note.\n";

static const char DENY_HELP[] =
    "usage: enact deny [-c FILE] ID [--note TEXT]\n"
    "\n"
    "Refuses the held call ID: it fails with its tool's errno (a program\n"
    "start: status 126 from a shell). The record (verdict denied) says who.\n";

struct listing {
    bool json;
    unsigned shown;
    uint64_t real_ns;
};

static const char *state_word(uint32_t s)
{
    return s == APPROVAL_PENDING    ? "pending"
           : s == APPROVAL_APPROVED ? "approved"
           : s == APPROVAL_DENIED   ? "denied"
                                    : "expired";
}

static void show(const struct approval_slot *a, void *ctx)
{
    struct listing *l = ctx;
    char waited[32];
    cli_duration_text(l->real_ns > a->since_ns ? l->real_ns - a->since_ns : 0, waited,
                      sizeof waited);
    const char *impact = impact_level_name((enum impact_level)a->impact);
    if (l->json) {
        char buf[2048], id[9];
        snprintf(id, sizeof id, "%08llx", (unsigned long long)a->id);
        struct jsonw w;
        jw_init(&w, buf, sizeof buf);
        jw_object_begin(&w);
        jw_string(&w, "id", id, 16);
        jw_string(&w, "state", state_word(a->state), 16);
        jw_string(&w, "agent", a->agent, 100);
        jw_string(&w, "tool", a->tool, 100);
        jw_string(&w, "op", a->op, 16);
        jw_string(&w, "impact", impact, 16);
        jw_string(&w, "impact_reason", a->impact_reason, 100);
        jw_string(&w, "would_execute", a->what, APPROVAL_WHAT_MAX);
        jw_int(&w, "pid", a->pid);
        jw_timestamp(&w, "since", a->since_ns);
        jw_timestamp(&w, "deadline", a->deadline_ns);
        jw_object_end(&w);
        printf("%s%s", l->shown ? "," : "", jw_ok(&w) ? buf : "{}");
    } else {
        printf("%08llx  %-9s %-14s %-12s %-7s %-7s %s\n", (unsigned long long)a->id,
               state_word(a->state), a->agent, a->tool, impact, waited, a->what);
    }
    l->shown++;
}

static bool open_existing(const struct enact_config *cfg, struct state_map *m)
{
    return access(cfg->state_path, F_OK) == 0 && cli_open_state(cfg, m);
}

int cmd_pending(int argc, char **argv)
{
    const char *config = NULL;
    int json = 0;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--json", .flag = &json, .to = 1},
        {0},
    };
    int parsed = cli_parse(
        &(struct cli_command){.name = "pending", .help = PENDING_HELP, .options = options}, argc,
        argv, NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    struct state_map m;
    bool mapped = open_existing(cfg, &m);
    struct listing l = {.json = json, .real_ns = clock_now_ns(CLOCK_REALTIME)};
    if (json)
        printf("{\"requests\":[");
    else
        printf("%-8s  %-9s %-14s %-12s %-7s %-7s %s\n", "ID", "STATE", "AGENT", "TOOL", "IMPACT",
               "WAITING", "WOULD RUN OR SEND");
    if (mapped)
        state_approval_each(&m, show, &l);
    if (json)
        printf("]}\n");
    else if (l.shown == 0)
        printf("(no call is waiting for approval)\n");
    if (mapped)
        state_close(&m);
    config_free(cfg);
    return 0;
}

static void record_answer(const struct enact_config *cfg, const char *verdict,
                          const struct approval_slot *a, const char *note)
{
    char rid[9];
    snprintf(rid, sizeof rid, "%08llx", (unsigned long long)a->id);
    struct audit_event ev = {
        .unix_ns = a->decided_ns,
        .pid = getpid(),
        .agent = a->agent,
        .exe = "enact",
        .op = verdict,
        .tool = a->tool,
        .verdict = verdict,
        .request = rid,
        .would_execute = a->what,
        .impact = impact_level_name((enum impact_level)a->impact),
        .has_uid = true,
        .uid = a->decided_uid,
        .has_waited = true,
        .waited_ms = a->decided_ns > a->since_ns ? (a->decided_ns - a->since_ns) / 1000000u : 0,
        .detail = note,
    };
    int err = audit_log(cfg->audit_path, &ev);
    if (err)
        fprintf(stderr, "enact %s: the audit record could not be written to %s: %s\n",
                verdict, cfg->audit_path, strerror(err));
}

/* ID: the 8 hex digits enact pending shows. */
static bool parse_id(const char *s, uint64_t *id)
{
    char *end;
    if (strlen(s) != 8 || strspn(s, "0123456789abcdefABCDEF") != 8)
        return false;
    *id = strtoull(s, &end, 16);
    return *end == '\0' && *id != 0;
}

static int answer(int argc, char **argv, const char *name, const char *help,
                  enum approval_state to)
{
    const char *config = NULL, *note = NULL, *id_text = NULL;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--note", .value = &note},
        {0},
    };
    static const char *const any_id[] = {"*", NULL};
    int parsed = cli_parse(&(struct cli_command){.name = name, .help = help, .options = options,
                                                 .words = any_id, .word = &id_text},
                           argc, argv, NULL);
    if (parsed >= 0)
        return parsed;
    if (to == APPROVAL_APPROVED && cli_refuse_governed(name))
        return EXIT_CONFIG;
    uint64_t id;
    if (!id_text || !parse_id(id_text, &id)) {
        fprintf(stderr, "enact %s: give the request's ID, the 8 hex digits enact pending shows\n%s",
                name, help);
        return EXIT_USAGE;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    struct state_map m;
    int status = 0;
    struct approval_slot a;
    bool mapped = open_existing(cfg, &m);
    if (!mapped) {
        status = EXIT_CONFIG;
    } else if (!state_approval_answer(&m, id, to, getuid(), note, clock_now_ns(CLOCK_REALTIME),
                                      &a)) {
        fprintf(stderr, "enact %s: no call waits as %s (answered already, expired, or never "
                        "held; enact pending lists those that wait)\n",
                name, id_text);
        status = EXIT_CONFIG;
    } else {
        const char *verdict = to == APPROVAL_APPROVED ? "approved" : "denied";
        printf("enact %s: %s %s's %s: %s\n", name, verdict, a.agent, a.tool, a.what);
        record_answer(cfg, verdict, &a, note);
    }
    if (mapped)
        state_close(&m);
    config_free(cfg);
    return status;
}

int cmd_approve(int argc, char **argv)
{
    return answer(argc, argv, "approve", APPROVE_HELP, APPROVAL_APPROVED);
}

int cmd_deny(int argc, char **argv)
{
    return answer(argc, argv, "deny", DENY_HELP, APPROVAL_DENIED);
}
