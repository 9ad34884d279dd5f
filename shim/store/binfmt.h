/* What kind of program a file is, before it is run: whether the preload
 * can follow it inside. A static ELF binary (no PT_INTERP: most Go
 * programs, static-pie too) never loads the shim; a setuid or setgid file,
 * or one with file capabilities, runs in secure-execution mode where the
 * loader ignores LD_PRELOAD. A script (#!) is judged by its interpreter.
 *
 * Reads with open/pread/close into stack buffers: no allocation, usable in
 * a vfork child. */
#ifndef ENACT_BINFMT_H
#define ENACT_BINFMT_H

#include <stdbool.h>

enum binfmt_kind {
    BINFMT_UNKNOWN, /* unreadable, or neither ELF nor #! */
    BINFMT_DYNAMIC, /* ELF with an interpreter: the shim is loaded */
    BINFMT_STATIC,  /* ELF without one */
};

struct binfmt {
    enum binfmt_kind kind;
    bool script;     /* a #! file; kind is its interpreter's */
    bool privileged; /* setuid, setgid or file capabilities */
    int unreadable;  /* an errno when the file (or a script's interpreter)
                        exists but could not be read (EMFILE, EACCES, ...):
                        its kind is then not known */
};

struct binfmt binfmt_of(const char *path);

const char *binfmt_kind_name(enum binfmt_kind kind);

#endif
