#!/usr/bin/env bash
# Buckets are per agent and live in the state file: alice and bob each get
# their own burst of 2 (4 of 6 tries succeed, alternating, each try a
# separate `enact run`), and a later run of alice is still refused.
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

results=""
for i in 1 2 3; do
    for agent in alice bob; do
        count_curls 1 "$ENACT" run -c "$T/enact.ini" -a "$agent" -- curl "$HTTP_URL"
        results+="$agent:$CURL_OK "
    done
done
check_eq "outcomes (1 = 200)" "alice:1 bob:1 alice:1 bob:1 alice:0 bob:0 " "$results"
[ -s "$T/t.state" ] || fail "the state file $T/t.state was not created"

# The bucket outlives the processes: alice is still empty, through raw use too.
count_curls 1 env LD_PRELOAD="$SHIM" ENACT_CONFIG="$T/enact.ini" ENACT_AGENT=alice curl "$HTTP_URL"
check_eq "alice refused in a later run" 1 "$CURL_DENIED"

# A third agent has a full bucket of its own.
count_curls 3 "$ENACT" run -c "$T/enact.ini" -a carol -- curl "$HTTP_URL"
check_eq "carol: answered 200" 2 "$CURL_OK"
check_eq "carol: refused" 1 "$CURL_DENIED"

audit_check "$T/audit.jsonl" 4 verdict=deny reason=rate_limited tool=api op=connect errno=EPERM
check_eq "agents of the refusals" "['alice', 'bob', 'alice', 'carol']" \
    "$(audit_eval "$T/audit.jsonl" '[r["agent"] for r in recs]')"
