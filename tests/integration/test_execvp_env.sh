#!/usr/bin/env bash
# env(1) starts its program with execvp: `env touch x|y|z` from a governed
# shell, tool touch burst 1 → exactly 1 file out of 3 attempts, 2 records.
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

mkdir "$T/out"
set +e
(cd "$T/out" && "$ENACT" run -c "$T/enact.ini" -- sh -c \
    'for f in x y z; do env touch $f; echo "env touch $f: $?"; done') >"$T/results" 2>"$T/stderr"
set -e
cat "$T/results" "$T/stderr"
# env exits 126 when its program cannot be run (found but not executable/permitted).
check_eq "results" "env touch x: 0
env touch y: 126
env touch z: 126" "$(cat "$T/results")"
check_eq "files created" "x" "$(cd "$T/out" && echo *)"

audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited tool=touch op=exec \
    errno=EPERM argv0=touch exe=env agent=sh
check_eq "argv of the refusals" "[['touch', 'y'], ['touch', 'z']]" \
    "$(audit_eval "$T/audit.jsonl" '[r["argv"] for r in recs]')"
