#!/usr/bin/env bash
# bash runs touch 4 times (fork + execve of the path it found), tool touch
# burst 2 → exactly 2 files, 2 records.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

mkdir "$T/out"
set +e
(cd "$T/out" && "$ENACT" run -c "$T/enact.ini" -- bash -c \
    'for i in 1 2 3 4; do touch f$i; echo "touch f$i: $?"; done') >"$T/results" 2>"$T/stderr"
rc=$?
set -e
cat "$T/results" "$T/stderr"
check_eq "exit status of bash" 0 "$rc"
check_eq "results" "touch f1: 0
touch f2: 0
touch f3: 126
touch f4: 126" "$(cat "$T/results")"
check_eq "files created" "f1 f2" "$(cd "$T/out" && echo *)"
check_eq "bash said why, twice" 2 "$(grep -c 'Operation not permitted' "$T/stderr" || true)"

audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited tool=touch op=exec \
    errno=EPERM argv0=touch agent=bash
check_eq "argv of the refusals" "[['touch', 'f3'], ['touch', 'f4']]" \
    "$(audit_eval "$T/audit.jsonl" '[r["argv"] for r in recs]')"
