#!/usr/bin/env bash
# retry.* and timeout_seconds on a connect tool: a blocking connect to a
# closed port is tried retry.max_attempts times with the backoff between,
# each attempt through the gate (a rate limit can cut the retries short);
# a connect that hangs gives up after timeout_seconds with ETIMEDOUT; a
# non-blocking connect is never retried nor held.
. "$(dirname "$0")/lib.sh"

closed=$(free_port 127.0.0.1)
cat >"$T/try.py" <<'PY'
import errno, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
if mode == "nonblocking":
    s.setblocking(False)
start = time.monotonic()
try:
    s.connect(("127.0.0.1", port))
    result = "connected"
except OSError as e:
    result = errno.errorcode.get(e.errno, str(e.errno))
print(result, f"{time.monotonic() - start:.2f}")
PY

# 1. Three attempts, 0.1 s then 0.2 s apart (no jitter): refused in the end.
cat >"$T/retry.ini" <<INI
[enact]
state = retry.state
audit_log = retry.jsonl
[tool.down]
connect = 127.0.0.1:$closed
retry.max_attempts = 3
retry.initial_delay = 0.1
retry.exponential_base = 2
retry.jitter = false
breaker.failure_threshold = 10
INI
out=$("$ENACT" run -c "$T/retry.ini" -- "$PY" "$T/try.py" "$closed" blocking)
check_eq "blocking connect to a closed port" ECONNREFUSED "${out% *}"
"$PY" - "$T/retry.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 2, recs
for r in recs:
    assert (r["verdict"], r["errno"], r["tool"], r["op"]) == ("retry", "ECONNREFUSED", "down",
                                                             "connect"), r
assert [r["retry_after_ms"] for r in recs] == [100, 200], recs
assert recs[0]["detail"].startswith("attempt 1 of 3"), recs[0]
PY

# 2. Each retry passes the gate: burst 2 allows the first attempt and one
# retry; the third attempt is refused by enact (EPERM, rate_limited).
sed -e 's/retry.state/rate.state/; s/retry.jsonl/rate.jsonl/' \
    -e 's/^breaker.failure_threshold = 10$/rate.max_calls_per_minute = 1\nrate.burst_size = 2/' \
    "$T/retry.ini" >"$T/rate.ini"
out=$("$ENACT" run -c "$T/rate.ini" -- "$PY" "$T/try.py" "$closed" blocking)
check_eq "retries through the gate" EPERM "${out% *}"
check_eq "records" 3 "$(wc -l <"$T/rate.jsonl")"
grep -c '"verdict":"retry"' "$T/rate.jsonl" | grep -qx 2 || fail "expected 2 retry records"
grep -q '"verdict":"deny","reason":"rate_limited"' "$T/rate.jsonl" || fail "no rate_limited refusal"

# 3. Non-blocking: one attempt only, no retry records.
sed -e 's/retry.state/nb.state/; s/retry.jsonl/nb.jsonl/' "$T/retry.ini" >"$T/nb.ini"
out=$("$ENACT" run -c "$T/nb.ini" -- "$PY" "$T/try.py" "$closed" nonblocking)
case ${out% *} in
ECONNREFUSED | EINPROGRESS) ;;
*) fail "non-blocking connect: $out" ;;
esac
[ ! -s "$T/nb.jsonl" ] || fail "a non-blocking connect was retried: $(cat "$T/nb.jsonl")"

# 4. A connect that hangs (the listener's accept queue is full): gives up
# after timeout_seconds with ETIMEDOUT, recorded, counted by the breaker.
cat >"$T/hang.py" <<'PY'
import socket, sys, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]
held = []
for _ in range(8):  # fill the accept queue until a connect would hang
    c = socket.socket()
    c.settimeout(0.3)
    try:
        c.connect(("127.0.0.1", port))
        held.append(c)
    except OSError:
        break
open(sys.argv[1], "w").write(str(port))
time.sleep(30)
PY
spawn_bg "$T/hang.log" "$PY" "$T/hang.py" "$T/hang.port"
for _ in $(seq 200); do [ -s "$T/hang.port" ] && break; sleep 0.05; done
[ -s "$T/hang.port" ] || fail "the hanging listener did not start"
hang=$(cat "$T/hang.port")
cat >"$T/timeout.ini" <<INI
[enact]
state = timeout.state
audit_log = timeout.jsonl
[tool.slow]
connect = 127.0.0.1:$hang
timeout_seconds = 0.5
breaker.failure_threshold = 1
INI
out=$("$ENACT" run -c "$T/timeout.ini" -- "$PY" "$T/try.py" "$hang" blocking)
check_eq "a hanging connect" ETIMEDOUT "${out% *}"
"$PY" -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 0.4 <= t < 5 else 1)" "${out##* }" ||
    fail "the connect gave up after ${out##* }s, not after about 0.5 s"
grep -q '"verdict":"timeout","errno":"ETIMEDOUT"' "$T/timeout.jsonl" ||
    fail "no timeout record: $(cat "$T/timeout.jsonl")"
grep -q '"verdict":"breaker","from":"CLOSED","to":"OPEN"' "$T/timeout.jsonl" ||
    fail "the timeout did not count as a failure for the breaker"
