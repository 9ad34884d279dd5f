/* enact metrics: what enact status --prometheus prints, served over HTTP at
 * GET /metrics for Prometheus to scrape. The config is loaded once; the
 * state is opened afresh at every scrape, so that a state file replaced
 * meanwhile, or a Redis that answers again, is what the next scrape reads.
 *
 * One thread, one poll() loop over the listener and up to CONNS_MAX
 * connections, each with its own deadline: a client that sends nothing, or
 * takes its answer slowly, holds its own slot until then and never the
 * loop, so the scrapes of others go on meanwhile (handling clients one at
 * a time would make every scrape wait for the slowest). An answer is read
 * from the state in the loop: microseconds on the state file; on a Redis
 * that does not answer, up to its timeout (2 s at least), which the other
 * clients then wait too. */
#include "cli.h"
#include "prometheus.h"
#include "snapshot.h"
#include "../store/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char HELP[] =
    "usage: enact metrics [-c FILE] [--listen ADDR:PORT]\n"
    "\n"
    "Serves what enact status --prometheus prints over HTTP at GET /metrics\n"
    "(and HEAD), read from the state at every scrape, until SIGTERM or SIGINT.\n"
    "--listen takes an IPv4 address or an [IPv6] one and a port; the default\n"
    "is 127.0.0.1:9464. The endpoint asks for no credentials and names the\n"
    "agents and tools: an address other than loopback is served with a warning.\n";

#define DEFAULT_LISTEN "127.0.0.1:9464"
/* Bytes of request line and headers a request may take. */
#define REQUEST_MAX 8192
/* ns a connection has to send its request, and again to take its answer. */
#define CONN_TIMEOUT_NS 5000000000u
/* Connections served at once; a newcomer beyond them drops the oldest. */
#define CONNS_MAX 32

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

enum phase { FREE, READING, WRITING, DRAINING };

struct conn {
    int fd;
    enum phase phase;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; the connection is closed at it */
    size_t in_len;
    char in[REQUEST_MAX];
    char *out; /* the whole response, malloc'd */
    size_t out_len, out_sent;
};

struct server {
    const struct enact_config *cfg;
    int listen_fd;
    struct conn *conns; /* CONNS_MAX of them */
};

/* ---- the address ------------------------------------------------------ */

/* "127.0.0.1:9464" or "[::1]:9464": numeric addresses only, port 0-65535
 * (0: one the kernel picks, as the start line then tells). */
static bool parse_listen(const char *arg, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon;
    if (arg[0] == '[') {
        const char *end = strchr(arg, ']');
        if (!end || end[1] != ':' || (size_t)(end - arg - 1) >= sizeof host)
            return false;
        snprintf(host, sizeof host, "%.*s", (int)(end - arg - 1), arg + 1);
        colon = end + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || (size_t)(colon - arg) >= sizeof host)
            return false;
        snprintf(host, sizeof host, "%.*s", (int)(colon - arg), arg);
    }
    char *rest;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &rest, 10);
    if (colon[1] < '0' || colon[1] > '9' || *rest || errno || port > 65535)
        return false;
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (arg[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return true;
    }
    if (arg[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return true;
    }
    return false;
}

static bool listen_valid(const char *arg)
{
    struct sockaddr_storage sa;
    socklen_t len;
    return parse_listen(arg, &sa, &len);
}

static bool is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    /* ::ffff:127.x.y.z is IPv4's loopback */
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* "127.0.0.1:9464", "[::1]:9464" */
static void format_addr(const struct sockaddr_storage *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
    }
}

/* The listening socket, non-blocking; -1 (said why) when it cannot be had.
 * *sa gets the address bound (its port when 0 was asked). */
