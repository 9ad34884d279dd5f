#!/usr/bin/env bash
# approve = high: a HIGH-impact call waits for a person. A bash agent's
# rm -rf waits, enact pending shows it (impact HIGH), enact approve lets
# it run (the folder is gone); a second is denied (the folder stays,
# status 126), a third expires after approve.timeout_seconds. The same for
# a python http.client DELETE on a request tool (its GET is not held) and
# for redis-cli FLUSHALL against a real redis-server. approve.command gets
# the request as JSON on stdin, once per request, and is no child of the
# agent. A non-blocking caller is refused at once (approval_pending) and
# admitted when it retries after the approval.
. "$(dirname "$0")/lib.sh"

start_api_http
start_redis
cat >"$T/approver" <<EOF
#!/bin/sh
# Keeps each request and who its parent is: never the agent.
cat >"$T/requests/\$1.json"
echo "\$PPID" >"$T/requests/\$1.ppid"
EOF
chmod +x "$T/approver"
mkdir -p "$T/requests"
cat >"$T/enact.ini" <<EOF
[enact]
state = $T/state
audit_log = $T/audit.jsonl

[tool.shell]
exec = rm *
approve = high
approve.timeout_seconds = 2
approve.command = $T/approver

[tool.api]
connect = 127.0.0.1:$API_PORT
action = request
approve = high
approve.timeout_seconds = 30
approve.command = $T/approver

[tool.cache]
connect = 127.0.0.1:$REDIS_PORT
approve = high
approve.timeout_seconds = 30
EOF
"$ENACT" check "$T/enact.ini" >/dev/null || fail "the config does not check"

# pending_id WHAT: waits for a pending request whose command matches WHAT
# (a python regex) and prints its id; checks its impact is HIGH.
pending_id() {
    local i
    for i in $(seq 100); do
        "$ENACT" pending -c "$T/enact.ini" --json >"$T/pending.json"
        if id=$("$PY" - "$T/pending.json" "$1" <<'PY'
import json, re, sys
for r in json.load(open(sys.argv[1]))["requests"]:
    if r["state"] == "pending" and re.search(sys.argv[2], r["would_execute"]):
        assert r["impact"] == "HIGH", r
        print(r["id"])
        sys.exit(0)
sys.exit(1)
PY
        ); then
            echo "$id"
            return 0
        fi
        sleep 0.1
    done
    cat "$T/pending.json" >&2
    fail "no pending request for '$1'"
}

# ---- a bash agent's rm -rf: approved, denied, expired ----------------------
mkdir -p "$T/d1" "$T/d2" "$T/d3"
spawn_bg "$T/rm1.out" "$ENACT" run -c "$T/enact.ini" -a bot -- bash -c "rm -rf '$T/d1'; echo status=\$?"
RM1=$BG_PID
id=$(pending_id "rm -rf .*/d1")
sleep 0.3
[ -d "$T/d1" ] || fail "rm ran before it was approved"
# The agent cannot answer its own request: an enact it starts is governed.
"$ENACT" run -c "$T/enact.ini" -a bot -- "$ENACT" approve -c "$T/enact.ini" "$id" >"$T/self.out" 2>&1 &&
    fail "a governed enact approve succeeded: $(cat "$T/self.out")"
grep -q "refused: this enact was started by a governed program" "$T/self.out" ||
    fail "a governed enact approve: $(cat "$T/self.out")"
pending_id "rm -rf .*/d1" >/dev/null
"$ENACT" pending -c "$T/enact.ini" | grep -q "^$id  pending .* bot .* shell .* HIGH" ||
    fail "enact pending: $("$ENACT" pending -c "$T/enact.ini")"
"$ENACT" approve -c "$T/enact.ini" "$id" --note "looked fine" >/dev/null || fail "enact approve $id"
wait "$RM1" || true
grep -q "status=0" "$T/rm1.out" || fail "the approved rm failed: $(cat "$T/rm1.out")"
[ ! -d "$T/d1" ] || fail "the approved rm -rf did not remove the folder"
"$ENACT" approve -c "$T/enact.ini" "$id" 2>/dev/null && fail "a request was approved twice"

spawn_bg "$T/rm2.out" "$ENACT" run -c "$T/enact.ini" -a bot -- bash -c "rm -rf '$T/d2'; echo status=\$?"
RM2=$BG_PID
id2=$(pending_id "rm -rf .*/d2")
"$ENACT" deny -c "$T/enact.ini" "$id2" --note "not today" >/dev/null || fail "enact deny $id2"
wait "$RM2" || true
grep -q "status=126" "$T/rm2.out" || fail "the denied rm: $(cat "$T/rm2.out")"
[ -d "$T/d2" ] || fail "the denied rm -rf removed the folder"

