/* Which program starts of a run are the agent's own calls, and which only
 * carry them out (for enact learn, learn_model.h).
 *
 * A chain is a process's execs in a row: each within LEARN_CHAIN_GAP_MS of
 * the one before, with no other call of that process between. Its first
 * exec is what was asked for, its last what ran in the end; those between
 * are wrappers (a #! line's interpreter, env, pyenv's shims), and so is
 * what the process starts while it is still in the chain (pyenv's
 * readlink): started by a process whose chain holds the call, and every
 * later call of such a process. The chain that enact run begins (its
 * first exec is made by enact) is the command's own start, all of it.
 * A last exec of the program the first one named (pyenv's python3 shim,
 * then python3) is the same call. */
#ifndef ENACT_LEARN_CHAINS_H
#define ENACT_LEARN_CHAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEARN_CHAIN_GAP_MS 500 /* pyenv's whole chain takes about 80 ms */

struct learn_step {
    uint64_t ts_ms;
    int32_t pid;
    int32_t parent; /* the program that started it (the record's "parent"); 0: not known */
    bool exec;
    bool from_enact; /* an exec that enact run made: a command's start */
    uint32_t program; /* execs: the same number for the same program name */
};

enum learn_role {
    LEARN_ROLE_CALL,    /* the agent's: governed */
    LEARN_ROLE_START,   /* starts the command enact run was given */
    LEARN_ROLE_WRAPPER, /* carries out a call of the agent */
};

/* roles[i] for steps[i] (in the order they happened). False when out of
 * memory. */
bool learn_chains_classify(const struct learn_step *steps, size_t n, uint8_t *roles);

#endif
