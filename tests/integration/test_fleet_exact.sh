#!/usr/bin/env bash
# timeout: 180
# Limits hold exactly across a fleet on one Redis: 4 "hosts" (each its own
# config, state file and audit log, one key prefix) x 4 processes x 4
# threads of python connecting as fast as they can, and one process of 32
# threads (more than its links to Redis). A tool quota of 1000
# admits exactly 1000 connections, a bucket of burst 500 exactly 500, an
# agent quota of 700 over a tool with no limit of its own exactly 700; and
# with one host's processes SIGKILLed mid-run the quota still counts
# exactly 1000 (a killed process holds nothing: each decision is one
# script run on the server). Every decision is one EVALSHA (and each
# process reads the fleet's kill switches every 500 ms). enact status
# (--json, --prometheus), report and reset work on the fleet's Redis.
. "$(dirname "$0")/lib.sh"

start_redis
start_counting_listeners "$T/accepted.log" quota burst shared kill crowd
read -r P_QUOTA P_BURST P_SHARED P_KILL P_CROWD <<<"$LISTENER_PORTS"
for h in 1 2 3 4; do
    fleet_host_config "$h" "backend.on_down = deny" \
        "[tool.quota]" "connect = 127.0.0.1:$P_QUOTA" "quota.max_actions = 1000" \
        "quota.window_hours = 1" \
        "[tool.burst]" "connect = 127.0.0.1:$P_BURST" "rate.max_calls_per_minute = 0.01" \
        "rate.burst_size = 500" \
        "[tool.shared]" "connect = 127.0.0.1:$P_SHARED" \
        "[tool.kill]" "connect = 127.0.0.1:$P_KILL" "quota.max_actions = 1000" \
        "quota.window_hours = 1" \
        "[tool.crowd]" "connect = 127.0.0.1:$P_CROWD" "quota.max_actions = 500" \
        "quota.window_hours = 1" \
        "[agent.c]" "quota.max_actions = 700" "quota.window_hours = 1"
done
AGENT_PY=$(dirname "$0")/fleet/agent.py
redis-cli -p "$REDIS_PORT" config resetstat >/dev/null

# run_fleet PHASE AGENT PORT ATTEMPTS: 4 hosts x 4 processes, each with 4
# threads; their counts in $T/PHASE.*.out.
run_fleet() {
    local phase=$1 agent=$2 port=$3 attempts=$4 h p pids=()
    for h in 1 2 3 4; do
        for p in 1 2 3 4; do
            ENACT_AGENT=$agent "$ENACT" run -c "$T/host$h/enact.ini" -- \
                "$PY" "$AGENT_PY" "$port" "$attempts" 4 >"$T/$phase.$h.$p.out" 2>"$T/$phase.$h.$p.err" &
            pids+=($!)
        done
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
}
accepted() { grep -cx "$1" "$T/accepted.log" || true; }
# Connections are counted as the listener accepts them: wait for the last.
settle() {
    local want=$1 name=$2 _
    for _ in $(seq 100); do [ "$(accepted "$name")" -ge "$want" ] && break; sleep 0.05; done
}

run_fleet quota a "$P_QUOTA" 40
settle 1000 quota
check_eq "quota 1000: ok refused other" "1000 1560 0" "$(fleet_sum "$T"/quota.*.out)"
check_eq "quota 1000: connections accepted" 1000 "$(accepted quota)"

run_fleet burst b "$P_BURST" 20
settle 500 burst
check_eq "burst 500: ok refused other" "500 780 0" "$(fleet_sum "$T"/burst.*.out)"
check_eq "burst 500: connections accepted" 500 "$(accepted burst)"

run_fleet shared c "$P_SHARED" 20
settle 700 shared
check_eq "agent quota 700: ok refused other" "700 580 0" "$(fleet_sum "$T"/shared.*.out)"
check_eq "agent quota 700: connections accepted" 700 "$(accepted shared)"

# One process, 32 threads: more than its links to Redis (4) decide at
# once, and wait their turn rather than being decided by on_down.
ENACT_AGENT=e "$ENACT" run -c "$T/host1/enact.ini" -- "$PY" "$AGENT_PY" "$P_CROWD" 30 32 \
    >"$T/crowd.out" 2>"$T/crowd.err"
settle 500 crowd
check_eq "32 threads, 4 links, quota 500: ok refused other" "500 460 0" "$(fleet_sum "$T/crowd.out")"
check_eq "32 threads: connections accepted" 500 "$(accepted crowd)"

