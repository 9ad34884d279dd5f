#!/usr/bin/env bash
# redis-cli (hiredis) against a local redis-server, tool redis burst 3:
# 5 pings from a governed shell → exactly 3 PONG and 2 refused runs.
# hiredis connects non-blocking and calls connect() a second time on the
# same socket to learn the outcome: that is one connection, one token.
# redis-cli itself tries a second connection when the first fails
# (ungoverned, `strace -e connect redis-cli -p CLOSED_PORT ping` shows 2
# attempts), so each refused run makes 2 refused connects: 4 records.
. "$(dirname "$0")/lib.sh"

start_redis
PORT=$REDIS_PORT
check_eq "ungoverned ping" PONG "$(redis-cli -p "$PORT" ping)"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.redis]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 1
rate.burst_size = 3
INI

set +e
"$ENACT" run -c "$T/enact.ini" -- sh -c \
    'for i in 1 2 3 4 5; do redis-cli -p "$1" ping; done' sh "$PORT" >"$T/out" 2>"$T/err"
set -e
cat "$T/out" "$T/err"
check_eq "PONG answers" 3 "$(grep -cx PONG "$T/out" || true)"
check_eq "refusals reported by redis-cli" 2 \
    "$(cat "$T/out" "$T/err" | grep -c 'Could not connect.*Operation not permitted' || true)"
audit_check "$T/audit.jsonl" 4 verdict=deny reason=rate_limited tool=redis op=connect \
    errno=EPERM "target=127.0.0.1:$PORT" exe=redis-cli agent=sh
check_eq "refused runs (pids) with 2 records each" "[2, 2]" \
    "$(audit_eval "$T/audit.jsonl" 'sorted(__import__("collections").Counter(r["pid"] for r in recs).values())')"
