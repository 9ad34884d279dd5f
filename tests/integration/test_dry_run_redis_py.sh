#!/usr/bin/env bash
# Dry run of a Redis tool with the defaults (dry_run = true, no
# dry_run.response, no action): the simulated peer recognises RESP and
# answers each command as Redis would have, so redis-py (Debian's python3)
# runs to the end, and nothing reaches the real redis-server.
# - redis-py: delete('keep') is 1 and delete('a', 'b') 2 (DEL answers the
#   number of keys named), set True, get None, incr 1, a pipeline
#   [True, None, 1], a MULTI/EXEC transaction [True, 1], flushall True;
#   a second client's connection set-up (AUTH, CLIENT SETNAME, SELECT) and
#   PING are answered too.
# - one dry_run record per data command, in order: would_execute names the
#   command and its keys ("DEL keep"), impact HIGH for DEL and FLUSHALL,
#   MEDIUM for SET and INCRBY (what redis-py's incr sends), LOW for GET.
#   Connection housekeeping (AUTH, CLIENT, SELECT, PING) and transaction
#   control (MULTI, EXEC) make no record.
# - the same with dry_run.protocol = redis, on a port where nothing listens.
# - redis-cli DEL keep prints (integer) 1.
# - the server: keep is still 1, it ran none of the commands and accepted
#   no connection from the governed runs.
# timeout: 120
. "$(dirname "$0")/lib.sh"

need_debpy redis
start_redis
[ "$REDIS_PORT" != 6379 ] || fail "redis-server got Redis's standard port; this test wants another"
check_eq "setting keep" OK "$(redis-cli -p "$REDIS_PORT" SET keep 1)"
check_eq "reading keep (bare redis-py)" "b'1'" \
    "$("$DEBPY" -c 'import redis, sys; print(redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=10).get("keep"))' "$REDIS_PORT")"
check_eq "resetting the server's command statistics" OK "$(redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT)"
connections() {
    redis-cli -p "$REDIS_PORT" INFO stats | tr -d '\r' | sed -n 's/^total_connections_received://p'
}
CONNECTIONS_BEFORE=$(connections)

write_config() { # PORT [EXTRA-LINE]
    cat >"$T/dry.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.redis]
connect = 127.0.0.1:$1
dry_run = true
${2:-}
INI
}

cat >"$T/agent.py" <<'PY'
import sys, redis
port = int(sys.argv[1])
def step(name, fn):
    try:
        value = fn()
    except Exception as e:
        value = f"{type(e).__name__}: {' '.join(str(e).split())}"
    print(f"{name}: {value!r}" if not isinstance(value, str) else f"{name}: {value}", flush=True)
# Housekeeping only, on a connection of its own: AUTH, CLIENT SETNAME,
# SELECT 2, then PING.
h = redis.Redis(host="127.0.0.1", port=port, db=2, password="pw", client_name="agent",
                socket_timeout=10)
step("ping (after AUTH, CLIENT SETNAME, SELECT)", h.ping)
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
step("delete keep", lambda: r.delete("keep"))
step("delete a b", lambda: r.delete("a", "b"))
step("set k v", lambda: r.set("k", "v"))
step("get k", lambda: r.get("k"))
step("incr n", lambda: r.incr("n"))
def pipeline():
    p = r.pipeline(transaction=False)
    p.set("x", "1")
    p.get("x")
    p.delete("x")
    return p.execute()
step("pipeline", pipeline)
def transaction():
    p = r.pipeline(transaction=True)
    p.set("t", "1")
    p.delete("t")
    return p.execute()
step("transaction", transaction)
step("flushall", r.flushall)
PY
AGENT_EXPECTED="ping (after AUTH, CLIENT SETNAME, SELECT): True
delete keep: 1
delete a b: 2
set k v: True
get k: None
incr n: 1
pipeline: [True, None, 1]
transaction: [True, 1]
flushall: True"
# (command and keys, impact) of each record, in order.
RECORDS_EXPECTED="[('DEL keep', 'HIGH'), ('DEL a b', 'HIGH'), ('SET k', 'MEDIUM'), ('GET k', 'LOW'), \
('INCRBY n', 'MEDIUM'), ('SET x', 'MEDIUM'), ('GET x', 'LOW'), ('DEL x', 'HIGH'), ('SET t', 'MEDIUM'), \
('DEL t', 'HIGH'), ('FLUSHALL', 'HIGH')]"

