#!/usr/bin/env bash
# Raw use with a relative ENACT_CONFIG: the governed program changes folder
# before starting children. The children must still be governed by the same
# config (the shim hands the config down), not fail closed because
# "enact.ini" no longer resolves. Tool touch burst 1: in the subfolder an
# unmapped program runs, the first touch runs, the second is refused; 1 record.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI
mkdir "$T/sub"

set +e
(cd "$T" && LD_PRELOAD="$SHIM_PRELOAD" ENACT_CONFIG=enact.ini sh -c '
    cd sub || exit 9
    env true; echo "env true: $?"
    env touch a; echo "env touch a: $?"
    env touch b; echo "env touch b: $?"') >"$T/results" 2>"$T/stderr"
set -e
cat "$T/results" "$T/stderr"
check_eq "results" "env true: 0
env touch a: 0
env touch b: 126" "$(cat "$T/results")"
check_eq "files created" "a" "$(cd "$T/sub" && echo *)"
if grep -q 'cannot load the configuration' "$T/stderr"; then
    fail "a child could not load the configuration after a cd"
fi
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited tool=touch op=exec \
    errno=EPERM argv0=touch exe=env
check_eq "argv of the refusal" "['touch', 'b']" "$(audit_eval "$T/audit.jsonl" 'recs[0]["argv"]')"
