#!/usr/bin/env bash
# The kill switch across a fleet on Redis. Two "hosts" (fleet_host_config
# 1 and 2: each its own state file and audit log, one redis-server, one key
# prefix). Python agents loop on HTTP calls and subprocesses
# (control/looper.py) under host 2's config: agent bot and agent other.
#   1. enact kill --agent bot from host 1's config (another state file: the
#      switch reaches host 2 only through Redis, {PREFIX}:kills, which holds
#      it): within 1 s (counted from the agent's own log) no call of bot on
#      host 2 succeeds, of either kind, while other goes on; host 2 records
#      the refusals, reason killed, their detail naming the switch "for the
#      fleet" and its reason; host 1 records the kill. enact status on host
#      1 (--json and the table) shows the switch in its own state file and
#      in the fleet's; on host 2 only in the fleet's, as enact_killed too.
#   2. enact resume --agent bot from host 1: {PREFIX}:kills is empty and
#      bot's calls on host 2 go through again within ~1 s (1.2). A switch for one
#      tool (echo) stops only bot's subprocesses on host 2, not its HTTP
#      calls.
#   3. Redis stopped: enact kill from host 1 says on stderr that the
#      backend did not take the switch, and the switch still stops bot's
#      calls on host 1 within 1 s (while bot on host 2 goes on: it never
#      heard of it); enact resume from host 1 turns it off there.
. "$(dirname "$0")/lib.sh"

start_redis
REDIS_PID=$BG_PID
start_http
for h in 1 2; do
    fleet_host_config "$h" \
        "[tool.api]" "connect = 127.0.0.1:$HTTP_PORT" \
        "[tool.echo]" "exec = /bin/echo *"
done
H1=$T/host1/enact.ini
H2=$T/host2/enact.ini
KEY="{${FLEET_PREFIX:-$TEST_NAME}}:kills"
LOOPER="$ROOT/tests/integration/control/looper.py"
REASON="runaway loop on host 2"

ok_after() {
    awk -v t="$2" '$1 > t && $3 == "ok"' "$1" | wc -l
}
calls_after() {
    awk -v t="$2" '$1 > t' "$1" | wc -l
}
# first_ok_after LOG TIME KIND: the time of the first call of KIND that
# succeeded after TIME ("none" when none did).
first_ok_after() {
    awk -v t="$2" -v k="$3" '$1 > t && $2 == k && $3 == "ok" {print $1; f = 1; exit}
        END {if (!f) print "none"}' "$1"
}
plus() {
    "$PY" -c 'import sys; print(f"{float(sys.argv[1]) + float(sys.argv[2]):.3f}")' "$1" "$2"
}
wait_for_lines() {
    local f=$1 n=$2 _
    for _ in $(seq 100); do
        [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] && return 0
        sleep 0.1
    done
    fail "$f did not reach $n lines"
}
started() {
    wait_for_lines "$T/$1.log" 10
    grep -q "http ok" "$T/$1.log" && grep -q "exec ok" "$T/$1.log" ||
        fail "$1: calls did not succeed before the kill: $(head -4 "$T/$1.log")"
}
# kills: {PREFIX}:kills as "FIELD=VALUE" lines (tabs shown as |).
kills() {
    redis-cli -p "$REDIS_PORT" --raw hgetall "$KEY" | sed '/^$/d' | tr '\t' '|' | paste -d= - -
}
# json_status CONFIG EXPR: EXPR over enact status --json (bound to d).
json_status() {
    "$ENACT" status -c "$1" --json | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1], {"d": d}))' "$2"
}

spawn_bg "$T/bot2.out" "$ENACT" run -c "$H2" -a bot -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/bot2.log" 45
spawn_bg "$T/other2.out" "$ENACT" run -c "$H2" -a other -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/other2.log" 45
started bot2
started other2
check_eq "{PREFIX}:kills before any kill" "" "$(kills)"

# ---- 1. the switch from host 1 stops bot on host 2 --------------------------
"$ENACT" kill -c "$H1" --agent bot --reason "$REASON" >"$T/kill.out" 2>"$T/kill.err" ||
    fail "enact kill failed: $(cat "$T/kill.out" "$T/kill.err")"
killed_at=$(date +%s.%N)
grep -q "refused from the next call on, in the whole fleet" "$T/kill.out" ||
    fail "enact kill does not say the switch holds in the whole fleet: $(cat "$T/kill.out")"
[ ! -s "$T/kill.err" ] || fail "enact kill wrote to stderr: $(cat "$T/kill.err")"
kills_on=$(kills)
[[ "$kills_on" =~ ^bot\|=$(id -u)\|[0-9]{13}\|$REASON$ ]] ||
    fail "{PREFIX}:kills while the switch is on: '$kills_on'"
sleep 2.5
late=$(plus "$killed_at" 1)
check_eq "bot on host 2: calls that succeeded more than 1 s after enact kill on host 1" 0 \
    "$(ok_after "$T/bot2.log" "$late")"
