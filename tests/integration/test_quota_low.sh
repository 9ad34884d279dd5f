#!/usr/bin/env bash
# quota.warn_remaining with real programs (governed curl to a loopback
# HTTP server) and enact watch.
#   A. Tool api: quota.max_actions = 10 in 1 h, quota.warn_remaining = 3;
#      [agent]: 16 in 1 h, warn at 50%. 15 curls of agent bot: 10 pass, 5
#      are refused (quota_exceeded); exactly one quota_low record for the
#      tool quota (reason tool_quota, tool api, agent bot, remaining 3,
#      limit 10) and one for the agent's own (reason agent_quota, no tool
#      field, remaining 8, limit 16). Agent other (8 curls) gets its own
#      two; agent calm (2 curls) none. enact status --prometheus:
#      enact_quota_low 1 for bot and other (tool api, and the agent's own),
#      0 for calm; enact_decisions_total counts the 20 allowed and the 5
#      quota_exceeded decisions.
#   B. A window of 0.001 h (3.6 s): spent to the warn level and beyond in
#      one window, one quota_low; the window passes (4 s), spent to the
#      warn level again: a second one (one per window); enact_quota_low
#      is 1 while spent, 0 once the window has passed.
#   C. enact watch --exec 'cat >> alerts; echo >> alerts' --min-interval 0,
#      started before any call (ready when it says it waits for the log),
#      gets each quota_low record of A exactly once, as the JSON the log
#      holds; the log is then rotated (moved aside: the governed processes
#      open it per record, so the next ones go to a new file at its path)
#      and agent third's quota_low records are delivered too, exactly once.
. "$(dirname "$0")/lib.sh"

start_http
cat >"$T/enact.ini" <<EOF
[enact]
state = $T/state
audit_log = $T/audit.jsonl

[tool.api]
connect = 127.0.0.1:$HTTP_PORT
quota.max_actions = 10
quota.window_hours = 1
quota.warn_remaining = 3

[agent]
quota.max_actions = 16
quota.window_hours = 1
quota.warn_remaining = 50%
EOF
cat >"$T/fast.ini" <<EOF
[enact]
state = $T/fast.state
audit_log = $T/fast.jsonl

[tool.api]
connect = 127.0.0.1:$HTTP_PORT
quota.max_actions = 10
quota.window_hours = 0.001
quota.warn_remaining = 3
EOF

# curls CONFIG AGENT N OK DENIED: N governed curls of AGENT; OK of them
# must pass and DENIED be refused.
curls() {
    count_curls "$3" "$ENACT" run -c "$1" -a "$2" -- curl "$HTTP_URL"
    check_eq "$2: curls that passed, refused ($1)" "$4 $5" "$CURL_OK $CURL_DENIED"
}
# lows FILE EXPR: EXPR over the quota_low records of FILE (bound to q).
lows() {
    audit_eval "$1" "(lambda q: $2)([r for r in recs if r['verdict'] == 'quota_low'])"
}
# delivered EXPR: EXPR over the records the watch's command got (recs),
# each parsed from its stdin (blank lines, its own echo, skipped).
delivered() {
    "$PY" - "$T/alerts" "$1" <<'EOF'
import json, os, sys
recs = []
if os.path.exists(sys.argv[1]):
    recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
print(eval(sys.argv[2], {"recs": recs}))
EOF
}
wait_delivered() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(delivered 'len(recs)')" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "enact watch delivered $(delivered 'len(recs)') alerts, not $1, within 10 s: $(cat "$T/alerts" 2>/dev/null)"
}

# ---- C. the watch, before any call -----------------------------------------
"$ENACT" watch -c "$T/enact.ini" --exec "cat >> $T/alerts; echo >> $T/alerts" --min-interval 0 \
    >"$T/watch.out" 2>"$T/watch.err" </dev/null &
WATCH_PID=$!
at_exit kill -9 "$WATCH_PID"
for ((i = 0; i < 100; i++)); do
    grep -q 'waiting for .* to be written' "$T/watch.err" && break
    sleep 0.1
done
grep -q 'waiting for .* to be written' "$T/watch.err" ||
    fail "enact watch does not wait for its log: $(cat "$T/watch.err")"

# ---- A. one quota_low per quota, per agent ----------------------------------
curls "$T/enact.ini" bot 15 10 5
check_eq "A: bot's quota_low records (reason, tool, agent, remaining, limit)" \
    "[('tool_quota', 'api', 'bot', 3, 10), ('agent_quota', None, 'bot', 8, 16)]" \
    "$(lows "$T/audit.jsonl" '[(r["reason"], r.get("tool"), r["agent"], r["remaining"], r["limit"]) for r in q]')"
check_eq "A: the agent quota's record has no tool field" False \
    "$(lows "$T/audit.jsonl" '"tool" in q[1]')"
check_eq "A: quota_exceeded refusals of bot" 5 \
    "$(audit_eval "$T/audit.jsonl" 'sum(r["verdict"] == "deny" and r["reason"] == "quota_exceeded" and r["agent"] == "bot" for r in recs)')"
