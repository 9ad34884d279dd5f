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

/* The shim beside this executable (build tree), or in ../lib/enact
 * (installed tree). */
static bool find_shim(char out[PATH_MAX])
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    const char *dir = dirname(self);
    static const char *const candidates[] = {"%s/libenact_shim.so",
                                             "%s/../lib/enact/libenact_shim.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, candidates[i], dir);
        if (realpath(path, out) && access(out, R_OK) == 0)
            return true;
    }
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
        fprintf(stderr, "enact run: cannot find libenact_shim.so next to this program or in "
                        "../lib/enact/\n");
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
