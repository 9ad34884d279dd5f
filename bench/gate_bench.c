/* B4 and B5 of make bench: decisions per second of the gate itself.
 *
 * Drives the real core (config_load, state_open with state_sizes_for,
 * config_match_connect, gate_decide) with real clocks (CLOCK_MONOTONIC and
 * CLOCK_REALTIME read for every decision, as the shim does) on tools with a
 * rate limit so high it never refuses: every call commits to the shared
 * state file. Prints one line of key=value results per run.
 *
 *   gate_bench b4 PROCS shared|distinct SECONDS
 *       PROCS processes, started together (a pipe barrier), each deciding
 *       for SECONDS; shared: one agent id (one bucket word, contended);
 *       distinct: an agent of its own per process.
 *   gate_bench b5rules NRULES [SECONDS]
 *       NRULES tools each with its own `connect = 10.X.Y.Z:PORT`;
 *       ns per config_match_connect + gate_decide for a target matching the
 *       LAST rule, and ns per config_match_connect for one matching none.
 *   gate_bench b5agents NAGENTS [SECONDS] [sized]
 *       decisions round-robin over NAGENTS agent ids on one tool; the state
 *       file as the shim sizes it by default (64 agents), or with `sized`
 *       as it does with `[enact] max_agents = NAGENTS`. Prints the state file's size,
 *       the bucket tables (the table and the extensions it grew) and how
 *       many decisions were refused (state_full once the file may grow no
 *       more).
 *
 * Build (from the repository root):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ishim/pure -Ishim/store
 *      -Ishim/policy bench/gate_bench.c (every .c of those folders) -linih -lm
 *      -o build/bench/gate_bench
 */
#include "config.h"
#include "config_match.h"
#include "gate.h"
#include "local_store.h"
#include "state.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 6e10 calls a minute: one token a nanosecond, and a burst of as many (the
 * default) — no loop here comes near it, so every decision admits and
 * commits. One line, short: config_load refuses files over 1 MiB, and
 * 10,000 tools must fit. */
#define RATE_LINE "rate.max_calls_per_minute=60000000000\n"
#define CHECK_EVERY 1024u

static char g_dir[256];
static pid_t g_parent; /* only it removes the temp folder */

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "gate_bench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (g_dir[0] && getpid() == g_parent)
        nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/enact-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        die("mkdtemp: %s", strerror(errno));
    g_parent = getpid();
    atexit(cleanup);
}

/* Writes the config text (after an [enact] section naming the state file
 * and audit log in the temp folder) and loads it. */
static struct enact_config *load_config(FILE *body_writer(FILE *, void *), void *ctx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench.ini", g_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s", path);
    fprintf(f, "[enact]\nstate = %s/bench.state\naudit_log = %s/audit.jsonl\non_error = deny\n\n",
            g_dir, g_dir);
    body_writer(f, ctx);
    if (fclose(f) != 0)
        die("cannot write %s", path);
    struct config_diag diag;
    struct enact_config *cfg = config_load(path, &diag);
    if (!cfg) {
        for (size_t i = 0; i < diag.n && i < 10; i++)
            fprintf(stderr, "  %s\n", diag.lines[i]);
        config_diag_free(&diag);
        die("config did not load: %s", path);
    }
    config_diag_free(&diag);
    return cfg;
}

