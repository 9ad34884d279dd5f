#!/usr/bin/env bash
# The kill switch: enact kill --agent stops every mapped call of a python
# agent looping on HTTP calls and subprocesses within a second (counted
# from the agent's own log), in every one of its processes; another agent
# goes on; enact resume lets the calls through again; --signal TERM ends
# the agent's processes, which enact ps lists before and not after. The
# records say who did it. A switch for one tool stops only it, and
# kill_scope = all also stops unmapped calls.
. "$(dirname "$0")/lib.sh"

start_http
cat >"$T/enact.ini" <<EOF
[enact]
state = $T/state
audit_log = $T/audit.jsonl

[tool.api]
connect = 127.0.0.1:$HTTP_PORT

[tool.echo]
exec = /bin/echo *
EOF
LOOPER="$ROOT/tests/integration/control/looper.py"

# ok_after LOG TIME: the calls in LOG that succeeded after TIME.
ok_after() {
    awk -v t="$2" '$1 > t && $3 == "ok"' "$1" | wc -l
}
calls_after() {
    awk -v t="$2" '$1 > t' "$1" | wc -l
}
plus() {
    "$PY" -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$1" "$2"
}
wait_for_lines() {
    local f=$1 n=$2 i
    for i in $(seq 100); do
        [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] && return 0
        sleep 0.1
    done
    fail "$f did not reach $n lines"
}

# Two processes of agent bot, one of agent other.
spawn_bg "$T/bot1.out" "$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/bot1.log" 30
BOT1=$BG_PID
spawn_bg "$T/bot2.out" "$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/bot2.log" 30
spawn_bg "$T/other.out" "$ENACT" run -c "$T/enact.ini" -a other -- "$PY" "$LOOPER" "$HTTP_PORT" "$T/other.log" 30
for log in bot1 bot2 other; do
    wait_for_lines "$T/$log.log" 10
    grep -q "http ok" "$T/$log.log" && grep -q "exec ok" "$T/$log.log" ||
        fail "$log: calls did not succeed before the kill: $(head -4 "$T/$log.log")"
done

ps_out=$("$ENACT" ps -c "$T/enact.ini" --agent bot)
[ "$(grep -c ' bot ' <<<"$ps_out")" -ge 2 ] || fail "enact ps does not list both processes of bot: $ps_out"
ps_json=$("$ENACT" ps -c "$T/enact.ini" --json)
"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); a=[p["agent"] for p in d["processes"]]; assert a.count("bot")>=2 and "other" in a, a; assert all(p["program"] and p["pid"] > 1 for p in d["processes"])' "$ps_json" ||
    fail "enact ps --json: $ps_json"

"$ENACT" kill -c "$T/enact.ini" --agent bot --reason "runaway loop" >"$T/kill.out" ||
    fail "enact kill failed: $(cat "$T/kill.out")"
killed_at=$(date +%s.%N)
sleep 2.5
# A killed agent cannot lift its own switch (an enact it starts is governed).
"$ENACT" run -c "$T/enact.ini" -a bot -- "$ENACT" resume -c "$T/enact.ini" --agent bot >"$T/self.out" 2>&1 &&
    fail "a governed enact resume succeeded: $(cat "$T/self.out")"
grep -q "refused: this enact was started by a governed program" "$T/self.out" ||
    fail "a governed enact resume: $(cat "$T/self.out")"
for log in bot1 bot2; do
    check_eq "$log: calls that succeeded more than 1 s after enact kill" 0 \
        "$(ok_after "$T/$log.log" "$(plus "$killed_at" 1)")"
    tried=$(calls_after "$T/$log.log" "$(plus "$killed_at" 1)")
    [ "$tried" -gt 10 ] || fail "$log: the agent stopped calling ($tried calls after the kill): nothing was counted"
    grep -q "http err" "$T/$log.log" && grep -q "exec err" "$T/$log.log" ||
        fail "$log: not both kinds of call were refused"
done
[ "$(ok_after "$T/other.log" "$(plus "$killed_at" 1)")" -gt 10 ] || fail "agent other was stopped too"
"$PY" - "$T/audit.jsonl" <<'PY' || fail "the records of the kill"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
k = [r for r in recs if r["verdict"] == "kill"]
assert len(k) == 1 and k[0]["agent"] == "bot" and k[0]["uid"] == os.getuid() \
    and k[0]["detail"] == "runaway loop" and k[0]["op"] == "kill", k
d = [r for r in recs if r.get("reason") == "killed"]
assert d and all(r["verdict"] == "deny" and r["agent"] == "bot" and r["errno"] == "EPERM"
                 and "runaway loop" in r["detail"] for r in d), d[:3]
assert {r["tool"] for r in d} == {"api", "echo"}, {r["tool"] for r in d}
PY

