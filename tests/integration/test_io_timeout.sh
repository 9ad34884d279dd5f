#!/usr/bin/env bash
# io_timeout_seconds bounds each read and write on a governed BLOCKING
# socket. A loopback server accepts and never answers; tool slow has
# io_timeout_seconds = 1 and breaker.failure_threshold = 2.
# 1. python3, socket.socket() with no timeout (a blocking socket): connect,
#    sendall(b"ping"), recv(10) fails with TimeoutError errno ETIMEDOUT (110)
#    after about 1 s (asserted: >= 0.9 s and < 5 s); one record: verdict
#    timeout, errno ETIMEDOUT, op recv, tool slow. One failure: the breaker
#    stays closed. (The connect's success says only that the port is open:
#    the exchange that follows reports how the tool did.)
# 2. A Python socket with settimeout(2) is non-blocking inside: the shim
#    leaves it alone; Python's own timeout fires after about 2 s
#    ("timed out", errno None) and nothing is recorded.
# 3. Two blocking connections are made, then recv on each times out: with
#    the failure of part 1, the first of them is the second consecutive
#    failure and opens the breaker (record breaker CLOSED -> OPEN after its
#    timeout record); the next connect is refused with EPERM
#    (PermissionError), record circuit_open.
. "$(dirname "$0")/lib.sh"

cat >"$T/silent.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
held = []  # accepted and kept open, never answered
while True:
    conn, _ = srv.accept()
    held.append(conn)
PY
for attempt in 1 2 3; do
    PORT=$(free_port)
    spawn_bg "$T/silent-$attempt.log" "$PY" "$T/silent.py" "$PORT"
    wait_accepting "$BG_PID" 127.0.0.1 "$PORT" && break
    kill "$BG_PID" 2>/dev/null || true
    [ "$attempt" = 3 ] && { cat "$T"/silent-*.log >&2; fail "the silent server did not start"; }
done

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.slow]
connect = 127.0.0.1:$PORT
io_timeout_seconds = 1
breaker.failure_threshold = 2
breaker.timeout_seconds = 60
INI

cat >"$T/client.py" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
addr = ("127.0.0.1", port)

# Prints how the wait for a reply ended and whether it took between
# at_least and 5 seconds.
def wait_reply(s, label, at_least):
    start = time.monotonic()
    try:
        data = s.recv(10)
        print(label, "data", data)
    except OSError as e:
        took = time.monotonic() - start
        print(label, type(e).__name__, e.errno, e.strerror or str(e),
              "in-time" if at_least <= took < 5 else f"after {took:.2f} s")

if mode == "blocking":
    s = socket.socket()
    assert s.gettimeout() is None and s.getblocking()
    s.connect(addr)
    s.sendall(b"ping")
    wait_reply(s, "blocking", 0.9)
elif mode == "python-timeout":
    s = socket.socket()
    s.settimeout(2)
    s.connect(addr)
    s.sendall(b"ping")
    wait_reply(s, "python-timeout", 1.9)
elif mode == "two":
    a, b = socket.socket(), socket.socket()
    a.connect(addr)
    b.connect(addr)
    a.sendall(b"ping")
    b.sendall(b"ping")
    wait_reply(a, "a", 0.9)
    wait_reply(b, "b", 0.9)
    c = socket.socket()
    try:
        c.connect(addr)
        print("c connected")
    except OSError as e:
        print("c", type(e).__name__, e.errno)
PY

run() {
    timeout 30 "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$PORT" "$1"
}

# ---- 1 ----
out=$(run blocking)
check_eq "blocking socket: recv" "blocking TimeoutError 110 Connection timed out in-time" "$out"
audit_check "$T/audit.jsonl" 1 verdict=timeout errno=ETIMEDOUT op=recv tool=slow \
    "target=127.0.0.1:$PORT"

# ---- 2 ----
out=$(run python-timeout)
check_eq "socket with a Python timeout: Python's own timeout" \
    "python-timeout TimeoutError None timed out in-time" "$out"
audit_check "$T/audit.jsonl" 1 verdict=timeout errno=ETIMEDOUT op=recv tool=slow

# ---- 3 ----
out=$(run two)
expected="a TimeoutError 110 Connection timed out in-time
b TimeoutError 110 Connection timed out in-time
c PermissionError 1"
check_eq "two timeouts, then a connect" "$expected" "$out"
check_eq "records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["op"], r["tool"], r.get("errno"), r.get("reason"), r.get("from"),
        r.get("to")) for r in recs] ==
     [("timeout", "recv", "slow", "ETIMEDOUT", None, None, None)] * 2 +
     [("breaker", "recv", "slow", None, None, "CLOSED", "OPEN"),
      ("timeout", "recv", "slow", "ETIMEDOUT", None, None, None),
      ("deny", "connect", "slow", "EPERM", "circuit_open", None, None)])')"
check_eq "every record names the target" "True" "$(audit_eval "$T/audit.jsonl" \
    'all(r["target"] == "127.0.0.1:'"$PORT"'" for r in recs)')"
check_eq "the refusal says when a probe may pass" "True" "$(audit_eval "$T/audit.jsonl" \
    '0 < recs[4]["retry_after_ms"] <= 60000')"
