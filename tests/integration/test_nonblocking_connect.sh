#!/usr/bin/env bash
# A non-blocking connect() that returns EINPROGRESS is completed by calling
# connect() again on the same socket (hiredis, many event loops do this).
# That second call is the same connection: it must not spend a second
# token nor be refused. Tool burst 2: two connections complete, the third
# socket's connect is refused with EPERM; exactly 1 record.
# The same with more connections held open than the shim's connection table
# has room for (256): the sockets past it are not followed, and their second
# connect() is still known for what it is (the kernel is asked). Burst 300:
# 280 held connections spend 280 tokens, so exactly 20 more connect.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

cat >"$T/agent.py" <<'PY'
import errno, select, socket, sys
addr = ("127.0.0.1", int(sys.argv[1]))
for i in (1, 2, 3):
    s = socket.socket()
    s.setblocking(False)
    first = s.connect_ex(addr)
    if first == errno.EINPROGRESS:
        select.select([], [s], [], 20)
        second = s.connect_ex(addr)  # 0 or EISCONN once connected
        result = "connected" if second in (0, errno.EISCONN) else errno.errorcode.get(second, second)
    elif first == 0:
        result = "connected"
    else:
        result = errno.errorcode.get(first, first)
    print(i, result)
    s.close()
PY

out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT")
check_eq "outcome of each connection" "1 connected
2 connected
3 EPERM" "$out"
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT"

start_counting_listeners "$T/accepts.log" many
cat >"$T/many.ini" <<INI
[enact]
state = many.state
audit_log = many.jsonl
[tool.many]
connect = 127.0.0.1:$LISTENER_PORTS
rate.max_calls_per_minute = 1
rate.burst_size = 300
INI
cat >"$T/many.py" <<'PY'
import errno, select, socket, sys
addr = ("127.0.0.1", int(sys.argv[1]))
held, doubled = [], 0
for i in range(280):
    s = socket.socket()
    s.setblocking(False)
    if s.connect_ex(addr) == errno.EINPROGRESS:
        select.select([], [s], [], 20)
        if s.connect_ex(addr) not in (0, errno.EISCONN):
            doubled += 1
    held.append(s)
after = []
for i in range(25):
    try:
        socket.create_connection(addr, timeout=5).close()
        after.append("ok")
    except PermissionError:
        after.append("EPERM")
print(doubled, after.count("ok"), after.count("EPERM"))
PY
(cd "$T" && ulimit -n 1024 && "$ENACT" run -c "$T/many.ini" -- "$PY" "$T/many.py" "$LISTENER_PORTS") \
    >"$T/many.out" || fail "the many-connections agent failed: $(cat "$T/many.out")"
check_eq "second connects refused, then ok and refused after 280 held" "0 20 5" "$(cat "$T/many.out")"
