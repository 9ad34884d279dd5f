#!/usr/bin/env bash
# A dry-run rm reached through a shell: tool rm (`exec = rm`, dry_run = true),
# a governed python3 agent and a directory DIR with a file in it.
#   - subprocess.run(["sh", "-c", f"rm -rf {DIR}"]): returncode 0, DIR and
#     its file survive, exactly one record: verdict dry_run, op exec (made by
#     sh), would_execute "rm -rf DIR", impact HIGH;
#   - os.system(f"rm -rf {DIR}") (a simple command, decided at system()):
#     status 0, DIR survives, exactly one more record: op system, made by
#     python3.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.rm]
exec = rm
dry_run = true
INI

DIR=$T/precious
mkdir -p "$DIR/sub"
echo data >"$DIR/sub/file"

cat >"$T/agent.py" <<'PY'
import os, subprocess, sys
d, step = sys.argv[1], sys.argv[2]
if step == "sh":
    print(subprocess.run(["sh", "-c", f"rm -rf {d}"]).returncode)
else:
    print(os.system(f"rm -rf {d}"))
PY

# run_agent STEP: runs the agent governed; its stdout in OUT, status in RC.
run_agent() {
    set +e
    OUT=$(cd "$T" && timeout 30 "$ENACT" run -c "$T/enact.ini" -a dry -- "$PY" agent.py "$DIR" "$1")
    RC=$?
    set -e
    note "$1: exit $RC, printed '$OUT'"
}

check_survived() {
    [ -d "$DIR" ] || fail "$1: $DIR is gone: rm ran"
    check_eq "$1: DIR's file" data "$(cat "$DIR/sub/file")"
}

run_agent sh
check_eq "sh -c: agent's exit status" 0 "$RC"
check_eq "sh -c: returncode" 0 "$OUT"
check_survived "sh -c"
# (audit_check wants an argv list in every exec record; a dry_run record
# has would_execute instead, so the records are checked field by field.)
check_eq "sh -c: the record" True "$(audit_eval "$T/audit.jsonl" \
    '(len(recs) == 1 and recs[0]["verdict"] == "dry_run" and recs[0]["tool"] == "rm"
      and recs[0]["op"] == "exec" and recs[0]["exe"] == "sh" and recs[0]["agent"] == "dry"
      and recs[0]["would_execute"] == "rm -rf '"$DIR"'" and recs[0]["impact"] == "HIGH"
      and isinstance(recs[0].get("impact_reason"), str) and recs[0]["impact_reason"] != ""
      and recs[0]["target"].endswith("/rm") and recs[0]["v"] == 1
      and all(k not in recs[0] for k in ("reason", "errno", "argv")))')"

run_agent system
check_eq "os.system: agent's exit status" 0 "$RC"
check_eq "os.system: status" 0 "$OUT"
check_survived "os.system"
check_eq "os.system: the records (op, exe, verdict, would_execute, impact)" \
    "[('exec', 'sh', 'dry_run', 'rm -rf $DIR', 'HIGH'), ('system', '$(basename "$PY")', 'dry_run', 'rm -rf $DIR', 'HIGH')]" \
    "$(audit_eval "$T/audit.jsonl" \
        '[(r["op"], r["exe"], r["verdict"], r["would_execute"], r["impact"]) for r in recs]')"
check_eq "os.system: the new record's tool, agent, impact_reason, no errno" True \
    "$(audit_eval "$T/audit.jsonl" \
        '(recs[1]["tool"] == "rm" and recs[1]["agent"] == "dry" and recs[1]["impact_reason"] != ""
          and all(k not in recs[1] for k in ("reason", "errno", "argv")))')"