tried=$(calls_after "$T/bot2.log" "$late")
[ "$tried" -gt 10 ] || fail "bot on host 2 stopped calling ($tried calls after the kill): nothing was counted"
for kind in http exec; do
    awk -v t="$killed_at" -v k="$kind" '$1 > t && $2 == k && $3 == "err"' "$T/bot2.log" | grep -q . ||
        fail "bot on host 2: no $kind call was refused after the kill"
done
[ "$(ok_after "$T/other2.log" "$late")" -gt 10 ] || fail "agent other on host 2 was stopped too"
note "bot on host 2: last success $(awk -v t="$killed_at" '$1 > t && $3 == "ok" {l = $1 - t} END {printf "%.3f", l}' "$T/bot2.log") s after enact kill on host 1"
"$PY" - "$T/host2/audit.jsonl" "$T/host1/audit.jsonl" "$REASON" "$(id -u)" <<'PY' ||
import json, sys
host2 = [json.loads(l) for l in open(sys.argv[1])]
host1 = [json.loads(l) for l in open(sys.argv[2])]
reason, uid = sys.argv[3], int(sys.argv[4])
d = [r for r in host2 if r.get("reason") == "killed"]
assert d, "host 2 recorded no refusal"
want = f"stopped by enact kill for the fleet (uid {uid}): {reason}"
bad = [r for r in d if not (r["verdict"] == "deny" and r["agent"] == "bot" and r["errno"] == "EPERM"
                            and r["detail"] == want)]
assert not bad, bad[:3]
assert {r["tool"] for r in d} == {"api", "echo"}, {r["tool"] for r in d}
assert not [r for r in host2 if r["verdict"] in ("kill", "resume")], "host 2 recorded the kill"
k = [r for r in host1 if r["verdict"] == "kill"]
assert len(k) == 1 and k[0]["agent"] == "bot" and k[0]["detail"] == reason and k[0]["uid"] == uid, k
PY
    fail "the records of the fleet's kill"

# enact status: host 1 holds the switch in its own state file and sees the
# fleet's; host 2 only the fleet's.
check_eq "status --json on host 1: its own switches" "[('bot', '*', '$REASON')]" \
    "$(json_status "$H1" '[(k["agent"], k["tool"], k["reason"]) for k in d["killed"]]')"
check_eq "status --json on host 1: the fleet's switches" "[('bot', '*', '$REASON', $(id -u))]" \
    "$(json_status "$H1" '[(k["agent"], k["tool"], k["reason"], k["uid"]) for k in d["fleet_killed"]]')"
check_eq "status --json on host 2: its own switches" "[]" "$(json_status "$H2" 'd["killed"]')"
check_eq "status --json on host 2: the fleet's switches" "[('bot', '*', '$REASON')]" \
    "$(json_status "$H2" '[(k["agent"], k["tool"], k["reason"]) for k in d["fleet_killed"]]')"
table=$("$ENACT" status -c "$H1")
grep -q "^KILLED: agent 'bot', every tool, by uid $(id -u) .* ago: $REASON (enact resume turns it off)$" \
    <<<"$table" || fail "status on host 1 does not show its switch: $table"
grep -q "^KILLED in the fleet: agent 'bot', every tool, by uid $(id -u) .* ago: $REASON$" <<<"$table" ||
    fail "status on host 1 does not show the fleet's switch: $table"
prom=$("$ENACT" status -c "$H2" --prometheus)
grep -qx 'enact_killed{agent="bot",tool="\*"} 1' <<<"$prom" ||
    fail "status --prometheus on host 2: no enact_killed for bot: $(grep killed <<<"$prom")"

# ---- 2. resume from host 1 --------------------------------------------------
"$ENACT" resume -c "$H1" --agent bot >"$T/resume.out" 2>"$T/resume.err" ||
    fail "enact resume failed: $(cat "$T/resume.out" "$T/resume.err")"
resumed_at=$(date +%s.%N)
grep -q "1 switch turned off" "$T/resume.out" || fail "enact resume: $(cat "$T/resume.out")"
[ ! -s "$T/resume.err" ] || fail "enact resume wrote to stderr: $(cat "$T/resume.err")"
check_eq "{PREFIX}:kills after enact resume" "" "$(kills)"
check_eq "Redis: the key {PREFIX}:kills after enact resume" 0 \
    "$(redis-cli -p "$REDIS_PORT" exists "$KEY")"
sleep 1.5
[ "$(ok_after "$T/bot2.log" "$(plus "$resumed_at" 1)")" -gt 5 ] ||
    fail "bot on host 2: calls did not go through after enact resume"
for kind in http exec; do
    first=$(first_ok_after "$T/bot2.log" "$resumed_at" "$kind")
    [ "$first" != none ] && [ "$("$PY" -c 'import sys; print(float(sys.argv[1]) - float(sys.argv[2]) <= 1.2)' \
        "$first" "$resumed_at")" = True ] ||
        fail "bot on host 2: the first $kind call that succeeded after enact resume ($first) came more than 1.2 s after it ($resumed_at)"
