#include "elf_symbols.h"

#include <string.h>

/* Version indexes (ElfW(Versym)): 0 local, 1 global (unversioned); the
 * high bit hides a version from unversioned lookups. */
#define VERSYM_HIDDEN 0x8000
#define VERSYM_LOCAL 0

uint32_t elf_gnu_hash(const char *name)
{
    uint32_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = h * 33 + *p;
    return h;
}

static const void *address(uintptr_t base, ElfW(Addr) ptr)
{
    return (const void *)(ptr < base ? base + ptr : ptr);
}

bool elf_symbols_init(struct elf_symbols *s, uintptr_t base, const ElfW(Dyn) *dynamic)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    for (const ElfW(Dyn) *d = dynamic; d && d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_GNU_HASH:
            s->gnu_hash = address(base, d->d_un.d_ptr);
            break;
        case DT_SYMTAB:
            s->symtab = address(base, d->d_un.d_ptr);
            break;
        case DT_STRTAB:
            s->strtab = address(base, d->d_un.d_ptr);
            break;
        case DT_VERSYM:
            s->versym = address(base, d->d_un.d_ptr);
            break;
        default:
            break;
        }
    }
    return s->gnu_hash && s->symtab && s->strtab;
}

/* The table: nbuckets, symoffset, bloom_size, bloom_shift, then
 * bloom[bloom_size] (ElfW(Addr) words), buckets[nbuckets], and one chain
 * word per symbol from symoffset on, the hash with its low bit set on the
 * last of a bucket's chain. */
enum elf_found elf_symbols_find(const struct elf_symbols *s, const char *name, void **addr)
{
    return elf_symbols_find_hashed(s, name, elf_gnu_hash(name), addr);
}

enum elf_found elf_symbols_find_hashed(const struct elf_symbols *s, const char *name,
                                       uint32_t hash, void **addr)
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
                           (version & VERSYM_HIDDEN) == 0 && version != VERSYM_LOCAL;
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
