#!/usr/bin/env bash
# The benchmark harness keeps working: a quick run of each part,
# with small counts and no peers, prints its table. Speed is not asserted
# here: make bench measures it.
# timeout: 180
. "$(dirname "$0")/lib.sh"

out=$(cd "$ROOT" && "$PY" bench/run_micro.py --quick --no-peers --only B1,B3 --json "$T/m.json" 2>&1) ||
    fail "run_micro failed: $out"
grep -q "B1" <<<"$out" && grep -q "shim" <<<"$out" || fail "run_micro printed no table: $out"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/m.json" || fail "run_micro wrote no JSON"
out=$(cd "$ROOT" && "$PY" bench/run_gate.py --quick --json "$T/g.json" 2>&1) ||
    fail "run_gate failed: $out"
grep -q "B5" <<<"$out" && grep -q "redis" <<<"$out" || fail "run_gate printed no table: $out"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/g.json" || fail "run_gate wrote no JSON"
out=$(cd "$ROOT" && "$PY" bench/run_fleet.py --quick --json "$T/f.json" 2>&1) ||
    fail "run_fleet failed: $out"
grep -q "B7 mapped connect" <<<"$out" && grep -q "redis-benchmark" <<<"$out" ||
    fail "run_fleet printed no table: $out"
grep -q "PASS B7 at most one round trip per mapped decision" <<<"$out" ||
    fail "run_fleet counted other than one round trip per decision: $out"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/f.json" || fail "run_fleet wrote no JSON"
out=$(cd "$ROOT" && "$PY" bench/run_counts.py --quick --no-peers --json "$T/c.json" 2>&1) ||
    fail "run_counts failed: $out"
grep -q "/bin/true started" <<<"$out" && grep -q "empty-preload" <<<"$out" ||
    fail "run_counts printed no table: $out"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/c.json" || fail "run_counts wrote no JSON"
