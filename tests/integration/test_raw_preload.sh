#!/usr/bin/env bash
# Scenario of test_curl_rate without `enact run`: LD_PRELOAD and
# ENACT_CONFIG set by hand → same counts.
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

count_curls 10 env LD_PRELOAD="$SHIM" ENACT_CONFIG="$T/enact.ini" curl "$HTTP_URL"
check_eq "curls answered 200" 5 "$CURL_OK"
check_eq "curls refused (exit 7, code 000)" 5 "$CURL_DENIED"

audit_check "$T/audit.jsonl" 5 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT" exe=curl agent=curl
