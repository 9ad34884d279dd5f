#!/bin/sh
# make demo: runs examples/quickstart/agent.py governed by its enact.ini
# against a local HTTP server, then shows the audit log. Each run starts
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

# The INI maps 127.0.0.1:18080-18089 to the tool "api": serve on the first free one.
port=$(python3 -c '
import socket
for p in range(18080, 18090):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
[ -n "$port" ] || { echo "demo: ports 18080-18089 are all taken; free one and retry" >&2; exit 1; }
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
echo "   (api: burst 3, then 30/min; rm: burst 2, then 1/min)"
echo
DEMO_API_URL="http://127.0.0.1:$port/" "$root/build/enact" run -c "$work/enact.ini" -- python3 "$work/agent.py"
echo
echo "== the audit log ($(basename "$work")/demo-audit.jsonl): what was blocked, and why"
python3 "$root/scripts/show-audit.py" "$work/demo-audit.jsonl"
echo
echo "== one record as stored"
head -n 1 "$work/demo-audit.jsonl"
