#!/usr/bin/env bash
# timeout: 120
# A breaker shared by a fleet on Redis: failures seen on host A open it for
# host B, whose next call is refused (circuit_open, EPERM: no connect
# attempted); after the timeout exactly success_threshold = 2 probes go out
# fleet-wide while 8 processes on 4 hosts try at once, and their successes
# close it for everyone. And a probe whose connection closes with no
# exchange (nc -z) gives its lease back at once: a port-check loop after the
# timeout is admitted every time, with the state file as with Redis.
. "$(dirname "$0")/lib.sh"

command -v nc >/dev/null || fail "nc is required (netcat-openbsd; make deps installs it)"
start_redis
SVC=$(free_port)
for h in 1 2 3 4; do
    fleet_host_config "$h" "agent = probe" "backend.on_down = deny" \
        "[tool.svc]" "connect = 127.0.0.1:$SVC" "breaker.failure_threshold = 3" \
        "breaker.success_threshold = 2" "breaker.timeout_seconds = 1.5"
done
cat >"$T/client.py" <<'PY'
# connect, hold HOLD seconds, read the greeting: prints ok, or the errno name
import errno, socket, sys, time
port, hold = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket()
try:
    s.connect(("127.0.0.1", port))
    time.sleep(hold)
    print("ok" if s.recv(16) else "closed")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
client() { "$ENACT" run -c "$T/host$1/enact.ini" -- "$PY" "$T/client.py" "$SVC" "${2:-0}"; }

for i in 1 2 3; do
    check_eq "host 1, try $i: the service is down" ECONNREFUSED "$(client 1)"
done
check_eq "host 1 saw the breaker open" "[('CLOSED', 'OPEN')]" \
    "$(audit_eval "$T/host1/audit.jsonl" '[(r["from"], r["to"]) for r in recs if r["verdict"] == "breaker"]')"
check_eq "host 2's first call: refused by the fleet's breaker" EPERM "$(client 2)"
audit_check "$T/host2/audit.jsonl" 1 verdict=deny reason=circuit_open tool=svc errno=EPERM

# The service comes back: it greets each connection and keeps it open.
cat >"$T/greeter.py" <<'PY'
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
def serve(c):
    c.sendall(b"hi\n")
    c.recv(1)
    c.close()
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("accepted\n")
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
spawn_bg "$T/greeter.log" "$PY" "$T/greeter.py" "$SVC" "$T/accepted"
wait_accepting "$BG_PID" 127.0.0.1 "$SVC" || fail "the greeter did not start"
: >"$T/accepted" # wait_accepting's own connection is not a probe
sleep 1.6
pids=()
for h in 1 2 3 4; do
    for p in 1 2; do
        client "$h" 1.0 >"$T/probe.$h.$p" &
        pids+=($!)
    done
done
for p in "${pids[@]}"; do wait "$p" || true; done
check_eq "probes that went out fleet-wide" 2 "$(wc -l <"$T/accepted")"
check_eq "what the 8 tries got" "6 EPERM,2 ok" \
    "$(cat "$T"/probe.* | sort | uniq -c | awk '{print $1, $2}' | paste -sd,)"
cat "$T"/host*/audit.jsonl >"$T/all.jsonl"
check_eq "breaker changes fleet-wide" \
    "[('CLOSED', 'OPEN'), ('OPEN', 'HALF_OPEN'), ('HALF_OPEN', 'CLOSED')]" \
    "$(audit_eval "$T/all.jsonl" 'sorted([(r["from"], r["to"]) for r in recs if r["verdict"] == "breaker"], key=lambda c: ["CLOSED", "OPEN", "HALF_OPEN"].index(c[0]))')"
check_eq "closed for everyone: host 3" ok "$(client 3)"

# nc -z after the timeout: each check's lease goes back when it closes.
PORTCHECK=$(free_port)
for backend in local "redis://127.0.0.1:$REDIS_PORT"; do
    cat >"$T/nc.ini" <<INI
[enact]
state = $T/nc.state
audit_log = $T/nc.jsonl
backend = $backend
backend.key_prefix = $TEST_NAME-nc
[tool.port]
connect = 127.0.0.1:$PORTCHECK
breaker.failure_threshold = 2
breaker.success_threshold = 2
breaker.timeout_seconds = 1
INI
    rm -f "$T/nc.state"
    redis-cli -p "$REDIS_PORT" del "{$TEST_NAME-nc}:b:*" >/dev/null
    got=""
    for i in 1 2; do
        "$ENACT" run -c "$T/nc.ini" -- nc -z -w 2 127.0.0.1 "$PORTCHECK" && got+="0 " || got+="1 "
    done
    spawn_bg "$T/ncl.log" "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    s.accept()[0].close()' "$PORTCHECK"
    listener=$BG_PID
    wait_accepting "$listener" 127.0.0.1 "$PORTCHECK" || fail "the port-check listener did not start"
    sleep 1.1
    for i in 1 2 3 4 5; do
        "$ENACT" run -c "$T/nc.ini" -- nc -z -w 2 127.0.0.1 "$PORTCHECK" && got+="0 " || got+="1 "
    done
    check_eq "nc -z exit codes, backend $backend (2 down, then 5 after the timeout)" \
        "1 1 0 0 0 0 0 " "$got"
    kill "$listener"
    wait "$listener" 2>/dev/null || true
done
