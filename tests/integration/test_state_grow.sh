#!/usr/bin/env bash
# The state file's tables grow instead of refusing (README "How limits
# work", Shared state): with the default config (room for 64 agents per
# tool), 1,200 agents on one tool each get their own bucket, and no call is
# refused for room (no state_full, no state_error). A rate limit stays
# exact across the growth:
#   hot1: 4 processes hammer one agent's bucket, claimed before the file
#         grows, while the other agents make it grow;
#   hot2: one agent's bucket claimed after the growth, hammered at once by
#         4 processes that mapped the file before it grew (they follow its
#         new size) and 4 that mapped it after.
#   spawn: a process that mapped the file before it grew starts a limited
#         program 15 times (Python's subprocess: the exec is decided in a
#         vfork child, which maps the new tables into the address space it
#         shares with its parent; the parent goes on with them).
# hot1 and hot2 admit exactly their burst (40; the refill, 1 a minute, does
# not come within the test), spawn its 10. enact status and enact ps read
# the grown tables.
# timeout: 300
. "$(dirname "$0")/lib.sh"

AGENTS=1200
start_counting_listeners "$T/conns.log" many hot
read -r MANY_PORT HOT_PORT <<<"$LISTENER_PORTS"
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.many]
connect = 127.0.0.1:$MANY_PORT
rate.max_calls_per_minute = 600
rate.burst_size = 5
[tool.hot]
connect = 127.0.0.1:$HOT_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 40
[tool.spawn]
exec = true
rate.max_calls_per_minute = 1
rate.burst_size = 10
INI

# spawner.py GO OUT: waits for GO, then runs true 15 times; "STARTED REFUSED".
cat >"$T/spawner.py" <<'PY'
import os, subprocess, sys, time
go, out = sys.argv[1], sys.argv[2]
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
started = refused = 0
for _ in range(15):
    try:
        subprocess.run(["true"], check=True)
        started += 1
    except PermissionError:
        refused += 1
with open(out, "w") as f:
    f.write("%d %d\n" % (started, refused))
PY

# hammer.py PORT GO STOP OUT: waits for GO, then connects to PORT (20 times
# at least, and on until STOP exists, for 45 s at most: the bucket's next
# token comes a minute after the first call), writes "OK REFUSED" to OUT.
cat >"$T/hammer.py" <<'PY'
import os, socket, sys, time
port, go, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
ok = refused = 0
n = 0
t0 = time.monotonic()
while n < 20 or (not os.path.exists(stop) and time.monotonic() - t0 < 45):
    n += 1
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        ok += 1
    except PermissionError:
        refused += 1
    time.sleep(0.005)
with open(out, "w") as f:
    f.write("%d %d\n" % (ok, refused))
PY

# hammer AGENT NAME GO STOP: one governed hammer in the background.
HAMMERS=()
hammer() {
    "$ENACT" run -c "$T/enact.ini" -a "$1" -- "$PY" "$T/hammer.py" "$HOT_PORT" "$3" "$4" \
        "$T/$2.out" >"$T/$2.log" 2>&1 &
    HAMMERS+=($!)
}
wait_ready() {
    local f
    for f in "$@"; do
        for _ in $(seq 1000); do [ -e "$T/$f.out.ready" ] && break; sleep 0.01; done
        [ -e "$T/$f.out.ready" ] || fail "hammer $f did not start: $(cat "$T/$f.log")"
    done
}

# Mapped before any growth: the hot1 hammers and the first hot2 ones.
for i in 1 2 3 4; do hammer hot1 "h1-$i" "$T/go1" "$T/grown"; done
for i in 1 2 3 4; do hammer hot2 "h2-old-$i" "$T/go2" "$T/go2"; done
"$ENACT" run -c "$T/enact.ini" -a spawner -- "$PY" "$T/spawner.py" "$T/go2" "$T/spawn.out" \
    >"$T/spawn.log" 2>&1 &
HAMMERS+=($!)
wait_ready h1-1 h1-2 h1-3 h1-4 h2-old-1 h2-old-2 h2-old-3 h2-old-4 spawn
created=$(stat -c %s "$T/t.state")

# The agents: each a governed bash that connects once (/dev/tcp).
: >"$T/go1"
seq "$AGENTS" | xargs -P 3 -I{} env LD_PRELOAD="$SHIM_PRELOAD" ENACT_CONFIG="$T/enact.ini" \
    ENACT_AGENT=agent-{} bash -c "exec 3<>/dev/tcp/127.0.0.1/$MANY_PORT" 2>"$T/agents.err" ||
    problem "some agent could not connect: $(head -c 600 "$T/agents.err")"
: >"$T/grown"
grown=$(stat -c %s "$T/t.state")
note "the state file grew from $created to $grown bytes"
[ "$grown" -gt "$created" ] || problem "the state file did not grow ($created -> $grown bytes)"

# hot2: its bucket is new now; the old mappings and new ones at once.
for i in 1 2 3 4; do hammer hot2 "h2-new-$i" "$T/go2" "$T/go2"; done
wait_ready h2-new-1 h2-new-2 h2-new-3 h2-new-4
: >"$T/go2"
for pid in "${HAMMERS[@]}"; do
    wait "$pid" || problem "a hammer exited $?"
done

sum_ok() { cat "$@" | awk '{ s += $1 } END { print s + 0 }'; }
check_eq "hot1 admitted across the growth" 40 "$(sum_ok "$T"/h1-*.out)"
check_eq "hot2 admitted, old and new mappings" 40 "$(sum_ok "$T"/h2-*.out)"
check_eq "spawn: started refused" "10 5" "$(cat "$T/spawn.out")"
check_eq "connections of the agents" "$AGENTS" "$(grep -cx many "$T/conns.log")"
check_eq "connections to hot" 80 "$(grep -cx hot "$T/conns.log")"
full=$(grep -c '"state_full"\|"state_error"' "$T/audit.jsonl" || true)
[ "$full" = 0 ] || problem "$full records say the state could not decide: $(grep -m3 '"state_full"\|"state_error"' "$T/audit.jsonl" | tr '\n' '|')"
check_eq "refusals recorded" "$(( $(cat "$T"/h*.out "$T/spawn.out" | awk '{ s += $2 } END { print s }') ))" \
    "$(grep -c '"reason":"rate_limited"' "$T/audit.jsonl")"

# The CLI reads the extensions: agents past the first table's room are
# listed, and a fresh open of the grown file is not a damaged one.
"$ENACT" status -c "$T/enact.ini" >"$T/status" 2>&1 || problem "enact status failed: $(head -5 "$T/status")"
for a in agent-1 agent-600 "agent-$AGENTS" hot2; do
    grep -qw -- "$a" "$T/status" || problem "enact status does not list $a"
done
ls "$T"/t.state.corrupt-* >/dev/null 2>&1 && problem "the grown file was moved aside as damaged"
"$ENACT" ps -c "$T/enact.ini" >/dev/null 2>&1 || problem "enact ps failed on the grown file"
"$ENACT" reset -c "$T/enact.ini" --agent "agent-$AGENTS" >"$T/reset" 2>&1 ||
    problem "enact reset failed: $(cat "$T/reset")"
out=$(LD_PRELOAD="$SHIM_PRELOAD" ENACT_CONFIG="$T/enact.ini" ENACT_AGENT=hot1 \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOT_PORT" 2>&1 && echo ok || echo refused)
check_eq "hot1 still spent after the growth" refused "$(echo "$out" | tail -1)"
fail_on_problems
