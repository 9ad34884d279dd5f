#!/usr/bin/env bash
# on_limit = wait: a blocking connect refused by the rate limit sleeps until
# a token comes (within max_wait) and then goes through, with no refusal
# recorded; past max_wait it is refused as usual; a non-blocking socket is
# never put to sleep.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
write_ini() {
    cat >"$T/enact.ini" <<INI
[enact]
state = t$1.state
audit_log = audit$1.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 120
rate.burst_size = 1
on_limit = wait
max_wait = $2
INI
}

cat >"$T/agent.py" <<'PY'
import socket, sys, time
port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
start = time.monotonic()
for i in range(n):
    s = socket.socket()
    if mode == "nonblocking":
        s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
        print("ok", end=" ")
    except BlockingIOError:
        print("ok", end=" ")  # in progress: admitted
    except PermissionError:
        print("refused", end=" ")
    s.close()
print(f"{time.monotonic() - start:.2f}")
PY

# Blocking, max_wait 2 s: 3 connects at 2 per second all go through, the
# 2nd and 3rd after waiting about half a second each.
write_ini 1 2
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT" 3 blocking)
check_eq "blocking, waited" "ok ok ok" "${out% *}"
elapsed=${out##* }
"$PY" -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 0.8 <= t <= 3 else 1)" "$elapsed" ||
    fail "blocking: 3 connects took ${elapsed}s; expected about 1 s of waiting"
[ ! -s "$T/audit1.jsonl" ] || fail "a waited-out refusal was recorded: $(cat "$T/audit1.jsonl")"

# max_wait shorter than the next token: refused at once, and recorded.
write_ini 2 0.1
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT" 2 blocking)
check_eq "blocking, max_wait too short" "ok refused" "${out% *}"
audit_check "$T/audit2.jsonl" 1 verdict=deny reason=rate_limited tool=api

# Non-blocking: never waits.
write_ini 3 2
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT" 2 nonblocking)
check_eq "non-blocking" "ok refused" "${out% *}"
audit_check "$T/audit3.jsonl" 1 verdict=deny reason=rate_limited tool=api
