#include "binfmt.h"

#include "sys.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PHDRS_MAX 128

static bool privileged(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
        return true;
    return fgetxattr(fd, "security.capability", NULL, 0) > 0;
}

/* Whether the program headers of an ELF file have PT_INTERP. */
static enum binfmt_kind elf_kind(int fd, const unsigned char *head, size_t n)
{
    if (n < EI_NIDENT) /* the class byte was not read */
        return BINFMT_UNKNOWN;
    bool is64 = head[EI_CLASS] == ELFCLASS64;
    if ((!is64 && head[EI_CLASS] != ELFCLASS32) || n < (is64 ? sizeof(Elf64_Ehdr)
                                                               : sizeof(Elf32_Ehdr)))
        return BINFMT_UNKNOWN;
    uint64_t phoff;
    size_t phentsize, phnum;
    uint16_t type;
    if (is64) {
        Elf64_Ehdr eh;
        memcpy(&eh, head, sizeof eh);
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum, type = eh.e_type;
    } else {
        Elf32_Ehdr eh;
        memcpy(&eh, head, sizeof eh);
        phoff = eh.e_phoff, phentsize = eh.e_phentsize, phnum = eh.e_phnum, type = eh.e_type;
    }
    size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if ((type != ET_EXEC && type != ET_DYN) || phentsize < want || phnum == 0 ||
        phnum > PHDRS_MAX)
        return BINFMT_UNKNOWN;
    for (size_t i = 0; i < phnum; i++) {
        unsigned char ph[sizeof(Elf64_Phdr)];
        if (pread(fd, ph, want, (off_t)(phoff + i * phentsize)) != (ssize_t)want)
            return BINFMT_UNKNOWN;
        uint32_t p_type;
        memcpy(&p_type, ph, sizeof p_type); /* the first field in both classes */
        if (p_type == PT_INTERP)
            return BINFMT_DYNAMIC;
    }
    return BINFMT_STATIC;
}

/* The interpreter of a #! line into out; false when there is none. */
static bool shebang(const unsigned char *head, size_t n, char *out, size_t cap)
{
    size_t i = 2;
    while (i < n && (head[i] == ' ' || head[i] == '\t'))
        i++;
    size_t start = i;
    while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n')
        i++;
    size_t len = i - start;
    if (len == 0 || len >= cap || head[start] != '/')
        return false;
    memcpy(out, head + start, len);
    out[len] = '\0';
    return true;
}

static struct binfmt classify(const char *path, int depth)
{
    struct binfmt r = {.kind = BINFMT_UNKNOWN};
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        /* A missing file fails the exec itself; any other failure hides
         * what the exec would start. */
        if (errno != ENOENT && errno != ENOTDIR)
            r.unreadable = errno;
        errno = saved;
        return r;
    }
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0)
        r.unreadable = errno;
    r.privileged = privileged(fd);
    if (n >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0) {
        r.kind = elf_kind(fd, head, (size_t)n);
    } else if (n >= 2 && head[0] == '#' && head[1] == '!' && depth == 0) {
        char interp[128];
        if (shebang(head, (size_t)n, interp, sizeof interp)) {
            struct binfmt in = classify(interp, depth + 1);
            r.kind = in.kind;
            r.unreadable = in.unreadable;
            r.script = true;
        }
    }
    sys_close(fd);
    errno = saved;
    return r;
}

struct binfmt binfmt_of(const char *path)
{
    return classify(path, 0);
}

const char *binfmt_kind_name(enum binfmt_kind kind)
{
    switch (kind) {
    case BINFMT_DYNAMIC: return "dynamic";
    case BINFMT_STATIC: return "static";
    case BINFMT_UNKNOWN: break;
    }
    return "unknown";
}
