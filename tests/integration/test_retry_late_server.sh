#!/usr/bin/env bash
# A server that comes up a second late is reached by a blocking connect
# with retry.max_attempts = 5 and initial_delay = 0.5; the retries are in
# the audit log.
. "$(dirname "$0")/lib.sh"

port=$(free_port 127.0.0.1)
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.late]
connect = 127.0.0.1:$port
retry.max_attempts = 5
retry.initial_delay = 0.5
retry.jitter = false
INI
cat >"$T/late.py" <<'PY'
import socket, sys, time
time.sleep(1.0)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
conn, _ = srv.accept()
conn.sendall(b"hello\n")
time.sleep(2)
PY
spawn_bg "$T/late.log" "$PY" "$T/late.py" "$port"
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.recv(16).decode().strip())' "$port")
check_eq "reached the late server" hello "$out"
n=$(grep -c '"verdict":"retry"' "$T/audit.jsonl")
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "expected 1 to 4 retry records, found $n"
grep -q '"errno":"ECONNREFUSED"' "$T/audit.jsonl" || fail "retry records do not name ECONNREFUSED"
