#!/usr/bin/env bash
# Fault injection: fork in a multithreaded agent. 8 threads make blocking
# connects to a loopback listener (a tool of burst 40, refilled once in
# 1000 minutes; the agent also has a quota of its own, which takes a lock
# in the state file), at least 50 each and on while the main thread forks
# 100 times without exec; each child makes 3 governed connects and _exits
# with its counts.
# Three rounds, each with a fresh state file. In each:
#   - no deadlock: the agent ends within 40 s (the test's timeout is 120 s);
#   - counts are exact across the processes: exactly 40 connects admitted
#     in all (counted by the agent and its children, and by the listener),
#     every other one refused with EPERM, nothing else;
#   - enact status: 0 tokens left, the agent's quota used 40;
#   - records intact: log_allowed is on, so there is exactly one valid JSON
#     line per attempt (40 allow, the rest deny), from 101 processes.
# timeout: 120
. "$(dirname "$0")/lib.sh"

cat >"$T/server.py" <<'PY'
import socket, sys
log = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
print(s.getsockname()[1], flush=True)
while True:
    conn, _ = s.accept()
    conn.close()
    with open(log, "a") as f:
        f.write("accepted\n")
PY
spawn_bg "$T/server.out" "$PY" -u "$T/server.py" "$T/accepted"
for _ in $(seq 100); do [ -s "$T/server.out" ] && break; sleep 0.05; done
PORT=$(head -1 "$T/server.out")
[ -n "$PORT" ] || fail "the listener did not start"

cat >"$T/ft.c" <<'C'
/* ft PORT: 8 threads make connects (at least 50 each, and on until the
 * main thread has done its forks); the main thread forks 100 children that
 * make 3 connects each. Prints "attempts N ok N eperm N other N lost_children N". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#define THREADS 8
#define PER_THREAD 50
#define FORKS 100
#define PER_CHILD 3
static int port;
static int ok, eperm, other;
static volatile int forks_done;
static pthread_mutex_t counts = PTHREAD_MUTEX_INITIALIZER;

/* One connect: 0 admitted, 1 EPERM, 2 anything else. */
static int attempt(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 2;
    int r = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno == EPERM ? 1 : 2;
    close(s);
    return r;
}
static void *worker(void *arg)
{
    (void)arg;
    int mine[3] = {0};
    for (int i = 0; i < PER_THREAD || !__atomic_load_n(&forks_done, __ATOMIC_ACQUIRE); i++) {
        mine[attempt()]++;
        if (i >= PER_THREAD) /* past the burst: keep the log's size sane */
            usleep(500);
    }
    pthread_mutex_lock(&counts);
    ok += mine[0], eperm += mine[1], other += mine[2];
    pthread_mutex_unlock(&counts);
    return NULL;
}
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    port = atoi(argv[1]);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    int child_ok = 0, child_eperm = 0, child_other = 0, lost = 0;
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int mine[3] = {0};
            for (int j = 0; j < PER_CHILD; j++)
                mine[attempt()]++;
            _exit(mine[0] * 16 + mine[1]); /* other = PER_CHILD - ok - eperm */
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
            lost++;
            continue;
        }
        int c_ok = WEXITSTATUS(st) / 16, c_eperm = WEXITSTATUS(st) % 16;
        child_ok += c_ok, child_eperm += c_eperm, child_other += PER_CHILD - c_ok - c_eperm;
    }
    __atomic_store_n(&forks_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int o = ok + child_ok, e = eperm + child_eperm, x = other + child_other;
    printf("attempts %d ok %d eperm %d other %d lost_children %d\n", o + e + x, o, e, x, lost);
    return 0;
}
C
cc -O2 -Wall -Werror -pthread -o "$T/ft" "$T/ft.c" || fail "cannot compile ft.c"

for round in 1 2 3; do
    rm -f "$T/accepted"
    cat >"$T/r$round.ini" <<INI
[enact]
state = r$round.state
audit_log = r$round-audit.jsonl
log_allowed = true
[agent]
quota.max_actions = 100000
[tool.api]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 40
INI
    rc=0
    start=$(date +%s.%N)
    timeout 40 "$ENACT" run -c "$T/r$round.ini" -a forker -- "$T/ft" "$PORT" >"$T/r$round.out" \
        2>"$T/r$round.err" </dev/null || rc=$?
    took=$("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
    note "round $round: $(cat "$T/r$round.out") in ${took}s"
    [ "$rc" != 124 ] || fail "round $round: the agent deadlocked (killed after 40 s); stderr: $(cat "$T/r$round.err")"
    check_eq "round $round: exit status" 0 "$rc"
    read -r _ TOTAL _ _ _ _ _ _ _ _ <"$T/r$round.out"
    [ "${TOTAL:-0}" -ge 700 ] || fail "round $round: only ${TOTAL:-0} attempts: $(cat "$T/r$round.out")"
    check_eq "round $round: outcomes" "attempts $TOTAL ok 40 eperm $((TOTAL - 40)) other 0 lost_children 0" "$(cat "$T/r$round.out")"
    sleep 0.3 # the listener logs what it accepted
    check_eq "round $round: connections the listener accepted" 40 "$(cat "$T/accepted" 2>/dev/null | wc -l)"
    audit_check "$T/r$round-audit.jsonl" "$TOTAL" agent=forker tool=api op=connect
    check_eq "round $round: allow/deny records" "[('allow', 40), ('deny', $((TOTAL - 40)))]" \
        "$(audit_eval "$T/r$round-audit.jsonl" 'sorted(__import__("collections").Counter(r["verdict"] for r in recs).items())')"
    check_eq "round $round: processes that made records" 101 \
        "$(audit_eval "$T/r$round-audit.jsonl" 'len({r["pid"] for r in recs})')"
    status=$("$ENACT" status -c "$T/r$round.ini" --json) || fail "round $round: enact status failed"
    check_eq "round $round: tokens left, agent quota used" "0 40" "$("$PY" -c '
import json, sys
s = json.loads(sys.argv[1])
a = [a for a in s["agents"] if a["name"] == "forker"][0]
t = [t for t in a["tools"] if t["name"] == "api"][0]
print(t["tokens"], a["quota"]["used"])' "$status")"
done
