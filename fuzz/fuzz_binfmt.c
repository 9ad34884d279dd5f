/* fuzz_binfmt: what kind of program a file is (shim/store/binfmt.h): the
 * ELF header and program headers of an untrusted file, read with pread.
 *
 * Properties beyond "no crash":
 *  - binfmt_of gives the kind a reference reading of the same bytes gives
 *    (ELF class, e_type, e_phoff/e_phentsize/e_phnum within the file,
 *    PT_INTERP among at most 128 program headers: dynamic, else static);
 *  - a #! script naming that file as its interpreter is a script of the
 *    same kind;
 *  - a plain file of ours is neither privileged nor unreadable.
 *
 * The input is the file's content, written in a private directory. A file
 * that starts with "#!" is not judged directly (its interpreter would be
 * any file of this machine); scripts are made by the harness instead. */
#include "binfmt.h"
#include "fuzz.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

static char dir[64], prog[96], script[96];

static void cleanup(void)
{
    unlink(prog);
    unlink(script);
    rmdir(dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/enact-fuzz-binfmt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (strlen(dir) >= sizeof dir - 1 || !mkdtemp(dir))
        abort();
    snprintf(prog, sizeof prog, "%s/prog", dir);
    snprintf(script, sizeof script, "%s/script", dir);
    atexit(cleanup);
}

static void write_file(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
        abort();
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The kind from the bytes alone (x86-64: fields in little-endian order). */
static enum binfmt_kind reference(const uint8_t *d, size_t size)
{
    size_t n = size < 256 ? size : 256;
    if (n < 52 || memcmp(d, ELFMAG, SELFMAG) != 0) /* 52: the smaller header */
        return BINFMT_UNKNOWN;
    bool is64 = d[EI_CLASS] == ELFCLASS64;
    if ((!is64 && d[EI_CLASS] != ELFCLASS32) || n < (is64 ? 64u : 52u))
        return BINFMT_UNKNOWN;
    uint64_t type = le(d + 16, 2);
    uint64_t phoff = is64 ? le(d + 32, 8) : le(d + 28, 4);
    uint64_t phentsize = le(d + (is64 ? 54 : 42), 2), phnum = le(d + (is64 ? 56 : 44), 2);
    uint64_t want = is64 ? 56 : 32;
    if ((type != ET_EXEC && type != ET_DYN) || phentsize < want || phnum == 0 || phnum > 128)
        return BINFMT_UNKNOWN;
    for (uint64_t i = 0; i < phnum; i++) {
        uint64_t off = phoff + i * phentsize; /* wraps as the original does */
        if ((int64_t)off < 0 || off > size || size - off < want)
            return BINFMT_UNKNOWN;
        if (le(d + off, 4) == PT_INTERP)
            return BINFMT_DYNAMIC;
    }
    return BINFMT_STATIC;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    if (size >= 2 && data[0] == '#' && data[1] == '!')
        return 0;
    write_file(prog, data, size);
    enum binfmt_kind want = reference(data, size);
    struct binfmt b = binfmt_of(prog);
    FUZZ_CHECK(b.kind == want, "kind %s, the reference says %s", binfmt_kind_name(b.kind),
               binfmt_kind_name(want));
    FUZZ_CHECK(!b.script && !b.privileged && !b.unreadable, "script %d, privileged %d, errno %d",
               b.script, b.privileged, b.unreadable);

    char text[160];
    int len = snprintf(text, sizeof text, "#! %s -x arg\nexit 0\n", prog);
    write_file(script, text, (size_t)len);
    b = binfmt_of(script);
    FUZZ_CHECK(b.script && b.kind == want && !b.privileged && !b.unreadable,
               "a script run by it: script %d, kind %s (not %s)", b.script,
               binfmt_kind_name(b.kind), binfmt_kind_name(want));
    return 0;
}
