#include "elf_symbols.h"

#include <string.h>


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

enum elf_found elf_symbols_find(const struct elf_symbols *s, const char *name, void **addr)
{
    return elf_symbols_find_hashed(s, name, elf_gnu_hash(name), addr);
}