curls "$T/enact.ini" other 8 8 0
curls "$T/enact.ini" calm 2 2 0
check_eq "A: quota_low records of bot, other (and none of calm)" \
    "[('tool_quota', 'bot', 3), ('agent_quota', 'bot', 8), ('tool_quota', 'other', 3), ('agent_quota', 'other', 8)]" \
    "$(lows "$T/audit.jsonl" '[(r["reason"], r["agent"], r["remaining"]) for r in q]')"

prom=$("$ENACT" status -c "$T/enact.ini" --prometheus)
for want in 'enact_quota_low{agent="bot",tool="api"} 1' 'enact_quota_low{agent="bot"} 1' \
    'enact_quota_low{agent="other",tool="api"} 1' 'enact_quota_low{agent="other"} 1' \
    'enact_quota_low{agent="calm",tool="api"} 0' 'enact_quota_low{agent="calm"} 0' \
    'enact_decisions_total{tool="api",verdict="allow",reason=""} 20' \
    'enact_decisions_total{tool="api",verdict="deny",reason="quota_exceeded"} 5'; do
    grep -qxF "$want" <<<"$prom" ||
        fail "status --prometheus: no line '$want' in: $(grep -E 'quota_low|decisions_total' <<<"$prom" | grep -v '^#')"
done
check_eq "A: enact_decisions_total series" 2 "$(grep -c '^enact_decisions_total{' <<<"$prom")"

# ---- C. each delivered once; then the log rotated ---------------------------
wait_delivered 4
sleep 0.5
check_eq "C: what the watch's command got: the log's quota_low records, once each" \
    "$(grep '"verdict":"quota_low"' "$T/audit.jsonl")" \
    "$(grep -v '^$' "$T/alerts")"
check_eq "C: parsed" "[('bot', 'tool_quota'), ('bot', 'agent_quota'), ('other', 'tool_quota'), ('other', 'agent_quota')]" \
    "$(delivered '[(r["agent"], r["reason"]) for r in recs]')"
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
curls "$T/enact.ini" third 8 8 0
[ -f "$T/audit.jsonl" ] || fail "C: no new audit log at its path after the rotation"
check_eq "C: quota_low records in the new log" "[('tool_quota', 'third', 3), ('agent_quota', 'third', 8)]" \
    "$(lows "$T/audit.jsonl" '[(r["reason"], r["agent"], r["remaining"]) for r in q]')"
wait_delivered 6
sleep 0.5
check_eq "C: after the rotation, each delivered once" \
    "$(cat "$T/audit.jsonl.1" "$T/audit.jsonl" | grep '"verdict":"quota_low"')" \
    "$(grep -v '^$' "$T/alerts")"
check_eq "C: blank lines (the command's echo), one per run" 6 "$(grep -c '^$' "$T/alerts")"
kill -TERM "$WATCH_PID"
for ((i = 0; i < 50; i++)); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WATCH_PID" 2>/dev/null && fail "enact watch still runs 5 s after SIGTERM"
rc=0
wait "$WATCH_PID" || rc=$?
check_eq "enact watch: exit status after SIGTERM" 0 "$rc"
[ ! -s "$T/watch.out" ] || fail "enact watch wrote to stdout with --exec: $(cat "$T/watch.out")"

# ---- B. once per window -----------------------------------------------------
start=$(date +%s.%N)
curls "$T/fast.ini" bot 11 10 1
spent=$("$PY" -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$start")
"$PY" -c 'import sys; sys.exit(float(sys.argv[1]) >= 3.0)' "$spent" ||
    fail "B: 11 curls took ${spent} s: the 3.6 s window may have moved under them"
check_eq "B: quota_low records in the first window" "[('tool_quota', 'bot', 3, 10)]" \
    "$(lows "$T/fast.jsonl" '[(r["reason"], r["agent"], r["remaining"], r["limit"]) for r in q]')"
grep -qxF 'enact_quota_low{agent="bot",tool="api"} 1' <<<"$("$ENACT" status -c "$T/fast.ini" --prometheus)" ||
    fail "B: enact_quota_low is not 1 while the quota is spent"
sleep 4
grep -qxF 'enact_quota_low{agent="bot",tool="api"} 0' <<<"$("$ENACT" status -c "$T/fast.ini" --prometheus)" ||
    fail "B: enact_quota_low is not 0 once the window has passed: $(grep quota_low <<<"$("$ENACT" status -c "$T/fast.ini" --prometheus)")"
curls "$T/fast.ini" bot 7 7 0
check_eq "B: quota_low records after the window passed" "[('tool_quota', 'bot', 3, 10), ('tool_quota', 'bot', 3, 10)]" \
    "$(lows "$T/fast.jsonl" '[(r["reason"], r["agent"], r["remaining"], r["limit"]) for r in q]')"
check_eq "B: the second record's detail" \
    "3 of 10 actions left in the rolling window of 0.001 h (quota.warn_remaining = 3)" \
    "$(lows "$T/fast.jsonl" 'q[1]["detail"]')"
note "B: 11 curls in ${spent} s"
echo "ok: quota_low once per quota, agent and window; enact watch delivers each once, across a rotation; status --prometheus"
