#!/usr/bin/env bash
# Concurrent writers of one audit log: 8 governed
# processes, started together (each waits for a go file), each make 501
# connects to a closed loopback port of a tool with burst 1 and a rate that
# never refills; each process is its own agent (own bucket), so its first
# connect is admitted (and refused by the kernel, ECONNREFUSED, no record)
# and the other 500 are refused by enact (EPERM). Agent names (64 chars) and
# program names (118 chars) differ per process, so records are long and
# interleaved bytes would show. Then:
#   - each program saw exactly 500 EPERM and 1 ECONNREFUSED;
#   - the log holds exactly 4000 lines, each one valid JSON with every
#     mandatory field, verdict deny, reason rate_limited, errno EPERM;
#   - per pid exactly 500 records, all carrying that process's own agent
#     and program name (no field of one record came from another);
#   - the processes did run at the same time (in file order, their records
#     alternate at least 100 times), so the above says something.
. "$(dirname "$0")/lib.sh"

NPROC=8
PER=500
PORT=$(free_port)
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.closed]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
INI

cat >"$T/conn.c" <<'C'
/* conn N PORT GOFILE: waits (at most 20 s) for GOFILE, then makes N
 * blocking connects to 127.0.0.1:PORT, each on a fresh socket; prints
 * "PID denied=N refused=N other=N" (EPERM, ECONNREFUSED, anything else). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int n = atoi(argv[1]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct stat st;
    int waited = 0;
    while (stat(argv[3], &st) != 0) {
        if (++waited > 20000) {
            fprintf(stderr, "no go file\n");
            return 3;
        }
        usleep(1000);
    }
    int denied = 0, refused = 0, other = 0;
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) {
            perror("socket");
            return 4;
        }
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
            other++;
        else if (errno == EPERM)
            denied++;
        else if (errno == ECONNREFUSED)
            refused++;
        else
            other++;
        close(s);
    }
    printf("%ld denied=%d refused=%d other=%d\n", (long)getpid(), denied, refused, other);
    return 0;
}
C
gcc -O2 -o "$T/conn" "$T/conn.c" || fail "cannot compile conn.c"

# Per process: a 64-character agent name and a 118-character program name
# (a symlink to conn), each made of the process's own letter.
mkdir "$T/bin"
agents=() exes=()
letters=(a b c d e f g h)
for ((i = 1; i <= NPROC; i++)); do
    l=${letters[i - 1]}
    agents+=("agent$i-$(printf "%0.s$l" $(seq 1 57))")
    exes+=("conn$i-$(printf "%0.s$l" $(seq 1 112))")
    ln -s "$T/conn" "$T/bin/${exes[i - 1]}"
done
check_eq "agent name length" 64 "${#agents[0]}"

pids=()
for ((i = 1; i <= NPROC; i++)); do
    "$ENACT" run -c "$T/enact.ini" -a "${agents[i - 1]}" -- \
        "$T/bin/${exes[i - 1]}" $((PER + 1)) "$PORT" "$T/go" >"$T/out.$i" 2>"$T/err.$i" </dev/null &
    pids+=($!)
done
sleep 0.5 # every process is loaded and polling for the go file
touch "$T/go"
start=$(date +%s)
for ((i = 1; i <= NPROC; i++)); do
    wait "${pids[i - 1]}" || { cat "$T/err.$i" >&2; fail "process $i exited with status $?"; }
done
note "8 x $((PER + 1)) connects took $(($(date +%s) - start)) s"

# Each program: 500 refused by enact, the admitted one refused by the kernel.
: >"$T/expect"
for ((i = 1; i <= NPROC; i++)); do
    read -r pid counts <"$T/out.$i" || fail "process $i printed nothing"
    check_eq "process $i's outcomes" "denied=$PER refused=1 other=0" "$counts"
    [ -s "$T/err.$i" ] && { cat "$T/err.$i" >&2; fail "process $i wrote to stderr"; }
    echo "$pid ${agents[i - 1]} ${exes[i - 1]}" >>"$T/expect"
done

# Every line one valid record with the mandatory fields, and exactly 4000.
audit_check "$T/audit.jsonl" $((NPROC * PER)) verdict=deny reason=rate_limited op=connect \
    tool=closed "target=127.0.0.1:$PORT" errno=EPERM

# Per pid exactly 500 records, each with its own process's agent and exe.
"$PY" - "$T/audit.jsonl" "$T/expect" "$PER" <<'EOF' || fail "records per process"
import collections, json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = {int(p): (a, e) for p, a, e in (l.split() for l in open(sys.argv[2]))}
per = int(sys.argv[3])
by_pid = collections.Counter(r["pid"] for r in recs)
if by_pid != {p: per for p in want}:
    sys.exit(f"records per pid: {dict(by_pid)}, expected {per} for each of {sorted(want)}")
for n, r in enumerate(recs, 1):
    if (r["agent"], r["exe"]) != want[r["pid"]]:
        sys.exit(f"line {n}: pid {r['pid']} with agent {r['agent']!r} exe {r['exe']!r}")
EOF

# The writers really overlapped: in file order the pid changes more than
# twice as often as one writer after another would give (7). Usually
# hundreds; on a loaded machine the scheduler may run them in long turns.
switches=$(audit_eval "$T/audit.jsonl" 'sum(a["pid"] != b["pid"] for a, b in zip(recs, recs[1:]))')
note "pid changes in file order: $switches"
[ "$switches" -ge 16 ] || fail "only $switches pid changes in the log: the writers did not overlap"
