#!/usr/bin/env bash
# Fault injection: SIGKILL at random points while many processes share one
# state file. Six workers (C, governed) loop: a connect to a tool of burst
# 800 (a bucket hammered by compare-and-swap), then fork + execv of `mark`,
# a program of a tool with a quota of 600 (a ring under a lock in the state
# file) that sleeps 5-25 ms and then creates one file of its own; the
# agent's own quota (another locked ring) is charged by both. A killer
# sends SIGKILL to random workers and to their children (which may be in
# the exec hook's decision, or running `mark`) every 5-40 ms, 60 times in
# all, starting a new worker for each worker killed. Then the workers that
# are left, and a last one, spend what remains of the limits.
# Afterwards:
#   - nothing hung; enact status works;
#   - the quota was never exceeded: files made by `mark` <= 600, and the
#     quota's used count is exactly 600; what was charged but never made a
#     file is at most one per child killed (only a child, in its exec hook,
#     charges a start);
#   - the listener accepted <= 800 connections and 0 tokens are left; the
#     charged connections the listener never saw are at most one per
#     worker killed; the agent's quota counts every charge (mark's 600
#     plus the bucket's 800), give or take one per process killed;
#   - every line of the audit log is valid JSON, no record says the state
#     was damaged (state_error);
#   - a new call is decided correctly: `mark` refused (quota_exceeded), the
#     connect refused (rate_limited); after `enact reset --tool mark`,
#     `mark` runs again.
# timeout: 120
. "$(dirname "$0")/lib.sh"

QUOTA=600
BURST=800

cat >"$T/server.py" <<'PY'
import socket, sys
log = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
print(s.getsockname()[1], flush=True)
with open(log, "a", buffering=1) as f:
    while True:
        conn, _ = s.accept()
        conn.close()
        f.write("accepted\n")
PY
spawn_bg "$T/server.out" "$PY" -u "$T/server.py" "$T/accepted"
for _ in $(seq 100); do [ -s "$T/server.out" ] && break; sleep 0.05; done
PORT=$(head -1 "$T/server.out")
[ -n "$PORT" ] || fail "the listener did not start"

