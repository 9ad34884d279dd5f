#!/usr/bin/env bash
# python3's os.posix_spawn (path) and os.posix_spawnp (PATH search), tool
# touch burst 2: the first two spawn, the next two raise PermissionError;
# the records have op "spawn".
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

touch_path=$(command -v touch)
cat >"$T/agent.py" <<'PY'
import os, sys
touch = sys.argv[1]
calls = [("posix_spawn", os.posix_spawn, touch), ("posix_spawnp", os.posix_spawnp, "touch")] * 2
for i, (name, fn, prog) in enumerate(calls, 1):
    try:
        pid = fn(prog, ["touch", f"out/f{i}"], os.environ)
        _, status = os.waitpid(pid, 0)
        print(name, "ok", os.waitstatus_to_exitcode(status))
    except PermissionError as e:
        print(name, "PermissionError", e.errno == 1)
PY
mkdir "$T/out"
out=$(cd "$T" && "$ENACT" run -c "$T/enact.ini" -- "$PY" agent.py "$touch_path")
check_eq "outcome of each spawn" "posix_spawn ok 0
posix_spawnp ok 0
posix_spawn PermissionError True
posix_spawnp PermissionError True" "$out"
check_eq "files created" "f1 f2" "$(cd "$T/out" && echo *)"

audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited tool=touch op=spawn \
    errno=EPERM argv0=touch
check_eq "argv of the refusals" "[['touch', 'out/f3'], ['touch', 'out/f4']]" \
    "$(audit_eval "$T/audit.jsonl" '[r["argv"] for r in recs]')"
check_eq "posix_spawn's target is the path given" "$touch_path" \
    "$(audit_eval "$T/audit.jsonl" 'recs[0]["target"]')"
