#!/usr/bin/env bash
# node: net.connect to the local server 4 times in sequence, burst 2 →
# exactly 2 'connect' events and 2 'error' events with err.code 'EPERM'.
. "$(dirname "$0")/lib.sh"

command -v node >/dev/null || fail "node is not installed (make deps installs nodejs)"
start_http 127.0.0.1
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI

cat >"$T/agent.js" <<'JS'
const net = require('net');
const port = Number(process.argv[2]);
let connects = 0, errors = [];
function attempt(i) {
  if (i > 4) {
    console.log(`connect=${connects} error=${errors.length} codes=${errors.join(',')}`);
    return;
  }
  const s = net.connect({host: '127.0.0.1', port});
  let done = false;
  const next = () => { if (!done) { done = true; s.destroy(); attempt(i + 1); } };
  s.setTimeout(20000, () => { console.log(`attempt ${i} timed out`); process.exit(3); });
  s.on('connect', () => { connects++; next(); });
  s.on('error', (err) => { errors.push(err.code); next(); });
}
attempt(1);
JS

out=$("$ENACT" run -c "$T/enact.ini" -- node "$T/agent.js" "$HTTP_PORT")
check_eq "node's events" "connect=2 error=2 codes=EPERM,EPERM" "$out"
audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited tool=api op=connect \
    errno=EPERM "target=127.0.0.1:$HTTP_PORT" exe=node agent=node
