#!/usr/bin/env bash
# dry_run = true on exec tools: the program does not run, the caller sees
# success (exit status 0), and a dry_run record says what would have run and
# its impact.
#   - tool rm: `sh -c 'rm -f victim; echo status $?'` -> victim survives,
#     "status 0", record would_execute "rm -f victim", impact HIGH;
#   - python: subprocess.run(["rm", path]).returncode == 0, file still there;
#     os.posix_spawnp of rm gives a pid whose exit status is 0; os.execvp of
#     rm ends the process with status 0 (nothing after it runs);
#   - [enact] dry_run = true with only exec tools: every tool is simulated,
#     impact from the built-in table or [impact] (MEDIUM, LOW, UNKNOWN);
#     programs of no tool run for real.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.rm]
exec = rm
dry_run = true
[tool.touch]
exec = touch
INI

cd "$T"
touch victim
out=$("$ENACT" run -c "$T/enact.ini" -- sh -c 'rm -f victim; echo status $?')
check_eq "the shell saw rm succeed" "status 0" "$out"
[ -f victim ] || fail "rm ran: victim is gone"
check_eq "dry_run record" "True" "$(audit_eval "$T/audit.jsonl" \
    '(len(recs) == 1 and recs[0]["verdict"] == "dry_run" and recs[0]["tool"] == "rm"
      and recs[0]["op"] == "exec" and recs[0]["would_execute"] == "rm -f victim"
      and recs[0]["impact"] == "HIGH" and isinstance(recs[0].get("impact_reason"), str)
      and recs[0]["impact_reason"] != "" and recs[0]["agent"] == "sh"
      and "reason" not in recs[0] and "errno" not in recs[0])')"

# A tool without dry_run in the same file runs for real.
"$ENACT" run -c "$T/enact.ini" -- sh -c 'touch real-file' || fail "touch failed"
[ -f real-file ] || fail "touch (no dry_run) did not run"

cat >"$T/agent.py" <<'PY'
import os, subprocess, sys
path = sys.argv[1]
rc = subprocess.run(["rm", path]).returncode
print("subprocess.run", rc, os.path.exists(path))
pid = os.posix_spawnp("rm", ["rm", "-f", path], os.environ)
_, status = os.waitpid(pid, 0)
print("posix_spawnp", pid > 0, os.waitstatus_to_exitcode(status), os.path.exists(path))
pid = os.posix_spawn("/bin/rm", ["rm", path], os.environ)
_, status = os.waitpid(pid, 0)
print("posix_spawn", pid > 0, os.waitstatus_to_exitcode(status), os.path.exists(path))
sys.stdout.flush()
os.execvp("rm", ["rm", path])
print("after execvp: not reached")
PY
set +e
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$T/victim")
rc=$?
set -e
check_eq "python: outcome of each call" "subprocess.run 0 True
posix_spawnp True 0 True
posix_spawn True 0 True" "$out"
check_eq "python: exit status after a dry-run execvp" 0 "$rc"
[ -f victim ] || fail "victim is gone"
check_eq "python: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["op"], r["would_execute"], r["impact"]) for r in recs[1:]] ==
      [("dry_run", "exec", "rm '"$T"'/victim", "HIGH"),
       ("dry_run", "spawn", "rm -f '"$T"'/victim", "HIGH"),
       ("dry_run", "spawn", "rm '"$T"'/victim", "HIGH"),
       ("dry_run", "exec", "rm '"$T"'/victim", "HIGH")])')"

# [enact] dry_run = true: every tool (only exec tools here) is simulated.
cat >"$T/global.ini" <<INI
[enact]
state = g.state
audit_log = global.jsonl
dry_run = true
[tool.rm]
exec = rm
[tool.touch]
exec = touch
[tool.stat]
exec = stat
[tool.id]
exec = id
[impact]
exec.low = stat
INI
out=$("$ENACT" run -c "$T/global.ini" -- sh -c \
    'rm victim; echo rm $?; touch new-file; echo touch $?; stat victim; echo stat $?;
     id -u; echo id $?; mkdir new-dir; echo mkdir $?')
check_eq "global dry run: each program's status (nothing printed by them)" \
    "rm 0
touch 0
stat 0
id 0
mkdir 0" "$out"
[ -f victim ] || fail "global dry run: rm ran"
[ ! -e new-file ] || fail "global dry run: touch ran"
[ -d new-dir ] || fail "global dry run: mkdir (no tool) did not run"
check_eq "global dry run: records" "True" "$(audit_eval "$T/global.jsonl" \
    '([(r["verdict"], r["tool"], r["would_execute"], r["impact"]) for r in recs] ==
      [("dry_run", "rm", "rm victim", "HIGH"),
       ("dry_run", "touch", "touch new-file", "MEDIUM"),
       ("dry_run", "stat", "stat victim", "LOW"),
       ("dry_run", "id", "id -u", "UNKNOWN")])')"
