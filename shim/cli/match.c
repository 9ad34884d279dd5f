#include "cli.h"
#include "../policy/config_match.h"
#include "../store/state.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netdb.h>
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
    "Tells which tool a call maps to and the policy that applies, as the shim\n"
    "would decide it. ADDR:PORT is 127.0.0.1:80, [::1]:443 or unix:/path: a name the\n"
    "state file says the address was resolved from counts, as at the connect.\n"
    "NAME:PORT is resolved as the program would resolve it (getaddrinfo) and every\n"
    "address it gives is matched with NAME as its host. CMD is looked up in PATH as\n"
    "exec does.\n";

/* The addresses of one name kept; getaddrinfo gives a handful. */
#define ADDRS_MAX 32

/* What `connect TARGET` names: an address or a unix path (target), or a
 * DNS name (name set, lower case, as the shim notes names) and a port. */
struct connect_arg {
    struct net_target target;
    char name[HOST_NAME_MAX_LEN + 1];
};

static bool parse_unix(const char *p, struct net_target *t)
{
    size_t n = strlen(p);
    if (n == 0 || n >= sizeof ((struct sockaddr_un *)0)->sun_path)
        return false;
    t->kind = TARGET_UNIX;
    memcpy(t->path, p, n + 1);
    return true;
}

/* HOST:PORT or [V6]:PORT into host (without brackets) and port. */
static bool split_host_port(const char *text, char host[HOST_NAME_MAX_LEN + 1], uint16_t *port,
                            bool *bracketed)
{
    *bracketed = text[0] == '[';
    const char *colon = *bracketed ? strstr(text, "]:") : strrchr(text, ':');
    if (!colon)
        return false;
    size_t hlen = (size_t)(colon - text) - *bracketed;
    if (hlen == 0 || hlen > HOST_NAME_MAX_LEN)
        return false;
    memcpy(host, text + *bracketed, hlen);
    host[hlen] = '\0';
    const char *digits = colon + (*bracketed ? 2 : 1);
    char *end;
    long p = strtol(digits, &end, 10);
    if (!isdigit((unsigned char)*digits) || *end || p > 65535)
        return false;
    *port = (uint16_t)p;
    return true;
}

/* A literal address as the connect's sockaddr would give it: IPv4 and
 * v4-mapped IPv6 alike (net_target_from_sockaddr). */
static bool parse_literal(const char *host, bool bracketed, uint16_t port, struct net_target *t)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (!bracketed && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        len = sizeof *in6;
    } else {
        return false;
    }
    if (!net_target_from_sockaddr((struct sockaddr *)&ss, len, t))
        return false;
    t->port = port;
    return true;
}

static bool parse_target(const char *text, struct connect_arg *arg)
{
    memset(arg, 0, sizeof *arg);
    if (strncmp(text, "unix:", 5) == 0)
        return parse_unix(text + 5, &arg->target);
    char host[HOST_NAME_MAX_LEN + 1];
    uint16_t port;
    bool bracketed;
    if (!split_host_port(text, host, &port, &bracketed))
        return false;
    if (parse_literal(host, bracketed, port, &arg->target))
        return true;
    if (bracketed)
        return false;
    for (size_t i = 0; host[i]; i++)
        arg->name[i] = (char)tolower((unsigned char)host[i]);
    arg->target.kind = TARGET_INET;
    arg->target.port = port;
    return true;
}

/* The name the state file says addr was last resolved from: what the
 * connect itself looks up (net_call.c). False when none, or no state yet. */
static bool learnt_name(const struct enact_config *cfg, const uint8_t addr[16],
                        char out[HOST_NAME_MAX_LEN + 1])
{
    struct state_map m;
    if (access(cfg->state_path, F_OK) != 0 || !cli_open_state(cfg, &m))
        return false;
    bool known = state_host_lookup(&m, addr, out, HOST_NAME_MAX_LEN + 1);
    state_close(&m);
    return known;
}

/* The addresses name resolves to, in getaddrinfo's order, each once, with
 * port; a program's connect by name goes to these (Python, curl and libc
 * ask with AF_UNSPEC). 0 when it does not resolve: *why says how. */
