#!/usr/bin/env bash
# The 10 curls are children of one governed shell: they spend from the same
# bucket (agent "sh", handed down), burst 5 → exactly 5 ok, 5 refused, 5
# records.
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

set +e
"$ENACT" run -c "$T/enact.ini" -- sh -c '
    for i in 1 2 3 4 5 6 7 8 9 10; do
        code=$(curl -s --noproxy "*" --max-time 20 -o /dev/null -w "%{http_code}" "$1")
        echo "$? $code"
    done' sh "$HTTP_URL" >"$T/results" 2>"$T/stderr"
rc=$?
set -e
cat "$T/results"
check_eq "exit status of the shell" 0 "$rc"
check_eq "lines of results" 10 "$(wc -l <"$T/results")"
check_eq "curls answered 200" 5 "$(grep -cx '0 200' "$T/results" || true)"
check_eq "curls refused (exit 7, code 000)" 5 "$(grep -cx '7 000' "$T/results" || true)"

audit_check "$T/audit.jsonl" 5 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT" agent=sh exe=curl
check_eq "one pid per refused curl" 5 "$(audit_eval "$T/audit.jsonl" 'len({r["pid"] for r in recs})')"
