#!/usr/bin/env bash
# timeout: 150
# A Redis backend that stops answering, dies and comes back, while two
# "hosts" run agents that connect every 20 ms:
#   on_down = local   the bucket of burst 5 holds on Redis (5 in all), then
#                     from each host's own state file while Redis is
#                     SIGSTOPped and then killed (5 more per host), then on
#                     the restarted, empty Redis (5 more in all); no call
#                     takes longer than timeout_ms and a margin; each process
#                     writes one backend_down and one backend_up record,
#                     and enact status says which backend answers, and since
#                     when
#   on_down = deny    calls are refused (reason backend_down) while it is down
#   on_down = allow   calls go through, unlimited and unrecorded (the
#                     backend_down record says so once)
. "$(dirname "$0")/lib.sh"

start_redis
REDIS_PID=$BG_PID
start_counting_listeners "$T/accepted.log" api
API_PORT=$LISTENER_PORTS
PACED=$(dirname "$0")/fleet/paced.py
MARGIN=0.25 # seconds beyond timeout_ms a call may take on a loaded machine

restart_redis() {
    spawn_bg "$T/redis-again.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --dir "$T"
    REDIS_PID=$BG_PID
    wait_accepting "$REDIS_PID" 127.0.0.1 "$REDIS_PORT" || fail "redis-server did not restart"
}
# wait_records N VERDICT FILE...: until FILEs hold N records of VERDICT (10 s).
wait_records() {
    local n=$1 verdict=$2 _
    shift 2
    for _ in $(seq 200); do
        [ "$(cat "$@" 2>/dev/null | grep -c "\"verdict\":\"$verdict\"")" -ge "$n" ] && return 0
        sleep 0.05
    done
    fail "fewer than $n $verdict records in $*: $(cat "$@" 2>/dev/null)"
}
# count WHAT FROM TO FILE...: tries ending WHAT with wall time in [FROM, TO).
count() {
    local what=$1 from=$2 to=$3
    shift 3
    cat "$@" | awk -v w="$what" -v a="$from" -v b="$to" '$3 == w && $1 >= a && $1 < b {n++} END {print n + 0}'
}
now() { date +%s.%N; }

# ---- on_down = local --------------------------------------------------------
for h in 1 2; do
    fleet_host_config "$h" "agent = paced" "backend.timeout_ms = 50" "backend.on_down = local" \
        "[tool.api]" "connect = 127.0.0.1:$API_PORT" "rate.max_calls_per_minute = 0.01" \
        "rate.burst_size = 5"
done
pids=()
for h in 1 2; do
    "$ENACT" run -c "$T/host$h/enact.ini" -- "$PY" "$PACED" "$API_PORT" 0.02 "$T/stop" \
        >"$T/local.$h.out" 2>"$T/local.$h.err" &
    pids+=($!)
done
sleep 0.6
t_stop=$(now)
kill -STOP "$REDIS_PID"
wait_records 2 backend_down "$T"/host[12]/audit.jsonl
sleep 0.6
kill -KILL "$REDIS_PID"
kill -CONT "$REDIS_PID" 2>/dev/null || true
status_down=$("$ENACT" status -c "$T/host1/enact.ini")
sleep 0.4
t_restart=$(now)
restart_redis
wait_records 2 backend_up "$T"/host[12]/audit.jsonl
t_up=$(now)
sleep 0.6
touch "$T/stop"
for p in "${pids[@]}"; do wait "$p" || true; done

# (refused, or reset when the dying server still took the connection)
echo "$status_down" | grep -Eq "NOT answering \((connect|read): [A-Za-z ]+\); governed programs decide by backend.on_down = local" ||
    fail "enact status while Redis is down: $status_down"
echo "$status_down" | grep -q "last change seen by a governed process: backend_down" ||
    fail "enact status does not show the change: $status_down"
status_up=$("$ENACT" status -c "$T/host1/enact.ini")
echo "$status_up" | grep -q "answering (Redis [0-9.]*, round trip" || fail "enact status: $status_up"
echo "$status_up" | grep -q "last change seen by a governed process: backend_up" ||
    fail "enact status after the restart: $status_up"
check_eq "admitted on Redis before the outage (both hosts)" 5 \
    "$(count ok 0 "$t_stop" "$T"/local.[12].out)"
