/* Finding a function in a loaded ELF object by its dynamic symbol table,
 * as the dynamic loader does, for the shim's one pass over libc's
 * functions at start (preload/libc_next.c): a GNU hash lookup costs about
 * a hundred instructions, dlsym(RTLD_NEXT) about seven hundred.
 *
 * Only what the loader would answer for an unversioned name: a defined
 * global or weak function of the object's default version. What this
 * does not decide for certain (an IFUNC, whose address its resolver
 * gives; a name with no default version; an object without a GNU hash
 * table) is said so, for dlsym to answer. Reads only the object's
 * mapped tables: no allocation, no system call. */
#ifndef ENACT_ELF_SYMBOLS_H
#define ENACT_ELF_SYMBOLS_H

#include <link.h>
#include <stdbool.h>
#include <stdint.h>

struct elf_symbols {
    uintptr_t base; /* the object's load bias (dl_phdr_info.dlpi_addr) */
    const uint32_t *gnu_hash;
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Half) *versym; /* NULL: the object has no versions */
};

/* The tables named by an object's dynamic section (PT_DYNAMIC, at
 * base + p_vaddr). glibc rewrites their addresses to absolute ones in
 * place, but not in every object (the vDSO): an address below base is
 * taken as relative to it. False without DT_GNU_HASH, DT_SYMTAB or
 * DT_STRTAB. */
bool elf_symbols_init(struct elf_symbols *s, uintptr_t base, const ElfW(Dyn) *dynamic);

enum elf_found {
    ELF_ABSENT,  /* the object defines no such function */
    ELF_FOUND,   /* *addr is it */
    ELF_UNSURE,  /* defined, but only the loader can say where (ask dlsym) */
};
enum elf_found elf_symbols_find(const struct elf_symbols *s, const char *name, void **addr);

/* The GNU hash of a name (the loader's dl_new_hash). */
uint32_t elf_gnu_hash(const char *name);

#endif
