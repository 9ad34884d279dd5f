#!/usr/bin/env bash
# A connection reset on an established governed connection (ECONNRESET, or
# EPIPE on a send after it) tells the tool's breaker the tool failed. A
# connect that succeeds says only that the port is open: each exchange
# (the connection, or each request of it) reports one outcome, a success
# when the first byte of an answer arrives, a failure on a reset before it.
# The loopback servers accept, read what the client sends, then close with
# SO_LINGER {1, 0}: an RST. Both tools have breaker.failure_threshold = 2,
# breaker.timeout_seconds = 60.
# 1. Tool seq, one connection after the other: connect succeeds, sendall,
#    recv fails with ECONNRESET, a further send with EPIPE (the same
#    exchange: counted once). Twice: two consecutive failures open the
#    breaker (record breaker CLOSED -> OPEN, op recv) and the third connect
#    is refused with EPERM, record circuit_open. A service that accepts
#    connections and then fails every one of them is cut off.
# 2. Tool par: connections a and b are both made before either fails: a's
#    recv gets ECONNRESET, b's send (after the RST has arrived) gets
#    ECONNRESET: the breaker opens (op send), connect c is refused.
. "$(dirname "$0")/lib.sh"

cat >"$T/reset.py" <<'PY'
import socket, struct, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    conn.settimeout(2)
    try:
        conn.recv(100)
    except OSError:
        pass
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST
PY
# start_reset: a resetting server at a free port; sets PORT.
start_reset() {
    local attempt
    for attempt in 1 2 3; do
        PORT=$(free_port)
        spawn_bg "$T/reset-$PORT.log" "$PY" "$T/reset.py" "$PORT"
        wait_accepting "$BG_PID" 127.0.0.1 "$PORT" && return 0
        kill "$BG_PID" 2>/dev/null || true
    done
    cat "$T"/reset-*.log >&2
    fail "the resetting server did not start"
}
start_reset
SEQ=$PORT
start_reset
PAR=$PORT

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.seq]
connect = 127.0.0.1:$SEQ
breaker.failure_threshold = 2
breaker.timeout_seconds = 60
[tool.par]
connect = 127.0.0.1:$PAR
breaker.failure_threshold = 2
breaker.timeout_seconds = 60
INI

cat >"$T/client.py" <<'PY'
import errno, select, socket, sys
port, mode = int(sys.argv[1]), sys.argv[2]
addr = ("127.0.0.1", port)

def name(e):
    return f"{type(e).__name__} {errno.errorcode.get(e.errno, e.errno)}"

def connect(label):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(addr)
        print(label, "connected")
        return s
    except OSError as e:
        print(label, "connect", name(e))
        return None

def recv(s, label):
    try:
        print(label, "recv", s.recv(10))
    except OSError as e:
        print(label, "recv", name(e))

def send(s, label):
    try:
        s.sendall(b"more")
        print(label, "sent")
    except OSError as e:
        print(label, "send", name(e))

if mode == "seq":
    for i in (1, 2):
        s = connect(f"seq{i}")
        s.sendall(b"ping")
        recv(s, f"seq{i}")
        send(s, f"seq{i}")
        s.close()
    s = connect("seq3")
else:
    a, b = connect("a"), connect("b")
    a.sendall(b"ping")
    b.sendall(b"ping")
    recv(a, "a")
    p = select.poll()
    p.register(b, select.POLLIN)
    print("b reset arrived", bool(p.poll(5000)))
    send(b, "b")
    connect("c")
PY

run() {
    timeout 30 "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$1" "$2"
}

# ---- 1 ----
out=$(run "$SEQ" seq)
expected="seq1 connected
seq1 recv ConnectionResetError ECONNRESET
seq1 send BrokenPipeError EPIPE
seq2 connected
seq2 recv ConnectionResetError ECONNRESET
seq2 send BrokenPipeError EPIPE
seq3 connect PermissionError EPERM"
check_eq "seq: two connections that fail in turn open the breaker" "$expected" "$out"
audit_check "$T/audit.jsonl" 2 tool=seq "target=127.0.0.1:$SEQ"
check_eq "seq: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["op"], r.get("from"), r.get("to"), r.get("reason"))
       for r in recs] ==
      [("breaker", "recv", "CLOSED", "OPEN", None),
       ("deny", "connect", None, None, "circuit_open")])')"
rm -f "$T/audit.jsonl"

# ---- 2 ----
out=$(run "$PAR" par)
expected="a connected
b connected
a recv ConnectionResetError ECONNRESET
b reset arrived True
b send ConnectionResetError ECONNRESET
c connect PermissionError EPERM"
check_eq "par: two resets in a row open the breaker" "$expected" "$out"
audit_check "$T/audit.jsonl" 2 tool=par "target=127.0.0.1:$PAR"
check_eq "par: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["op"], r.get("from"), r.get("to"), r.get("reason"), r.get("errno"))
       for r in recs] ==
      [("breaker", "send", "CLOSED", "OPEN", None, None),
       ("deny", "connect", None, None, "circuit_open", "EPERM")])')"
check_eq "par: the refusal says when a probe may pass" "True" "$(audit_eval "$T/audit.jsonl" \
    '0 < recs[1]["retry_after_ms"] <= 60000')"