for h in 1 2; do
    check_eq "host $h: admitted from its own state while Redis was down" 5 \
        "$(count ok "$t_stop" "$t_restart" "$T/local.$h.out")"
    check_eq "host $h: other failures" 0 "$(count other 0 9e9 "$T/local.$h.out")"
    check_eq "host $h: backend records (down, up) of one process" "['backend_down', 'backend_up'] 1" \
        "$(audit_eval "$T/host$h/audit.jsonl" \
            '"%s %d" % ([r["verdict"] for r in recs if r["op"] == "backend"], len({r["pid"] for r in recs if r["op"] == "backend"}))')"
done
check_eq "admitted on the restarted Redis (both hosts)" 5 "$(count ok "$t_restart" 9e9 "$T"/local.[12].out)"
slowest=$(cat "$T"/local.[12].out | awk '$2 > m {m = $2} END {printf "%.3f", m}')
awk -v s="$slowest" -v m="$MARGIN" 'BEGIN {exit !(s <= 0.050 + m)}' ||
    fail "a call took ${slowest}s with backend.timeout_ms = 50"
note "on_down = local: slowest call ${slowest}s"
keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern "{$TEST_NAME}:t:*" | wc -l)
check_eq "decisions are Redis's again (its bucket)" 1 "$keys"
check_eq "the down record says what decides meanwhile" True \
    "$(audit_eval "$T/host1/audit.jsonl" \
        'any("on_down = local" in r.get("detail", "") for r in recs if r["verdict"] == "backend_down")')"

# ---- on_down = deny, then allow ----------------------------------------------
for mode in deny allow; do
    rm -f "$T/stop"
    FLEET_PREFIX=$TEST_NAME-$mode fleet_host_config "3$mode" "agent = paced" \
        "backend.timeout_ms = 50" "backend.on_down = $mode" \
        "[tool.api]" "connect = 127.0.0.1:$API_PORT" "rate.max_calls_per_minute = 0.01" \
        "rate.burst_size = 5"
    "$ENACT" run -c "$T/host3$mode/enact.ini" -- "$PY" "$PACED" "$API_PORT" 0.02 "$T/stop" \
        >"$T/$mode.out" 2>"$T/$mode.err" &
    pid=$!
    sleep 0.4
    t_stop=$(now)
    kill -STOP "$REDIS_PID"
    wait_records 1 backend_down "$T/host3$mode/audit.jsonl"
    sleep 0.6
    t_cont=$(now)
    kill -CONT "$REDIS_PID"
    wait_records 1 backend_up "$T/host3$mode/audit.jsonl"
    touch "$T/stop"
    wait "$pid" || true
    # A try's time is when it ended: one under way at the stop may still
    # end with Redis's answer. Past timeout_ms and a margin, none is.
    t_down=$(awk -v t="$t_stop" 'BEGIN {printf "%.6f", t + 0.1}')
    down_ok=$(count ok "$t_down" "$t_cont" "$T/$mode.out")
    down_no=$(count refused "$t_down" "$t_cont" "$T/$mode.out")
    records=$(audit_eval "$T/host3$mode/audit.jsonl" \
        'sum(1 for r in recs if r.get("reason") == "backend_down")')
    if [ "$mode" = deny ]; then
        check_eq "deny: admitted while down" 0 "$down_ok"
        # Every refusal while down is recorded (and those until the next
        # try after the back-off, once it answers again).
        [ "$down_no" -ge 10 ] && [ "$records" -ge "$down_no" ] ||
            fail "deny: $records backend_down refusals recorded for $down_no refused calls"
    else
        [ "$down_ok" -ge 10 ] || fail "allow: only $down_ok calls admitted while down (want all)"
        check_eq "allow: refused while down" 0 "$down_no"
        check_eq "allow: no record per call" 0 "$records"
    fi
    slowest=$(awk '$2 > m {m = $2} END {printf "%.3f", m}' "$T/$mode.out")
    awk -v s="$slowest" -v m="$MARGIN" 'BEGIN {exit !(s <= 0.050 + m)}' ||
        fail "$mode: a call took ${slowest}s with backend.timeout_ms = 50"
    note "on_down = $mode: $down_ok admitted, $down_no refused while down; slowest ${slowest}s"
done
