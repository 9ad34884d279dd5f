#!/usr/bin/env bash
# 10 separate `enact run -- curl` against a local HTTP server, tool api with
# burst 5 at 1/min: exactly 5 get 200, 5 cannot connect (EPERM), and the
# audit log holds exactly the 5 refusals.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 5
INI

# Ungoverned, the server answers.
count_curls 1 curl "$HTTP_URL"
check_eq "ungoverned curl succeeds" 1 "$CURL_OK"

count_curls 10 "$ENACT" run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "curls answered 200" 5 "$CURL_OK"
check_eq "curls refused (exit 7, code 000)" 5 "$CURL_DENIED"

audit_check "$T/audit.jsonl" 5 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT" agent=curl exe=curl