static size_t resolve_name(const char *name, uint16_t port, struct net_target out[ADDRS_MAX],
                           const char **why)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        *why = gai_strerror(rc);
        return 0;
    }
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai && n < ADDRS_MAX; ai = ai->ai_next) {
        struct net_target t;
        if (!net_target_from_sockaddr(ai->ai_addr, ai->ai_addrlen, &t))
            continue;
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = memcmp(out[i].addr, t.addr, 16) == 0;
        if (seen)
            continue;
        t.port = port;
        out[n++] = t;
    }
    freeaddrinfo(res);
    return n;
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

/* An address or unix path, with the name the state knows for it. */
static void match_literal(const struct enact_config *cfg, struct net_target *target)
{
    char text[HOST_NAME_MAX_LEN + 160], name[HOST_NAME_MAX_LEN + 1];
    size_t n = net_target_format(target, text, sizeof text);
    if (target->kind == TARGET_INET && learnt_name(cfg, target->addr, name)) {
        target->host = name;
        snprintf(text + n, sizeof text - n, " (last resolved from %s)", name);
    }
    const struct tool *t = config_match_connect(cfg, target);
    describe(cfg, t, text);
    if (!t && target->kind == TARGET_INET && !target->host && cfg->has_name_rules)
        printf("  (rules by DNS name match an address once the agent has resolved "
               "that name)\n");
}

/* A name that does not resolve here: only what its name and port decide. */
static void match_unresolved(const struct enact_config *cfg, const struct connect_arg *arg,
                             const char *text, const char *why)
{
    struct net_target t = arg->target;
    t.addr[10] = t.addr[11] = 0xff; /* 0.0.0.0 v4-mapped: a stand-in, no address is known */
    t.host = arg->name;
    printf("%s does not resolve here (%s); what its name alone decides:\n", text, why);
    describe(cfg, config_match_connect(cfg, &t), text);
}

/* Each address of the name, matched with the name as its host: one answer
 * when they agree, else one per address. */
static void match_name(const struct enact_config *cfg, const struct connect_arg *arg)
{
    char text[HOST_NAME_MAX_LEN + 16];
    snprintf(text, sizeof text, "%s:%u", arg->name, arg->target.port);
    struct net_target addrs[ADDRS_MAX];
    const char *why = NULL;
    size_t n = resolve_name(arg->name, arg->target.port, addrs, &why);
    if (n == 0) {
        match_unresolved(cfg, arg, text, why);
        return;
    }
    const struct tool *tools[ADDRS_MAX];
    bool differ = false;
    printf("%s resolves to", text);
    for (size_t i = 0; i < n; i++) {
        char a[64];
        net_target_format(&addrs[i], a, sizeof a);
        printf(" %s", a);
        addrs[i].host = arg->name;
        tools[i] = config_match_connect(cfg, &addrs[i]);
        differ = differ || tools[i] != tools[0];
    }
    printf("%s\n", differ ? ", and the answer differs by address" : "");
    if (!differ) {
        describe(cfg, tools[0], text);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char a[HOST_NAME_MAX_LEN + 80];
        size_t len = net_target_format(&addrs[i], a, sizeof a);
        snprintf(a + len, sizeof a - len, " (%s)", arg->name);
        describe(cfg, tools[i], a);
    }
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
        struct connect_arg arg;
        if (argc != i + 2 || !parse_target(argv[i + 1], &arg)) {
            fprintf(stderr, "enact match: expected ADDR:PORT, [IPV6]:PORT, NAME:PORT or "
                            "unix:PATH\n");
            status = EXIT_USAGE;
        } else if (arg.name[0]) {
            match_name(cfg, &arg);
        } else {
            match_literal(cfg, &arg.target);
        }
    } else {
        char resolved[PATH_MAX];
        resolve_cmd(argv[i + 1], resolved);
        describe(cfg, config_match_exec(cfg, resolved, argv + i + 1), resolved);
    }
    config_free(cfg);
    return status;
}