start=$(date +%s.%N)
"$ENACT" run -c "$T/enact.ini" -a bot -- bash -c "rm -rf '$T/d3'; echo status=\$?" >"$T/rm3.out" 2>&1 || true
took=$("$PY" -c 'import sys,time; print(time.time() - float(sys.argv[1]))' "$start")
grep -q "status=126" "$T/rm3.out" || fail "the expired rm: $(cat "$T/rm3.out")"
[ -d "$T/d3" ] || fail "the expired rm -rf removed the folder"
"$PY" -c 'import sys; t=float(sys.argv[1]); sys.exit(not 1.9 < t < 10)' "$took" ||
    fail "the request expired after $took s, not after approve.timeout_seconds = 2"

"$PY" - "$T/audit.jsonl" "$id" "$id2" <<'PY' || fail "the approval records"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = lambda v: [r for r in recs if r["verdict"] == v]
req = by("approval_requested")
assert len([r for r in req if r["tool"] == "shell"]) == 3, req
assert all(r["impact"] == "HIGH" and r["would_execute"].startswith("rm -rf") for r in req), req
ok = by("approved")
assert len(ok) == 1 and ok[0]["request"] == sys.argv[2] and ok[0]["uid"] == os.getuid() \
    and ok[0]["waited_ms"] >= 300 and ok[0]["detail"] == "looked fine", ok
no = by("denied")
assert len(no) == 1 and no[0]["request"] == sys.argv[3] and no[0]["detail"] == "not today", no
ex = by("expired")
assert len(ex) == 1 and ex[0]["tool"] == "shell", ex
refused = [r for r in recs if r["verdict"] == "deny"]
assert sorted(r["reason"] for r in refused) == ["approval_denied", "approval_expired"], refused
PY

