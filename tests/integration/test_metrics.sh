#!/usr/bin/env bash
# enact metrics serves what enact status --prometheus prints, at GET /metrics
# on loopback: 200 with the exposition's content type, read afresh at every
# scrape (more governed calls, a replaced state file), accepted by promtool
# check metrics; HEAD without a body; 405 (Allow), 404, 400, 431 for the
# rest; a client that sends nothing holds up no other scrape and is dropped
# after 5 s; a port in use is an exit 1 naming it; SIGTERM an exit 0. Then
# the shipped alert rules pass promtool check rules and test rules, and
# broken copies of them do not.
. "$(dirname "$0")/lib.sh"

need_promtool
start_http 127.0.0.1
closed=$(free_port)
cat >"$T/enact.ini" <<INI
[enact]
state = st/t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 10
quota.max_actions = 10
[tool.down]
connect = 127.0.0.1:$closed
breaker.failure_threshold = 2
[agent]
quota.max_actions = 100
INI
count_curls 2 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "alice's curls" 2 "$CURL_OK"
count_curls 2 "$ENACT" run -a bob -c "$T/enact.ini" -- curl "http://127.0.0.1:$closed/"
check_eq "refused by the closed port" 2 "$CURL_DENIED"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT/metrics
spawn_bg "$T/metrics.log" "$ENACT" metrics --listen "127.0.0.1:$PORT" -c "$T/enact.ini"
MPID=$BG_PID
wait_accepting "$MPID" 127.0.0.1 "$PORT" || fail "enact metrics did not start: $(cat "$T/metrics.log")"
check_eq "start line" "enact metrics: serving $URL for $T/enact.ini" "$(cat "$T/metrics.log")"

# scrape NAME [CURL ARGS...]: $T/NAME.h (headers, CR removed) and $T/NAME (body).
scrape() {
    local name=$1
    shift
    curl -sS --max-time 5 -D "$T/$name.h" -o "$T/$name" "$@" "$URL" || fail "curl $* $URL failed"
    sed -i 's/\r$//' "$T/$name.h"
}
# header FILE NAME: the value of header NAME in FILE.
header() {
    sed -n "s/^$2: //Ip" "$1"
}
# shape FILE: the exposition without its sample values (they change with time).
shape() {
    sed 's/^\([^#].*\) [^ ]*$/\1/' "$1"
}
# value FILE SAMPLE: the value of the sample line "SAMPLE VALUE".
value() {
    awk -v s="$2" '$1 == s {print $2}' "$1"
}

scrape m1
check_eq "status line" "HTTP/1.1 200 OK" "$(head -1 "$T/m1.h")"
check_eq "content type" "text/plain; version=0.0.4; charset=utf-8" "$(header "$T/m1.h" Content-Type)"
check_eq "content length" "$(wc -c <"$T/m1")" "$(header "$T/m1.h" Content-Length)"
check_eq "connection" close "$(header "$T/m1.h" Connection)"
"$ENACT" status -c "$T/enact.ini" --prometheus >"$T/status.prom"
check_eq "the exposition of status --prometheus" "$(shape "$T/status.prom")" "$(shape "$T/m1")"
check_eq "breaker of down" 1 "$(value "$T/m1" 'enact_breaker_state{tool="down"}')"
check_eq "alice's api quota" 8 "$(value "$T/m1" 'enact_tool_quota_remaining{agent="alice",tool="api"}')"
# This host's decisions and outcomes, as the governed curls made them: two
# admitted on api; on down two connects that failed (the second opened the
# breaker), so two admitted, two failures.
check_eq "api's allowed decisions" 2 "$(value "$T/m1" 'enact_decisions_total{tool="api",verdict="allow",reason=""}')"
check_eq "down's allowed decisions" 2 "$(value "$T/m1" 'enact_decisions_total{tool="down",verdict="allow",reason=""}')"
check_eq "down's failures" 2 "$(value "$T/m1" 'enact_outcomes_total{tool="down",outcome="failure"}')"
check_eq "down's successes" 0 "$(value "$T/m1" 'enact_outcomes_total{tool="down",outcome="success"}')"
check_eq "governed processes left" "" "$(grep '^enact_governed_processes{' "$T/m1" || true)"
"$ENACT" kill -c "$T/enact.ini" --agent alice >/dev/null
count_curls 1 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "alice killed" 1 "$CURL_DENIED"
scrape mk
check_eq "the kill switch" 1 "$(value "$T/mk" 'enact_killed{agent="alice",tool="*"}')"
check_eq "api's killed decisions" 1 "$(value "$T/mk" 'enact_decisions_total{tool="api",verdict="deny",reason="killed"}')"
"$ENACT" resume -c "$T/enact.ini" --agent alice >/dev/null
scrape mr
check_eq "no kill switch after resume" "" "$(grep '^enact_killed{' "$T/mr" || true)"
"$PROMTOOL" check metrics <"$T/m1" >"$T/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/promtool.out")"
cp "$T/st/t.state" "$T/saved.state"

