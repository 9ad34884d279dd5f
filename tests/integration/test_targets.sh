#!/usr/bin/env bash
# Rule targets beyond plain addresses: a CIDR with a port range matches an
# IPv4 connect and an IPv4-mapped IPv6 connect (an AF_INET6 socket to
# ::ffff:127.0.0.1) alike, and no port outside the range; an abstract unix
# socket name (unix:@name) matches by name. Each tool has burst 2: two
# connects pass, the third is refused with EPERM.
. "$(dirname "$0")/lib.sh"

cat >"$T/servers.py" <<'PY'
import socket, sys, threading, time
def serve(sock):
    while True:
        c, _ = sock.accept()
        c.close()
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); socks.append(s)
u = socket.socket(socket.AF_UNIX); u.bind("\0" + sys.argv[1]); u.listen(16); socks.append(u)
with open(sys.argv[2], "w") as f:
    f.write(" ".join(str(s.getsockname()[1]) for s in socks[:2]) + "\n")
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
time.sleep(120)
PY
name="enact-test-$$-$RANDOM"
spawn_bg "$T/servers.log" "$PY" "$T/servers.py" "$name" "$T/ports"
for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.05; done
read -r IN_RANGE OUTSIDE <"$T/ports" || fail "the servers did not start"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.range]
connect = 127.0.0.0/8:$IN_RANGE-$IN_RANGE
rate.max_calls_per_minute = 1
rate.burst_size = 2
[tool.abstract]
connect = unix:@$name
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

cat >"$T/client.py" <<'PY'
import socket, sys
in_range, outside, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def attempt(label, family, addr):
    s = socket.socket(family)
    try:
        s.connect(addr)
        print(label, "ok")
    except PermissionError:
        print(label, "EPERM")
    finally:
        s.close()
attempt("v4", socket.AF_INET, ("127.0.0.1", in_range))
attempt("v4-mapped", socket.AF_INET6, ("::ffff:127.0.0.1", in_range))
attempt("v4-mapped", socket.AF_INET6, ("::ffff:127.0.0.1", in_range))
for _ in range(3):
    attempt("outside", socket.AF_INET, ("127.0.0.1", outside))
for _ in range(3):
    attempt("abstract", socket.AF_UNIX, "\0" + name)
PY

out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$IN_RANGE" "$OUTSIDE" "$name")
check_eq "outcomes" "v4 ok
v4-mapped ok
v4-mapped EPERM
outside ok
outside ok
outside ok
abstract ok
abstract ok
abstract EPERM" "$out"
audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited
check_eq "the refused targets (a mapped address is named as IPv4)" "range 127.0.0.1:$IN_RANGE|abstract unix:@$name" \
    "$(audit_eval "$T/audit.jsonl" '"|".join(r["tool"] + " " + r["target"] for r in recs)')"
