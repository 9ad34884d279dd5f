/* Shared by the tests of the state file (test_state.c, test_state_grow.c,
 * test_state_control.c): a temporary folder, a state file's path in it
 * and a map to open it into. Header-only, every function static. */
#ifndef ENACT_TEST_STATE_FIXTURE_H
#define ENACT_TEST_STATE_FIXTURE_H

#include "helpers.h"

#include "state.h"

struct fixture {
    char *dir;
    char path[PATH_MAX];
    char msg[1024];
    struct state_map m;
};

/* A new fixture, its file not made yet; NULL when out of memory. */
static inline struct fixture *state_fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->dir = th_mkdtemp();
    th_path(f->path, sizeof f->path, f->dir, "enact.state");
    return f;
}

static inline int state_fixture_teardown(void **state)
{
    struct fixture *f = *state;
    state_close(&f->m);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

#endif
