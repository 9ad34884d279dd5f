/* Unit tests for elf_symbols.c: a GNU hash lookup gives what the loader
 * gives, on this process's own libc (against dlsym) and on hand-built
 * tables (versions, IFUNCs, undefined and local symbols, the bloom
 * filter). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <string.h>

#include "elf_symbols.h"

/* ---- this process's libc ----------------------------------------------- */

struct find_libc {
    struct elf_symbols s;
    bool found;
};

static int visit(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct find_libc *f = ctx;
    if (!strstr(info->dlpi_name, "/libc.so"))
        return 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            f->found = elf_symbols_init(
                &f->s, info->dlpi_addr,
                (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr));
    return 1;
}

/* Every function the shim resolves, and a few that are versioned twice or
 * weak, found where dlsym on libc's own handle finds them (not
 * RTLD_DEFAULT: the ASan runtime of this test interposes some). */
static void test_libc_as_dlsym(void **state)
{
    (void)state;
    struct find_libc f = {0};
    dl_iterate_phdr(visit, &f);
    assert_true(f.found);
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    assert_non_null(libc);
    static const char *const names[] = {
        "connect",  "getsockopt", "execve",     "execv",       "execvp",   "execvpe",
        "posix_spawn", "posix_spawnp", "getaddrinfo", "gethostbyname", "gethostbyname2",
        "send",     "sendto",     "sendmsg",    "sendmmsg",    "write",    "writev",
        "recv",     "recvfrom",   "recvmsg",    "recvmmsg",    "read",     "readv",
        "close",    "close_range", "dup",       "dup2",        "dup3",     "fcntl",
        "system",   "popen",      "pclose",     "fexecve",     "execveat", "wait4",
        "waitid",   "syscall",    "fcntl64",    "realpath",    "fopen"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *addr = NULL;
        enum elf_found r = elf_symbols_find(&f.s, names[i], &addr);
        void *want = dlsym(libc, names[i]);
        if (r == ELF_FOUND && addr != want)
            fail_msg("%s: %p, dlsym says %p", names[i], addr, want);
        if (r != ELF_FOUND)
            fail_msg("%s: not found (%d)", names[i], r);
    }
    void *addr = NULL;
    assert_int_equal(elf_symbols_find(&f.s, "enact_no_such_function", &addr), ELF_ABSENT);
    dlclose(libc);
}

/* ---- hand-built tables ---------------------------------------------------- */

/* One bucket; symbols 1..n in its chain; a bloom word of all ones. */
struct table {
    uint32_t hash[4 + sizeof(ElfW(Addr)) / 4 + 1 + 8];
    ElfW(Sym) sym[9];
    ElfW(Half) versym[9];
    char strtab[256];
    size_t strlen_used;
    int n;
};

static void table_add(struct table *t, const char *name, int bind, int type, ElfW(Half) version,
                      bool defined)
{
    size_t at = t->strlen_used;
    strcpy(t->strtab + at, name);
    t->strlen_used += strlen(name) + 1;
    int i = ++t->n;
    t->sym[i] = (ElfW(Sym)){.st_name = (uint32_t)at,
                            .st_info = (unsigned char)ELF64_ST_INFO(bind, type),
                            .st_shndx = defined ? 1 : SHN_UNDEF,
                            .st_value = (ElfW(Addr))(0x1000 * i)};
    t->versym[i] = version;
}

static struct elf_symbols table_done(struct table *t, bool with_versions)
{
    uint32_t *h = t->hash;
    h[0] = 1;  /* nbuckets */
    h[1] = 1;  /* symoffset */
    h[2] = 1;  /* bloom words */
    h[3] = 6;  /* bloom shift */
    ElfW(Addr) all = (ElfW(Addr))-1;
    memcpy(&h[4], &all, sizeof all);
    uint32_t *buckets = &h[4 + sizeof all / 4];
    buckets[0] = 1;
    uint32_t *chain = buckets + 1;
    for (int i = 1; i <= t->n; i++)
        chain[i - 1] = (elf_gnu_hash(t->strtab + t->sym[i].st_name) & ~1u) | (i == t->n);
    return (struct elf_symbols){.base = 0x400000, .gnu_hash = h, .symtab = t->sym,
                                .strtab = t->strtab, .versym = with_versions ? t->versym : NULL};
}

static enum elf_found find(const struct elf_symbols *s, const char *name, uintptr_t *at)
{
    void *addr = NULL;
    enum elf_found r = elf_symbols_find(s, name, &addr);
    *at = (uintptr_t)addr;
    return r;
}

/* A hidden old version before the default one: the default (as
 * posix_spawn@GLIBC_2.2.5 and @@GLIBC_2.15); only hidden: for dlsym. */
static void test_versions(void **state)
{
    (void)state;
    static struct table t;
    memset(&t, 0, sizeof t);
    t.strlen_used = 1;
    table_add(&t, "spawn", STB_GLOBAL, STT_FUNC, 0x8000 | 2, true);
    table_add(&t, "spawn", STB_GLOBAL, STT_FUNC, 3, true);
    table_add(&t, "old", STB_GLOBAL, STT_FUNC, 0x8000 | 2, true);
    table_add(&t, "weak", STB_WEAK, STT_FUNC, 1, true);
    struct elf_symbols s = table_done(&t, true);
    uintptr_t at;
    assert_int_equal(find(&s, "spawn", &at), ELF_FOUND);
    assert_int_equal(at, 0x400000 + 0x2000);
    assert_int_equal(find(&s, "old", &at), ELF_UNSURE);
    assert_int_equal(find(&s, "weak", &at), ELF_FOUND);
    assert_int_equal(at, 0x400000 + 0x4000);
    /* Without a version table every defined global is the default. */
    s.versym = NULL;
    assert_int_equal(find(&s, "old", &at), ELF_FOUND);
    assert_int_equal(at, 0x400000 + 0x3000);
}