"$ENACT" resume -c "$T/enact.ini" --agent bot >"$T/resume.out" || fail "enact resume failed"
grep -q "1 switch turned off" "$T/resume.out" || fail "enact resume: $(cat "$T/resume.out")"
resumed_at=$(date +%s.%N)
sleep 1.5
for log in bot1 bot2; do
    [ "$(ok_after "$T/$log.log" "$resumed_at")" -gt 5 ] || fail "$log: calls did not go through after enact resume"
done
check_eq "resume records" 1 "$(audit_eval "$T/audit.jsonl" 'sum(r["verdict"] == "resume" and r["uid"] >= 0 for r in recs)')"

# --signal TERM: bot's processes end, and enact ps lists them no more.
"$ENACT" kill -c "$T/enact.ini" --agent bot --signal TERM >"$T/kill2.out" ||
    fail "enact kill --signal failed: $(cat "$T/kill2.out")"
grep -q "SIGTERM sent to [2-9] processes" "$T/kill2.out" || fail "enact kill --signal: $(cat "$T/kill2.out")"
for i in $(seq 50); do
    kill -0 "$BOT1" 2>/dev/null || break
    sleep 0.1
done
! kill -0 "$BOT1" 2>/dev/null || fail "the agent still runs after SIGTERM"
# A program its last loop had started may take a moment to end.
for i in $(seq 20); do
    "$ENACT" ps -c "$T/enact.ini" | grep -q ' bot ' || break
    sleep 0.1
done
ps_out=$("$ENACT" ps -c "$T/enact.ini")
! grep -q ' bot ' <<<"$ps_out" || fail "enact ps still lists bot: $ps_out"
grep -q ' other ' <<<"$ps_out" || fail "enact ps lost agent other: $ps_out"
grep -q '"signal":"TERM"' "$T/audit.jsonl" || fail "the kill record does not name the signal"
"$ENACT" resume -c "$T/enact.ini" --all >/dev/null

# A switch for every agent and one tool: echo is stopped, api is not.
"$ENACT" kill -c "$T/enact.ini" --tool echo >/dev/null
"$ENACT" run -c "$T/enact.ini" -a x -- /bin/echo hi >/dev/null 2>&1 &&
    fail "a switch for every agent did not stop tool echo"
curl_code "$ENACT" run -c "$T/enact.ini" -a x -- curl "$HTTP_URL"
check_eq "tool api under a switch for tool echo" 200 "$CURL_CODE"
"$ENACT" resume -c "$T/enact.ini" --tool echo >/dev/null
"$ENACT" run -c "$T/enact.ini" -a x -- /bin/echo hi >/dev/null || fail "tool echo after resume"

# kill_scope = all: an unmapped connect and an unmapped program are refused.
OTHER=$(free_port)
printf '[enact]\nstate = %s\naudit_log = %s\nkill_scope = all\n\n[tool.api]\nconnect = 127.0.0.1:%s\n' \
    "$T/state2" "$T/audit2.jsonl" "$HTTP_PORT" >"$T/all.ini"
# The agent is running before the switch is on: under kill_scope = all its
# own start would be refused. It waits, and connects, with builtins only
# (a port nothing listens on: unrefused, that connect says "Connection
# refused").
spawn_bg "$T/y.out" "$ENACT" run -c "$T/all.ini" -a y -- bash -c \
    "while [ ! -f '$T/go' ]; do :; done; echo >/dev/tcp/127.0.0.1/$OTHER; /bin/true; echo true=\$?"
Y=$BG_PID
for i in $(seq 100); do
    "$ENACT" ps -c "$T/all.ini" --agent y | grep -q ' bash ' && break
    sleep 0.05
done
"$ENACT" kill -c "$T/all.ini" --agent y >/dev/null
touch "$T/go"
wait "$Y" || true
out=$(cat "$T/y.out")
grep -q "connect: Operation not permitted" <<<"$out" ||
    fail "kill_scope = all: the unmapped connect (bash's /dev/tcp) was not refused: $out"
grep -q "true=126" <<<"$out" || fail "kill_scope = all: the unmapped program was not refused: $out"
[ "$(audit_eval "$T/audit2.jsonl" 'sum(r.get("reason") == "killed" and "tool" not in r for r in recs)')" -ge 2 ] ||
    fail "kill_scope = all: no record of the unmapped calls refused"
# kill_scope = mapped (the first config): an unmapped program still runs.
"$ENACT" kill -c "$T/enact.ini" --agent z >/dev/null
"$ENACT" run -c "$T/enact.ini" -a z -- /bin/true || fail "kill_scope = mapped refused an unmapped program"
echo "ok: kill and resume within 1 s, ps, --signal TERM, a tool's switch, kill_scope"