static int open_listener(const char *arg, struct sockaddr_storage *sa, socklen_t len)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    /* Lets a restarted server bind while the last one's connections are in
     * TIME_WAIT; a port another process listens on stays refused. */
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && sa->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)sa, len) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)sa, &len) != 0) {
        fprintf(stderr, "enact metrics: cannot listen on %s: %s\n", arg, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* ---- answers ------------------------------------------------------------ */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* The exposition as the state stands now; NULL (said why on stderr) when
 * there is no state to read. */
static char *scrape(const struct enact_config *cfg, size_t *len)
{
    struct cli_store cs;
    struct snapshot s;
    if (!snapshot_take(&s, cfg, &cs))
        return NULL;
    char *body = NULL;
    FILE *out = open_memstream(&body, len);
    if (out) {
        prom_print(out, &s);
        if (fclose(out) != 0) {
            free(body);
            body = NULL;
        }
    }
    snapshot_release(&s, &cs);
    return body;
}

/* The whole response, malloc'd; NULL when out of memory. */
static char *response(int status, bool head, const char *body, size_t body_len, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (!out)
        return NULL;
    fprintf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
            reason(status),
            status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                          : "text/plain; charset=utf-8",
            body_len);
    if (status == 405)
        fputs("Allow: GET, HEAD\r\n", out);
    fputs("Connection: close\r\n\r\n", out);
    if (!head)
        fwrite(body, 1, body_len, out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static bool is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The status a request (its request line and headers, complete) gets:
 * 200 for GET or HEAD of /metrics (*head for HEAD), else 400, 404, 405. */
static int request_status(const char *req, size_t len, bool *head)
{
    const char *eol = memchr(req, '\n', len);
    size_t line = (size_t)(eol - req);
    if (line && req[line - 1] == '\r')
        line--;
    const char *sp1 = memchr(req, ' ', line);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line - (size_t)(sp1 + 1 - req)) : NULL;
    if (!sp1 || sp1 == req || !sp2 || sp2 == sp1 + 1 || sp1[1] != '/')
        return 400;
    for (const char *c = req; c < sp1; c++)
        if (!is_token_char(*c))
            return 400;
    size_t vlen = line - (size_t)(sp2 + 1 - req);
    if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' || sp2[8] > '9')
        return 400;
    size_t plen = (size_t)(sp2 - sp1 - 1);
    const char *q = memchr(sp1 + 1, '?', plen);
    if (q)
        plen = (size_t)(q - sp1 - 1);
    if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
        return 404;
    size_t mlen = (size_t)(sp1 - req);
    *head = mlen == 4 && memcmp(req, "HEAD", 4) == 0;
    if (*head || (mlen == 3 && memcmp(req, "GET", 3) == 0))
        return 200;
    return 405;
}

/* The bytes of the request line and headers, blank line included; 0 while
 * they have not all come. */
static size_t request_end(const char *in, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (in[i] != '\n')
            continue;
        if (in[i + 1] == '\n')
            return i + 2;
        if (in[i + 1] == '\r' && i + 2 < len && in[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static const char *error_body(int status)
{
    switch (status) {
    case 404: return "enact metrics serves /metrics only\n";
    case 405: return "enact metrics answers GET and HEAD only\n";
    case 431: return "request headers over 8 KiB\n";
    case 503: return "no state to read: see the stderr of enact metrics\n";
    case 400: return "malformed request\n";
    default: return "out of memory\n";
    }
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->out);
    c->fd = -1;
    c->phase = FREE;
    c->out = NULL;
}

/* Everything sent: the write side is closed and what the client still sends
 * is read until it closes, so that unread bytes of its own do not make the
 * kernel reset the connection before the client has read the answer. */
static void conn_sent(struct conn *c, uint64_t now)
{
    shutdown(c->fd, SHUT_WR);
    c->phase = DRAINING;
    c->deadline_ns = now + CONN_TIMEOUT_NS;
}

static void conn_write(struct conn *c, uint64_t now)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            conn_close(c);
            return;
        }
        c->out_sent += (size_t)n;
    }
    conn_sent(c, now);
}

/* Starts the answer: the status, and for 200 the exposition read now. */
static void conn_answer(struct server *sv, struct conn *c, int status, bool head, uint64_t now)
{
    size_t body_len = 0;
    char *body = NULL;
    if (status == 200) {
        body = scrape(sv->cfg, &body_len);
        if (!body)
            status = 503;
    }
    const char *text = body ? body : error_body(status);
    if (!body)
        body_len = strlen(text);
    c->out = response(status, head, text, body_len, &c->out_len);
    free(body);
    if (!c->out) {
        conn_close(c);
        return;
    }
    c->out_sent = 0;
    c->phase = WRITING;
    c->deadline_ns = now + CONN_TIMEOUT_NS;
    conn_write(c, now);
}

static void conn_read(struct server *sv, struct conn *c, uint64_t now)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    size_t end = request_end(c->in, c->in_len);
    if (end) {
        bool head = false;
        int status = request_status(c->in, end, &head); /* before head is read */
        conn_answer(sv, c, status, head, now);
    } else if (c->in_len == sizeof c->in) {
        conn_answer(sv, c, 431, false, now);
    }
}

static void conn_drain(struct conn *c)
{
    char scratch[4096];
    ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_close(c);
}

/* A free slot, else the one closest to its deadline, closed. */
static struct conn *slot_for_newcomer(struct server *sv)
{
    struct conn *oldest = &sv->conns[0];
    for (size_t i = 0; i < CONNS_MAX; i++) {
        if (sv->conns[i].phase == FREE)
            return &sv->conns[i];
        if (sv->conns[i].deadline_ns < oldest->deadline_ns)
            oldest = &sv->conns[i];
    }
    conn_close(oldest);
    return oldest;
}

static void accept_all(struct server *sv, uint64_t now)
{
    for (;;) {
        int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: none left; anything else: the next poll tells again */
        struct conn *c = slot_for_newcomer(sv);
        c->fd = fd;
        c->phase = READING;
        c->in_len = 0;
        c->deadline_ns = now + CONN_TIMEOUT_NS;
    }
}

/* ---- the loop --------------------------------------------------------------- */

