/* dlsym, dlvsym and dlmopen: the doors to libc's own functions.
 *
 * A handle on libc (dlopen("libc.so.6"), Python's ctypes.CDLL) or a new
 * namespace (dlmopen(LM_ID_NEWLM)), where whatever loads brings a libc of
 * its own, hands the program libc's connect, past every hook. With
 * `strict = true`, a lookup of a governed name on any handle answers the
 * shim's own hook for it, and dlmopen(LM_ID_NEWLM) is refused (recorded;
 * dlerror says why). Everything else is glibc's, exactly: these functions
 * answer relative to their caller (RTLD_NEXT, a library's RUNPATH and
 * $ORIGIN), so the entry points are written in assembly and pass a call
 * on by a tail jump, the caller's return address still on the stack.
 *
 * Only on x86-64: elsewhere they are not exported, and these doors stay
 * open in strict mode too (THREAT-MODEL.md). */
#include "real.h"
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__)

#define HIDDEN __attribute__((visibility("hidden")))

/* The entry points below jump through these by offset. */
_Static_assert(offsetof(struct real_libc, dlsym) == 0, "dlsym first in struct real_libc");
_Static_assert(offsetof(struct real_libc, dlvsym) == 8, "then dlvsym");
_Static_assert(offsetof(struct real_libc, dlmopen) == 16, "then dlmopen");

/* What the shim governs, by the names libc exports them under: an alias
 * answers the hook it aliases, looked up among the shim's own exports by
 * its own name first (the hook, where the shim exports the alias), else
 * by the hook's. */
static const struct governed {
    const char *name;
    uint32_t hash;
    const char *hook; /* NULL: the name is the hook's */
    uint32_t hook_hash;
} governed[] = {
#define HOOK(n) {n, ELF_GNU_HASH_OF(n), NULL, 0}
#define ALIAS(n, h) {n, ELF_GNU_HASH_OF(n), h, ELF_GNU_HASH_OF(h)}
    HOOK("connect"),      HOOK("sendto"),      HOOK("sendmsg"),
    HOOK("sendmmsg"),     HOOK("send"),        HOOK("write"),
    HOOK("writev"),       HOOK("execve"),      HOOK("execv"),
    HOOK("execvp"),       HOOK("execvpe"),     HOOK("execl"),
    HOOK("execlp"),       HOOK("execle"),      HOOK("fexecve"),
    HOOK("execveat"),     HOOK("posix_spawn"), HOOK("posix_spawnp"),
    HOOK("system"),       HOOK("popen"),       HOOK("syscall"),
    ALIAS("__connect", "connect"),
    ALIAS("__send", "send"),
    ALIAS("__sendmmsg", "sendmmsg"),
    ALIAS("__write", "write"),
    ALIAS("__libc_system", "system"),
    ALIAS("_IO_popen", "popen"),
#undef HOOK
#undef ALIAS
};

static bool strict(void)
{
    const struct enact_config *cfg = shim_config();
    return cfg && cfg->strict;
}

/* Read at each lookup it answers (a few hundred instructions, in strict
 * mode only), rather than at every start. */
static void *own_export(const char *name, uint32_t hash)
{
    struct elf_symbols self;
    void *addr;
    return real.shim_dynamic && elf_symbols_init(&self, real.shim_base, real.shim_dynamic) &&
                   elf_symbols_find_hashed(&self, name, hash, &addr) == ELF_FOUND
               ? addr
               : NULL;
}

/* Before the shim's constructor: libc's dl functions found with nothing of
 * the shim's own C code. The ASan and TSan runtimes look their
 * interceptors up during their own start, before their shadow memory
 * exists, when no instrumented function may run (and their strcmp
 * interceptor is not ready): so this reads the loader's list of objects
 * (link_map, from dladdr1) and their GNU hash tables itself. */
#define EARLY __attribute__((no_sanitize("address", "thread", "undefined"), noinline))

EARLY static bool early_same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

