/* Dry-run connections: a connect that succeeds without reaching the tool. */
#ifndef ENACT_SIMULATE_H
#define ENACT_SIMULATE_H

#include <stdbool.h>

/* Connects the program's socket fd to a peer of Enact's own that has
 * already gone, so that it is a real connected socket of the family and
 * type the program made (options apply, poll reports it readable, reads
 * see EOF until conn_life.c serves dry_run.response); a datagram socket is
 * left as it is. *datagram says which. Returns 0 or an errno; errno kept.
 * Holds no descriptor on return. */
int simulate_connect(int fd, bool *datagram);

#endif
