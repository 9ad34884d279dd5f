#!/bin/sh
# make demo: runs examples/quickstart/agent.py governed by its enact.ini
# against a local HTTP server, then shows what was blocked (enact log),
# simulated (enact dry-run list) and the limits (enact status). Each run starts
# from fresh state in a temporary copy of the example.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/enact-demo.XXXXXX")
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cp "$root/examples/quickstart/agent.py" "$root/examples/quickstart/enact.ini" "$work/"

# The INI maps 127.0.0.1:18080-18089 to the tool "api" and 18090-18099 to
# "flaky-service": serve the API on the first free port of its range, and
# leave a free port of the other closed. When a range is all taken, any
# free port the kernel gives will do: the copy of the INI is pointed at it.
free_port() { # FIRST [COUNT]: the first free port of FIRST..FIRST+COUNT-1, or any
    python3 -c '
import socket, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
for p in list(range(first, first + count)) + [0]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p)); print(s.getsockname()[1]); break
    except OSError:
        pass
    finally:
        s.close()' "$1" "${2:-10}"
}
port_for() { # RANGE PORT: points the copy's RANGE rule at PORT when outside it
    lo=${1%-*} hi=${1#*-}
    if [ "$2" -lt "$lo" ] || [ "$2" -gt "$hi" ]; then
        sed -i "s/^connect = 127\.0\.0\.1:$1/connect = 127.0.0.1:$2/" "$work/enact.ini"
        echo "demo: ports $1 are taken; using $2 (in the demo's copy of enact.ini)"
    fi
}
port=$(free_port 18080)
closed=$(free_port 18090)
[ -n "$port" ] && [ -n "$closed" ] || { echo "demo: no free port on 127.0.0.1" >&2; exit 1; }
port_for 18080-18089 "$port"
port_for 18090-18099 "$closed"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
python3 -c '
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("demo: the local HTTP server did not start")' "$port"

echo "== enact run -c enact.ini -- python3 agent.py"
echo "   (api: burst 3, then 30/min; flaky-service: breaker opens after 3 failures;"
echo "    rm: dry run)"
echo
DEMO_API_URL="http://127.0.0.1:$port/" DEMO_FLAKY_URL="http://127.0.0.1:$closed/" \
    "$root/build/enact" run -c "$work/enact.ini" -- python3 "$work/agent.py"
echo
echo "== enact log --blocked: what was refused, and why"
"$root/build/enact" log -c "$work/enact.ini" --blocked
echo
echo "== enact dry-run list: what would have run"
"$root/build/enact" dry-run -c "$work/enact.ini" list
echo
echo "== enact status: the limits as they stand"
"$root/build/enact" status -c "$work/enact.ini"
echo
echo "== one record as stored (enact log --json)"
"$root/build/enact" log -c "$work/enact.ini" --json | head -n 1
