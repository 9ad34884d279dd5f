/*
 * Enact micro-benchmarks.
 *
 *   micro sendrecv N        64-byte send + recv on an AF_UNIX socketpair
 *   micro connect N PORT    connect + close to a loopback TCP listener that
 *                           this program runs in a thread on 127.0.0.1:PORT
 *                           (PORT 0: any free port)
 *   micro spawn N           posix_spawn /bin/true + waitpid
 *   micro forkexec N        fork + execv /bin/true + waitpid
 *   micro spawnchild N      posix_spawn /bin/true + waitpid, the child's
 *                           environment extended with LD_PRELOAD=$MICRO_CHILD_PRELOAD
 *                           and ENACT_CONFIG=$MICRO_CHILD_CONFIG (when set):
 *                           the preload is in the child only, so the time
 *                           it adds is the child's start-up alone
 *   micro rss               prints its own VmRSS in kB and exits
 *
 * Each timing mode warms up, then prints one number: nanoseconds per
 * operation (CLOCK_MONOTONIC).
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
 *           -o build/bench/micro bench/micro.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *const TRUE_PATH = "/bin/true";

static void die(const char *what)
{
    fprintf(stderr, "micro: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long warmup_of(long n)
{
    long w = n / 10;
    if (w < 1)
        w = 1;
    if (w > 1000)
        w = 1000;
    return w;
}

static void report(uint64_t t0, uint64_t t1, long n)
{
    printf("%.1f\n", (double)(t1 - t0) / (double)n);
}

/* ---- sendrecv ---------------------------------------------------------- */

static void sendrecv_once(int a, int b, char *buf)
{
    ssize_t r = send(a, buf, 64, 0);
    if (r != 64)
        die("send");
    r = recv(b, buf, 64, 0);
    if (r != 64)
        die("recv");
}

static int bench_sendrecv(long n)
{
    int sv[2];
    char buf[64];
    memset(buf, 'x', sizeof buf);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    for (long i = 0, w = warmup_of(n); i < w; i++)
        sendrecv_once(sv[0], sv[1], buf);
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        sendrecv_once(sv[0], sv[1], buf);
    uint64_t t1 = now_ns();
    report(t0, t1, n);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

/* ---- connect ----------------------------------------------------------- */

static void *acceptor(void *arg)
{
    int ls = *(int *)arg;
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        close(c);
    }
}

static void connect_once(const struct sockaddr_in *sa)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    if (connect(s, (const struct sockaddr *)sa, sizeof *sa) < 0)
        die("connect");
    /* RST on close: no TIME_WAIT pile-up over many thousand connects. */
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
}

static int bench_connect(long n, int port)
{
    static int ls;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);

    ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0)
        die("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind");
    if (listen(ls, 4096) < 0)
        die("listen");
    socklen_t sl = sizeof sa;
    if (getsockname(ls, (struct sockaddr *)&sa, &sl) < 0)
        die("getsockname");

    pthread_t th;
    if (pthread_create(&th, NULL, acceptor, &ls) != 0)
        die("pthread_create");
    pthread_detach(th);

    for (long i = 0, w = warmup_of(n); i < w; i++)
        connect_once(&sa);
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        connect_once(&sa);
    uint64_t t1 = now_ns();
    report(t0, t1, n);
    fflush(stdout);
    _exit(0); /* the acceptor thread is still blocked in accept() */
}

/* ---- spawn / forkexec -------------------------------------------------- */

static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            die("waitpid");
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "micro: %s did not exit 0 (status 0x%x)\n", TRUE_PATH, st);
        exit(2);
    }
}

static char **spawn_env; /* environ, or the spawnchild environment */

static void spawn_once(void)
{
    char *argv[] = { (char *)"true", NULL };
    pid_t pid;
    int e = posix_spawn(&pid, TRUE_PATH, NULL, NULL, argv, spawn_env ? spawn_env : environ);
    if (e != 0) {
        errno = e;
        die("posix_spawn");
    }
    reap(pid);
}

static void forkexec_once(void)
{
    char *argv[] = { (char *)"true", NULL };
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execv(TRUE_PATH, argv);
        _exit(127);
    }
    reap(pid);
}

static int bench_proc(long n, void (*once)(void))
{
    for (long i = 0, w = warmup_of(n) < 5 ? warmup_of(n) : 5; i < w; i++)
        once();
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        once();
    uint64_t t1 = now_ns();
    report(t0, t1, n);
    return 0;
}

/* environ without LD_PRELOAD / ENACT_CONFIG, plus the MICRO_CHILD_* ones. */
static char **child_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env)
        die("calloc");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
            strncmp(environ[i], "ENACT_CONFIG=", 13) != 0)
            env[k++] = environ[i];
    }
    const char *pre = getenv("MICRO_CHILD_PRELOAD");
    const char *cfg = getenv("MICRO_CHILD_CONFIG");
    if (pre && *pre) {
        char *s = malloc(strlen(pre) + 12);
        if (!s)
            die("malloc");
        sprintf(s, "LD_PRELOAD=%s", pre);
        env[k++] = s;
    }
    if (cfg && *cfg) {
        char *s = malloc(strlen(cfg) + 14);
        if (!s)
            die("malloc");
        sprintf(s, "ENACT_CONFIG=%s", cfg);
        env[k++] = s;
    }
    env[k] = NULL;
    return env;
}

/* ---- rss --------------------------------------------------------------- */

static int print_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        die("/proc/self/status");
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (kb < 0) {
        fprintf(stderr, "micro: no VmRSS in /proc/self/status\n");
        return 2;
    }
    printf("%ld\n", kb);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: micro sendrecv N | connect N PORT | spawn N | spawnchild N | forkexec N | rss\n");
    exit(2);
}

static long parse_long(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    if (strcmp(mode, "rss") == 0)
        return print_rss();
    if (argc < 3)
        usage();
    long n = parse_long(argv[2], 1);
    if (strcmp(mode, "sendrecv") == 0)
        return bench_sendrecv(n);
    if (strcmp(mode, "connect") == 0)
        return bench_connect(n, argc > 3 ? (int)parse_long(argv[3], 0) : 0);
    if (strcmp(mode, "spawn") == 0)
        return bench_proc(n, spawn_once);
    if (strcmp(mode, "spawnchild") == 0) {
        spawn_env = child_env();
        return bench_proc(n, spawn_once);
    }
    if (strcmp(mode, "forkexec") == 0)
        return bench_proc(n, forkexec_once);
    usage();
    return 2;
}
