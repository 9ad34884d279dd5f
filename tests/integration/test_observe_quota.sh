#!/usr/bin/env bash
# mode = observe in the INI (no --observe): tool api with burst 2 lets all 5
# curls through and records exactly 3 would_deny (rate_limited); an exec
# tool with quota.max_actions = 1 runs all 3 of its programs and records 2
# would_deny (quota_exceeded). Nothing is refused, every program succeeds.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
mode = observe
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 2
[tool.touch]
exec = touch
quota.max_actions = 1
INI

count_curls 5 "$ENACT" run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "curls answered 200" 5 "$CURL_OK"
audit_check "$T/audit.jsonl" 3 verdict=would_deny reason=rate_limited tool=api op=connect \
    "target=127.0.0.1:$HTTP_PORT" agent=curl

mkdir "$T/out"
for i in 1 2 3; do
    (cd "$T/out" && "$ENACT" run -c "$T/enact.ini" -a bot -- sh -c "touch f$i") ||
        fail "touch f$i failed in observe mode"
done
check_eq "files created" "f1 f2 f3" "$(cd "$T/out" && echo *)"
audit_check "$T/audit.jsonl" 5 verdict=would_deny
check_eq "verdicts and reasons" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["reason"], r["tool"], r["agent"]) for r in recs] ==
      [("would_deny", "rate_limited", "api", "curl")] * 3 +
      [("would_deny", "quota_exceeded", "touch", "bot")] * 2)')"
check_eq "argv of the quota records" "[['touch', 'f2'], ['touch', 'f3']]" \
    "$(audit_eval "$T/audit.jsonl" '[r["argv"] for r in recs[3:]]')"
