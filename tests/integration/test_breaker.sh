#!/usr/bin/env bash
# Circuit breaker per tool, fed by connect results.
# Part 1: tool down on a closed loopback port, failure_threshold 3, timeout
# 60 s: of 5 curls the first 3 fail with "Connection refused" (exit 7) and
# open the breaker (one record: breaker CLOSED -> OPEN); 4 and 5 are refused
# by enact (circuit_open, EPERM) without touching the network.
# Part 2: tool flaky, failure_threshold 2, success_threshold 1, timeout 1 s:
# opened the same way; after the timeout a probe is admitted (OPEN ->
# HALF_OPEN), fails while nothing listens (HALF_OPEN -> OPEN); after the
# next timeout, with a server now on the port, the probe succeeds and closes
# the breaker (OPEN -> HALF_OPEN -> CLOSED); later calls pass unrecorded.
# Part 3: enact's own refusals are not failures of the service: tool self
# (errno = ECONNREFUSED, burst 1, failure_threshold 2) refuses 3 curls by
# rate with ECONNREFUSED and its breaker stays closed.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1 # for part 3; first, so that the free ports below differ from it
DOWN=$(free_port)
FLAKY=$(free_port)
while [ "$DOWN" = "$FLAKY" ]; do FLAKY=$(free_port); done
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.down]
connect = 127.0.0.1:$DOWN
breaker.failure_threshold = 3
breaker.timeout_seconds = 60
[tool.flaky]
connect = 127.0.0.1:$FLAKY
breaker.failure_threshold = 2
breaker.success_threshold = 1
breaker.timeout_seconds = 1
[tool.self]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ECONNREFUSED
breaker.failure_threshold = 2
INI

# attempt PORT: one governed `curl -v`; prints "refused" (the kernel said
# Connection refused), "blocked" (exit 7, Operation not permitted: enact
# refused it), "ok" (HTTP 200) or fails the test.
attempt() {
    set +e
    code=$("$ENACT" run -c "$T/enact.ini" -- curl -v --noproxy '*' --max-time 10 \
        -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" 2>"$T/curl.err")
    rc=$?
    set -e
    if [ "$rc" = 0 ] && [ "$code" = 200 ]; then
        echo ok
    elif [ "$rc" = 7 ] && grep -q 'Connection refused' "$T/curl.err"; then
        echo refused
    elif [ "$rc" = 7 ] && grep -q 'Operation not permitted' "$T/curl.err"; then
        echo blocked
    else
        cat "$T/curl.err" >&2
        fail "curl to port $1: unexpected exit $rc, http code '$code'"
    fi
}

# ---- part 1 ----
outcomes=""
for i in 1 2 3 4 5; do
    outcomes+="$(attempt "$DOWN") "
done
check_eq "down: outcome of each curl" "refused refused refused blocked blocked " "$outcomes"
check_eq "down: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r.get("from"), r.get("to"), r.get("reason"), r.get("errno"))
      for r in recs if r["tool"] == "down"] ==
     [("breaker", "CLOSED", "OPEN", None, None),
      ("deny", None, None, "circuit_open", "EPERM"),
      ("deny", None, None, "circuit_open", "EPERM")])')"
check_eq "down: refusals name the target and say when the breaker may let a probe through" \
    "True" "$(audit_eval "$T/audit.jsonl" \
    'all(r["target"] == "127.0.0.1:'"$DOWN"'" and r["op"] == "connect"
         and 0 < r["retry_after_ms"] <= 60000
         for r in recs if r["tool"] == "down" and r["verdict"] == "deny")')"

# Python sees EPERM from an open breaker.
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" -c '
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("connected")
except OSError as e:
    print(type(e).__name__, e.errno)
' "$DOWN")
check_eq "down: python's connect" "PermissionError 1" "$out"

# ---- part 2 ----
outcomes=""
for i in 1 2 3; do
    outcomes+="$(attempt "$FLAKY") "
done
check_eq "flaky: opened after 2 failures" "refused refused blocked " "$outcomes"

sleep 1.2
check_eq "flaky: after the timeout, the probe is admitted and fails" refused "$(attempt "$FLAKY")"
check_eq "flaky: open again" blocked "$(attempt "$FLAKY")"

mkdir -p "$T/www"
echo hello >"$T/www/index.html"
spawn_bg "$T/http.log" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$FLAKY"
wait_accepting "$BG_PID" 127.0.0.1 "$FLAKY" || {
    cat "$T/http.log" >&2
    fail "no server on port $FLAKY"
}
check_eq "flaky: still open while the timeout runs, server or not" blocked "$(attempt "$FLAKY")"
sleep 1.2
check_eq "flaky: the probe succeeds" ok "$(attempt "$FLAKY")"
check_eq "flaky: closed" "ok ok" "$(attempt "$FLAKY") $(attempt "$FLAKY")"

check_eq "flaky: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r.get("from"), r.get("to"), r.get("reason"))
      for r in recs if r["tool"] == "flaky"] ==
     [("breaker", "CLOSED", "OPEN", None),
      ("deny", None, None, "circuit_open"),
      ("breaker", "OPEN", "HALF_OPEN", None),
      ("breaker", "HALF_OPEN", "OPEN", None),
      ("deny", None, None, "circuit_open"),
      ("deny", None, None, "circuit_open"),
      ("breaker", "OPEN", "HALF_OPEN", None),
      ("breaker", "HALF_OPEN", "CLOSED", None)])')"

# ---- part 3 ----
outcomes=""
for i in 1 2 3 4; do
    outcomes+="$(attempt "$HTTP_PORT") "
done
check_eq "self: outcomes (refusals look like a refused connection)" \
    "ok refused refused refused " "$outcomes"
check_eq "self: only rate refusals, no breaker record" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r.get("reason"), r.get("errno")) for r in recs if r["tool"] == "self"] ==
      [("deny", "rate_limited", "ECONNREFUSED")] * 3)')"
