#!/usr/bin/env bash
# run.sh AGENT: runs the threaded agent (threaded_agent.c, the shim's hooks
# linked in, built with a sanitizer: make tsan, make asan) under a config
# that governs both of its listeners and its starts of `true`. Fails on any
# sanitizer report (the agent then exits with the sanitizer's exitcode), a
# lost echo, or a limit that did not hold exactly.
set -euo pipefail
AGENT=$1
THREADS=8 ROUNDS=150
T=$(mktemp -d "${TMPDIR:-/tmp}/enact-linked.XXXXXX")
trap 'rm -rf "$T"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OPEN=$(port) LIMITED=$(port)
cat >"$T/enact.ini" <<INI
[enact]
agent = tsan
state = $T/t.state
audit_log = $T/audit.jsonl
[tool.open]
connect = 127.0.0.1:$OPEN
action = request
io_timeout_seconds = 10
breaker.failure_threshold = 1000
[tool.limited]
connect = 127.0.0.1:$LIMITED
rate.max_calls_per_minute = 0.001
rate.burst_size = 50
[tool.true]
exec = true
rate.max_calls_per_minute = 0.001
rate.burst_size = 25
INI
unset LD_PRELOAD
out=$(ENACT_CONFIG=$T/enact.ini timeout 300 "$AGENT" "$OPEN" "$LIMITED" "$THREADS" "$ROUNDS")
want="echoes $((THREADS * ROUNDS * 2)) admitted 50 refused $((THREADS * ROUNDS - 50))
starts 25 refused 15"
if [ "$out" != "$want" ]; then
    echo "linked agent: expected '$want', got '$out'" >&2
    exit 1
fi
denials=$(grep -c '"verdict":"deny"' "$T/audit.jsonl")
if [ "$denials" -ne $((THREADS * ROUNDS - 50 + 15)) ]; then
    echo "linked agent: $denials deny records for $((THREADS * ROUNDS - 50 + 15)) refusals" >&2
    exit 1
fi
echo "linked agent ($(basename "$(dirname "$AGENT")")): $(echo $out), $denials records, no sanitizer report"
