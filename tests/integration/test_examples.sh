#!/usr/bin/env bash
# The example agents run governed with the one command their
# README gives, each from fresh state in a copy of its folder: each ends
# with exit status 0 and an audit log that shows refusals and a simulated
# rm -rf (impact HIGH); the Python and shell agents also open a breaker.
. "$(dirname "$0")/lib.sh"

run_example() { # NAME INTERPRETER AGENT-FILE
    local dir="$T/$1"
    cp -r "$ROOT/examples/$1" "$dir"
    rm -f "$dir"/*.state "$dir"/audit.jsonl
    local rc=0
    (cd "$ROOT" && timeout 60 "$ENACT" run -c "$dir/enact.ini" -- "$2" "$dir/$3") \
        >"$dir/out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail "$1: exit status $rc: $(cat "$dir/out")"
    audit_check "$dir/audit.jsonl" "$(wc -l <"$dir/audit.jsonl")"
    check_eq "$1: a refusal, a simulated rm -rf" True "$(audit_eval "$dir/audit.jsonl" \
        '(any(r["verdict"] == "deny" for r in recs) and
          any(r["verdict"] == "dry_run" and r["impact"] == "HIGH"
              and "rm -rf" in r["would_execute"] for r in recs))')"
}
run_example python-agent "$PY" agent.py
run_example shell-agent bash agent.sh
run_example node-agent node agent.js
for ex in python-agent shell-agent; do
    check_eq "$ex: the breaker opened" True "$(audit_eval "$T/$ex/audit.jsonl" \
        'any(r["verdict"] == "breaker" and r["to"] == "OPEN" for r in recs)')"
done
