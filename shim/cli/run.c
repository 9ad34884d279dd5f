#include "cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact run [-c FILE] [-a AGENT] [--observe] -- CMD [ARGS]\n"
    "\n"
    "Runs CMD with the enact shim preloaded, so that CMD and every program it\n"
    "starts are governed by the config. The exit status is CMD's.\n"
    "\n"
    "  -c FILE     the config (default: $ENACT_CONFIG, else ./enact.ini)\n"
    "  -a AGENT    whose limits these are (default: [enact] agent, else CMD's name)\n"
    "  --observe   enforce nothing; record what would be refused (verdict would_deny)\n";

/* Where the shim is looked for, in this order: beside this executable (the
 * build tree: a developer's build/enact takes its own build/libenact_shim.so,
 * never an installed one); in ENACT_LIBDIR/enact, the library directory the
 * CLI was built for (make LIBDIR=..., which install uses: a Debian package's
 * /usr/lib/<multiarch>/enact); in ../lib/enact from this executable (an
 * installed tree moved elsewhere). Each is a directory, with its slash. */
#ifndef ENACT_LIBDIR /* the Makefile's LIBDIR; this, its default, elsewhere */
#define ENACT_LIBDIR "/usr/local/lib"
#endif
enum { SHIM_PLACES = 3 };
static size_t shim_places(char places[SHIM_PLACES][PATH_MAX])
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 0;
    self[n] = '\0';
    char parent[PATH_MAX];
    const char *dir = dirname(self);
    snprintf(parent, sizeof parent, "%s", dir);
    const char *up = dirname(parent);
    const char *const base[SHIM_PLACES] = {dir, ENACT_LIBDIR, strcmp(up, "/") ? up : ""};
    const char *const tail[SHIM_PLACES] = {"/", "/enact/", "/lib/enact/"};
    size_t count = 0;
    for (size_t i = 0; i < SHIM_PLACES; i++) {
        if (strlen(base[i]) + strlen(tail[i]) >= PATH_MAX)
            continue;
        strcat(strcpy(places[count], base[i]), tail[i]);
        bool seen = false; /* LIBDIR is often ../lib itself: looked in once */
        for (size_t j = 0; j < count; j++)
            seen = seen || strcmp(places[j], places[count]) == 0;
        if (!seen)
            count++;
    }
    return count;
}

/* The first readable shim of shim_places, resolved, in OUT; else false,
 * with the places looked in, comma-separated, in OUT. */
static bool find_shim(char out[PATH_MAX])
{
    char places[SHIM_PLACES][PATH_MAX];
    size_t count = shim_places(places);
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX + sizeof "libenact_shim.so"];
        snprintf(path, sizeof path, "%slibenact_shim.so", places[i]);
        if (realpath(path, out) && access(out, R_OK) == 0)
            return true;
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && len < PATH_MAX; i++) {
        int w = snprintf(out + len, PATH_MAX - len, "%s%s", i ? ", " : "", places[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (count == 0)
        snprintf(out, PATH_MAX, "no place (this program's path is unreadable)");
    return false;
}

/* The length of a sanitizer runtime at the head of an LD_PRELOAD list, or
 * 0: such a runtime must stay the first library loaded (make asan). */
static size_t sanitizer_head(const char *list)
{
    size_t len = strcspn(list, ": ");
    const char *base = memrchr(list, '/', len);
    base = base ? base + 1 : list;
    return strncmp(base, "libasan.so", 10) == 0 || strncmp(base, "libtsan.so", 10) == 0 ? len : 0;
}

/* LD_PRELOAD with the shim first, keeping what the caller had preloaded
 * (after a sanitizer runtime, which must come before it). */
static bool set_preload(const char *shim)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old)
        return setenv("LD_PRELOAD", shim, 1) == 0;
    if (strstr(old, shim))
        return true;
    size_t head = sanitizer_head(old);
    char *both;
    if ((head ? asprintf(&both, "%.*s:%s%s", (int)head, old, shim, old + head)
              : asprintf(&both, "%s:%s", shim, old)) < 0)
        return false;
    bool ok = setenv("LD_PRELOAD", both, 1) == 0;
    free(both);
    return ok;
}

/* Runs CMD through the shim's own execvp, so that the first program is
 * governed like every later one (`enact run -- rm -rf x` with rm mapped).
 * enact itself is not preloaded: the shim is loaded here, after the
 * environment names the config, and its constructor reads it. Returns only
 * when the exec failed or was refused (errno says which). */
static void exec_governed(const char *shim, const char *cmd, char *const argv[])
{
    void *lib = dlopen(shim, RTLD_NOW | RTLD_LOCAL);
    int (*governed_execvp)(const char *, char *const[]) = NULL;
    if (lib)
        *(void **)&governed_execvp = dlsym(lib, "execvp");
    if (!governed_execvp) {
        fprintf(stderr, "enact run: cannot load %s: %s\n", shim, dlerror());
        errno = ENOEXEC;
        return;
    }
    governed_execvp(cmd, argv);
}

int cmd_run(int argc, char **argv)
{
    const char *config = NULL, *agent = NULL;
    int observe = 0;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "-a", .value = &agent},
        {.name = "--observe", .flag = &observe, .to = 1},
        {0},
    };
    int i;
    int parsed = cli_parse(
        &(struct cli_command){.name = "run", .help = HELP, .options = options, .until_command = true},
        argc, argv, &i);
    if (parsed >= 0)
        return parsed;
    if (i >= argc) {
        fprintf(stderr, "enact run: no command given\n\n%s", HELP);
        return EXIT_USAGE;
    }
    if (agent && (!*agent || strlen(agent) > 64)) {
        fprintf(stderr, "enact run: the agent name must be 1 to 64 characters\n");
        return EXIT_USAGE;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;

    char shim[PATH_MAX];
    if (!find_shim(shim)) {
        fprintf(stderr, "enact run: cannot find libenact_shim.so; looked in %s\n", shim);
        return EXIT_CONFIG;
    }
    const char *cmd = argv[i];
    char cmd_copy[PATH_MAX];
    snprintf(cmd_copy, sizeof cmd_copy, "%s", cmd);
    if (!agent && !cfg->agent) {
        const char *inherited = getenv("ENACT_AGENT");
        agent = inherited && *inherited ? inherited : basename(cmd_copy);
    }
    bool ok = set_preload(shim) && setenv("ENACT_CONFIG", cfg->path, 1) == 0 &&
              (!agent || setenv("ENACT_AGENT", agent, 1) == 0) &&
              (!observe || setenv("ENACT_MODE", "observe", 1) == 0);
    config_free(cfg);
    if (!ok) {
        perror("enact run: setting the environment");
        return EXIT_CONFIG;
    }
    exec_governed(shim, cmd, argv + i);
    int err = errno;
    fprintf(stderr, "enact run: %s: %s\n", cmd, strerror(err));
    return err == ENOENT ? 127 : 126;
}
