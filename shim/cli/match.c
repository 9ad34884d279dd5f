#include "cli.h"
#include "../policy/config_match.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact match [-c FILE] connect ADDR:PORT | NAME:PORT\n"
    "       enact match [-c FILE] exec CMD [ARGS]\n"
    "\n"
    "Tells which tool a call maps to and the policy that applies. ADDR:PORT is\n"
    "127.0.0.1:80, [::1]:443, api.example.com:443 or unix:/path; CMD is looked up in\n"
    "PATH as exec does.\n";

/* ADDR:PORT, [V6]:PORT or unix:PATH into a sockaddr. */
static bool parse_target(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                         char name_out[HOST_NAME_MAX_LEN + 1])
{
    memset(ss, 0, sizeof *ss);
    name_out[0] = '\0';
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        const char *p = text + 5;
        size_t n = strlen(p);
        if (n == 0 || n >= sizeof un->sun_path)
            return false;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, p, n);
        if (p[0] == '@')
            un->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (p[0] != '@'));
        return true;
    }
    char host[HOST_NAME_MAX_LEN + 1];
    const char *colon = text[0] == '[' ? strstr(text, "]:") : strrchr(text, ':');
    if (!colon)
        return false;
    size_t hlen = (size_t)(colon - text) - (text[0] == '[');
    if (hlen >= sizeof host)
        return false;
    memcpy(host, text + (text[0] == '['), hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + (text[0] == '[' ? 2 : 1), &end, 10);
    if (*end || port < 0 || port > 65535)
        return false;
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof *in;
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
        return true;
    }
    /* A DNS name: matched by name rules only, as if resolved to 0.0.0.0. */
    if (text[0] == '[' || hlen == 0 || hlen >= HOST_NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < hlen; i++)
        name_out[i] = (char)tolower((unsigned char)host[i]);
    name_out[hlen] = '\0';
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *len = sizeof *in;
    return true;
}

/* CMD as execvp would find it; CMD itself when not found. */
static void resolve_cmd(const char *cmd, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s", cmd);
    if (strchr(cmd, '/'))
        return;
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : "/bin:/usr/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char cand[PATH_MAX];
        struct stat st;
        snprintf(cand, sizeof cand, "%s/%s", d, cmd);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            snprintf(out, PATH_MAX, "%s", cand);
            break;
        }
    }
    free(dirs);
}

static void describe(const struct enact_config *cfg, const struct tool *t, const char *what)
{
    if (!t) {
        printf("%s: no tool matches; the call passes through ungoverned\n", what);
        return;
    }
    printf("%s: governed by\n", what);
    cli_describe_tool(stdout, cfg, t);
    cli_describe_written(stdout, t);
    cli_describe_agents(stdout, cfg);
}

int cmd_match(int argc, char **argv)
{
    const char *config = NULL;
    int i = 1;
    if (i < argc && cli_wants_help(argv[i])) {
        fputs(HELP, stdout);
        return 0;
    }
    if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
        config = argv[i + 1];
        i += 2;
    }
    if (i + 1 >= argc || (strcmp(argv[i], "connect") != 0 && strcmp(argv[i], "exec") != 0)) {
        fputs(HELP, stderr);
        return EXIT_USAGE;
    }
    int failed;
    struct enact_config *cfg = cli_config(config, &failed, NULL);
    if (!cfg)
        return failed;
    int status = 0;
    if (strcmp(argv[i], "connect") == 0) {
        struct sockaddr_storage ss;
        socklen_t len;
        struct net_target target;
        char name[HOST_NAME_MAX_LEN + 1];
        if (argc != i + 2 || !parse_target(argv[i + 1], &ss, &len, name) ||
            !net_target_from_sockaddr((struct sockaddr *)&ss, len, &target)) {
            fprintf(stderr, "enact match: expected ADDR:PORT, [IPV6]:PORT, NAME:PORT or "
                            "unix:PATH\n");
            status = EXIT_USAGE;
        } else {
            char text[HOST_NAME_MAX_LEN + 16];
            if (name[0]) {
                target.host = name;
                snprintf(text, sizeof text, "%s:%u", name, target.port);
            } else {
                net_target_format(&target, text, sizeof text);
            }
            const struct tool *t = config_match_connect(cfg, &target);
            describe(cfg, t, text);
            if (!t && !name[0] && cfg->has_name_rules)
                printf("  (rules by DNS name match an address once the agent has resolved "
                       "that name)\n");
        }
    } else {
        char resolved[PATH_MAX];
        resolve_cmd(argv[i + 1], resolved);
        describe(cfg, config_match_exec(cfg, resolved, argv + i + 1), resolved);
    }
    config_free(cfg);
    return status;
}
