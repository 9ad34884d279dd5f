#!/usr/bin/env bash
# Fault injection: EINTR storms. A C agent arms setitimer(ITIMER_REAL) to
# raise SIGALRM every millisecond, with a handler installed without
# SA_RESTART, and in a second run with SA_RESTART, while it
#   api:  makes 6 blocking connects to a tool of burst 4 (retrying on EINTR
#         as POSIX allows: a connect that says EINTR goes on in the
#         background, so the program waits with poll and reads SO_ERROR);
#   apt:  the same on a tool with timeout_seconds (the shim makes that
#         connect itself, with poll);
#   job:  starts a program of a tool with a breaker 5 times (fork + execv,
#         then waitpid, retried on EINTR); the program sleeps 50 ms and
#         exits 0, 0, 1, 1: the breaker opens, the 5th start is refused;
#   lim:  posix_spawn of a program of a tool of burst 3, 5 times;
#   sys:  system() of a program of a tool of burst 2, 3 times;
#   wait: 3 blocking connects to a tool of burst 1 at 120 a minute with
#         on_limit = wait: each after the first sleeps about 0.5 s in the
#         shim and then goes through;
#   slow: a blocking connect to a server whose accept queue is full, so
#         that the connect waits for the SYN to be sent again (about a
#         second) and the storm interrupts it; then requests on the
#         connection to a tool with action = request and burst 2: the
#         connect and the 1st request go through, the 2nd is refused.
# The outcomes, the records and the connections the servers accept must be
# exactly those of a run without signals; the waits last about as long;
# nothing hangs.
# timeout: 90
. "$(dirname "$0")/lib.sh"

# ---- servers ----------------------------------------------------------------
# Three plain listeners (api, apt, wait) are started below with
# start_counting_listeners; each accepted connection is a line in
# $T/accepts.log.
# A line server whose accept queue is full until the agent starts its
# connect: listen(0) and two connects of its own; once $T/connecting
# exists it waits 0.3 s, then accepts everything and answers each line
# "ok\n"; each accepted connection is a line "accept" in its log.
cat >"$T/slow.py" <<'PY'
import os, socket, sys, threading, time
portfile, marker, log = sys.argv[1:4]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]
fillers = []
for _ in range(2):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    fillers.append(c)
time.sleep(0.2)
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
os.rename(portfile + ".tmp", portfile)
while not os.path.exists(marker):
    time.sleep(0.01)
time.sleep(0.3)
def serve(conn):
    with conn:
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                _, buf = buf.split(b"\n", 1)
                conn.sendall(b"ok\n")
while True:
    conn, _ = srv.accept()
    with open(log, "a") as f:
        f.write("accept\n")
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY

start_counting_listeners "$T/accepts.log" api apt wait
read -r API_PORT APT_PORT WAIT_PORT <<<"$LISTENER_PORTS"

# ---- the programs -----------------------------------------------------------
cat >"$T/helper.c" <<'C'
/* helper CODE: sleeps 50 ms, exits CODE. */
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
    struct timespec t = {0, 50 * 1000 * 1000};
    while (nanosleep(&t, &t) != 0)
        ;
    return argc > 1 ? atoi(argv[1]) : 0;
}
C
cc -O2 -Wall -Werror -o "$T/job" "$T/helper.c" || fail "cannot compile helper.c"
cp "$T/job" "$T/lim"
cp "$T/job" "$T/sysjob"

cat >"$T/storm.c" <<'C'
/* storm MODE API APT WAIT SLOW DIR: MODE none (no signals), norestart or
 * restart (SIGALRM every 1 ms, handler with or without SA_RESTART). The
 * outcomes on stdout; counts of signals and EINTRs, and the waits, on
 * stderr. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
static volatile sig_atomic_t signals;
static long eintr_connect, eintr_wait, eintr_io;
static void on_alarm(int sig)
{
    (void)sig;
    signals++;
}
static const char *name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EINTR: return "EINTR";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return strerror(e);
    }
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
/* A blocking connect as a careful program makes it: on EINTR the connect
 * goes on in the background; wait for it with poll and read SO_ERROR.
 * Returns the socket (or -1) and sets *err. */
