#!/usr/bin/env bash
# dry_run.exit_code = 3 on a dry-run exec tool (rm): a simulated exec ends
# the exec'ing process with status 3 instead of 0; system() of a simulated
# simple command still returns 0.
#   - python: subprocess.run(["rm", "-rf", d]).returncode == 3 and d
#     survives; os.system("rm -rf d") == 0, d survives; dry_run records
#     op exec then op system, impact HIGH (and touch's, exit 0);
#   - sh: `rm -rf d; echo $?` prints 3;
#   - os.execvp of rm ends the process with status 3 (nothing after runs);
#   - `enact run -- rm -rf d` exits 3;
#   - a tool without exit_code keeps 0 (tool touch, dry run).
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.rm]
exec = rm
dry_run = true
dry_run.exit_code = 3
[tool.touch]
exec = touch
dry_run = true
INI

cd "$T"
mkdir d
echo keep >d/file
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" -c '
import os, subprocess
print("subprocess.run", subprocess.run(["rm", "-rf", "d"]).returncode, os.path.exists("d/file"))
print("os.system", os.system("rm -rf d"), os.path.exists("d/file"))
print("touch", subprocess.run(["touch", "new"]).returncode, os.path.exists("new"))
')
check_eq "python: outcome of each call" "subprocess.run 3 True
os.system 0 True
touch 0 False" "$out"
check_eq "python: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["op"], r["tool"], r["would_execute"], r["impact"]) for r in recs] ==
      [("dry_run", "exec", "rm", "rm -rf d", "HIGH"),
       ("dry_run", "system", "rm", "rm -rf d", "HIGH"),
       ("dry_run", "exec", "touch", "touch new", "MEDIUM")])')"
rm -f "$T/audit.jsonl"

out=$("$ENACT" run -c "$T/enact.ini" -- sh -c 'rm -rf d; echo rm $?; touch new; echo touch $?')
check_eq "sh: statuses" "rm 3
touch 0" "$out"
[ -f d/file ] || fail "sh: rm ran"
audit_check "$T/audit.jsonl" 2 verdict=dry_run op=exec

set +e
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" -c '
import os, sys
sys.stdout.flush()
os.execvp("rm", ["rm", "-rf", "d"])
print("after execvp: not reached")
')
rc=$?
set -e
check_eq "execvp: output" "" "$out"
check_eq "execvp: the process's exit status" 3 "$rc"
[ -f d/file ] || fail "execvp: rm ran"

# enact run's own command is a simulated start too.
set +e
"$ENACT" run -c "$T/enact.ini" -- rm -rf d
rc=$?
set -e
check_eq "enact run -- rm: exit status" 3 "$rc"
[ -f d/file ] || fail "enact run -- rm: rm ran"
