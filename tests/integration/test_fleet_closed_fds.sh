#!/usr/bin/env bash
# A program that closes every descriptor between calls (os.closerange:
# close_range(2), which the shim's close hooks never see) and then opens a
# file that takes the number the shim's connection to Redis had: the next
# decision notices the descriptor is no longer its socket (device and
# inode), connects again, writes nothing into the program's file, and the
# bucket stays exact.
. "$(dirname "$0")/lib.sh"

start_redis
start_counting_listeners "$T/accepted.log" api
fleet_host_config 1 "agent = closer" "backend.on_down = deny" \
    "[tool.api]" "connect = 127.0.0.1:$LISTENER_PORTS" "rate.max_calls_per_minute = 0.01" \
    "rate.burst_size = 4"
cat >"$T/closer.py" <<'PY'
import os, sys
port, path = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, sys.argv[3])
from tries import attempt

seen = [attempt(port)]       # the shim connects to Redis here
before = sorted(int(n) for n in os.listdir("/proc/self/fd"))
os.closerange(3, 65536)      # close_range(2): no close() for the shim to see
files = [open(f"{path}.{i}", "w+") for i in range(8)]  # take the freed numbers
for _ in range(5):
    seen.append(attempt(port))
for f in files:
    f.seek(0)
    if f.read():
        print("a file got bytes:", f.name)
print(" ".join(seen), "fds-before:" + ",".join(map(str, before)))
PY
out=$("$ENACT" run -c "$T/host1/enact.ini" -- "$PY" "$T/closer.py" "$LISTENER_PORTS" "$T/taken" \
    "$(cd "$(dirname "$0")/fleet" && pwd)")
case $out in
"ok ok ok ok refused refused fds-before:"*) ;;
*) fail "the calls around closerange: $out" ;;
esac
# The shim had a socket of its own among the closed descriptors.
before=${out##*fds-before:}
[ "$(echo "$before" | tr ',' '\n' | awk '$1 >= 3' | wc -l)" -ge 1 ] ||
    fail "no descriptor of the shim's was open before closerange: $before"
for f in "$T"/taken.*; do
    [ ! -s "$f" ] || fail "$f got bytes meant for Redis: $(head -c 200 "$f" | od -c | head -3)"
done
check_eq "connections accepted" 4 "$(grep -c api "$T/accepted.log")"
clients=$(redis-cli -p "$REDIS_PORT" info stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p')
[ "$clients" -ge 2 ] || fail "the shim did not connect again after closerange ($clients connections)"