static int dial(int port, int *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
        *err = 0;
        return s;
    }
    *err = errno;
    if (*err == EINTR) {
        eintr_connect++;
        struct pollfd p = {.fd = s, .events = POLLOUT};
        int n;
        while ((n = poll(&p, 1, 20000)) < 0 && errno == EINTR)
            ;
        socklen_t len = sizeof *err;
        if (n == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, err, &len) == 0 && *err == 0)
            return s;
        if (n == 0)
            *err = ETIMEDOUT;
    }
    close(s);
    return -1;
}
static void connects(const char *label, int port, int n)
{
    printf("%s:", label);
    for (int i = 0; i < n; i++) {
        int err, s = dial(port, &err);
        printf(" %s", name(err));
        if (s >= 0)
            close(s);
    }
    printf("\n");
}
static pid_t reap(pid_t pid, int *st)
{
    pid_t r;
    while ((r = waitpid(pid, st, 0)) < 0 && errno == EINTR)
        eintr_wait++;
    return r;
}
static const char *ended(int st)
{
    static char buf[32];
    if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "signal%d", WTERMSIG(st));
    else if (WEXITSTATUS(st) > 100)
        snprintf(buf, sizeof buf, "%s", name(WEXITSTATUS(st) - 100));
    else
        snprintf(buf, sizeof buf, "ran%d", WEXITSTATUS(st));
    return buf;
}
static ssize_t send_all(int s, const char *p)
{
    ssize_t n;
    while ((n = send(s, p, strlen(p), MSG_NOSIGNAL)) < 0 && errno == EINTR)
        eintr_io++;
    return n;
}
static int read_line(int s)
{
    char c;
    for (;;) {
        ssize_t n = recv(s, &c, 1, 0);
        if (n < 0 && errno == EINTR) {
            eintr_io++;
            continue;
        }
        if (n <= 0)
            return -1;
        if (c == '\n')
            return 0;
    }
}
int main(int argc, char **argv)
{
    if (argc != 7)
        return 2;
    const char *mode = argv[1], *dir = argv[6];
    if (strcmp(mode, "none") != 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = strcmp(mode, "restart") == 0 ? SA_RESTART : 0;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    connects("api", atoi(argv[2]), 6);
    connects("apt", atoi(argv[3]), 6);

    char path[4096];
    printf("job:");
    int codes[] = {0, 0, 1, 1, 0};
    snprintf(path, sizeof path, "%s/job", dir);
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char code[4];
            snprintf(code, sizeof code, "%d", codes[i]);
            char *args[] = {"job", code, NULL};
            execv(path, args);
            _exit(100 + errno);
        }
        int st = 0;
        printf(" %s", reap(pid, &st) == pid ? ended(st) : "lost");
    }
    printf("\n");

    printf("lim:");
    snprintf(path, sizeof path, "%s/lim", dir);
    for (int i = 0; i < 5; i++) {
        char *args[] = {"lim", "0", NULL};
        pid_t pid;
        int rc = posix_spawn(&pid, path, NULL, NULL, args, environ);
        int st = 0;
        if (rc != 0)
            printf(" %s", name(rc));
        else
            printf(" %s", reap(pid, &st) == pid ? ended(st) : "lost");
    }
    printf("\n");

    printf("sys:");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s/sysjob 0", dir);
    for (int i = 0; i < 3; i++) {
        int st = system(cmd);
        printf(" %d", st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st));
    }
    printf("\n");

    double t0 = now();
    printf("wait:");
    double waits[3];
    for (int i = 0; i < 3; i++) {
        double a = now();
        int err, s = dial(atoi(argv[4]), &err);
        waits[i] = now() - a;
        printf(" %s", name(err));
        if (s >= 0)
            close(s);
    }
    printf("\n");
    double waited = now() - t0;

    /* The slow server: tell it we are connecting, then connect. */
    char marker[4200];
    snprintf(marker, sizeof marker, "%s/connecting", dir);
    close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    double c0 = now();
    int err, s = dial(atoi(argv[5]), &err);
    double took = now() - c0;
    printf("slow: connect %s", name(err));
    for (int i = 1; s >= 0 && i <= 3; i++) {
        ssize_t n = send_all(s, "req\n");
        printf(", request %d %s", i, n < 0 ? name(errno) : "sent");
        if (n < 0)
            break;
        if (read_line(s) != 0) {
            printf(" (no answer)");
            break;
        }
    }
    printf("\n");
    if (s >= 0)
        close(s);

    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    fprintf(stderr, "signals %ld eintr_connect %ld eintr_wait %ld eintr_io %ld\n",
            (long)signals, eintr_connect, eintr_wait, eintr_io);
    fprintf(stderr, "waited %.3f %.3f %.3f total %.3f slow_connect %.3f\n", waits[0], waits[1],
            waits[2], waited, took);
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/storm" "$T/storm.c" || fail "cannot compile storm.c"

EXPECTED="api: ok ok ok ok EPERM EPERM
apt: ok ok ok ok EPERM EPERM
job: ran0 ran0 ran1 ran1 EPERM
lim: ran0 ran0 ran0 EPERM EPERM
sys: 0 0 126
wait: ok ok ok
slow: connect ok, request 1 sent, request 2 sent, request 3 EPERM"
# (op, tool, verdict, reason) of the records, sorted.
EXPECTED_RECORDS="[('connect', 'api', 'deny', 'rate_limited'), ('connect', 'api', 'deny', 'rate_limited'), ('connect', 'apt', 'deny', 'rate_limited'), ('connect', 'apt', 'deny', 'rate_limited'), ('exec', 'job', 'breaker', None), ('exec', 'job', 'deny', 'circuit_open'), ('send', 'slow', 'deny', 'rate_limited'), ('spawn', 'lim', 'deny', 'rate_limited'), ('spawn', 'lim', 'deny', 'rate_limited'), ('system', 'sysjob', 'deny', 'rate_limited')]"
EXPECTED_ACCEPTS="api 4
apt 4
wait 3"