/* ms until the nearest deadline (at least 1), or -1: none. */
static int poll_timeout_ms(const struct server *sv, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < CONNS_MAX; i++)
        if (sv->conns[i].phase != FREE && sv->conns[i].deadline_ns < next)
            next = sv->conns[i].deadline_ns;
    if (next == UINT64_MAX)
        return -1;
    uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 1;
    return ms > 60000 ? 60000 : (int)ms;
}

static void expire(struct server *sv, uint64_t now)
{
    for (size_t i = 0; i < CONNS_MAX; i++)
        if (sv->conns[i].phase != FREE && sv->conns[i].deadline_ns <= now)
            conn_close(&sv->conns[i]);
}

static void fill_pollfds(const struct server *sv, struct pollfd *pfd)
{
    pfd[0] = (struct pollfd){.fd = sv->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < CONNS_MAX; i++) {
        const struct conn *c = &sv->conns[i];
        pfd[i + 1] = (struct pollfd){.fd = c->phase == FREE ? -1 : c->fd,
                                     .events = c->phase == WRITING ? POLLOUT : POLLIN};
    }
}

static void handle_ready(struct server *sv, const struct pollfd *pfd, uint64_t now)
{
    for (size_t i = 0; i < CONNS_MAX; i++) {
        struct conn *c = &sv->conns[i];
        if (c->phase == FREE || pfd[i + 1].fd != c->fd || !pfd[i + 1].revents)
            continue;
        if (c->phase == READING)
            conn_read(sv, c, now);
        else if (c->phase == WRITING)
            conn_write(c, now);
        else
            conn_drain(c);
    }
    if (pfd[0].revents & POLLIN)
        accept_all(sv, now);
}

/* SIGTERM and SIGINT are blocked but during ppoll, so that one that comes
 * while a scrape is answered is seen at the next wait, never lost between
 * the check of the flag and the wait. *waiting gets the mask for ppoll. */
static void handle_signals(sigset_t *waiting)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, waiting);
    sigdelset(waiting, SIGTERM);
    sigdelset(waiting, SIGINT);
}

static int serve(struct server *sv)
{
    sigset_t waiting;
    handle_signals(&waiting);
    struct pollfd pfd[CONNS_MAX + 1];
    while (!stop_requested) {
        uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
        expire(sv, now);
        fill_pollfds(sv, pfd);
        int ms = poll_timeout_ms(sv, now);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        int r = ppoll(pfd, CONNS_MAX + 1, ms < 0 ? NULL : &ts, &waiting);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "enact metrics: poll: %s\n", strerror(errno));
            return EXIT_CONFIG;
        }
        if (r > 0)
            handle_ready(sv, pfd, clock_now_ns(CLOCK_MONOTONIC));
    }
    return 0;
}

static int run_server(const struct enact_config *cfg, const char *config_path,
                      const char *listen_arg)
{
    struct sockaddr_storage sa;
    socklen_t len;
    parse_listen(listen_arg, &sa, &len); /* valid: cli_parse checked it */
    if (!is_loopback(&sa))
        fprintf(stderr,
                "enact metrics: warning: %s is not a loopback address: whoever reaches it "
                "reads the names of the agents and tools and their limits, without "
                "credentials\n",
                listen_arg);
    struct server sv = {.cfg = cfg, .listen_fd = open_listener(listen_arg, &sa, len)};
    if (sv.listen_fd < 0)
        return EXIT_CONFIG;
    sv.conns = calloc(CONNS_MAX, sizeof *sv.conns);
    if (!sv.conns) {
        fprintf(stderr, "enact metrics: out of memory\n");
        close(sv.listen_fd);
        return EXIT_CONFIG;
    }
    char where[INET6_ADDRSTRLEN + 8];
    format_addr(&sa, where, sizeof where);
    fprintf(stderr, "enact metrics: serving http://%s/metrics for %s\n", where, config_path);
    int status = serve(&sv);
    for (size_t i = 0; i < CONNS_MAX; i++)
        if (sv.conns[i].phase != FREE)
            conn_close(&sv.conns[i]);
    free(sv.conns);
    close(sv.listen_fd);
    return status;
}

int cmd_metrics(int argc, char **argv)
{
    const char *config = NULL, *listen_arg = DEFAULT_LISTEN;
    const struct cli_option options[] = {
        {.name = "-c", .value = &config},
        {.name = "--listen",
         .value = &listen_arg,
         .valid = listen_valid,
         .invalid = "--listen takes ADDR:PORT (127.0.0.1:9464, [::1]:9464), not"},
        {0},
    };
    int parsed = cli_parse(
        &(struct cli_command){.name = "metrics", .help = HELP, .options = options}, argc, argv,
        NULL);
    if (parsed >= 0)
        return parsed;
    int failed;
    const char *used_path;
    struct enact_config *cfg = cli_config(config, &failed, &used_path);
    if (!cfg)
        return failed;
    int status = run_server(cfg, used_path, listen_arg);
    config_free(cfg);
    return status;
}
