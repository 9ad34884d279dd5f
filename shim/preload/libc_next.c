#include "libc_next.h"

#include <dlfcn.h>
#include <string.h>

struct walk {
    struct libc_next *next;
    uintptr_t self;
    bool after;  /* the shim has been passed */
    size_t seen; /* objects after it, kept or not */
};

static bool holds(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && addr >= start && addr - start < ph->p_memsz)
            return true;
    }
    return false;
}

/* The object's GNU build ID (its NT_GNU_BUILD_ID note), folded. */
static uint64_t build_id(const struct dl_phdr_info *info)
{
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *n;
            const unsigned char *desc =
                (const unsigned char *)name + ((n->n_namesz + 3) & ~(ElfW(Word))3);
            if (desc + n->n_descsz > (const unsigned char *)end)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                uint64_t h = UINT64_C(0xcbf29ce484222325);
                for (ElfW(Word) k = 0; k < n->n_descsz; k++)
                    h = (h ^ desc[k]) * UINT64_C(0x100000001b3);
                return h ? h : 1;
            }
            p = (const char *)desc + ((n->n_descsz + 3) & ~(ElfW(Word))3);
        }
    }
    return 0;
}

static const ElfW(Dyn) *dynamic_of(const struct dl_phdr_info *info)
{
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            return (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    return NULL;
}

/* libc's dlsym, looked for in every object after the shim, kept or not:
 * without it no other name could be asked of the loader. s: the object's
 * table when it is kept; else it is read here. */
static void find_dlsym(struct libc_next *next, const struct elf_symbols *s,
                       const struct dl_phdr_info *info, const ElfW(Dyn) *dynamic)
{
    struct elf_symbols own;
    void *addr;
    if (next->dlsym || (!s && !(dynamic && elf_symbols_init(&own, info->dlpi_addr, dynamic))))
        return;
    if (elf_symbols_find_hashed(s ? s : &own, "dlsym", ELF_GNU_HASH_OF("dlsym"), &addr) ==
        ELF_FOUND)
        *(void **)&next->dlsym = addr;
}

static int visit(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct walk *w = ctx;
    struct libc_next *next = w->next;
    const ElfW(Dyn) *dynamic = dynamic_of(info);
    if (!w->after) {
        w->after = holds(info, w->self);
        if (w->after) {
            next->self_file = info->dlpi_name;
            next->self_build = build_id(info);
            next->self_base = info->dlpi_addr;
            next->self_dynamic = dynamic;
        }
        return 0;
    }
    w->seen++;
    if (next->usable && next->n < LIBC_NEXT_OBJECTS && dynamic &&
        elf_symbols_init(&next->objects[next->n], info->dlpi_addr, dynamic)) {
        find_dlsym(next, &next->objects[next->n++], info, dynamic);
        return 0;
    }
    next->usable = false;
    find_dlsym(next, NULL, info, dynamic);
    return next->dlsym ? 1 : 0;
}

/* Only where nothing follows the shim: it was loaded by dlopen (enact run
 * loads it so, RTLD_LOCAL), outside the global scope, so this PLT call
 * binds to libc's dlsym, never to the shim's own. A preloaded shim always
 * has libc after it, and finds libc's dlsym on the walk. The call comes
 * from the shim, as a direct one would: RTLD_NEXT means the same. */
__attribute__((noinline)) static void *plt_dlsym(void *handle, const char *name)
{
    return dlsym(handle, name);
}

void libc_next_init(struct libc_next *next, const void *self)
{
    memset(next, 0, sizeof *next);
    next->usable = true;
    struct walk w = {.next = next, .self = (uintptr_t)self};
    dl_iterate_phdr(visit, &w);
    /* Loaded by dlopen (enact run loads it so), the shim comes last:
     * dlsym knows that scope, this walk does not. */
    next->usable = next->usable && w.after && next->n > 0;
    if (!next->dlsym && w.seen == 0)
        next->dlsym = plt_dlsym;
}

void *libc_next_find(const struct libc_next *next, const char *name, uint32_t hash)
{
    for (size_t i = 0; next->usable && i < next->n; i++) {
        void *addr;
        switch (elf_symbols_find_hashed(&next->objects[i], name, hash, &addr)) {
        case ELF_FOUND:
            return addr;
        case ELF_UNSURE:
            return next->dlsym ? next->dlsym(RTLD_NEXT, name) : NULL;
        case ELF_ABSENT:
            break;
        }
    }
    return next->dlsym ? next->dlsym(RTLD_NEXT, name) : NULL;
}