# check_records WHAT PORT EXPECTED-LIST: audit.jsonl holds dry_run records of
# tool redis at 127.0.0.1:PORT only, and for each, the first words of its
# would_execute (the command, upper-cased, and as many words as EXPECTED
# names: its keys) and its impact are EXPECTED-LIST, in order.
check_records() {
    local what=$1 port=$2 expected=$3 got
    if ! audit_check "$T/audit.jsonl" "$(audit_eval "$T/audit.jsonl" 'len(recs)')" verdict=dry_run \
        tool=redis "target=127.0.0.1:$port" 2>"$T/audit_check.err"; then
        problem "$what: $(cat "$T/audit_check.err")"
        return 0
    fi
    got=$("$PY" - "$T/audit.jsonl" "$expected" <<'PY'
import ast, json, os, sys
recs = []
if os.path.exists(sys.argv[1]):
    recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = ast.literal_eval(sys.argv[2])
out = []
for i, r in enumerate(recs):
    words = r["would_execute"].split(" ")
    n = len(want[i][0].split(" ")) if i < len(want) else len(words)
    head = [words[0].upper()] + words[1:n]
    out.append((" ".join(head), r["impact"]))
print(out)
PY
)
    [ "$got" == "$expected" ] || {
        problem "$what: the records' (command and keys, impact) are $got, expected $expected"
        audit_eval "$T/audit.jsonl" '[r["would_execute"] for r in recs]' | sed 's/^/  would_execute: /' >&2
    }
}

# run_agent WHAT PORT: redis-py under the config, its output and records checked.
run_agent() {
    local what=$1 port=$2 out rc
    rm -f "$T/audit.jsonl" "$T"/t.state*
    set +e
    out=$(timeout 60 "$ENACT" run -c "$T/dry.ini" -- "$DEBPY" "$T/agent.py" "$port" 2>"$T/agent.err")
    rc=$?
    set -e
    printf '%s (exit %s):\n%s\n' "$what" "$rc" "$out"
    [ "$rc" -eq 0 ] || problem "$what: redis-py exited with status $rc: $(tail -3 "$T/agent.err")"
    [ "$out" == "$AGENT_EXPECTED" ] ||
        problem "$what: what redis-py got differs (< expected, > got): $(diff <(echo "$AGENT_EXPECTED") <(echo "$out") | grep '^[<>]' | tr '\n' '|')"
    check_records "$what" "$port" "$RECORDS_EXPECTED"
}

write_config "$REDIS_PORT"
run_agent "redis-py, protocol detected" "$REDIS_PORT"

# redis-cli (hiredis): the reply formatted as on a terminal.
rm -f "$T/audit.jsonl" "$T"/t.state*
set +e
out=$(timeout 30 "$ENACT" run -c "$T/dry.ini" -- redis-cli --no-raw -p "$REDIS_PORT" DEL keep 2>&1)
rc=$?
set -e
printf 'redis-cli DEL keep (exit %s): %s\n' "$rc" "$out"
if [ "$rc" -ne 0 ] || [ "$out" != "(integer) 1" ]; then
    problem "redis-cli DEL keep: exit $rc, printed '$out', expected '(integer) 1'"
fi
check_records "redis-cli DEL keep" "$REDIS_PORT" "[('DEL keep', 'HIGH')]"

# The protocol named, on a port where nothing listens: the answers are the
# simulated peer's alone.
OTHER_PORT=$(free_port)
[ "$OTHER_PORT" != 6379 ] || OTHER_PORT=$(free_port)
write_config "$OTHER_PORT" "dry_run.protocol = redis"
run_agent "redis-py, dry_run.protocol = redis on port $OTHER_PORT" "$OTHER_PORT"

# ---- the server saw none of it ----------------------------------------------

connections_after=$(connections)
# The INFO that read it is itself one connection.
[ "$connections_after" -eq $((CONNECTIONS_BEFORE + 1)) ] ||
    problem "the server accepted $((connections_after - CONNECTIONS_BEFORE - 1)) connection(s) from the governed runs"
ran=$(redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([^:]*\):.*/\1/p' |
    grep -v -x -E 'config\|resetstat|info' | tr '\n' ' ' || true)
[ -z "$ran" ] || problem "the server ran commands from the governed runs: $ran"
check_eq "keep after the dry runs (bare redis-cli)" 1 "$(redis-cli -p "$REDIS_PORT" GET keep)"
check_eq "keep after the dry runs (bare redis-py)" "b'1'" \
    "$("$DEBPY" -c 'import redis, sys; print(redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=10).get("keep"))' "$REDIS_PORT")"

fail_on_problems
