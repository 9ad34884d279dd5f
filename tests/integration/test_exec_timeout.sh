#!/usr/bin/env bash
# timeout_seconds on an exec tool: a governed program of the tool that runs
# longer is sent SIGTERM (SIGKILL 2 s later if it still runs), with one
# audit record of verdict "timeout" naming the program (op, tool, target,
# argv, pid). Tool sleep, timeout_seconds = 1:
#   - `sh -c 'sleep 30; echo rc=$?'` ends after 1 s (>= 0.9 s, < 3 s) and
#     prints rc=143; one timeout record, op exec, target = sleep's path,
#     argv [sleep, 30];
#   - python: subprocess.Popen(["sleep", "30"]) then os.wait() returns that
#     pid, killed by SIGTERM, after about 1 s; a second os.wait() raises
#     ChildProcessError (the watchdog is no child of the program's parent);
#     the record's pid is the program's. os.posix_spawnp("sleep", ...) is
#     ended too (op spawn, pid of the spawned program);
#   - `sleep 0.2` is left alone: exit 0, no record, and its output pipe
#     closes when it ends (the watchdog holds none of the program's
#     descriptors): the command substitution returns in < 0.9 s;
#   - a program that ignores SIGTERM (`trap "" TERM; exec sleep 30`: the
#     ignored disposition survives the exec) is SIGKILLed after the 2 s
#     grace: status 137, in >= 2.8 s and < 5 s, one timeout record.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.sleep]
exec = sleep
timeout_seconds = 1
INI

now_ns() { date +%s%N; }
SLEEP=$(sh -c 'command -v sleep')

# ---- sh: a foreground program ended by the watchdog ----
t0=$(now_ns)
out=$("$ENACT" run -c "$T/enact.ini" -- sh -c 'sleep 30; echo rc=$?')
ms=$((($(now_ns) - t0) / 1000000))
note "sh -c 'sleep 30; ...' took $ms ms"
check_eq "sh: status of the ended sleep" "rc=143" "$out"
[ "$ms" -ge 900 ] || fail "sh: sleep ended after $ms ms, before its 1 s timeout"
[ "$ms" -lt 3000 ] || fail "sh: sleep ended after $ms ms, expected about 1 s (< 3 s)"
audit_check "$T/audit.jsonl" 1 verdict=timeout op=exec tool=sleep target="$SLEEP" agent=sh
check_eq "sh: argv of the timeout record" "['sleep', '30']" \
    "$(audit_eval "$T/audit.jsonl" 'recs[0]["argv"]')"
check_eq "sh: the record's pid is a pid, not sh's parent's" "True" \
    "$(audit_eval "$T/audit.jsonl" 'recs[0]["pid"] > 1')"
rm -f "$T/audit.jsonl"

# ---- python: os.wait() sees only the program ----
cat >"$T/agent.py" <<'PY'
import os, signal, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(["sleep", "30"])
pid, status = os.wait()
took = time.monotonic() - t0
print("wait", pid == p.pid, os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM,
      0.9 <= took < 3)
p.returncode = -signal.SIGTERM  # reaped above: keep Popen from waiting again
try:
    print("second wait found", os.wait())
except ChildProcessError:
    print("second wait ChildProcessError")
t0 = time.monotonic()
sp = os.posix_spawnp("sleep", ["sleep", "30"], os.environ)
_, status = os.waitpid(sp, 0)
took = time.monotonic() - t0
print("posix_spawnp", os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM,
      0.9 <= took < 3)
try:
    print("third wait found", os.wait())
except ChildProcessError:
    print("third wait ChildProcessError")
with open(sys.argv[1], "w") as f:
    f.write(f"{p.pid} {sp}\n")
PY
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$T/pids")
check_eq "python: outcome of each call" "wait True True True
second wait ChildProcessError
posix_spawnp True True
third wait ChildProcessError" "$out"
read -r popen_pid spawn_pid <"$T/pids"
audit_check "$T/audit.jsonl" 2 verdict=timeout tool=sleep target="$SLEEP" agent=python3
check_eq "python: records (op, pid, argv)" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["op"], r["pid"], r["argv"]) for r in recs] ==
      [("exec", '"$popen_pid"', ["sleep", "30"]), ("spawn", '"$spawn_pid"', ["sleep", "30"])])')"
rm -f "$T/audit.jsonl"

# ---- a short program is untouched; the watchdog holds no pipe open ----
t0=$(now_ns)
out=$("$ENACT" run -c "$T/enact.ini" -- sh -c 'sleep 0.2; echo rc=$?')
ms=$((($(now_ns) - t0) / 1000000))
note "sh -c 'sleep 0.2; ...' took $ms ms"
check_eq "short sleep: exit status" "rc=0" "$out"
[ "$ms" -lt 900 ] || fail "short sleep: the output pipe closed after $ms ms (watchdog holding it?)"
sleep 1.2 # past the timeout: the watchdog must have gone without a word
audit_check "$T/audit.jsonl" 0

# ---- SIGTERM ignored: SIGKILL after the grace ----
t0=$(now_ns)
set +e
"$ENACT" run -c "$T/enact.ini" -- sh -c 'trap "" TERM; exec sleep 30'
rc=$?
set -e
ms=$((($(now_ns) - t0) / 1000000))
note "sleep ignoring SIGTERM took $ms ms"
check_eq "SIGTERM ignored: status (SIGKILL)" 137 "$rc"
[ "$ms" -ge 2800 ] || fail "SIGTERM ignored: ended after $ms ms, before timeout + grace (3 s)"
[ "$ms" -lt 5000 ] || fail "SIGTERM ignored: ended after $ms ms, expected about 3 s (< 5 s)"
audit_check "$T/audit.jsonl" 1 verdict=timeout op=exec tool=sleep target="$SLEEP"
check_eq "SIGTERM ignored: argv" "['sleep', '30']" \
    "$(audit_eval "$T/audit.jsonl" 'recs[0]["argv"]')"