decisions=$((2560 + 1280 + 1280 + 960))
calls=$(redis-cli -p "$REDIS_PORT" info commandstats |
    sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
evals=$(redis-cli -p "$REDIS_PORT" info commandstats |
    sed -n 's/^cmdstat_eval:calls=\([0-9]*\),.*/\1/p')
# Each governed process also reads the fleet's kill switches through the
# script, at its first decision and then at most every 500 ms: one HGETALL
# each (no tool here has a breaker, the script's other HGETALL).
reads=$(redis-cli -p "$REDIS_PORT" info commandstats |
    sed -n 's/^cmdstat_hgetall:calls=\([0-9]*\),.*/\1/p')
[ "${reads:-0}" -ge 49 ] && [ "${reads:-0}" -le 400 ] ||
    fail "kill switch reads: ${reads:-0}, expected one per process (49) and a few more"
check_eq "one script run per decision (EVALSHA, and EVAL after NOSCRIPT), and per read" \
    "$((decisions + reads))" "$((calls - ${evals:-0} + ${evals:-0}))"
[ "${evals:-0}" -le 64 ] || fail "EVAL ran $evals times: only a server without the script needs it"

# Every refusal is in its host's audit log, with the reason of its limit.
check_eq "refusals recorded by reason" "{'quota_exceeded': 2600, 'rate_limited': 780}" \
    "$(cat "$T"/host*/audit.jsonl >"$T/all.jsonl" && audit_eval "$T/all.jsonl" \
        'dict(sorted(__import__("collections").Counter(r["reason"] for r in recs).items()))')"

# SIGKILL one host's processes mid-run (they pause between tries, so they
# are still deciding when killed): the other hosts go on, and the quota on
# Redis ends exactly full.
pids=()
for p in 1 2 3 4; do
    ENACT_AGENT=d "$ENACT" run -c "$T/host1/enact.ini" -- "$PY" "$AGENT_PY" "$P_KILL" 400 4 0.005 \
        >"$T/kill.1.$p.out" 2>/dev/null &
    pids+=($!)
done
sleep 0.3
others=()
for h in 2 3 4; do
    for p in 1 2 3 4; do
        ENACT_AGENT=d "$ENACT" run -c "$T/host$h/enact.ini" -- "$PY" "$AGENT_PY" "$P_KILL" 40 4 \
            >"$T/kill.$h.$p.out" 2>/dev/null &
        others+=($!)
    done
done
kill -KILL "${pids[@]}" 2>/dev/null || true
for p in "${pids[@]}" "${others[@]}"; do wait "$p" 2>/dev/null || true; done
[ ! -s "$T/kill.1.1.out" ] || fail "host 1 ended before it was killed: $(cat "$T"/kill.1.*.out)"
survivors=$(fleet_sum "$T"/kill.[234].*.out)
read -r s_ok _ s_other <<<"$survivors"
check_eq "killed host: other failures" 0 "$s_other"
used=$("$ENACT" status -c "$T/host2/enact.ini" --json |
    "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print([t["quota"]["used"] for a in d["agents"] if a["name"] == "d" for t in a["tools"] if t["name"] == "kill"][0])')
check_eq "quota used on Redis after the SIGKILL" 1000 "$used"
settle 1000 kill
got=$(accepted kill)
# At most the killed host's 16 threads had a decision in flight.
[ "$got" -le 1000 ] && [ "$got" -ge 984 ] || fail "connections after the SIGKILL: $got (want 984..1000)"
[ "$s_ok" -le "$got" ] || fail "survivors admitted $s_ok, more than the $got accepted"
note "after SIGKILL: $got connections accepted, $s_ok by survivors, quota used $used"

# The CLI reads the fleet's limits from Redis: status in Prometheus form,
# report, and reset (which gives the agent's quota back on Redis).
prom=$("$ENACT" status -c "$T/host3/enact.ini" --prometheus)
grep -qx 'enact_backend_up 1' <<<"$prom" || fail "status --prometheus: no enact_backend_up 1: $prom"
grep -q '^enact_tool_quota_remaining{agent="d",tool="kill"} 0$' <<<"$prom" ||
    fail "status --prometheus does not show agent d's spent quota: $(grep quota_remaining <<<"$prom")"
"$ENACT" report -c "$T/host4/enact.ini" --html "$T/report.html" >/dev/null
grep -q 'quota_exceeded\|refused' "$T/report.html" || fail "enact report wrote no refusals"
"$ENACT" reset -c "$T/host2/enact.ini" --agent d --tool kill >/dev/null
check_eq "after enact reset on one host, another sees the quota empty" 0 \
    "$("$ENACT" status -c "$T/host3/enact.ini" --json | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print([t["quota"]["used"] for a in d["agents"] if a["name"] == "d" for t in a["tools"] if t["name"] == "kill"][0])')"