# approve.command: once per request, the request as JSON, not the agent's child.
check_eq "approve.command runs" 3 "$(ls "$T"/requests/*.json | wc -l)"
"$PY" - "$T/requests" "$id" <<'PY' || fail "approve.command's request"
import json, os, sys
r = json.load(open(os.path.join(sys.argv[1], sys.argv[2] + ".json")))
assert r["request"] == sys.argv[2] and r["agent"] == "bot" and r["tool"] == "shell", r
assert r["impact"] == "HIGH" and r["would_execute"].endswith("/d1") and r["op"] == "exec", r
assert r["timeout_seconds"] == 2 and r["config"].endswith("enact.ini"), r
PY
for f in "$T"/requests/*.ppid; do
    ppid=$(cat "$f")
    [ "$ppid" != "$RM1" ] && [ "$ppid" != "$RM2" ] || fail "approve.command was a child of the agent"
    # Its parent is init or a subreaper, never the agent's bash (read with
    # a builtin: ps hangs under a preloaded ASan runtime).
    comm=""
    [ -r "/proc/$ppid/comm" ] && comm=$(<"/proc/$ppid/comm")
    [ "$comm" != bash ] || fail "approve.command's parent is a bash (the agent?)"
done

# ---- a python http.client DELETE on a request tool ------------------------
# No timeout: a blocking socket, whose send waits (with a timeout Python
# makes the descriptor non-blocking: that caller is refused at once, below).
cat >"$T/client.py" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("GET", "/items")
r = c.getresponse()
r.read()
print("GET", r.status, flush=True)
try:
    c.request("DELETE", "/items/" + sys.argv[2])
    print("DELETE", c.getresponse().status, flush=True)
except OSError as e:
    print("DELETE refused", e.errno, flush=True)
PY
spawn_bg "$T/py1.out" "$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$T/client.py" "$API_PORT" 1
PY1=$BG_PID
pid_del=$(pending_id "^DELETE /items/1 HTTP/1.1")
grep -q "GET /items" "$T/api.log" || fail "the GET (LOW impact) was held"
! grep -q "DELETE" "$T/api.log" || fail "the DELETE reached the server before approval"
"$ENACT" approve -c "$T/enact.ini" "$pid_del" >/dev/null
wait "$PY1" || true
grep -q "DELETE 200" "$T/py1.out" || fail "the approved DELETE: $(cat "$T/py1.out")"
grep -q "DELETE /items/1" "$T/api.log" || fail "the approved DELETE did not reach the server"
spawn_bg "$T/py2.out" "$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$T/client.py" "$API_PORT" 2
PY2=$BG_PID
"$ENACT" deny -c "$T/enact.ini" "$(pending_id "^DELETE /items/2")" >/dev/null
wait "$PY2" || true
grep -q "DELETE refused 1" "$T/py2.out" || fail "the denied DELETE: $(cat "$T/py2.out")"
! grep -q "DELETE /items/2" "$T/api.log" || fail "the denied DELETE reached the server"

# ---- redis-cli FLUSHALL against a real redis-server ------------------------
redis-cli -p "$REDIS_PORT" set keep me >/dev/null
spawn_bg "$T/flush1.out" "$ENACT" run -c "$T/enact.ini" -a bot -- redis-cli -p "$REDIS_PORT" FLUSHALL
FL1=$BG_PID
fid=$(pending_id "FLUSHALL")
check_eq "keys before the approval" 1 "$(redis-cli -p "$REDIS_PORT" dbsize)"
"$ENACT" deny -c "$T/enact.ini" "$fid" >/dev/null
wait "$FL1" || true
check_eq "keys after FLUSHALL was denied" 1 "$(redis-cli -p "$REDIS_PORT" dbsize)"
spawn_bg "$T/flush2.out" "$ENACT" run -c "$T/enact.ini" -a bot -- redis-cli -p "$REDIS_PORT" FLUSHALL
FL2=$BG_PID
"$ENACT" approve -c "$T/enact.ini" "$(pending_id "FLUSHALL")" >/dev/null
wait "$FL2" || true
grep -q OK "$T/flush2.out" || fail "the approved FLUSHALL: $(cat "$T/flush2.out")"
check_eq "keys after FLUSHALL was approved" 0 "$(redis-cli -p "$REDIS_PORT" dbsize)"
# A LOW-impact command of the same tool is not held.
"$ENACT" run -c "$T/enact.ini" -a bot -- redis-cli -p "$REDIS_PORT" ping | grep -q PONG ||
    fail "a PING waited for approval"

# ---- a non-blocking caller ------------------------------------------------
cat >"$T/nonblocking.py" <<'PY'
import errno, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
req = b"DELETE /items/9 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
t0 = time.time()
try:
    s.send(req)
    print("sent at once", flush=True)
except OSError as e:
    print("first", e.errno, round(time.time() - t0, 3), flush=True)
open(sys.argv[2], "w").close()
while True:
    try:
        s.send(req)
        break
    except OSError:
        time.sleep(0.1)
s.setblocking(True)
print("then", s.recv(100).split(b"\r\n")[0].decode(), flush=True)
PY
spawn_bg "$T/nb.out" "$ENACT" run -c "$T/enact.ini" -a bot -- "$PY" "$T/nonblocking.py" "$API_PORT" "$T/nb.started"
NB=$BG_PID
nid=$(pending_id "^DELETE /items/9")
for i in $(seq 50); do [ -f "$T/nb.started" ] && break; sleep 0.1; done
grep -q "^first 1 0\.[0-4]" "$T/nb.out" || fail "the non-blocking send was not refused at once: $(cat "$T/nb.out")"
"$ENACT" approve -c "$T/enact.ini" "$nid" >/dev/null
wait "$NB" || true
grep -q "then HTTP/1.1 200" "$T/nb.out" || fail "the retried non-blocking send: $(cat "$T/nb.out")"
check_eq "DELETE /items/9 at the server" 1 "$(grep -c "DELETE /items/9" "$T/api.log")"
check_eq "requests for one non-blocking call" 1 \
    "$(audit_eval "$T/audit.jsonl" 'sum(r["verdict"] == "approval_requested" and "/items/9" in r["would_execute"] for r in recs)')"
# ---- a kill switch ends a wait ---------------------------------------------
mkdir -p "$T/d4"
spawn_bg "$T/rm4.out" "$ENACT" run -c "$T/enact.ini" -a bot -- bash -c "rm -rf '$T/d4'; echo status=\$?"
RM4=$BG_PID
pending_id "rm -rf .*/d4" >/dev/null
"$ENACT" kill -c "$T/enact.ini" --agent bot >/dev/null
wait "$RM4" || true
grep -q "status=126" "$T/rm4.out" || fail "a kill during the wait: $(cat "$T/rm4.out")"
[ -d "$T/d4" ] || fail "the rm -rf ran although its agent was killed"
check_eq "pending after the kill" 0 "$("$ENACT" pending -c "$T/enact.ini" --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')"
"$ENACT" resume -c "$T/enact.ini" --all >/dev/null

# ---- the state file removed during a wait: on_error decides ----------------
mkdir -p "$T/d5"
spawn_bg "$T/rm5.out" "$ENACT" run -c "$T/enact.ini" -a bot -- bash -c "rm -rf '$T/d5'; echo status=\$?"
RM5=$BG_PID
pending_id "rm -rf .*/d5" >/dev/null
rm -f "$T/state"
wait "$RM5" || true
grep -q "status=126" "$T/rm5.out" || fail "a wait whose state file went: $(cat "$T/rm5.out")"
[ -d "$T/d5" ] || fail "the rm -rf ran although its request was lost"
[ "$(audit_eval "$T/audit.jsonl" 'sum(r.get("reason") == "state_error" and "/d5" in " ".join(r.get("argv", [])) for r in recs)')" -ge 1 ] ||
    fail "no state_error record for the lost request"
echo "ok: rm -rf, DELETE and FLUSHALL approved, denied and expired; approve.command; non-blocking; kill; lost state"
