/* The Prometheus text exposition (format 0.0.4) of a snapshot: what enact
 * status --prometheus prints and enact metrics serves on /metrics. */
#ifndef ENACT_CLI_PROMETHEUS_H
#define ENACT_CLI_PROMETHEUS_H

#include "snapshot.h"

#include <stdio.h>

/* Every metric, prefixed enact_, each with its HELP and TYPE lines (also
 * when it has no sample). */
void prom_print(FILE *out, const struct snapshot *s);

#endif
