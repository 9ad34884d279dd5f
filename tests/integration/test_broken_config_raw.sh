#!/usr/bin/env bash
# Raw LD_PRELOAD with ENACT_CONFIG naming a broken file: the shim refuses
# every connect and exec (fail closed, EPERM) and says why on stderr with
# FILE:LINE:.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/broken.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_sise = 5
INI

count_curls 1 curl "$HTTP_URL"
check_eq "ungoverned curl succeeds" 1 "$CURL_OK"

curl_code env LD_PRELOAD="$SHIM" ENACT_CONFIG="$T/broken.ini" curl -sS "$HTTP_URL"
cat "$T/curl.err"
check_eq "curl exit status (could not connect)" 7 "$CURL_RC"
check_eq "http code" 000 "$CURL_CODE"
grep -q '^enact: ' "$T/curl.err" || fail "no 'enact:' line on stderr"
grep -q "$T/broken\.ini:7: " "$T/curl.err" || fail "no '$T/broken.ini:7:' on stderr"

# The refusal is EPERM, for connect and exec alike.
set +e
out=$(LD_PRELOAD="$SHIM" ENACT_CONFIG="$T/broken.ini" "$PY" - "$HTTP_PORT" 2>"$T/py.err" <<'PY'
import socket, subprocess, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("connect ok")
except PermissionError:
    print("connect EPERM")
try:
    subprocess.run(["true"])
    print("exec ok")
except PermissionError:
    print("exec EPERM")
PY
)
set -e
cat "$T/py.err"
check_eq "python under the broken config" "connect EPERM
exec EPERM" "$out"
grep -q "$T/broken\.ini:7: " "$T/py.err" || fail "python: no '$T/broken.ini:7:' on stderr"
