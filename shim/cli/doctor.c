/* enact doctor PROGRAM: whether and how far Enact can govern a program.
 *
 * Reads the ELF file with libelf: static or dynamic, its interpreter, and
 * which of the libc functions the shim interposes it and its libraries
 * import, so that a program whose network or process calls do not go
 * through libc (raw syscalls, a static runtime) is told apart from one
 * the preload sees whole. */
#include "cli.h"
#include "doctor_chain.h"
#include "../store/binfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: enact doctor PROGRAM\n"
    "Says whether Enact can govern PROGRAM (a path, or a name looked up in PATH):\n"
    "static or dynamic, its interpreter, setuid, and which calls Enact\n"
    "interposes it imports, directly or through its libraries.\n"
    "A script is judged by the program that runs it: its #! interpreter, or the\n"
    "NAME of #!/usr/bin/env NAME as found in PATH. A wrapper script (a shell\n"
    "script whose last command is exec PROGRAM, as version managers' shims are)\n"
    "is run as a user would run it, without arguments and its output discarded,\n"
    "until it starts its program; that program is stopped before its first\n"
    "instruction and judged.\n";

/* The names the shim exports (tests/integration/test_symbols.sh checks the
 * library against the same list), by family. */
static const char *const NET[] = {"connect", "send", "sendto", "sendmsg", "sendmmsg", "write",
                                  "writev", "recv", "recvfrom", "recvmsg", "recvmmsg", "read",
                                  "readv", "getaddrinfo", "gethostbyname", "gethostbyname2",
                                  NULL};
static const char *const PROC[] = {"execve", "execv", "execvp", "execvpe", "execl", "execlp",
                                   "execle", "fexecve", "execveat", "posix_spawn",
                                   "posix_spawnp", "system", "popen", "fork", "vfork", NULL};

#define LIBS_MAX 64

struct findings {
    char libs[LIBS_MAX][PATH_MAX];
    size_t nlibs;
    bool net[32], proc[32];
    char interp[PATH_MAX];
    char runpath[1024];
    bool elf_ok;
};

static int index_of(const char *const list[], const char *name)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return i;
    return -1;
}

/* A DT_NEEDED library, found as the loader would find it in the usual places. */
static bool find_library(const struct findings *f, const char *name, char out[PATH_MAX])
{
    if (strchr(name, '/'))
        return snprintf(out, PATH_MAX, "%s", name) < PATH_MAX && access(out, R_OK) == 0;
    return doctor_find_in(f->runpath, name, out) ||
           doctor_find_in(getenv("LD_LIBRARY_PATH"), name, out) ||
           doctor_find_in("/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
                          "/lib:/usr/lib:/usr/local/lib",
                          name, out);
}

static void add_library(struct findings *f, const char *name)
{
    char path[PATH_MAX];
    if (!find_library(f, name, path) || f->nlibs >= LIBS_MAX)
        return;
    for (size_t i = 0; i < f->nlibs; i++)
        if (strcmp(f->libs[i], path) == 0)
            return;
    snprintf(f->libs[f->nlibs++], PATH_MAX, "%s", path);
}