# raw REQUEST: sends REQUEST (printf escapes) on its own connection and
# prints the whole answer, until the server closes.
raw() {
    "$PY" - "$PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode("utf-8", "replace"))
EOF
}

raw 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/head"
check_eq "HEAD status" "HTTP/1.1 200 OK" "$(head -1 "$T/head" | tr -d '\r')"
grep -q '^Content-Length: [1-9]' "$T/head" || fail "HEAD without a Content-Length: $(cat "$T/head")"
check_eq "HEAD body" "" "$(sed '1,/^\r$/d' "$T/head")"

scrape post -X POST -d x=1
check_eq "POST" "HTTP/1.1 405 Method Not Allowed" "$(head -1 "$T/post.h")"
check_eq "POST Allow" "GET, HEAD" "$(header "$T/post.h" Allow)"
URL=http://127.0.0.1:$PORT/other scrape other
check_eq "/other" "HTTP/1.1 404 Not Found" "$(head -1 "$T/other.h")"
check_eq "malformed" "HTTP/1.1 400 Bad Request" "$(raw 'no request\r\n\r\n' | head -1 | tr -d '\r')"
big=$(printf 'X-Pad: %09000d\\r\\n' 0)
check_eq "9 kB of headers" "HTTP/1.1 431 Request Header Fields Too Large" \
    "$(raw "GET /metrics HTTP/1.1\\r\\n$big\\r\\n" | head -1 | tr -d '\r')"

# Two more calls: the next scrape reads them.
count_curls 2 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
scrape m2
check_eq "alice's api quota, later" 6 \
    "$(value "$T/m2" 'enact_tool_quota_remaining{agent="alice",tool="api"}')"
check_eq "alice's own quota used, later" 4 "$(value "$T/m2" 'enact_agent_quota_used{agent="alice"}')"
# A state file replaced (another inode) is what the next scrape reads.
cp "$T/saved.state" "$T/st/new.state"
mv "$T/st/new.state" "$T/st/t.state"
scrape m3
check_eq "alice's api quota, replaced state" 8 \
    "$(value "$T/m3" 'enact_tool_quota_remaining{agent="alice",tool="api"}')"

# Clients that send nothing, or half a request, hold up no scrape, and are
# dropped after 5 s (the seconds until the server closed them in idle.out).
cat >"$T/idle.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(sys.argv[2].encode())
t0 = time.monotonic()
print("connected", flush=True)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print(round(time.monotonic() - t0, 1), flush=True)
EOF
spawn_bg "$T/idle.out" "$PY" "$T/idle.py" "$PORT" ""
IDLE=$BG_PID
spawn_bg "$T/half.out" "$PY" "$T/idle.py" "$PORT" "GET /metrics HTTP/1.1"$'\r\n'
HALF=$BG_PID
for _ in $(seq 50); do
    grep -q connected "$T/idle.out" && grep -q connected "$T/half.out" && break
    sleep 0.1
done
nc 127.0.0.1 "$PORT" </dev/null >/dev/null 2>&1 &
NC=$!
_BG_PIDS+=("$NC")
sleep 0.2
start=$(date +%s%N)
scrape busy
check_eq "a scrape while clients idle" "HTTP/1.1 200 OK" "$(head -1 "$T/busy.h")"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 2000 ] || fail "the scrape beside idle clients took $ms ms"
wait "$IDLE" || true
wait "$HALF" || true
for f in idle half; do
    secs=$(tail -1 "$T/$f.out")
    "$PY" -c "import sys; sys.exit(not 4.0 <= float(sys.argv[1]) <= 7.5)" "$secs" ||
        fail "the $f client was dropped after $secs s, not 5"
done

