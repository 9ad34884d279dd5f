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
#include <string.h>

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

/* Version indexes (ElfW(Versym)): 0 local, 1 global (unversioned); the
 * high bit hides a version from unversioned lookups. */
#define ELF_VERSYM_HIDDEN 0x8000
#define ELF_VERSYM_LOCAL 0

/* elf_symbols_find with name's hash given (elf_gnu_hash, or
 * ELF_GNU_HASH_OF). Inline: the shim calls it for each of its libc
 * functions at every start, where a call per name cost more than the
 * lookup's own work.
 *
 * The table: nbuckets, symoffset, bloom_size, bloom_shift, then
 * bloom[bloom_size] (ElfW(Addr) words), buckets[nbuckets], and one chain
 * word per symbol from symoffset on, the hash with its low bit set on the
 * last of a bucket's chain. */
static inline enum elf_found elf_symbols_find_hashed(const struct elf_symbols *s,
                                                     const char *name, uint32_t hash,
                                                     void **addr)
{
    const uint32_t *h = s->gnu_hash;
    uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2], bloom_shift = h[3];
    if (nbuckets == 0 || bloom_size == 0)
        return ELF_ABSENT;
    const ElfW(Addr) *bloom = (const ElfW(Addr) *)(h + 4);
    const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
    const uint32_t *chain = buckets + nbuckets;

    enum { WORD_BITS = sizeof(ElfW(Addr)) * 8 };
    ElfW(Addr) word = bloom[(hash / WORD_BITS) % bloom_size];
    ElfW(Addr) mask = (ElfW(Addr))1 << (hash % WORD_BITS) |
                      (ElfW(Addr))1 << ((hash >> bloom_shift) % WORD_BITS);
    if ((word & mask) != mask)
        return ELF_ABSENT;
    uint32_t i = buckets[hash % nbuckets];
    if (i < symoffset)
        return ELF_ABSENT;
    enum elf_found found = ELF_ABSENT;
    for (;; i++) {
        uint32_t link = chain[i - symoffset];
        const ElfW(Sym) *sym = &s->symtab[i];
        if ((link | 1) == (hash | 1) && strcmp(s->strtab + sym->st_name, name) == 0 &&
            sym->st_shndx != SHN_UNDEF) {
            /* The same bit fields in ELF32 and ELF64. */
            int bind = ELF64_ST_BIND(sym->st_info), type = ELF64_ST_TYPE(sym->st_info);
            ElfW(Half) version = s->versym ? s->versym[i] : 1;
            bool visible = (bind == STB_GLOBAL || bind == STB_WEAK) &&
                           (version & ELF_VERSYM_HIDDEN) == 0 &&
                           version != ELF_VERSYM_LOCAL;
            if (visible && type == STT_FUNC && sym->st_value) {
                *addr = (void *)(s->base + sym->st_value);
                return ELF_FOUND;
            }
            /* An IFUNC, or a hidden version beside which the default may
             * still follow: the loader decides those. */
            found = ELF_UNSURE;
        }
        if (link & 1)
            return found;
    }
}

/* The GNU hash of a name (the loader's dl_new_hash). */
uint32_t elf_gnu_hash(const char *name);

/* elf_gnu_hash of a string literal of at most 16 characters, as an
 * expression the compiler folds into a constant: the shim looks up its
 * libc functions by names it knows when built, and hashing them at every
 * start cost 2,400 instructions. The hash unrolled: 5381 * 33^n plus each
 * character c_i times 33^(n-1-i), modulo 2^32. A longer literal does not
 * compile. */
#define ELF_GNU_HASH_OF(lit)                                                                    \
    ((uint32_t)(5381u * ELF_POW33_(sizeof(lit) - 1) + ELF_C_(lit, 0) + ELF_C_(lit, 1) +          \
                ELF_C_(lit, 2) + ELF_C_(lit, 3) + ELF_C_(lit, 4) + ELF_C_(lit, 5) +              \
                ELF_C_(lit, 6) + ELF_C_(lit, 7) + ELF_C_(lit, 8) + ELF_C_(lit, 9) +              \
                ELF_C_(lit, 10) + ELF_C_(lit, 11) + ELF_C_(lit, 12) + ELF_C_(lit, 13) +          \
                ELF_C_(lit, 14) + ELF_C_(lit, 15)) +                                             \
     0u * (uint32_t)sizeof(char[sizeof(lit) <= 17 ? 1 : -1]))
/* Character i of lit times 33^(n-1-i), or 0 past its end; the index is
 * kept inside the literal where the term is 0. */
#define ELF_C_(lit, i)                                                                          \
    ((i) < sizeof(lit) - 1                                                                      \
         ? (uint32_t)(unsigned char)(lit)[(i) < sizeof(lit) ? (i) : 0] *                        \
               ELF_POW33_((i) < sizeof(lit) - 1 ? sizeof(lit) - 2 - (i) : 0)                    \
         : 0u)
/* 33^k modulo 2^32, for k up to 16. */
#define ELF_POW33_(k) \
    ((k) == 0 ? 0x1u : \
     (k) == 1 ? 0x21u : \
     (k) == 2 ? 0x441u : \
     (k) == 3 ? 0x8c61u : \
     (k) == 4 ? 0x121881u : \
     (k) == 5 ? 0x25528a1u : \
     (k) == 6 ? 0x4cfa3cc1u : \
     (k) == 7 ? 0xec41d4e1u : \
     (k) == 8 ? 0x747c7101u : \
     (k) == 9 ? 0x40a9121u : \
     (k) == 10 ? 0x855cb541u : \
     (k) == 11 ? 0x30f35d61u : \
     (k) == 12 ? 0x4f5f0981u : \
     (k) == 13 ? 0x3b4039a1u : \
     (k) == 14 ? 0xa3476dc1u : \
     (k) == 15 ? 0xc3525e1u : \
     (k) == 16 ? 0x92d9e201u : 0u)

#endif