for mode in none norestart restart; do
    rm -f "$T/connecting" "$T/slow.port" "$T/slow.log"
    : >"$T/accepts.log"
    spawn_bg "$T/slow-$mode.log" "$PY" "$T/slow.py" "$T/slow.port" "$T/connecting" "$T/slow.log"
    for _ in $(seq 200); do [ -s "$T/slow.port" ] && break; sleep 0.05; done
    [ -s "$T/slow.port" ] || fail "$mode: the slow server did not start: $(cat "$T/slow-$mode.log")"
    SLOW_PORT=$(cat "$T/slow.port")
    cat >"$T/$mode.ini" <<INI
[enact]
state = $mode.state
audit_log = $mode-audit.jsonl
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 4
[tool.apt]
connect = 127.0.0.1:$APT_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 4
timeout_seconds = 20
[tool.job]
exec = $T/job
breaker.failure_threshold = 2
breaker.success_threshold = 1
breaker.timeout_seconds = 600
[tool.lim]
exec = $T/lim
rate.max_calls_per_minute = 0.001
rate.burst_size = 3
[tool.sysjob]
exec = $T/sysjob
rate.max_calls_per_minute = 0.001
rate.burst_size = 2
[tool.wait]
connect = 127.0.0.1:$WAIT_PORT
rate.max_calls_per_minute = 120
rate.burst_size = 1
on_limit = wait
max_wait = 5
[tool.slow]
connect = 127.0.0.1:$SLOW_PORT
action = request
rate.max_calls_per_minute = 0.001
rate.burst_size = 2
INI
    rc=0
    timeout 40 "$ENACT" run -c "$T/$mode.ini" -a storm -- "$T/storm" "$mode" "$API_PORT" \
        "$APT_PORT" "$WAIT_PORT" "$SLOW_PORT" "$T" >"$T/$mode.out" 2>"$T/$mode.err" </dev/null || rc=$?
    kill "$BG_PID" 2>/dev/null || true
    note "$mode: $(tr '\n' ' ' <"$T/$mode.err")"
    if [ "$rc" != 0 ]; then
        problem "$mode: the agent $([ "$rc" = 124 ] && echo "hung (killed after 40 s)" || echo "exited $rc"); stdout: $(tr '\n' '|' <"$T/$mode.out") stderr: $(tr '\n' '|' <"$T/$mode.err")"
        continue
    fi
    out=$(cat "$T/$mode.out")
    if [ "$out" != "$EXPECTED" ]; then
        problem "$mode: outcomes differ from the expected (= a run without signals): $(diff <(echo "$EXPECTED") <(echo "$out") | grep '^[<>]' | tr '\n' '|')"
    fi
    recs=$(audit_eval "$T/$mode-audit.jsonl" \
        'sorted((r.get("op"), r.get("tool"), r["verdict"], r.get("reason")) for r in recs)')
    [ "$recs" = "$EXPECTED_RECORDS" ] || problem "$mode: records $recs; expected $EXPECTED_RECORDS"
    audit_check "$T/$mode-audit.jsonl" 10 agent=storm 2>"$T/$mode-check.err" ||
        problem "$mode: $(cat "$T/$mode-check.err" | head -3 | tr '\n' '|')"
    sleep 0.3 # the listeners log what they accepted
    accepts=$(sort "$T/accepts.log" | uniq -c | awk '{print $2, $1}')
    [ "$accepts" = "$EXPECTED_ACCEPTS" ] || problem "$mode: the listeners accepted $(tr '\n' ',' <<<"$accepts") connections; expected $(tr '\n' ',' <<<"$EXPECTED_ACCEPTS")"
    # The breaker of job is open; the bucket of wait is what 3 calls left.
    breaker=$("$ENACT" status -c "$T/$mode.ini" | awk '$1 == "job" {print $2}')
    [ "$breaker" = OPEN ] || problem "$mode: the breaker of job is '$breaker', expected OPEN"
    # The waits: about 0.5 s for the 2nd and the 3rd connect, never early.
    read -r _ w1 w2 w3 _ total _ slow_took < <(grep '^waited' "$T/$mode.err")
    "$PY" -c '
import sys
w1, w2, w3, total = map(float, sys.argv[1:5])
ok = w1 < 0.3 and all(0.4 <= w <= 1.2 for w in (w2, w3)) and 0.85 <= total <= 2.5
sys.exit(0 if ok else 1)' "$w1" "$w2" "$w3" "$total" ||
        problem "$mode: on_limit = wait: the 3 connects took $w1 s, $w2 s, $w3 s ($total s in all); expected ~0, ~0.5, ~0.5"
    if [ "$mode" != none ]; then
        read -r _ nsig _ _ _ _ _ _ < <(grep '^signals' "$T/$mode.err")
        [ "${nsig:-0}" -ge 500 ] || problem "$mode: only ${nsig:-0} signals were delivered; the storm did not happen"
    fi
done

fail_on_problems
