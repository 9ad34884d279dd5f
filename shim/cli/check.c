#include "cli.h"

#include "../policy/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char HELP[] =
    "usage: enact check [--backend] [FILE]\n"
    "\n"
    "Validates a config: prints FILE:LINE: message for every problem and exits 1,\n"
    "or summarises the tools and exits 0. FILE defaults to $ENACT_CONFIG, else\n"
    "./enact.ini. --backend also connects to a shared backend (Redis), signs in,\n"
    "loads the limits script and reports the round trip; a backend that cannot\n"
    "be used is an error naming the line that says where it is.\n";

/* Whether users other than the owner (and the group) may read path. */
static bool others_read(const char *path, mode_t *mode)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    *mode = st.st_mode & 07777;
    return (st.st_mode & S_IROTH) != 0;
}

/* A password where other users can read it is one they have. */
static void warn_exposed_password(const char *path, const struct enact_config *cfg)
{
    const struct backend_spec *b = &cfg->backend;
    const unsigned *at = cfg->enact_src.key_line;
    mode_t mode;
    if (b->parsed.password[0] && others_read(cfg->path, &mode))
        printf("%s:%u: warning: the backend URL holds a password and this file is readable "
               "by other users (mode %04o); put it in backend.password_file (mode 0600) or "
               "backend.password_env\n",
               path, at[EK_BACKEND], (unsigned)mode);
    if (b->password_file && others_read(b->password_file, &mode))
        printf("%s:%u: warning: backend.password_file %s is readable by other users (mode "
               "%04o); chmod 600 it\n",
               path, at[EK_BACKEND_PASSWORD_FILE], b->password_file, (unsigned)mode);
}

static const char *password_source(const struct backend_spec *b)
{
    if (b->password_file)
        return "from backend.password_file";
    if (b->password_env)
        return secure_getenv(b->password_env) ? "from backend.password_env"
                                              : "none (backend.password_env is not set)";
    return b->parsed.password[0] ? "in the URL" : "none";
}

/* Connects as a governed program would; false (said why) when it cannot. */
static bool try_backend(const char *path, const struct enact_config *cfg)
{
    struct redis_options opt;
    backend_options(cfg, "", &opt);
    if (opt.timeout_ns < 1000000000u)
        opt.timeout_ns = 1000000000u; /* a person waits, not a call */
    struct redis_store *rs = calloc(1, sizeof *rs);
    if (!rs)
        return false;
    redis_store_init(rs, &opt, (struct redis_fallback){0}, 0);
    uint64_t rtt = 0;
    char version[40], why[192];
    bool ok = redis_store_probe(rs, &rtt, version, sizeof version, why, sizeof why);
    free(rs);
    const unsigned *at = cfg->enact_src.key_line;
    char where[300];
    redis_url_where(&cfg->backend.parsed, where, sizeof where);
    if (!ok) {
        unsigned line = at[EK_BACKEND];
        if (strstr(why, "password_file") || (strstr(why, "authentication") &&
                                             cfg->backend.password_file))
            line = at[EK_BACKEND_PASSWORD_FILE];
        else if (strstr(why, "authentication") && cfg->backend.password_env)
            line = at[EK_BACKEND_PASSWORD_ENV];
        else if ((strstr(why, "certificate") || strstr(why, "tls_ca_file")) &&
                 cfg->backend.tls_ca_file)
            line = at[EK_BACKEND_TLS_CA_FILE];
        fprintf(stderr, "%s:%u: backend %s: %s\n", path, line, where, why);
        return false;
    }
    printf("  backend:   %s answered: Redis %s, limits script loaded, round trip %.3f ms\n", where,
           version[0] ? version : "?", (double)rtt / 1e6);
    return true;
}

int cmd_check(int argc, char **argv)
{
    int backend = 0, next = argc;
    const struct cli_option options[] = {
        {.name = "--backend", .flag = &backend, .to = 1},
        {0},
    };
    int parsed = cli_parse(&(struct cli_command){.name = "check", .help = HELP,
                                                 .options = options, .until_command = true},
                           argc, argv, &next);
    if (parsed >= 0)
        return parsed;
    if (argc - next > 1) {
        fputs(HELP, stderr);
        return EXIT_USAGE;
    }
    int failed;
    const char *path;
    struct enact_config *cfg = cli_config(next < argc ? argv[next] : NULL, &failed, &path);
    if (!cfg)
        return failed;
    if (backend_is_shared(cfg))
        warn_exposed_password(path, cfg);
    printf("%s: ok, %zu tool%s\n", path, cfg->ntools, cfg->ntools == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->ntools; i++)
        cli_describe_tool(stdout, cfg, &cfg->tools[i]);
    if (cfg->agent_quota.enabled || cfg->nagents)
        printf("  agents:\n");
    cli_describe_agents(stdout, cfg);
    if (cfg->mode == MODE_OBSERVE)
        printf("  mode:      observe (nothing is refused; refusals are recorded as would_deny)\n");
    if (cfg->strict)
        printf("  strict:    static, setuid and unreadable programs refused; syscall() governed;"
               " io_uring refused (ENOSYS); a state file others could change refused\n");
    int status = 0;
    if (backend_is_shared(cfg)) {
        static const char *const on_down[] = {"local (this host's state file)", "deny",
                                              "allow"};
        char where[300];
        redis_url_where(&cfg->backend.parsed, where, sizeof where);
        printf("  limits:    on Redis at %s%s, keys {%s}:*, timeout %llu ms, on_down %s, "
               "password %s\n",
               where, cfg->backend.parsed.transport == REDIS_TLS ? " (TLS)" : "",
               cfg->backend.key_prefix, (unsigned long long)cfg->backend.timeout_ms,
               on_down[cfg->backend.on_down], password_source(&cfg->backend));
        if (backend && !try_backend(path, cfg))
            status = EXIT_CONFIG;
    } else if (backend) {
        printf("  backend:   local: nothing to connect to\n");
    }
    printf("  state:     %s (room for %u agents per tool)\n  audit log: %s\n", cfg->state_path,
           cfg->max_agents ? cfg->max_agents : STATE_AGENTS_DEFAULT, cfg->audit_path);
    config_free(cfg);
    return status;
}
