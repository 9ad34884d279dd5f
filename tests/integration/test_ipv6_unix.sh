#!/usr/bin/env bash
# Rules for [::1]:PORT and unix:/path: a python server on ::1 and an AF_UNIX
# HTTP server, each tool burst 1 → per tool 1 curl ok, 1 refused.
. "$(dirname "$0")/lib.sh"

start_http ::1
sock=$T/s.sock
start_unix_http "$sock"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.v6]
connect = [::1]:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.local]
connect = unix:$sock
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI

# Ungoverned, both answer.
count_curls 1 curl -g "$HTTP_URL"
check_eq "ungoverned curl over IPv6" 1 "$CURL_OK"
count_curls 1 curl --unix-socket "$sock" http://localhost/
check_eq "ungoverned curl over the unix socket" 1 "$CURL_OK"

count_curls 2 "$ENACT" run -c "$T/enact.ini" -- curl -g "$HTTP_URL"
check_eq "IPv6: answered 200" 1 "$CURL_OK"
check_eq "IPv6: refused" 1 "$CURL_DENIED"
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited tool=v6 op=connect \
    errno=EPERM "target=[::1]:$HTTP_PORT"

count_curls 2 "$ENACT" run -c "$T/enact.ini" -- curl --unix-socket "$sock" http://localhost/
check_eq "unix: answered 200" 1 "$CURL_OK"
check_eq "unix: refused" 1 "$CURL_DENIED"
audit_check "$T/audit.jsonl" 2 reason=rate_limited op=connect errno=EPERM
check_eq "second record" "local unix:$sock deny" \
    "$(audit_eval "$T/audit.jsonl" '" ".join((recs[1]["tool"], recs[1]["target"], recs[1]["verdict"]))')"