done
check_eq "status --json on host 1 after resume" "[] []" \
    "$(json_status "$H1" 'str(d["killed"]) + " " + str(d["fleet_killed"])')"

# A fleet's switch for one tool: bot's subprocesses (tool echo) are
# stopped on host 2, its HTTP calls are not.
"$ENACT" kill -c "$H1" --agent bot --tool echo --reason "no more echo" >"$T/kill-echo.out" ||
    fail "enact kill --tool echo failed"
check_eq "{PREFIX}:kills, a switch for tool echo" "bot|echo" "$(kills | cut -d= -f1)"
tool_killed_at=$(date +%s.%N)
sleep 1.5
late=$(plus "$tool_killed_at" 1)
check_eq "bot on host 2: subprocesses that ran more than 1 s after kill --tool echo" 0 \
    "$(awk -v t="$late" '$1 > t && $2 == "exec" && $3 == "ok"' "$T/bot2.log" | wc -l)"
[ "$(awk -v t="$late" '$1 > t && $2 == "http" && $3 == "ok"' "$T/bot2.log" | wc -l)" -gt 3 ] ||
    fail "bot on host 2: a switch for tool echo stopped its HTTP calls too"
check_eq "host 2's refusals under the switch for tool echo" "{'echo'}" \
    "$(audit_eval "$T/host2/audit.jsonl" "{r['tool'] for r in recs if r.get('reason') == 'killed' and r['detail'].endswith('no more echo')}")"
"$ENACT" resume -c "$H1" --agent bot --tool echo >/dev/null || fail "enact resume --tool echo failed"
check_eq "{PREFIX}:kills after resume --tool echo" "" "$(kills)"
resumed_at=$(date +%s.%N)
sleep 1.2
[ "$(awk -v t="$resumed_at" '$1 > t && $2 == "exec" && $3 == "ok"' "$T/bot2.log" | wc -l)" -gt 3 ] ||
    fail "bot on host 2: subprocesses did not run again after resume --tool echo"

# ---- 3. Redis down: the switch holds on host 1 only -------------------------
spawn_bg "$T/bot1.out" "$ENACT" run -c "$H1" -a bot -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/bot1.log" 45
started bot1
kill "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || fail "redis-server still answers after it was killed"
rc=0
"$ENACT" kill -c "$H1" --agent bot --reason "redis is down" >"$T/kill2.out" 2>"$T/kill2.err" || rc=$?
check_eq "enact kill's status with Redis down (the switch holds on this host only)" 1 "$rc"
killed_at=$(date +%s.%N)
grep -q "^enact kill: the fleet's backend did not take the switch (.*): it holds on this host only$" \
    "$T/kill2.err" || fail "enact kill with Redis down: stderr does not say so: $(cat "$T/kill2.err")"
! grep -q "in the whole fleet" "$T/kill2.out" ||
    fail "enact kill with Redis down claims the whole fleet: $(cat "$T/kill2.out")"
sleep 2.5
late=$(plus "$killed_at" 1)
check_eq "bot on host 1, Redis down: calls that succeeded more than 1 s after enact kill" 0 \
    "$(ok_after "$T/bot1.log" "$late")"
[ "$(calls_after "$T/bot1.log" "$late")" -gt 10 ] || fail "bot on host 1 stopped calling"
# Host 2 never heard of it: its calls need no Redis (no limits) and go on.
[ "$(ok_after "$T/bot2.log" "$late")" -gt 10 ] ||
    fail "bot on host 2 was stopped by a switch that only host 1 holds"
check_eq "host 1's refusals with Redis down" "True" \
    "$(audit_eval "$T/host1/audit.jsonl" "bool([r for r in recs if r.get('reason') == 'killed']) and all(
        r['agent'] == 'bot' and r['detail'] == 'stopped by enact kill (uid $(id -u)): redis is down'
        for r in recs if r.get('reason') == 'killed')")"
"$ENACT" resume -c "$H1" --agent bot >"$T/resume2.out" 2>"$T/resume2.err" || true
grep -q "1 switch turned off" "$T/resume2.out" ||
    fail "enact resume with Redis down: $(cat "$T/resume2.out" "$T/resume2.err")"
grep -q "^enact resume: the fleet's backend did not take the switch" "$T/resume2.err" ||
    fail "enact resume with Redis down: stderr does not say so: $(cat "$T/resume2.err")"
resumed_at=$(date +%s.%N)
sleep 1
[ "$(ok_after "$T/bot1.log" "$resumed_at")" -gt 3 ] ||
    fail "bot on host 1: calls did not go through after enact resume with Redis down"
echo "ok: a kill from host 1 stops bot on host 2 within 1 s through Redis, resume frees it; with Redis down the switch holds on host 1"
