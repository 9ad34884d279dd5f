#!/usr/bin/env bash
# A UDP datagram sent with sendto() to a governed address is a call of the
# tool, decided like a connect to it. Two loopback UDP servers log every
# datagram they receive; what reached them is checked up to an ungoverned
# "end" marker datagram.
# 1. Tool udp (rate.burst_size = 2): python3 sends 4 datagrams with
#    sendto() on one unconnected socket: 1 and 2 return their length and
#    arrive, 3 and 4 raise PermissionError (EPERM) and never arrive; two
#    deny records, op send, reason rate_limited.
# 2. Tool udpsim (dry_run = true): 3 datagrams: sendto() returns each one's
#    full length, the server receives none of them, and there is one
#    dry_run record per datagram (op send) with would_execute = its bytes.
. "$(dirname "$0")/lib.sh"

cat >"$T/udpserver.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".port", "w") as f:
    f.write(str(s.getsockname()[1]))
while True:
    data, _ = s.recvfrom(2048)
    with open(sys.argv[1], "a") as f:
        f.write(repr(data) + "\n")
PY
# start_udp NAME: a UDP server logging to $T/NAME.log; sets UDP_PORT.
start_udp() {
    spawn_bg "$T/$1.server.log" "$PY" "$T/udpserver.py" "$T/$1.log"
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$T/$1.log.port" ] && break
        sleep 0.1
    done
    [ -s "$T/$1.log.port" ] || { cat "$T/$1.server.log" >&2; fail "UDP server $1 did not start"; }
    UDP_PORT=$(cat "$T/$1.log.port")
}

# end_marker NAME PORT: an ungoverned datagram b"end" to PORT; waits (at
# most 10 s) until server NAME has logged it.
end_marker() {
    "$PY" - "$2" "$T/$1.log" <<'PY' || fail "the end marker never reached UDP server $1"
import socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    s.sendto(b"end", ("127.0.0.1", port))
    t = time.monotonic() + 0.5
    while time.monotonic() < t:
        try:
            if "b'end'" in open(log).read().split("\n"):
                sys.exit(0)
        except FileNotFoundError:
            pass
        time.sleep(0.05)
sys.exit(1)
PY
}

start_udp limited
LIMITED=$UDP_PORT
start_udp sim
SIM=$UDP_PORT

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.udp]
connect = 127.0.0.1:$LIMITED
rate.max_calls_per_minute = 1
rate.burst_size = 2
[tool.udpsim]
connect = 127.0.0.1:$SIM
dry_run = true
INI

cat >"$T/client.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(1, n + 1):
    data = f"datagram {i} \x00\xff".encode("latin-1")
    try:
        print(i, "sent", s.sendto(data, ("127.0.0.1", port)), "of", len(data))
    except OSError as e:
        print(i, type(e).__name__, e.errno)
PY

# ---- 1 ----
out=$(timeout 30 "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$LIMITED" 4)
expected="1 sent 13 of 13
2 sent 13 of 13
3 PermissionError 1
4 PermissionError 1"
check_eq "udp: sendto results" "$expected" "$out"
end_marker limited "$LIMITED"
check_eq "udp: datagrams received" "b'datagram 1 \\x00\\xff'
b'datagram 2 \\x00\\xff'
b'end'" "$(cat "$T/limited.log")"
audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited errno=EPERM op=send tool=udp \
    "target=127.0.0.1:$LIMITED"

# ---- 2 ----
: >"$T/audit.jsonl"
out=$(timeout 30 "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$SIM" 3)
expected="1 sent 13 of 13
2 sent 13 of 13
3 sent 13 of 13"
check_eq "udpsim: sendto results" "$expected" "$out"
end_marker sim "$SIM"
check_eq "udpsim: datagrams received" "b'end'" "$(cat "$T/sim.log")"
audit_check "$T/audit.jsonl" 3 verdict=dry_run op=send tool=udpsim "target=127.0.0.1:$SIM"
check_eq "udpsim: would_execute is each datagram" "True" "$(audit_eval "$T/audit.jsonl" \
    '([r["would_execute"] for r in recs] ==
      [f"datagram {i} \\x00\\xff" for i in (1, 2, 3)])')"