static void open_state(const struct enact_config *cfg, const struct state_sizes *sizes,
                       struct state_map *m)
{
    char msg[512];
    if (state_open(cfg->state_path, sizes, m, msg, sizeof msg) == STATE_FAILED)
        die("state_open: %s", msg);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* What the file takes on disk (it may be sparse: untouched slots are holes). */
static long long file_alloc(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

static FILE *one_tool(FILE *f, void *ctx)
{
    (void)ctx;
    fprintf(f, "[tool.api]\nconnect = 10.0.0.1:443\n" RATE_LINE);
    return f;
}

/* The same tool, the state file sized for *(long *)ctx agents with
 * [enact] max_agents (the body starts inside load_config's [enact]). */
static FILE *one_tool_sized(FILE *f, void *ctx)
{
    fprintf(f, "max_agents = %ld\n", *(long *)ctx);
    return one_tool(f, NULL);
}

/* One decision as the shim makes it: both clocks read, then the gate. */
static inline struct gate_result decide(const struct enact_config *cfg, struct state_map *m,
                                        const struct tool *t, uint64_t agent_id, int32_t owner)
{
    struct gate_call call = {.tool = t,
                             .agent_quota = NULL,
                             .agent_id = agent_id,
                             .owner = owner,
                             .mono_ns = now_ns(CLOCK_MONOTONIC),
                             .real_ns = now_ns(CLOCK_REALTIME)};
    return gate_decide(cfg, local_store(m), &call);
}

/* ---- B4 ---------------------------------------------------------------- */

struct b4_result {
    uint64_t decisions, refused;
    uint64_t wall_ns, cpu_ns;
};

static int b4(int procs, bool shared, double seconds)
{
    struct enact_config *cfg = load_config(one_tool, NULL);
    const struct tool *t = &cfg->tools[0];
    struct state_sizes sizes = config_state_sizes(cfg);
    struct state_map m0 = {0};
    open_state(cfg, &sizes, &m0); /* created once, before anyone races for it */
    state_close(&m0);

    int start[2], results[2];
    if (pipe(start) != 0 || pipe(results) != 0)
        die("pipe: %s", strerror(errno));
    pid_t *kids = calloc((size_t)procs, sizeof *kids);
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(start[1]);
            close(results[0]);
            struct state_map m = {0};
            open_state(cfg, &sizes, &m);
            char agent[32];
            snprintf(agent, sizeof agent, shared ? "bench" : "bench-%d", i);
            uint64_t id = gate_agent_id(agent);
            int32_t owner = (int32_t)gettid();
            decide(cfg, &m, t, id, owner); /* warm: the slot is claimed */
            char c;
            if (read(start[0], &c, 1) < 0) /* EOF when the parent lets go */
                _exit(3);
            struct b4_result r = {0};
            uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
            uint64_t t0 = now_ns(CLOCK_MONOTONIC);
            uint64_t end = t0 + (uint64_t)(seconds * 1e9), t1 = t0;
            for (;;) {
                for (unsigned k = 0; k < CHECK_EVERY; k++) {
                    struct gate_result g = decide(cfg, &m, t, id, owner);
                    r.refused += g.action != GATE_PROCEED;
                }
                r.decisions += CHECK_EVERY;
                if ((t1 = now_ns(CLOCK_MONOTONIC)) >= end)
                    break;
            }
            r.wall_ns = t1 - t0;
            r.cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
            if (write(results[1], &r, sizeof r) != (ssize_t)sizeof r)
                _exit(4);
            state_close(&m);
            _exit(0);
        }
        kids[i] = pid;
    }
    close(start[0]);
    close(results[1]);
    usleep(100000); /* let every child map the file and warm up */
    close(start[1]);

