#!/usr/bin/env bash
# timeout: 150
# Limits on a 3-master Redis Cluster: every key of the fleet shares one hash
# tag, so one slot; the config names a node that does not serve it (the
# first call follows MOVED). 2 hosts x 4 processes x 4 threads: a quota of
# 600 admits exactly 600. Then the fleet's slot is migrated to another
# master while agents run (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE: ASK
# and then MOVED are followed): a quota of 400 still admits exactly 400,
# no call is refused for want of an answer, and the keys end on the new
# node.
. "$(dirname "$0")/lib.sh"

start_redis_cluster
read -r C1 C2 C3 <<<"$CLUSTER_PORTS"
PREFIX=fleet-cluster
SLOT=$(redis-cli -p "$C1" cluster keyslot "{$PREFIX}")
OWNER=$(cluster_owner "$SLOT")
[ -n "$OWNER" ] || fail "no node serves slot $SLOT"
ENTRY=$C1
[ "$ENTRY" = "$OWNER" ] && ENTRY=$C2
start_counting_listeners "$T/accepted.log" exact moving
read -r P_EXACT P_MOVING <<<"$LISTENER_PORTS"
for h in 1 2; do
    REDIS_PORT=$ENTRY FLEET_PREFIX=$PREFIX fleet_host_config "$h" \
        "backend.on_down = deny" "backend.timeout_ms = 500" \
        "[tool.exact]" "connect = 127.0.0.1:$P_EXACT" "quota.max_actions = 600" \
        "quota.window_hours = 1" \
        "[tool.moving]" "connect = 127.0.0.1:$P_MOVING" "quota.max_actions = 400" \
        "quota.window_hours = 1"
done
AGENT_PY=$(dirname "$0")/fleet/agent.py
accepted() { grep -cx "$1" "$T/accepted.log" || true; }
settle() {
    local _
    for _ in $(seq 100); do [ "$(accepted "$2")" -ge "$1" ] && break; sleep 0.05; done
}

pids=()
for h in 1 2; do
    for p in 1 2 3 4; do
        ENACT_AGENT=a "$ENACT" run -c "$T/host$h/enact.ini" -- "$PY" "$AGENT_PY" "$P_EXACT" 25 4 \
            >"$T/exact.$h.$p.out" 2>"$T/exact.$h.$p.err" &
        pids+=($!)
    done
done
for p in "${pids[@]}"; do wait "$p" || true; done
settle 600 exact
check_eq "cluster, quota 600: ok refused other" "600 200 0" "$(fleet_sum "$T"/exact.*.out)"
check_eq "cluster, quota 600: accepted" 600 "$(accepted exact)"
check_eq "the fleet's keys are on the slot's node" True \
    "$(test "$(redis-cli -p "$OWNER" cluster countkeysinslot "$SLOT")" -gt 0 && echo True)"

# Move the slot while agents run (they pause 10 ms between tries).
for TARGET in $CLUSTER_PORTS; do [ "$TARGET" != "$OWNER" ] && break; done
SRC_ID=$(cluster_id "$OWNER")
DST_ID=$(cluster_id "$TARGET")
pids=()
for h in 1 2; do
    for p in 1 2 3 4; do
        ENACT_AGENT=m "$ENACT" run -c "$T/host$h/enact.ini" -- "$PY" "$AGENT_PY" "$P_MOVING" 120 4 0.01 \
            >"$T/moving.$h.$p.out" 2>"$T/moving.$h.$p.err" &
        pids+=($!)
    done
done
sleep 0.3
redis-cli -p "$TARGET" cluster setslot "$SLOT" importing "$SRC_ID" >/dev/null
redis-cli -p "$OWNER" cluster setslot "$SLOT" migrating "$DST_ID" >/dev/null
for _ in $(seq 20); do
    keys=$(redis-cli -p "$OWNER" cluster getkeysinslot "$SLOT" 100)
    [ -n "$keys" ] || break
    # shellcheck disable=SC2086
    redis-cli -p "$OWNER" migrate 127.0.0.1 "$TARGET" "" 0 5000 keys $keys >/dev/null
done
sleep 0.1 # a moment of ASK, before the slot is the new node's
for port in $CLUSTER_PORTS; do
    redis-cli -p "$port" cluster setslot "$SLOT" node "$DST_ID" >/dev/null
done
running=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
[ "$running" -gt 0 ] || fail "the agents ended before the slot had moved: the test saw no migration"
note "$running of 8 agents still deciding when the slot had moved"
for p in "${pids[@]}"; do wait "$p" || true; done
settle 400 moving
check_eq "quota 400 across the migration: ok refused other" "400 3440 0" "$(fleet_sum "$T"/moving.*.out)"
check_eq "quota 400 across the migration: accepted" 400 "$(accepted moving)"
cat "$T"/host*/audit.jsonl >"$T/all.jsonl"
check_eq "refusals: all for the quota, none for want of an answer" \
    "{'quota_exceeded': 3640}" \
    "$(audit_eval "$T/all.jsonl" 'dict(__import__("collections").Counter(r.get("reason") for r in recs))')"
check_eq "the slot's node is the new one" "$TARGET" "$(cluster_owner "$SLOT")"
[ "$(redis-cli -p "$TARGET" cluster countkeysinslot "$SLOT")" -gt 0 ] ||
    fail "no key of the fleet on the node the slot moved to"
check_eq "no key left on the old node" 0 "$(redis-cli -p "$OWNER" cluster countkeysinslot "$SLOT")"
