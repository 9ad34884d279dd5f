/* B7 of make bench: decisions per second of the gate over the Redis store.
 *
 *   fleet_bench decide URL PROCS SECONDS
 *       PROCS processes, started together (a pipe barrier), each with a
 *       Redis store of its own (as each governed process has) deciding
 *       for SECONDS on one tool with a rate limit that never refuses, one
 *       agent shared by all (one bucket key: the fleet's case). Prints
 *       mode=decide procs=N decisions=N seconds=S dps=N refused=N
 *       unavailable=N.
 *   fleet_bench script URL
 *       Prints the EVALSHA arguments one such decision sends (for
 *       redis-benchmark to run the same script with the same keys).
 *
 * Drives the real core (config_load, gate_decide)
 * with the store the shim uses; built by bench/run_fleet.py from this file
 * and the .c files of shim/pure, shim/store and shim/policy. */
#include "backend.h"
#include "config.h"
#include "gate.h"
#include "redis_limits_lua.h"
#include "redis_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "fleet_bench: %s\n", what);
    exit(2);
}

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char g_ini[256];

static struct enact_config *load(const char *url)
{
    snprintf(g_ini, sizeof g_ini, "/tmp/fleet-bench-%d.ini", (int)getpid());
    FILE *f = fopen(g_ini, "w");
    if (!f)
        die("cannot write the config");
    fprintf(f,
            "[enact]\nagent = bench\nbackend = %s\nbackend.key_prefix = fleet-bench\n"
            "backend.timeout_ms = 1000\nbackend.on_down = deny\n"
            "state = /tmp/fleet-bench-%d.state\naudit_log = /dev/null\n"
            "[tool.api]\nconnect = 10.0.0.1:443\n"
            "rate.max_calls_per_minute = 60000000000\n",
            url, (int)getpid());
    fclose(f);
    struct config_diag diag;
    struct enact_config *cfg = config_load(g_ini, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.lines[i]);
    config_diag_free(&diag);
    unlink(g_ini);
    if (!cfg)
        die("the config is refused");
    return cfg;
}

static struct store no_fallback(void *ctx)
{
    (void)ctx;
    return (struct store){0};
}

struct result {
    uint64_t decisions, refused, unavailable, wall_ns;
};

static int decide(const char *url, int procs, double seconds)
{
    struct enact_config *cfg = load(url);
    int start[2], results[2];
    if (pipe(start) || pipe(results))
        die("pipe");
    for (int i = 0; i < procs; i++) {
        if (fork() != 0)
            continue;
        close(start[1]);
        struct redis_options opt;
        backend_options(cfg, "bench", &opt);
        struct redis_store *rs = calloc(1, sizeof *rs);
        redis_store_init(rs, &opt, (struct redis_fallback){no_fallback, NULL}, (uint64_t)i + 1);
        const struct tool *t = &cfg->tools[0];
        struct gate_call call = {.tool = t, .agent_id = gate_agent_id("bench"),
                                 .owner = (int32_t)getpid()};
        char c;
        (void)!read(start[0], &c, 1);
        struct result r = {0};
        uint64_t t0 = now_ns(CLOCK_MONOTONIC), end = t0 + (uint64_t)(seconds * 1e9), t1;
        do {
            for (int k = 0; k < 64; k++) {
                call.mono_ns = now_ns(CLOCK_MONOTONIC);
                call.real_ns = now_ns(CLOCK_REALTIME);
                struct gate_result g = gate_decide(cfg, redis_store(rs), &call);
                r.decisions++;
                r.refused += g.action == GATE_REFUSE && strcmp(g.reason, "backend_down") != 0;
                r.unavailable += g.reason && strcmp(g.reason, "backend_down") == 0;
            }
        } while ((t1 = now_ns(CLOCK_MONOTONIC)) < end);
        r.wall_ns = t1 - t0;
        (void)!write(results[1], &r, sizeof r);
        _exit(0);
    }
    close(start[0]);
    close(results[1]);
    usleep(200000);
    close(start[1]);
    struct result sum = {0}, r;
    double wall = 0;
    for (int i = 0; i < procs && read(results[0], &r, sizeof r) == (ssize_t)sizeof r; i++) {
        sum.decisions += r.decisions;
        sum.refused += r.refused;
        sum.unavailable += r.unavailable;
        wall = (double)r.wall_ns / 1e9 > wall ? (double)r.wall_ns / 1e9 : wall;
    }
    while (wait(NULL) > 0)
        ;
    printf("mode=decide procs=%d decisions=%" PRIu64 " seconds=%.3f dps=%.0f refused=%" PRIu64
           " unavailable=%" PRIu64 "\n",
           procs, sum.decisions, wall, (double)sum.decisions / wall, sum.refused,
           sum.unavailable);
    return sum.refused || sum.unavailable ? 1 : 0;
}

/* The arguments of the decision's EVALSHA, as redis_store.c builds them for
 * this config (a bucket and the agents set), one per line. */
static int script(const char *url)
{
    struct enact_config *cfg = load(url);
    const struct tool *t = &cfg->tools[0];
    uint64_t key = gate_bucket_key(gate_agent_id("bench"), t);
    uint64_t interval = (t->rate.interval_ns + 999) / 1000;
    printf("EVALSHA\n%s\n2\n{fleet-bench}:t:%016" PRIx64 "\n{fleet-bench}:agents\nadmit\n"
           "0000000000000001:1\n0\n0\n0\n%" PRIu64 "\n%" PRIu64 "\n0\n0.000\n0\n0.000\nbench\n",
           REDIS_LIMITS_SHA1, key, interval,
           t->rate.tolerance_ns / t->rate.interval_ns * interval);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "decide") == 0)
        return decide(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc == 3 && strcmp(argv[1], "script") == 0)
        return script(argv[2]);
    fprintf(stderr, "usage: fleet_bench decide URL PROCS SECONDS | script URL\n");
    return 2;
}