    double dps = 0, max_wall = 0;
    uint64_t total = 0, refused = 0, cpu = 0;
    int got = 0;
    struct b4_result r;
    while (read(results[0], &r, sizeof r) == (ssize_t)sizeof r) {
        got++;
        total += r.decisions;
        refused += r.refused;
        cpu += r.cpu_ns;
        dps += r.decisions / (r.wall_ns / 1e9);
        if (r.wall_ns / 1e9 > max_wall)
            max_wall = r.wall_ns / 1e9;
    }
    int failed = 0;
    for (int i = 0; i < procs; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    free(kids);
    if (got != procs || failed)
        die("%s", "a worker failed");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("mode=b4 procs=%d buckets=%s seconds=%.3f decisions=%" PRIu64 " refused=%" PRIu64
           " dps=%.0f dps_per_proc=%.0f cpu_s=%.3f dps_per_cpu_s=%.0f ns_per_decision_cpu=%.1f"
           " ncpu=%ld state_bytes=%lld\n",
           procs, shared ? "shared" : "distinct", max_wall, total, refused, dps, dps / procs,
           cpu / 1e9, total / (cpu / 1e9), (double)cpu / (double)total, ncpu,
           file_size(cfg->state_path));
    config_free(cfg);
    return refused ? 1 : 0;
}

/* ---- B5: rules --------------------------------------------------------- */

static void rule_addr(long i, uint8_t out[4], unsigned *port)
{
    /* 10.X.Y.Z with Z in 1..250, then a distinct port per rule as well */
    out[0] = 10;
    out[1] = (uint8_t)(i / (250 * 250));
    out[2] = (uint8_t)(i / 250 % 250);
    out[3] = (uint8_t)(i % 250 + 1);
    *port = 1000 + (unsigned)(i % 60000);
}

static FILE *n_tools(FILE *f, void *ctx)
{
    long n = *(long *)ctx;
    for (long i = 0; i < n; i++) {
        uint8_t a[4];
        unsigned port;
        rule_addr(i, a, &port);
        fprintf(f, "[tool.t%ld]\nconnect=%u.%u.%u.%u:%u\n" RATE_LINE, i, a[0], a[1], a[2],
                a[3], port);
    }
    return f;
}

static struct net_target target_v4(const uint8_t a[4], unsigned port)
{
    struct net_target t = {.kind = TARGET_INET, .port = (uint16_t)port};
    t.addr[10] = 0xff;
    t.addr[11] = 0xff;
    memcpy(t.addr + 12, a, 4);
    return t;
}

static int b5rules(long nrules, double seconds)
{
    uint64_t l0 = now_ns(CLOCK_MONOTONIC);
    struct enact_config *cfg = load_config(n_tools, &nrules);
    double load_ms = (now_ns(CLOCK_MONOTONIC) - l0) / 1e6;
    struct state_sizes sizes = config_state_sizes(cfg);
    struct state_map m = {0};
    open_state(cfg, &sizes, &m);

    uint8_t a[4];
    unsigned port;
    rule_addr(nrules - 1, a, &port);
    volatile struct net_target last = target_v4(a, port);
    const uint8_t none_a[4] = {192, 0, 2, 1};
    volatile struct net_target none = target_v4(none_a, 9);
    uint64_t id = gate_agent_id("bench");
    int32_t owner = (int32_t)gettid();

    /* matching the last rule: match + decide, every decision committing */
    struct net_target tl = last;
    const struct tool *want = config_match_connect(cfg, &tl);
    if (!want || want != &cfg->tools[nrules - 1])
        die("%s", "the last rule does not match its target");
    decide(cfg, &m, want, id, owner);
    uint64_t n_last = 0, refused = 0, t0 = now_ns(CLOCK_MONOTONIC), t1;
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    do {
        for (unsigned k = 0; k < 64; k++) {
            struct net_target tt = last;
            const struct tool *t = config_match_connect(cfg, &tt);
            struct gate_result g = decide(cfg, &m, t, id, owner);
            refused += g.action != GATE_PROCEED;
        }
        n_last += 64;
    } while ((t1 = now_ns(CLOCK_MONOTONIC)) < end);
    double ns_last = (double)(t1 - t0) / (double)n_last;

    /* the same decision without the match, to split the two costs */
    uint64_t n_dec = 0;
    t0 = now_ns(CLOCK_MONOTONIC);
    end = t0 + (uint64_t)(seconds * 1e9 / 4);
    do {
        for (unsigned k = 0; k < 64; k++)
            refused += decide(cfg, &m, want, id, owner).action != GATE_PROCEED;
        n_dec += 64;
    } while ((t1 = now_ns(CLOCK_MONOTONIC)) < end);
    double ns_dec = (double)(t1 - t0) / (double)n_dec;

    /* matching none: the walk over every rule, then the call passes */
    struct net_target tn = none;
    if (config_match_connect(cfg, &tn))
        die("%s", "the unmatched target matched");
    uint64_t n_none = 0, misses = 0;
    t0 = now_ns(CLOCK_MONOTONIC);
    end = t0 + (uint64_t)(seconds * 1e9);
    do {
        for (unsigned k = 0; k < 64; k++) {
            struct net_target tt = none;
            misses += config_match_connect(cfg, &tt) == NULL;
        }
        n_none += 64;
    } while ((t1 = now_ns(CLOCK_MONOTONIC)) < end);
    double ns_none = (double)(t1 - t0) / (double)n_none;

    printf("mode=b5rules rules=%ld ns_match_last_decide=%.1f dps_match_last_decide=%.0f "
           "ns_decide_only=%.1f ns_match_none=%.1f decisions=%" PRIu64 " refused=%" PRIu64
           " config_load_ms=%.1f state_bytes=%lld state_alloc_bytes=%lld\n",
           nrules, ns_last, 1e9 / ns_last, ns_dec, ns_none, n_last, refused, load_ms,
           file_size(cfg->state_path), file_alloc(cfg->state_path));
    (void)misses;
    state_close(&m);
    config_free(cfg);
    return refused ? 1 : 0;
}

/* ---- B5: agents -------------------------------------------------------- */

static int b5agents(long nagents, double seconds, bool sized)
{
    struct enact_config *cfg = load_config(sized ? one_tool_sized : one_tool, &nagents);
    const struct tool *t = &cfg->tools[0];
    struct state_sizes sizes = config_state_sizes(cfg);
    struct state_map m = {0};
    open_state(cfg, &sizes, &m);
    uint64_t *ids = malloc((size_t)nagents * sizeof *ids);
    for (long i = 0; i < nagents; i++) {
        char name[32];
        snprintf(name, sizeof name, "agent-%ld", i);
        ids[i] = gate_agent_id(name);
    }
    int32_t owner = (int32_t)gettid();
    for (long i = 0; i < nagents; i++) /* warm: every slot claimed once */
        decide(cfg, &m, t, ids[i], owner);

    uint64_t n = 0, refused = 0, state_full = 0, t0 = now_ns(CLOCK_MONOTONIC), t1;
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    long next = 0;
    do {
        for (unsigned k = 0; k < 256; k++) {
            struct gate_result g = decide(cfg, &m, t, ids[next], owner);
            if (g.action != GATE_PROCEED) {
                refused++;
                state_full += g.reason && strcmp(g.reason, "state_full") == 0;
            }
            if (++next == nagents)
                next = 0;
        }
        n += 256;
    } while ((t1 = now_ns(CLOCK_MONOTONIC)) < end);
    double ns = (double)(t1 - t0) / (double)n;
    /* Over the bucket table and its extensions (state.h, "Growth"). */
    unsigned claimed = 0, slots = 0;
    struct state_table tables[STATE_TABLES_MAX];
    size_t ntables = state_tables(&m, REGION_BUCKETS, tables);
    for (size_t k = 0; k < ntables; k++) {
        slots += tables[k].count;
        for (uint32_t i = 0; i < tables[k].count; i++)
            claimed += ((struct bucket_slot *)tables[k].slots)[i].key != 0;
    }

    printf("mode=b5agents agents=%ld sizing=%s ns_per_decision=%.1f dps=%.0f decisions=%" PRIu64
           " refused=%" PRIu64 " state_full=%" PRIu64
           " bucket_slots=%u bucket_tables=%zu buckets_claimed=%u state_bytes=%lld"
           " state_alloc_bytes=%lld\n",
           nagents, sized ? "sized" : "default", ns, 1e9 / ns, n, refused, state_full,
           slots, ntables, claimed, file_size(cfg->state_path), file_alloc(cfg->state_path));
    free(ids);
    state_close(&m);
    config_free(cfg);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: gate_bench b4 PROCS shared|distinct SECONDS\n"
                    "       gate_bench b5rules NRULES [SECONDS]\n"
                    "       gate_bench b5agents NAGENTS [SECONDS] [sized]\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        usage();
    return v;
}

static double parse_seconds(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v > 0) || v > 3600)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    make_dir();
    if (strcmp(argv[1], "b4") == 0) {
        if (argc != 5)
            usage();
        int procs = (int)parse_long(argv[2], 1, 1024);
        bool shared = strcmp(argv[3], "shared") == 0;
        if (!shared && strcmp(argv[3], "distinct") != 0)
            usage();
        return b4(procs, shared, parse_seconds(argv[4]));
    }
    if (strcmp(argv[1], "b5rules") == 0) {
        if (argc > 4)
            usage();
        return b5rules(parse_long(argv[2], 1, 250L * 250 * 250),
                       argc > 3 ? parse_seconds(argv[3]) : 1.0);
    }
    if (strcmp(argv[1], "b5agents") == 0) {
        if (argc > 5 || (argc == 5 && strcmp(argv[4], "sized") != 0))
            usage();
        return b5agents(parse_long(argv[2], 1, 10000000),
                        argc > 3 ? parse_seconds(argv[3]) : 1.0, argc == 5);
    }
    usage();
    return 2;
}