cat >"$T/mark.c" <<'C'
/* mark DIR: sleeps 5-25 ms, then creates DIR/PID (one file per run). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    struct timespec t = {0, (5 + rand() % 21) * 1000 * 1000};
    while (nanosleep(&t, &t) != 0)
        ;
    char path[4200];
    snprintf(path, sizeof path, "%s/%ld", argv[1], (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    return fd < 0 ? 3 : 0;
}
C
cat >"$T/worker.c" <<'C'
/* worker PORT MARK DIR: connect + start of MARK in a loop, until both
 * have been refused 3 times in a row. Prints what it was told. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srand((unsigned)getpid());
    int api_refused = 0, mark_refused = 0, api_ok = 0, mark_ok = 0, odd = 0;
    while (api_refused < 3 || mark_refused < 3) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
            api_ok++, api_refused = 0;
        else if (errno == EPERM)
            api_refused++;
        else
            odd++;
        close(s);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"mark", argv[3], NULL};
            execv(argv[2], args);
            _exit(100 + errno);
        }
        int st = 0;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)) {
            if (WEXITSTATUS(st) == 0)
                mark_ok++, mark_refused = 0;
            else if (WEXITSTATUS(st) == 100 + EPERM)
                mark_refused++;
            else
                odd++;
        } else {
            odd++; /* the killer got the child */
        }
        struct timespec t = {0, (rand() % 10) * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    printf("api_ok %d mark_ok %d odd %d\n", api_ok, mark_ok, odd);
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/mark" "$T/mark.c" || fail "cannot compile mark.c"
cc -O2 -Wall -Werror -o "$T/worker" "$T/worker.c" || fail "cannot compile worker.c"
mkdir "$T/marks"

cat >"$T/enact.ini" <<INI
[enact]
state = hammer.state
audit_log = audit.jsonl
[agent]
quota.max_actions = 100000
[tool.api]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = $BURST
[tool.mark]
exec = $T/mark
quota.max_actions = $QUOTA
quota.window_hours = 24
INI

# The driver: workers, the killer, and the reaping. Prints the number of
# processes killed.
cat >"$T/driver.py" <<'PY'
import os, random, signal, subprocess, sys, time
enact, ini, worker, port, mark, marks, logdir = sys.argv[1:8]
WORKERS, KILLS, DEADLINE = 6, 60, time.monotonic() + 60
random.seed(os.getpid())
cmd = [enact, "run", "-c", ini, "-a", "hammer", "--", worker, port, mark, marks]
n = 0
def start():
    global n
    n += 1
    out = open(os.path.join(logdir, f"worker-{n}.out"), "w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []
live = [start() for _ in range(WORKERS)]
killed = {"worker": 0, "child": 0}
time.sleep(0.05)
while sum(killed.values()) < KILLS and time.monotonic() < DEADLINE:
    time.sleep(random.uniform(0.005, 0.04))
    live = [p for p in live if p.poll() is None]
    if not live:
        break
    victim = random.choice(live)
    kids = children(victim.pid)
    if kids and random.random() < 0.6:
        try:
            os.kill(random.choice(kids), signal.SIGKILL)
            killed["child"] += 1
        except ProcessLookupError:
            pass
    else:
        victim.kill()
        victim.wait()
        killed["worker"] += 1
        live.remove(victim)
        live.append(start())
for p in live:
    try:
        p.wait(timeout=max(1, DEADLINE - time.monotonic()))
    except subprocess.TimeoutExpired:
        print("HUNG", p.pid, flush=True)
        for q in live:
            q.kill()
        sys.exit(1)
print(killed["worker"] + killed["child"], killed["worker"], killed["child"], n)
PY

out=$(timeout 90 "$PY" "$T/driver.py" "$ENACT" "$T/enact.ini" "$T/worker" "$PORT" "$T/mark" \
    "$T/marks" "$T") || fail "the workers hung or the driver failed: $out"
read -r KILLED KILLED_WORKERS KILLED_CHILDREN STARTED <<<"$out"
note "killed $KILLED processes ($KILLED_WORKERS workers, $KILLED_CHILDREN of their children); $STARTED workers started"
[ "$KILLED" -ge 20 ] || fail "only $KILLED processes were killed: the limits ran out too soon for the test to mean much"

# A last worker, not killed, spends whatever is left.
timeout 30 "$ENACT" run -c "$T/enact.ini" -a hammer -- "$T/worker" "$PORT" "$T/mark" "$T/marks" \
    >"$T/last.out" 2>&1 || fail "the last worker failed: $(cat "$T/last.out")"
note "last worker: $(cat "$T/last.out")"

status=$("$ENACT" status -c "$T/enact.ini" --json) || fail "enact status fails on the state the kills left"
"$ENACT" status -c "$T/enact.ini" >/dev/null || fail "enact status (text) fails"
read -r USED TOKENS AGENT_USED <<<"$("$PY" -c '
import json, sys
s = json.loads(sys.argv[1])
a = [a for a in s["agents"] if a["name"] == "hammer"][0]
tools = {t["name"]: t for t in a["tools"]}
print(tools["mark"]["quota"]["used"], tools["api"]["tokens"], a["quota"]["used"])' "$status")"
FILES=$(find "$T/marks" -type f | wc -l)
sleep 0.3
ACCEPTED=$(wc -l <"$T/accepted")
note "mark: quota used $USED of $QUOTA, $FILES files; api: $TOKENS tokens left of $BURST, $ACCEPTED connections accepted; the agent's quota used $AGENT_USED"

[ "$FILES" -le "$QUOTA" ] || problem "the quota of $QUOTA was exceeded: $FILES files were made"
[ "$USED" = "$QUOTA" ] || problem "the quota's used count is $USED, expected exactly $QUOTA once it is spent"
[ $((USED - FILES)) -ge 0 ] || problem "$FILES files but only $USED charged: admitted starts went uncounted"
# Only a child charges a start of mark (in its exec hook): only a killed
# child can have been charged without making its file.
[ $((USED - FILES)) -le "$KILLED_CHILDREN" ] || problem "$((USED - FILES)) charged starts made no file, more than the $KILLED_CHILDREN children killed"
[ "$ACCEPTED" -le "$BURST" ] || problem "the burst of $BURST was exceeded: $ACCEPTED connections accepted"
[ "$TOKENS" = 0 ] || problem "$TOKENS tokens left after the bucket was spent"
# Only a worker charges a connect: only a killed worker can have been
# charged without connecting.
[ $((BURST - ACCEPTED)) -le "$KILLED_WORKERS" ] || problem "$((BURST - ACCEPTED)) charged connects never reached the listener, more than the $KILLED_WORKERS workers killed"
diff=$((AGENT_USED - QUOTA - BURST))
[ "${diff#-}" -le "$KILLED" ] || problem "the agent's quota counts $AGENT_USED, expected $((QUOTA + BURST)) give or take $KILLED"

"$PY" - "$T/audit.jsonl" <<'EOF' || problem "the audit log has a broken line"
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    try:
        json.loads(line)
    except ValueError as e:
        print(f"line {n}: {e}: {line[:200]!r}", file=sys.stderr)
        sys.exit(1)
EOF
errors=$(grep -c '"state_error"\|"state_full"' "$T/audit.jsonl" || true)
[ "$errors" = 0 ] || problem "$errors records say enact could not decide: $(grep -m3 '"state_error"\|"state_full"' "$T/audit.jsonl" | tr '\n' '|')"

# New calls are decided correctly on the state the kills left.
lines=$(wc -l <"$T/audit.jsonl")
cat >"$T/once.c" <<'C'
/* once PORT MARK DIR: one connect, one start of MARK; prints both. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
    printf("connect %s\n", rc == 0 ? "ok" : errno == EPERM ? "EPERM" : strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"mark", argv[3], NULL};
        execv(argv[2], args);
        _exit(100 + errno);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("mark %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran"
                        : WIFEXITED(st) && WEXITSTATUS(st) == 100 + EPERM ? "EPERM" : "?");
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/once" "$T/once.c" || fail "cannot compile once.c"
got=$(timeout 20 "$ENACT" run -c "$T/enact.ini" -a hammer -- "$T/once" "$PORT" "$T/mark" "$T/marks")
[ "$got" = "connect EPERM
mark EPERM" ] || problem "after the kills: a new connect and start gave '$(tr '\n' ' ' <<<"$got")', expected both refused"
tail -n +$((lines + 1)) "$T/audit.jsonl" >"$T/new.jsonl"
check=$(audit_eval "$T/new.jsonl" 'sorted((r["op"], r["tool"], r["verdict"], r.get("reason")) for r in recs)')
[ "$check" = "[('connect', 'api', 'deny', 'rate_limited'), ('exec', 'mark', 'deny', 'quota_exceeded')]" ] ||
    problem "after the kills: the new calls' records are $check"
"$ENACT" reset -c "$T/enact.ini" --agent hammer --tool mark >/dev/null || problem "enact reset failed"
got=$(timeout 20 "$ENACT" run -c "$T/enact.ini" -a hammer -- "$T/once" "$PORT" "$T/mark" "$T/marks")
[ "$got" = "connect EPERM
mark ran" ] || problem "after enact reset --tool mark: '$(tr '\n' ' ' <<<"$got")', expected the connect refused and mark run"

fail_on_problems