EARLY static void *early_find(const struct link_map *m, const char *name, uint32_t hash)
{
    const uint32_t *h = NULL;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Half) *versym = NULL;
    for (const ElfW(Dyn) *d = m->l_ld; d && d->d_tag != DT_NULL; d++) {
        /* Absolute once the loader relocated it; relative in the vDSO. */
        uintptr_t v = d->d_un.d_ptr < m->l_addr ? m->l_addr + d->d_un.d_ptr : d->d_un.d_ptr;
        switch (d->d_tag) {
        case DT_GNU_HASH: h = (const uint32_t *)v; break;
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)v; break;
        case DT_STRTAB: strtab = (const char *)v; break;
        case DT_VERSYM: versym = (const ElfW(Half) *)v; break;
        default: break;
        }
    }
    if (!h || !symtab || !strtab || h[0] == 0)
        return NULL;
    uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(h + 4) + bloom_size);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t i = buckets[hash % nbuckets];
    if (i < symoffset)
        return NULL;
    for (;; i++) {
        uint32_t link = chain[i - symoffset];
        const ElfW(Sym) *sym = &symtab[i];
        if ((link | 1) == (hash | 1) && sym->st_shndx != SHN_UNDEF &&
            ELF64_ST_TYPE(sym->st_info) == STT_FUNC && (!versym || !(versym[i] & 0x8000)) &&
            early_same(strtab + sym->st_name, name))
            return (void *)(m->l_addr + sym->st_value);
        if (link & 1)
            return NULL;
    }
}

/* The first definition after the shim, as the walk would find it. */
EARLY static void *early_next(const char *name, uint32_t hash)
{
    Dl_info info;
    struct link_map *self = NULL;
    if (!dladdr1((void *)early_next, &info, (void **)&self, RTLD_DL_LINKMAP) || !self)
        return NULL;
    for (const struct link_map *m = self->l_next; m; m = m->l_next) {
        void *fn = early_find(m, name, hash);
        if (fn)
            return fn;
    }
    return NULL;
}

EARLY static void early_resolve(void)
{
    void *fn = early_next("dlsym", ELF_GNU_HASH_OF("dlsym"));
    void *vfn = early_next("dlvsym", ELF_GNU_HASH_OF("dlvsym"));
    void *mfn = early_next("dlmopen", ELF_GNU_HASH_OF("dlmopen"));
    if (!fn || !vfn || !mfn)
        __builtin_trap(); /* no libc after the shim: nothing to pass a lookup to */
    __atomic_store_n((void **)&real.dlvsym, vfn, __ATOMIC_RELEASE);
    __atomic_store_n((void **)&real.dlmopen, mfn, __ATOMIC_RELEASE);
    __atomic_store_n((void **)&real.dlsym, fn, __ATOMIC_RELEASE);
}

/* An object after the shim that defines name itself and asks for the next
 * one (another preload wrapping connect) must get glibc's answer: the
 * shim's hook would call it again, for ever. */
static bool interposes(const void *caller, const char *name, uint32_t hash)
{
    Dl_info info;
    struct link_map *map = NULL;
    return dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) && map &&
           early_find(map, name, hash);
}

/* The shim's hook for name under strict mode, else NULL. Reads only what
 * the constructor set (no allocation, no system call; for RTLD_NEXT the
 * loader's list, under the lock dlsym itself takes), so it is as safe in a
 * vfork child as the lookup it stands for: a vfork child is not let past
 * it either. */
__attribute__((noinline)) static void *override(const char *name, void *handle,
                                                const void *caller)
{
    if (!name || !strict())
        return NULL;
    uint32_t hash = elf_gnu_hash(name);
    for (size_t i = 0; i < sizeof governed / sizeof governed[0]; i++) {
        const struct governed *g = &governed[i];
        if (g->hash != hash || strcmp(g->name, name) != 0)
            continue;
        if (handle == RTLD_NEXT && interposes(caller, name, hash))
            return NULL;
        void *hook = own_export(g->name, g->hash);
        return hook || !g->hook ? hook : own_export(g->hook, g->hook_hash);
    }
    return NULL;
}

/* libc's dlvsym and dlmopen are found at the first call that needs them,
 * not at every start (real_resolve finds dlsym alone, on its walk). */
EARLY static void ensure_libc_dl(void)
{
    if (!__atomic_load_n(&real.dlsym, __ATOMIC_ACQUIRE) ||
        !__atomic_load_n(&real.dlvsym, __ATOMIC_ACQUIRE) ||
        !__atomic_load_n(&real.dlmopen, __ATOMIC_ACQUIRE))
        early_resolve();
}

