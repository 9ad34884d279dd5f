#!/usr/bin/env bash
# enact status shows what the limits hold (table, --json that parses,
# --prometheus that follows the text exposition format); enact reset gives
# them back; the state file and folder are 0600 / 0700, and a state file
# owned by another user is refused (on_error then decides).
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
closed=$(free_port 127.0.0.1)
cat >"$T/enact.ini" <<INI
[enact]
state = st/t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 4
quota.max_actions = 10
[tool.down]
connect = 127.0.0.1:$closed
breaker.failure_threshold = 2
[agent]
quota.max_actions = 100
INI

# No state before anything ran.
set +e
"$ENACT" status -c "$T/enact.ini" >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "status without state: exit 0"
grep -q "no state yet" "$T/out" || fail "status without state: $(cat "$T/out")"

count_curls 3 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "alice's curls" 3 "$CURL_OK"
count_curls 2 "$ENACT" run -a bob -c "$T/enact.ini" -- curl "http://127.0.0.1:$closed/"
check_eq "refused by the closed port" 2 "$CURL_DENIED"

check_eq "state folder mode" 700 "$(stat -c %a "$T/st")"
check_eq "state file mode" 600 "$(stat -c %a "$T/st/t.state")"

"$ENACT" status -c "$T/enact.ini" >"$T/table"
grep -Eq '^down +OPEN ' "$T/table" || fail "table: no open breaker for down: $(cat "$T/table")"
grep -Eq '^alice +api +1/4 +3/10 ' "$T/table" || fail "table: alice/api row: $(cat "$T/table")"
grep -Eq '^alice +\(all tools\) +- +3/100 ' "$T/table" || fail "table: alice's own quota"

"$ENACT" status -c "$T/enact.ini" --json >"$T/status.json"
"$PY" - "$T/status.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
tools = {t["name"]: t for t in s["tools"]}
assert tools["down"]["breaker"]["state"] == "OPEN", tools
assert tools["down"]["breaker"]["seconds_in_state"] >= 0
agents = {a["name"]: a for a in s["agents"]}
assert set(agents) == {"alice", "bob"}, agents
api = {t["name"]: t for t in agents["alice"]["tools"]}["api"]
assert (api["tokens"], api["burst"]) == (1, 4), api
assert (api["quota"]["used"], api["quota"]["remaining"], api["quota"]["limit"]) == (3, 7, 10)
assert api["quota"]["frees_next_in_ms"] > 0
assert agents["alice"]["quota"]["used"] == 3
# bob's refused connects were admitted by enact (the port refused them).
assert agents["bob"]["quota"]["used"] == 2, agents["bob"]
PY

"$ENACT" status -c "$T/enact.ini" --prometheus >"$T/metrics"
"$PY" - "$T/metrics" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
sample = re.compile(r'^(enact_[a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*)?\})? '
                    r'(-?[0-9.e+-]+)$')
helped, typed, values = set(), {}, {}
for line in lines:
    if line.startswith("# HELP "):
        helped.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert kind in ("gauge", "counter"), line
        typed[name] = kind
    else:
        m = sample.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        assert name in helped and name in typed, f"{name} without HELP/TYPE"
        values[(name, m.group(2) or "")] = float(m.group(7))
assert values[("enact_breaker_state", '{tool="down"}')] == 1
assert values[("enact_tokens_remaining", '{agent="alice",tool="api"}')] == 1
assert values[("enact_tool_quota_remaining", '{agent="alice",tool="api"}')] == 7
assert values[("enact_agent_quota_used", '{agent="alice"}')] == 3
PY

# reset --tool api gives alice's bucket and tool quota back, not her own quota.
"$ENACT" reset -c "$T/enact.ini" --tool api >/dev/null
"$ENACT" status -c "$T/enact.ini" --json >"$T/after.json"
"$PY" - "$T/after.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
agents = {a["name"]: a for a in s["agents"]}
api = {t["name"]: t for t in agents["alice"]["tools"]}["api"]
assert api["tokens"] == 4 and api["quota"]["used"] == 0, api
assert agents["alice"]["quota"]["used"] == 3, agents["alice"]
tools = {t["name"]: t for t in s["tools"]}
assert tools["down"]["breaker"]["state"] == "OPEN", tools
PY
count_curls 4 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "after reset --tool api, a full bucket" 4 "$CURL_OK"

# reset without arguments closes the breaker too.
"$ENACT" reset -c "$T/enact.ini" >/dev/null
"$ENACT" status -c "$T/enact.ini" | grep -Eq '^down +CLOSED ' || fail "breaker not closed by reset"
set +e
"$ENACT" reset -c "$T/enact.ini" --tool nosuch >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "reset --tool nosuch: exit 0"

# Another user's state file: refused, and on_error = deny refuses the call.
chown 65534 "$T/st/t.state"
: >"$T/audit.jsonl"
count_curls 1 "$ENACT" run -a alice -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "a call with another user's state file" 1 "$CURL_DENIED"
grep -q 'belongs to another user' "$T/audit.jsonl" || fail "no record of the refused state file"
grep -q '"reason":"state_error"' "$T/audit.jsonl" || fail "no state_error refusal"
check_eq "the other user's file is left alone" 65534 "$(stat -c %u "$T/st/t.state")"