/* Undefined dynamic symbols, DT_NEEDED, DT_RUNPATH and PT_INTERP of one file. */
static bool read_elf(const char *path, struct findings *f, bool top)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    bool ok = e && elf_kind(e) == ELF_K_ELF;
    size_t nph = 0;
    for (size_t i = 0; ok && top && elf_getphdrnum(e, &nph) == 0 && i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP && ph.p_filesz < PATH_MAX &&
            pread(fd, f->interp, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
            f->interp[ph.p_filesz ? ph.p_filesz - 1 : 0] = '\0';
    }
    Elf_Scn *scn = NULL;
    char needed[LIBS_MAX][256];
    size_t nneeded = 0;
    while (ok && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data || sh.sh_entsize == 0)
            continue;
        size_t count = sh.sh_size / sh.sh_entsize;
        if (sh.sh_type == SHT_DYNSYM) {
            for (size_t i = 0; i < count; i++) {
                GElf_Sym sym;
                const char *name;
                if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx != SHN_UNDEF ||
                    !(name = elf_strptr(e, sh.sh_link, sym.st_name)))
                    continue;
                int k;
                if ((k = index_of(NET, name)) >= 0)
                    f->net[k] = true;
                if ((k = index_of(PROC, name)) >= 0)
                    f->proc[k] = true;
            }
        } else if (sh.sh_type == SHT_DYNAMIC) {
            for (size_t i = 0; i < count; i++) {
                GElf_Dyn dyn;
                const char *s;
                if (!gelf_getdyn(data, (int)i, &dyn))
                    continue;
                bool want = dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RUNPATH ||
                            dyn.d_tag == DT_RPATH;
                if (!want || !(s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val)))
                    continue;
                if (dyn.d_tag == DT_NEEDED && nneeded < LIBS_MAX)
                    snprintf(needed[nneeded++], sizeof needed[0], "%s", s);
                else if (top && dyn.d_tag != DT_NEEDED)
                    snprintf(f->runpath, sizeof f->runpath, "%s", s);
            }
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    for (size_t i = 0; ok && i < nneeded; i++)
        add_library(f, needed[i]);
    return ok;
}

static void print_family(const char *label, const char *const list[], const bool *seen)
{
    printf("  %s:", label);
    int n = 0;
    for (int i = 0; list[i]; i++)
        if (seen[i])
            printf("%s %s", n++ ? "," : "", list[i]);
    printf("%s\n", n ? "" : " none");
}

int cmd_doctor(int argc, char **argv)
{
    if (argc == 2 && cli_wants_help(argv[1])) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (argc != 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    char path[PATH_MAX];
    if (!doctor_resolve(argv[1], path)) {
        fprintf(stderr, "enact doctor: %s: not found\n", argv[1]);
        return EXIT_CONFIG;
    }
    char program[PATH_MAX];
    doctor_chase(path, program);
    struct binfmt b = binfmt_of(program);
    if (elf_version(EV_CURRENT) == EV_NONE) {
        fprintf(stderr, "enact doctor: libelf is unusable: %s\n", elf_errmsg(-1));
        return EXIT_CONFIG;
    }
    static struct findings f;
    if (b.kind == BINFMT_UNKNOWN || !read_elf(program, &f, true)) {
        printf("%s: not an ELF program Enact can read\n", program);
        return EXIT_CONFIG;
    }
    for (size_t i = 0; i < f.nlibs; i++)
        read_elf(f.libs[i], &f, false);
    printf("%s: %s ELF%s%s\n", program, binfmt_kind_name(b.kind),
           f.interp[0] ? ", interpreter " : "", f.interp);
    if (b.privileged)
        printf("  setuid, setgid or file capabilities: the loader ignores LD_PRELOAD for it\n");
    if (b.kind == BINFMT_STATIC) {
        printf("  static: the shim is never loaded into it. Enact decides whether it may start\n"
               "  (static_binaries), but not what it does once started.\n");
        return 0;
    }
    printf("  libraries: %zu\n", f.nlibs);
    printf("  interposed calls it imports (itself or through its libraries):\n");
    print_family("network", NET, f.net);
    print_family("programs", PROC, f.proc);
    bool any_net = false, any_proc = false;
    for (int i = 0; NET[i]; i++)
        any_net = any_net || f.net[i];
    for (int i = 0; PROC[i]; i++)
        any_proc = any_proc || f.proc[i];
    if (b.privileged)
        printf("  governed: no, only its start is decided (static_binaries)\n");
    else
        printf("  governed: yes, through the preload; connections %s, program starts %s\n",
               any_net ? "seen" : "not seen (it makes none through libc)",
               any_proc ? "seen" : "not seen (it makes none through libc)");
    return 0;
}
