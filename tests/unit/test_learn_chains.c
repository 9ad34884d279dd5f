/* Unit tests for learn_chains.c: which program starts are the agent's
 * calls, which start the command enact run was given, and which only
 * carry out a call (exec chains of one process within 500 ms, and what a
 * process starts while inside its chain). Hand-built steps, exact roles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "learn_chains.h"

/* Program ids: the same number for the same program name. */
enum { PY = 1, BASH, PYENV, READLINK, RM, SH, CURL, ENV, LS, CAT };

#define C LEARN_ROLE_CALL
#define S LEARN_ROLE_START
#define W LEARN_ROLE_WRAPPER

static struct learn_step exec_step(uint64_t ts, int32_t pid, int32_t parent, uint32_t program)
{
    return (struct learn_step){.ts_ms = ts, .pid = pid, .parent = parent, .exec = true,
                               .program = program};
}

static struct learn_step enact_exec(uint64_t ts, int32_t pid, int32_t parent, uint32_t program)
{
    struct learn_step s = exec_step(ts, pid, parent, program);
    s.from_enact = true;
    return s;
}

/* A connect or request: no exec. */
static struct learn_step call_step(uint64_t ts, int32_t pid, int32_t parent)
{
    return (struct learn_step){.ts_ms = ts, .pid = pid, .parent = parent};
}

/* Classifies and compares every role, naming the first step that differs. */
static void check_roles(const struct learn_step *steps, size_t n, const uint8_t *want)
{
    static uint8_t roles[1024];
    assert_true(n < sizeof roles);
    memset(roles, 0xee, sizeof roles);
    assert_true(learn_chains_classify(steps, n, roles));
    for (size_t i = 0; i < n; i++) {
        if (roles[i] != want[i])
            fail_msg("step %zu (pid %d): role %u, want %u", i, steps[i].pid, roles[i], want[i]);
    }
    assert_int_equal(roles[n], 0xee); /* nothing written past n */
}

/* No steps: nothing to classify, and no failure. */
static void test_empty(void **state)
{
    (void)state;
    uint8_t roles[1] = {0xee};
    assert_true(learn_chains_classify(NULL, 0, roles));
    assert_int_equal(roles[0], 0xee);
}

/* pyenv: enact run execs the python3 shim, which execs bash, pyenv,
 * bash, python3 in place within 80 ms, and pyenv's readlink (another pid)
 * runs in between: all the command's start. What python3 does after its
 * chain, and the rm it spawns, are the agent's calls. A grandchild of the
 * chain (via readlink) starts the command too. */
static void test_pyenv_start_chain(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        enact_exec(1000, 100, 50, PY),   /* the python3 shim, from enact run */
        exec_step(1010, 100, 50, BASH),
        exec_step(1020, 100, 50, PYENV),
        exec_step(1025, 101, 100, READLINK), /* pyenv's readlink */
        call_step(1026, 101, 100),           /* ... and what it does */
        exec_step(1040, 100, 50, BASH),
        exec_step(1080, 100, 50, PY),        /* the real python3 */
        exec_step(1090, 103, 101, CAT),      /* started by readlink: later, still the start */
        call_step(1200, 100, 50),            /* python3's own connect */
        exec_step(1300, 102, 100, RM),       /* the agent spawns rm */
        call_step(1310, 102, 100),
    };
    const uint8_t want[] = {S, S, S, S, S, S, S, S, C, C, C};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* A child that execs sh, then curl (different programs): the sh is what
 * was asked for, the curl what ran; both are calls, and so is curl's
 * connect. */
static void test_different_programs_are_both_calls(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 200, 100, SH),
        exec_step(5, 200, 100, CURL),
        call_step(20, 200, 100),
    };
    const uint8_t want[] = {C, C, C};
    check_roles(steps, 3, want);
}

/* python3 shim -> bash -> python3: the same program at both ends is one
 * call; the rest are wrappers, and so is everything a process started
 * inside the chain does, transitively (a wrapper's child's child). What
 * python3 spawns after the chain is a call again. */
static void test_same_program_chain_and_inherited_wrappers(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 300, 100, PY),
        exec_step(10, 300, 100, BASH),
        exec_step(15, 301, 300, READLINK), /* started inside the chain */
        exec_step(50, 300, 100, PY),
        exec_step(60, 302, 301, CAT),      /* started by the wrapper's child */
        call_step(70, 301, 300),           /* a later call of the wrapper's child */
        call_step(75, 302, 301),
        exec_step(80, 303, 300, RM),       /* python3 spawns rm after its chain */
        call_step(90, 300, 100),           /* python3's own connect */
    };
    const uint8_t want[] = {C, W, W, W, W, W, W, C, C};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* LEARN_CHAIN_GAP_MS is inclusive and measured from the previous exec,
 * not the chain's first: 500 ms later continues (same program at both
 * ends: call + wrapper), 501 ms later starts a new chain (a second call);
 * four execs 400 ms apart are one chain over 1200 ms. */
static void test_gap_boundary(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 400, 1, BASH),
        exec_step(500, 400, 1, BASH),   /* continues */
        exec_step(1000, 401, 1, BASH),
        exec_step(1501, 401, 1, BASH),  /* a new chain */
        exec_step(2000, 402, 1, ENV),
        exec_step(2400, 402, 1, SH),
        exec_step(2800, 402, 1, BASH),
        exec_step(3200, 402, 1, ENV),
    };
    const uint8_t want[] = {C, W, C, C, C, W, W, W};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* A non-exec step of the process ends its chain (the next exec is a new
 * call); a step of another process between does not. */
