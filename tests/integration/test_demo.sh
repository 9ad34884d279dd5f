#!/usr/bin/env bash
# make demo: the quickstart agent runs governed and
# the account that follows shows, readably, what was refused and why (a
# rate limit, an open breaker), what was only simulated (rm -rf, HIGH), and
# the limits as they stand. It does so also when every port of the INI's
# ranges is taken, on ports the kernel gives.
. "$(dirname "$0")/lib.sh"

check_demo() {
    for want in \
        "call 4: failed: \[Errno 1\] Operation not permitted" \
        "try 4: failed: \[Errno 1\] Operation not permitted" \
        "exit status 0; the file is still there" \
        "== enact log --blocked" \
        "demo-agent *api *connect deny *rate_limited" \
        "demo-agent *flaky-service *connect deny *circuit_open" \
        "file-delete *HIGH *rm -rf .*scratch1 *(rm: destructive)" \
        "2 simulated: 2 HIGH" \
        "flaky-service *OPEN" \
        "demo-agent *api *0/3"; do
        grep -q -- "$want" <<<"$out" || fail "the demo does not show '$want': $out"
    done
    check_eq "refusals in the blocked view" 5 "$(grep -c ' deny ' <<<"$out")"
}
out=$("$ROOT/scripts/demo.sh" 2>&1) || fail "the demo failed: $out"
check_demo

# Someone else listens on 18080-18099 (SO_REUSEADDR: the demo's own ports
# a moment ago may linger in TIME_WAIT).
spawn_bg "$T/squatter.log" "$PY" -c '
import socket, time
held = []
for p in range(18080, 18100):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.listen(); held.append(s)
print("held", flush=True)
time.sleep(60)'
for _ in $(seq 100); do grep -q held "$T/squatter.log" && break; sleep 0.05; done
grep -q held "$T/squatter.log" || fail "could not hold 18080-18099: $(cat "$T/squatter.log")"
out=$("$ROOT/scripts/demo.sh" 2>&1) || fail "the demo failed with its ports taken: $out"
grep -q "demo: ports 18080-18089 are taken; using [0-9]* " <<<"$out" ||
    fail "the demo does not say which port it took: $out"
check_demo
