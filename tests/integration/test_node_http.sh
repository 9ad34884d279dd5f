#!/usr/bin/env bash
# node's own HTTP clients: one node process makes 6
# http.get calls in sequence to one local server (tool get_api, burst 3), then
# 6 global fetch() calls (undici) in sequence to another (tool fetch_api,
# burst 3). For each client: exactly calls 1-3 answer 200 "hello", and calls
# 4-6 fail with EPERM (http.get: 'error' with err.code 'EPERM', syscall
# 'connect'; fetch: rejects with TypeError whose cause.code is 'EPERM').
# Each server sees exactly 3 requests. The audit log holds exactly 6 records:
# deny/rate_limited/EPERM/op connect, 3 per tool, each with its own target.
#
# One connect() per call, so that the counts are exact: node 20's default
# http.globalAgent and undici's global dispatcher both keep connections alive
# and reuse them per origin. Against a keep-alive server (HTTP/1.1), without
# the measures below, 6 http.get calls made 1 connect() and 6 fetch calls
# made 2 (strace -f -e trace=connect), so the limit would hardly be reached.
# http.get therefore uses `agent: false` (a fresh agent per call, which sends
# "Connection: close"), and fetch sends "Connection: close" itself (undici
# then closes the socket after the response). python's http.server speaks
# HTTP/1.0 and closes anyway; the measures keep the test exact regardless.
. "$(dirname "$0")/lib.sh"

command -v node >/dev/null || fail "node is not installed (make deps installs nodejs)"
command -v timeout >/dev/null || fail "'timeout' (coreutils) is required"

# Two servers, one per client and tool. start_http logs to $T/http-N.log;
# the first server's logs are renamed (it keeps writing to the same file) so
# that the second server's do not overwrite them.
start_http 127.0.0.1
GET_PORT=$HTTP_PORT
for f in "$T"/http-*.log; do mv "$f" "$T/get-${f##*/}"; done
start_http 127.0.0.1
FETCH_PORT=$HTTP_PORT
[ "$GET_PORT" != "$FETCH_PORT" ] || fail "both servers got port $GET_PORT"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.get_api]
connect = 127.0.0.1:$GET_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 3
[tool.fetch_api]
connect = 127.0.0.1:$FETCH_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 3
INI

cat >"$T/agent.js" <<'JS'
const http = require('http');
const [getPort, fetchPort] = process.argv.slice(2).map(Number);

// Every call is bounded: a hang is reported and fails the test.
function bounded(label, promise) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out`)), 20000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// agent: false: a fresh agent, hence a fresh connection, for every call.
function viaHttpGet() {
  return new Promise((resolve) => {
    const req = http.get(`http://127.0.0.1:${getPort}/`, { agent: false, timeout: 20000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(`${res.statusCode} ${JSON.stringify(body)}`));
      res.on('error', (err) => resolve(`response error ${err.code}`));
    });
    req.on('timeout', () => req.destroy(new Error('socket timeout')));
    req.on('error', (err) => resolve(`error ${err.code} ${err.syscall}`));
  });
}

// Connection: close: undici does not keep the socket for the next call.
async function viaFetch() {
  try {
    const res = await fetch(`http://127.0.0.1:${fetchPort}/`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(20000),
    });
    return `${res.status} ${JSON.stringify(await res.text())}`;
  } catch (e) {
    const c = e.cause || {};
    return `error ${e.name} ${c.code} ${c.syscall}`;
  }
}

(async () => {
  for (const [name, fn] of [['http.get', viaHttpGet], ['fetch', viaFetch]]) {
    for (let i = 1; i <= 6; i++) {
      console.log(`${name} ${i} ${await bounded(`${name} ${i}`, fn())}`);
    }
  }
})().catch((e) => { console.log(String(e)); process.exit(3); });
JS

set +e
out=$(timeout 90 "$ENACT" run -c "$T/enact.ini" -- node "$T/agent.js" "$GET_PORT" "$FETCH_PORT" \
    2>"$T/node.err")
rc=$?
set -e
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || { cat "$T/node.err" >&2; fail "node exited with status $rc"; }
expected='http.get 1 200 "hello\n"
http.get 2 200 "hello\n"
http.get 3 200 "hello\n"
http.get 4 error EPERM connect
http.get 5 error EPERM connect
http.get 6 error EPERM connect
fetch 1 200 "hello\n"
fetch 2 200 "hello\n"
fetch 3 200 "hello\n"
fetch 4 error TypeError EPERM connect
fetch 5 error TypeError EPERM connect
fetch 6 error TypeError EPERM connect'
check_eq "outcome of each call" "$expected" "$out"

# The admitted calls, and only they, reached the servers.
check_eq "requests the http.get server answered" 3 \
    "$(cat "$T"/get-http-*.log | grep -c '"GET / HTTP/1.1" 200')"
check_eq "requests the fetch server answered" 3 \
    "$(cat "$T"/http-*.log | grep -c '"GET / HTTP/1.1" 200')"

audit_check "$T/audit.jsonl" 6 verdict=deny reason=rate_limited op=connect errno=EPERM \
    exe=node agent=node
check_eq "records per tool and target" \
    "[('fetch_api', '127.0.0.1:$FETCH_PORT', 3), ('get_api', '127.0.0.1:$GET_PORT', 3)]" \
    "$(audit_eval "$T/audit.jsonl" \
        'sorted((t, g, sum(1 for r in recs if (r["tool"], r["target"]) == (t, g))) for t, g in {(r["tool"], r["target"]) for r in recs})')"
check_eq "records in call order (http.get first)" "['get_api', 'get_api', 'get_api', 'fetch_api', 'fetch_api', 'fetch_api']" \
    "$(audit_eval "$T/audit.jsonl" '[r["tool"] for r in recs]')"
check_eq "all from the one node process" 1 \
    "$(audit_eval "$T/audit.jsonl" 'len({r["pid"] for r in recs})')"