static void test_non_exec_step_ends_chain(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 500, 1, SH),
        call_step(1, 500, 1),          /* ends 500's chain */
        exec_step(2, 500, 1, SH),      /* a new call */
        exec_step(10, 501, 1, SH),
        call_step(11, 502, 1),         /* another process: 501's chain goes on */
        exec_step(12, 501, 1, SH),     /* same program: the same call */
    };
    const uint8_t want[] = {C, C, C, C, C, W};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* A step whose parent is 0 (not known) inherits nothing, even inside a
 * wrapper chain; a sibling naming the chain's pid does. */
static void test_unknown_parent_inherits_nothing(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 600, 100, PY),
        exec_step(10, 600, 100, BASH),
        exec_step(15, 601, 0, LS),   /* parent not known */
        exec_step(16, 602, 600, LS), /* parent known: inside the chain */
        exec_step(50, 600, 100, PY),
        call_step(60, 601, 0),
    };
    const uint8_t want[] = {C, W, C, W, W, C};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* A pid taken again by another process (an exec that continues no chain,
 * naming another parent) drops the inherited role; an exec that continues
 * the inheriting process's own chain keeps it, whatever parent it names. */
static void test_pid_reuse_drops_inherited_role(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 700, 100, PY),
        exec_step(10, 700, 100, BASH),
        exec_step(15, 701, 700, READLINK), /* a wrapper's child */
        exec_step(16, 703, 700, SH),       /* another one ... */
        exec_step(20, 703, 1, CAT),        /* ... exec'ing in place, naming another parent */
        exec_step(50, 700, 100, PY),
        exec_step(5000, 701, 100, CURL),   /* pid 701 again: a new process of the agent's */
        call_step(5010, 701, 100),
        call_step(5020, 703, 1),           /* still the wrapper's child */
    };
    const uint8_t want[] = {C, W, W, W, W, W, C, C, W};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* Inheritance is about what a process starts while inside the chain: a
 * child started before the chain, whose later call falls inside it, is
 * still the agent's. */
static void test_child_started_before_chain_keeps_call(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 800, 100, SH),
        call_step(600, 800, 100),       /* ends the first chain */
        exec_step(700, 801, 800, CURL), /* a child started outside any chain */
        exec_step(800, 800, 100, ENV),  /* sh execs env -> python3 -> ... -> env */
        call_step(805, 801, 800),       /* curl's connect, during that chain */
        exec_step(810, 800, 100, PY),
        exec_step(820, 800, 100, ENV),
        call_step(900, 801, 800),
    };
    const uint8_t want[] = {C, C, C, C, C, W, W, C};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

/* Many processes (past the table's first sizes, so it grows and rehashes
 * with inherited roles in it): 300 children started inside one wrapper
 * chain are wrappers, 300 started after it are calls. */
/* A record without a pid (another writer's, or a damaged one) is a call
 * of its own: it neither joins a chain nor takes a role from one, and a
 * process that names pid 0 as its parent inherits nothing. */
static void test_no_pid(void **state)
{
    (void)state;
    const struct learn_step steps[] = {
        exec_step(0, 900, 1, SH),
        exec_step(10, 0, 900, CURL),
        exec_step(20, 900, 1, ENV),
        call_step(30, 0, 0),
        exec_step(40, 901, 0, LS),
        exec_step(50, 900, 1, PY),
    };
    const uint8_t want[] = {C, C, W, C, C, C};
    check_roles(steps, sizeof steps / sizeof steps[0], want);
}

static void test_many_processes(void **state)
{
    (void)state;
    enum { KIDS = 300 };
    size_t n = 0, cap = 2 * KIDS + 8;
    struct learn_step *steps = calloc(cap, sizeof *steps);
    uint8_t *want = calloc(cap, 1);
    assert_non_null(steps);
    assert_non_null(want);
    steps[n] = exec_step(0, 10, 1, PY), want[n++] = C;
    steps[n] = exec_step(1, 10, 1, BASH), want[n++] = W;
    for (int32_t k = 0; k < KIDS; k++)
        steps[n] = exec_step(2, 1000 + k, 10, LS), want[n++] = W;
    steps[n] = exec_step(400, 10, 1, PY), want[n++] = W;
    for (int32_t k = 0; k < KIDS; k++)
        steps[n] = exec_step(1000, 5000 + k, 10, CAT), want[n++] = C;
    check_roles(steps, n, want);
    free(steps);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_pyenv_start_chain),
        cmocka_unit_test(test_different_programs_are_both_calls),
        cmocka_unit_test(test_same_program_chain_and_inherited_wrappers),
        cmocka_unit_test(test_gap_boundary),
        cmocka_unit_test(test_non_exec_step_ends_chain),
        cmocka_unit_test(test_unknown_parent_inherits_nothing),
        cmocka_unit_test(test_pid_reuse_drops_inherited_role),
        cmocka_unit_test(test_child_started_before_chain_keeps_call),
        cmocka_unit_test(test_no_pid),
        cmocka_unit_test(test_many_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
