/* The shared state of a config as one command reads it at one moment:
 * enact status prints it, enact metrics serves it on every scrape. */
#ifndef ENACT_CLI_SNAPSHOT_H
#define ENACT_CLI_SNAPSHOT_H

#include "cli.h"

#include <stdbool.h>
#include <stdint.h>

/* A shared backend as it answers now. */
struct backend_view {
    bool shared, up;
    char where[300], version[40], why[192];
    double rtt_ms;
    /* The last change a governed process recorded: backend_down or
     * backend_up, its time (ns since the epoch) and pid; "" when none. */
    char last_change[16];
    uint64_t last_change_ns;
    long last_change_pid;
};

struct snapshot {
    const struct enact_config *cfg;
    struct backend_view backend;
    struct store st;
    struct state_map *host; /* this host's state file (processes, kill switches,
                               counters), or NULL when there is none yet */
    struct redis_store *fleet; /* the shared backend when it answers, or NULL */
    uint64_t mono, real; /* ns of CLOCK_MONOTONIC and CLOCK_REALTIME when taken */
    char (*agents)[STORE_AGENT_NAME_MAX];
    size_t nagents;
};

/* Opens the state of cfg into cs and reads the clocks and the agents; a
 * shared backend is probed, and read through this host's state file when
 * it does not answer. false (said why on stderr) when there is nothing to
 * read. Does not read the audit log: backend.last_change stays empty. */
bool snapshot_take(struct snapshot *s, const struct enact_config *cfg, struct cli_store *cs);
void snapshot_release(struct snapshot *s, struct cli_store *cs);

struct breaker_view {
    const char *state;
    int code;       /* 0 closed, 1 open, 2 half-open */
    double seconds; /* in this state; < 0 when it never changed */
};
struct breaker_view snapshot_breaker(const struct snapshot *s, const struct tool *t);

/* Tokens left in an agent's rate bucket for t. */
uint64_t snapshot_tokens(const struct snapshot *s, uint64_t agent_id, const struct tool *t);

#endif
