/* What the exec interposers share with system() and popen(). */
#ifndef ENACT_EXEC_H
#define ENACT_EXEC_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

/* The file an exec of `file` would run, found as execvp finds it (PATH
 * searched on the stack when search_path and file has no '/'); false when
 * there is none (the real call then fails on its own). vfork-safe. */
bool exec_find_program(const char *file, bool search_path, char out[PATH_MAX], struct stat *st);

#endif
