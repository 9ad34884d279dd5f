#!/usr/bin/env bash
# `enact run --observe`, burst 2: all 5 curls succeed, and the 3 that would
# have been refused are recorded as would_deny.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

count_curls 5 "$ENACT" run --observe -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "curls answered 200" 5 "$CURL_OK"
audit_check "$T/audit.jsonl" 3 verdict=would_deny reason=rate_limited tool=api op=connect \
    "target=127.0.0.1:$HTTP_PORT"

# Same bucket, enforcing now: still empty, so the next curl is refused.
count_curls 1 "$ENACT" run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "enforcing after observing: refused" 1 "$CURL_DENIED"
check_eq "verdicts" "['would_deny', 'would_deny', 'would_deny', 'deny']" \
    "$(audit_eval "$T/audit.jsonl" '[r["verdict"] for r in recs]')"
