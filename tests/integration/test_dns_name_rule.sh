#!/usr/bin/env bash
# A rule by host name (connect = local*:PORT) matches when the client
# resolves the name, and again in a child process that connects to the
# address it never resolved itself: the address -> name record is shared
# through the state file. Unresolved, the address matches no rule.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = local*:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

# Before any resolution: curl by address is not governed (no name known).
count_curls 3 "$ENACT" run -c "$T/enact.ini" -- curl "http://127.0.0.1:$HTTP_PORT/"
check_eq "by address, before any resolution" 3 "$CURL_OK"
[ ! -s "$T/audit.jsonl" ] || fail "an unresolved address was governed: $(cat "$T/audit.jsonl")"

cat >"$T/agent.py" <<'PY'
import subprocess, sys, urllib.request
port = sys.argv[1]
results = []
for _ in range(2):  # resolves "localhost": governed by the name rule
    try:
        urllib.request.urlopen(f"http://localhost:{port}/", timeout=5).read()
        results.append("ok")
    except OSError:
        results.append("refused")
# A child connects by address only: the name is known from the shared state.
rc = subprocess.run(["curl", "-s", "--noproxy", "*", "-o", "/dev/null",
                     f"http://127.0.0.1:{port}/"]).returncode
results.append("ok" if rc == 0 else f"curl-{rc}")
print(" ".join(results))
PY
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT")
check_eq "by name, then by address in a child" "ok ok curl-7" "$out"
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited tool=api exe=curl host=localhost \
    "target=127.0.0.1:$HTTP_PORT"