# The port in use: exit 1, naming the address and why.
set +e
timeout 10 "$ENACT" metrics --listen "127.0.0.1:$PORT" -c "$T/enact.ini" >"$T/busy.out" 2>&1
rc=$?
set -e
check_eq "a port in use: exit" 1 "$rc"
grep -qF "enact metrics: cannot listen on 127.0.0.1:$PORT: Address already in use" "$T/busy.out" ||
    fail "a port in use: $(cat "$T/busy.out")"
# An address that is not loopback is warned about (this one is no address
# of this host: nothing gets served on it).
set +e
timeout 10 "$ENACT" metrics --listen 192.0.2.1:9464 -c "$T/enact.ini" >"$T/far.out" 2>&1
rc=$?
set -e
check_eq "192.0.2.1: exit" 1 "$rc"
check_eq "192.0.2.1: warnings" 1 "$(grep -c 'warning: 192.0.2.1:9464 is not a loopback address' "$T/far.out")"
set +e
"$ENACT" metrics --listen localhost:9464 -c "$T/enact.ini" >/dev/null 2>&1
rc=$?
set -e
check_eq "--listen localhost:9464 (not numeric)" 2 "$rc"

kill -TERM "$MPID"
set +e
wait "$MPID"
rc=$?
set -e
check_eq "exit on SIGTERM" 0 "$rc"
kill "$NC" 2>/dev/null || true

# IPv6 loopback, when this host has it.
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    P6=$(free_port ::1)
    spawn_bg "$T/metrics6.log" "$ENACT" metrics --listen "[::1]:$P6" -c "$T/enact.ini"
    M6=$BG_PID
    wait_accepting "$M6" ::1 "$P6" || fail "enact metrics on [::1]: $(cat "$T/metrics6.log")"
    check_eq "[::1] start line" "enact metrics: serving http://[::1]:$P6/metrics for $T/enact.ini" \
        "$(cat "$T/metrics6.log")"
    URL="http://[::1]:$P6/metrics" scrape m6 -g
    check_eq "[::1] scrape" "HTTP/1.1 200 OK" "$(head -1 "$T/m6.h")"
    kill -INT "$M6"
    set +e
    wait "$M6"
    rc=$?
    set -e
    check_eq "exit on SIGINT" 0 "$rc"
else
    note "no IPv6 loopback here: [::1] not tried"
fi

# The alert rules: valid, their tests pass, and broken copies fail both.
"$PROMTOOL" check rules "$ROOT/config/prometheus/enact-alerts.yml" >"$T/rules.out" 2>&1 ||
    fail "promtool check rules: $(cat "$T/rules.out")"
"$PROMTOOL" test rules "$ROOT/tests/prometheus/enact-alerts.test.yml" >"$T/rules-test.out" 2>&1 ||
    fail "promtool test rules: $(cat "$T/rules-test.out")"
mkdir -p "$T/copy/config/prometheus" "$T/copy/tests/prometheus"
cp "$ROOT/tests/prometheus/enact-alerts.test.yml" "$T/copy/tests/prometheus/"
sed 's/) > 0\.2$/) > > 0.2/' "$ROOT/config/prometheus/enact-alerts.yml" \
    >"$T/copy/config/prometheus/enact-alerts.yml"
cmp -s "$ROOT/config/prometheus/enact-alerts.yml" "$T/copy/config/prometheus/enact-alerts.yml" &&
    fail "the broken copy of the rules is no different"
if "$PROMTOOL" check rules "$T/copy/config/prometheus/enact-alerts.yml" >"$T/broken.out" 2>&1; then
    fail "promtool check rules passes a rule file with a syntax error"
fi
# Valid, but denials alert from 50 %: the 30 % case of the tests no longer fires.
sed 's/) > 0\.2$/) > 0.5/' "$ROOT/config/prometheus/enact-alerts.yml" \
    >"$T/copy/config/prometheus/enact-alerts.yml"
"$PROMTOOL" check rules "$T/copy/config/prometheus/enact-alerts.yml" >/dev/null 2>&1 ||
    fail "the 50 % copy of the rules should be valid"
if "$PROMTOOL" test rules "$T/copy/tests/prometheus/enact-alerts.test.yml" >"$T/wrong.out" 2>&1; then
    fail "promtool test rules passes rules whose denials threshold is 50 %"
fi
grep -q 'alertname: EnactDenialsHigh' "$T/wrong.out" || fail "the failed rule test: $(cat "$T/wrong.out")"