/* Called by dlsym and dlvsym below (caller: their return address);
 * leaves libc's functions in `real` for them to jump to. Before the
 * constructor (a library before the shim looking names up at its own
 * start) there is no config: libc answers. */
EARLY HIDDEN void *enact_dl_override(const char *name, void *handle, const void *caller)
{
    ensure_libc_dl();
    /* real_ready() itself, were it not inlined, would be instrumented code */
    return __atomic_load_n(&real.fcntl64, __ATOMIC_ACQUIRE) ? override(name, handle, caller)
                                                             : NULL;
}

/* Whatever loads in a new namespace brings a C library of its own (every
 * library needs one, and LD_PRELOAD applies to the first namespace only):
 * dlmopen(LM_ID_NEWLM) of libcurl connects as surely past the hooks as
 * one of libc. */
static const char dlmopen_refused[] =
    "enact: strict = true refuses a new namespace (dlmopen LM_ID_NEWLM), "
    "whose own C library no hook sees";

/* Nonzero: the caller's dlmopen is refused (recorded, and dlerror made to
 * say why); zero: libc's dlmopen takes the call as it is. */
HIDDEN int enact_dlmopen_refused(long lmid, const char *file)
{
    ensure_libc_dl();
    real_ensure(); /* no library before the shim calls dlmopen at its start */
    const struct enact_config *cfg;
    if (lmid != LM_ID_NEWLM || !file || !shim_enter(&cfg))
        return 0;
    bool refused = cfg && cfg->strict &&
                   shim_strict_call("dlmopen", file,
                                    "strict = true: what loads in a new namespace uses a C "
                                    "library of its own, whose functions the preload cannot see");
    shim_leave();
    if (refused) {
        /* glibc keeps dlerror's text to itself: a load that cannot succeed
         * (a name no file has, no '/' in it) makes it begin with ours. */
        int saved = errno;
        void *none = dlopen(dlmopen_refused, RTLD_NOW | RTLD_LOCAL); /* libc's: no export of ours */
        if (none) /* cannot be, but a handle must not leak */
            dlclose(none);
        errno = saved;
    }
    return refused;
}

#ifdef __CET__
#define ENTRY "    endbr64\n"
#else
#define ENTRY ""
#endif

/* Each saves the arguments it passes on, asks its helper, and either
 * returns the shim's answer or jumps to libc's function with the stack as
 * the caller left it. */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym,@function\n"
        "dlsym:\n"
        "    .cfi_startproc\n" ENTRY
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n" /* aligns the stack for the call */
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rdx\n" /* the caller's return address */
        "    movq %rdi, %rsi\n"     /* the handle */
        "    movq 8(%rsp), %rdi\n"  /* the name */
        "    call enact_dl_override\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %rax, %rax\n"
        "    jne 1f\n"
        "    jmp *real+0(%rip)\n"
        "1:  ret\n"
        "    .cfi_endproc\n"
        ".size dlsym, .-dlsym\n"

        ".globl dlvsym\n"
        ".type dlvsym,@function\n"
        "dlvsym:\n"
        "    .cfi_startproc\n" ENTRY
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rdx\n" /* the third push aligns the stack */
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rdx\n"
        "    movq %rdi, %rsi\n"
        "    movq 8(%rsp), %rdi\n"
        "    call enact_dl_override\n"
        "    popq %rdx\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %rax, %rax\n"
        "    jne 1f\n"
        "    jmp *real+8(%rip)\n"
        "1:  ret\n"
        "    .cfi_endproc\n"
        ".size dlvsym, .-dlvsym\n"

        ".globl dlmopen\n"
        ".type dlmopen,@function\n"
        "dlmopen:\n"
        "    .cfi_startproc\n" ENTRY
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rdx\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call enact_dlmopen_refused\n"
        "    popq %rdx\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testl %eax, %eax\n"
        "    jne 1f\n"
        "    jmp *real+16(%rip)\n"
        "1:  xorl %eax, %eax\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size dlmopen, .-dlmopen\n");

#endif
