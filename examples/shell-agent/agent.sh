#!/usr/bin/env bash
# An example agent written in bash, with no knowledge of Enact. It serves a
# scratch folder over HTTP on loopback (python3 -m http.server), fetches from
# it with curl in a loop, polls a status page that is down, and finally
# removes the scratch folder with rm -rf.
#
# Under `enact run` with the enact.ini next to this file: curl calls beyond
# the burst of 4 fail to connect (rate_limited), the status page is cut off
# after 2 failures (circuit_open), and rm -rf is only simulated (the folder
# is still there). Everything is recorded in audit.jsonl next to enact.ini.
set -u
port=18210         # docs-api in enact.ini
down_port=18219    # status-page in enact.ini: nothing listens there

scratch=$(mktemp -d "${TMPDIR:-/tmp}/shell-agent.XXXXXX")
for i in 1 2 3 4 5 6 7 8; do echo "page $i" > "$scratch/page$i.txt"; done

python3 -m http.server "$port" --bind 127.0.0.1 --directory "$scratch" >/dev/null 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null
    # The rm -rf below was only simulated; find is not mapped, so this
    # really removes the folder.
    find "$scratch" -delete 2>/dev/null
}
trap cleanup EXIT

# Wait until the server listens, without connecting to it (a connect would
# spend one of docs-api's calls): look for the port in /proc/net/tcp.
hex=$(printf '%04X' "$port")
for _ in $(seq 50); do
    grep -q ":$hex 00000000:0000 0A" /proc/net/tcp && break
    sleep 0.1
done

echo "agent: 1. fetching 8 pages from the docs API (127.0.0.1:$port)"
for i in 1 2 3 4 5 6 7 8; do
    echo "  page $i: $(curl -sS --max-time 3 "http://127.0.0.1:$port/page$i.txt" 2>&1)"
done

echo "agent: 2. polling the status page 4 times (127.0.0.1:$down_port)"
for i in 1 2 3 4; do
    curl -sS --max-time 3 -o /dev/null "http://127.0.0.1:$down_port/" 2>&1 | sed "s/^/  poll $i: /"
done

echo "agent: 3. removing the scratch folder: rm -rf $scratch"
rm -rf "$scratch"
echo "  rm exit status $?; the folder is $([ -e "$scratch" ] && echo 'still there' || echo 'gone')"
