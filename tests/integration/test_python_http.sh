#!/usr/bin/env bash
# One python3 process uses http.client, urllib.request and
# asyncio.open_connection, twice each in turn, against a tool with burst 3:
# the first round succeeds, the second is refused (PermissionError, or
# URLError wrapping it), 3 records.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 3
INI

cat >"$T/agent.py" <<'PY'
import asyncio, http.client, sys, urllib.error, urllib.request
port = int(sys.argv[1])

def with_http_client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"hello\n", r.status
    finally:
        c.close()

def with_urllib():
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/", timeout=20) as r:
            assert r.status == 200 and r.read() == b"hello\n", r.status
    except urllib.error.URLError as e:
        if isinstance(e.reason, PermissionError):
            raise e.reason
        raise

async def asyncio_get():
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 20)
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 20)
        assert data.startswith(b"HTTP/1.0 200"), data[:40]
    finally:
        writer.close()

def with_asyncio():
    asyncio.run(asyncio_get())

for round_ in (1, 2):
    for name, fn in (("http.client", with_http_client), ("urllib", with_urllib),
                     ("asyncio", with_asyncio)):
        try:
            fn()
            print(name, "ok")
        except PermissionError as e:
            print(name, "PermissionError", e.errno == 1)
PY

out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT")
printf '%s\n' "$out"
expected="http.client ok
urllib ok
asyncio ok
http.client PermissionError True
urllib PermissionError True
asyncio PermissionError True"
check_eq "outcome of each call" "$expected" "$out"

audit_check "$T/audit.jsonl" 3 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT"
check_eq "all from the one python process" 1 \
    "$(audit_eval "$T/audit.jsonl" 'len({r["pid"] for r in recs})')"
