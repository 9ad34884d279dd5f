/* enact doctor: from the program named to the program that really runs
 * (doctor_chain.c). */
#ifndef ENACT_CLI_DOCTOR_CHAIN_H
#define ENACT_CLI_DOCTOR_CHAIN_H

#include <limits.h>
#include <stdbool.h>

/* name in the colon-separated dirs, readable: its path into out. */
bool doctor_find_in(const char *dirs, const char *name, char out[PATH_MAX]);

/* A path (made absolute, links resolved), or a name looked up in PATH. */
bool doctor_resolve(const char *name, char out[PATH_MAX]);

/* The program that runs when path is started, into program, each step
 * said on stdout: a script's #! interpreter, the program `#!/usr/bin/env
 * NAME` finds in PATH, and for a wrapper script (a shell script whose
 * last command is exec, as version managers' shims are) the program it
 * starts when run, stopped before its first instruction. path itself when
 * it is no script. */
void doctor_chase(const char *path, char program[PATH_MAX]);

#endif
