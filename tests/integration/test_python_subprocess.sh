#!/usr/bin/env bash
# A python3 process runs subprocess.run(["touch", f]) 6 times with tool touch
# at burst 3: exactly 3 files, 3 PermissionError, 3 exec records.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 3
INI

cat >"$T/agent.py" <<'PY'
import subprocess, sys
ok = refused = 0
for i in range(1, 7):
    try:
        subprocess.run(["touch", f"out/f{i}"], check=True)
        ok += 1
    except PermissionError:
        refused += 1
print(ok, refused)
PY
mkdir "$T/out"
out=$(cd "$T" && "$ENACT" run -c "$T/enact.ini" -- "$PY" agent.py)
check_eq "python's count (ok refused)" "3 3" "$out"
check_eq "files created" 3 "$(find "$T/out" -type f | wc -l)"
check_eq "which files" "f1 f2 f3" "$(cd "$T/out" && echo *)"

audit_check "$T/audit.jsonl" 3 verdict=deny reason=rate_limited tool=touch op=exec \
    errno=EPERM argv0=touch
check_eq "argv of the refusals" "['out/f4', 'out/f5', 'out/f6']" \
    "$(audit_eval "$T/audit.jsonl" '[r["argv"][1] for r in recs]')"
check_eq "targets are the touch program" True \
    "$(audit_eval "$T/audit.jsonl" 'all(r["target"].endswith("/touch") for r in recs)')"
