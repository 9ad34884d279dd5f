/* What dlsym(RTLD_NEXT, name) answers from the shim, found in one pass:
 * the objects loaded after the shim, in the loader's order, are listed
 * once (dl_iterate_phdr), and each name is looked up in their GNU hash
 * tables (pure/elf_symbols.h). What that cannot decide for certain (an
 * IFUNC, a name with only hidden versions, an object without a GNU hash
 * table, a shim loaded by dlopen with nothing after it) is asked of dlsym
 * itself, so the answer is always dlsym's.
 *
 * That dlsym is libc's own, found on the same walk before anything else:
 * the shim exports a dlsym of its own (preload/dl.c), which a call through
 * the PLT would reach while the shim is preloaded. */
#ifndef ENACT_LIBC_NEXT_H
#define ENACT_LIBC_NEXT_H

#include "../pure/elf_symbols.h"

#include <stddef.h>

#define LIBC_NEXT_OBJECTS 16 /* after the shim: libc, ld.so, a few preloads */

struct libc_next {
    struct elf_symbols objects[LIBC_NEXT_OBJECTS];
    size_t n;
    bool usable; /* every object after the shim could be read */
    const char *self_file; /* the shim's path as the loader has it, or NULL */
    uint64_t self_build;   /* its GNU build ID, folded into 64 bits; 0: none */
    /* Where the shim's own table of exports is (dl.c reads it when strict
     * mode answers a lookup); self_dynamic NULL: unknown. */
    uintptr_t self_base;
    const ElfW(Dyn) *self_dynamic;
    /* libc's dlsym (the first definition after the shim, past the objects
     * kept above too), or, with nothing after the shim, one that calls
     * dlsym through the PLT; never NULL after libc_next_init. */
    void *(*dlsym)(void *, const char *);
};

/* Lists the objects after the one that holds self (an address in the
 * shim). */
void libc_next_init(struct libc_next *next, const void *self);

/* The next definition of name after the shim, or NULL; hash is name's
 * elf_gnu_hash (ELF_GNU_HASH_OF for a literal). */
void *libc_next_find(const struct libc_next *next, const char *name, uint32_t hash);

#endif
