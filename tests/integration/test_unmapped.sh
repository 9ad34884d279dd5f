#!/usr/bin/env bash
# Calls no rule maps are untouched: a tool for another port and another
# program, burst 1 → 10 curls all 200, touch works, no audit records.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
other_port=$((HTTP_PORT == 65535 ? HTTP_PORT - 1 : HTTP_PORT + 1))
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.other]
connect = 127.0.0.1:$other_port
connect = 10.0.0.0/8
exec = rm
exec = touch-not
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI

count_curls 10 "$ENACT" run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "curls answered 200" 10 "$CURL_OK"

mkdir "$T/out"
(cd "$T/out" && "$ENACT" run -c "$T/enact.ini" -- sh -c 'touch a && touch b && touch c') ||
    fail "governed touch failed"
check_eq "files created" "a b c" "$(cd "$T/out" && echo *)"

audit_check "$T/audit.jsonl" 0