/* An IFUNC's address is its resolver's answer: for dlsym. An undefined
 * (imported) or local symbol, or an object, is no definition of the
 * function: absent, so the next object is asked. */
static void test_kinds(void **state)
{
    (void)state;
    static struct table t;
    memset(&t, 0, sizeof t);
    t.strlen_used = 1;
    table_add(&t, "memcpy", STB_GLOBAL, STT_GNU_IFUNC, 2, true);
    table_add(&t, "imported", STB_GLOBAL, STT_FUNC, 1, false);
    table_add(&t, "local", STB_LOCAL, STT_FUNC, 1, true);
    table_add(&t, "versym0", STB_GLOBAL, STT_FUNC, 0, true);
    struct elf_symbols s = table_done(&t, true);
    uintptr_t at;
    assert_int_equal(find(&s, "memcpy", &at), ELF_UNSURE);
    assert_int_equal(find(&s, "imported", &at), ELF_ABSENT);
    assert_int_equal(find(&s, "local", &at), ELF_UNSURE);
    assert_int_equal(find(&s, "versym0", &at), ELF_UNSURE);
    assert_int_equal(find(&s, "absent", &at), ELF_ABSENT);
}

/* The bloom filter answers "absent" without the chain; an empty table or
 * a bucket before symoffset has nothing. */
static void test_bloom_and_empty(void **state)
{
    (void)state;
    static struct table t;
    memset(&t, 0, sizeof t);
    t.strlen_used = 1;
    table_add(&t, "connect", STB_GLOBAL, STT_FUNC, 1, true);
    struct elf_symbols s = table_done(&t, true);
    uintptr_t at;
    assert_int_equal(find(&s, "connect", &at), ELF_FOUND);
    ElfW(Addr) none = 0;
    memcpy(&t.hash[4], &none, sizeof none);
    assert_int_equal(find(&s, "connect", &at), ELF_ABSENT);
    t.hash[0] = 0;
    assert_int_equal(find(&s, "connect", &at), ELF_ABSENT);
}

/* The tables come from the dynamic section; an address below the base is
 * relative to it (the vDSO's), one above it absolute (glibc rewrites
 * them); without a GNU hash there is nothing to read. */
static void test_init_from_dynamic(void **state)
{
    (void)state;
    static const uint32_t hash[8];
    static const ElfW(Sym) symtab[1];
    static const char strtab[] = "";
    uintptr_t base = 0x1000;
    ElfW(Dyn) dyn[] = {
        {.d_tag = DT_GNU_HASH, .d_un.d_ptr = (ElfW(Addr))hash},
        {.d_tag = DT_SYMTAB, .d_un.d_ptr = (ElfW(Addr))symtab},
        {.d_tag = DT_STRTAB, .d_un.d_ptr = 0x20},
        {.d_tag = DT_NULL},
    };
    (void)strtab;
    struct elf_symbols s;
    assert_true(elf_symbols_init(&s, base, dyn));
    assert_ptr_equal(s.gnu_hash, hash);
    assert_ptr_equal(s.symtab, symtab);
    assert_int_equal((uintptr_t)s.strtab, base + 0x20);
    assert_null(s.versym);
    dyn[0].d_tag = DT_HASH;
    assert_false(elf_symbols_init(&s, base, dyn));
}

static void test_gnu_hash(void **state)
{
    (void)state;
    /* Values from the GNU hash definition (h = h * 33 + c from 5381). */
    assert_int_equal(elf_gnu_hash(""), 5381);
    assert_int_equal(elf_gnu_hash("a"), 5381 * 33 + 'a');
    assert_int_equal(elf_gnu_hash("printf"), 0x156b2bb8);
    /* The folded hash of a literal is the same, at every length it takes
     * and for every name the shim resolves (preload/real.c). */
#define SAME(lit) assert_int_equal(ELF_GNU_HASH_OF(lit), elf_gnu_hash(lit))
    SAME("");
    SAME("a");
    SAME("ab");
    SAME("abc");
    SAME("abcd");
    SAME("abcde");
    SAME("abcdef");
    SAME("abcdefg");
    SAME("abcdefgh");
    SAME("abcdefghi");
    SAME("abcdefghij");
    SAME("abcdefghijk");
    SAME("abcdefghijkl");
    SAME("abcdefghijklm");
    SAME("abcdefghijklmn");
    SAME("abcdefghijklmno");
    SAME("abcdefghijklmnop");
    SAME("\xff\x80\x7f~ \x01");
    SAME("syscall");
    SAME("fcntl64");
    SAME("gethostbyname2");
    SAME("posix_spawnp");
    SAME("close_range");
    SAME("printf");
#undef SAME
    static const uint32_t folded = ELF_GNU_HASH_OF("printf"); /* a constant */
    assert_int_equal(folded, 0x156b2bb8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libc_as_dlsym),   cmocka_unit_test(test_versions),
        cmocka_unit_test(test_kinds),           cmocka_unit_test(test_bloom_and_empty),
        cmocka_unit_test(test_init_from_dynamic), cmocka_unit_test(test_gnu_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
