#!/usr/bin/env bash
# The default action counts requests, not connections: a client that keeps
# its connection alive gets no more calls through than one that does not.
# A keep-alive HTTP/1.1 server (start_api_http: it logs each connection and
# each request), tool api with burst 4 and no `action` key.
# - bare (no shim), first: python requests with one Session and node axios
#   with an http.Agent({keepAlive: true}) each make their 12 GETs over one
#   TCP connection, so keep-alive is really in use.
# - governed, a fresh state for each client: requests 1-4 are answered,
#   5-12 are refused (requests raises ConnectionError; axios rejects), the
#   server sees exactly GET /r1 .. /r4, and the audit log holds 8 deny
#   records, reason rate_limited.
# The rate (4 a minute) gives a token back every 15 s: each client's 12
# calls take well under that.
# timeout: 180
. "$(dirname "$0")/lib.sh"

need_debpy requests
need_node_modules
start_api_http

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 4
rate.burst_size = 4
INI

cat >"$T/session.py" <<'PY'
import sys, requests
port = int(sys.argv[1])
s = requests.Session()
s.trust_env = False  # no proxy, no .netrc: straight to the server
for i in range(1, 13):
    try:
        r = s.get(f"http://127.0.0.1:{port}/r{i}", timeout=10)
        print(i, r.status_code, r.text.strip(), flush=True)
    except requests.exceptions.ConnectionError as e:
        print(i, "ConnectionError", file=sys.stdout, flush=True)
        print(i, e, file=sys.stderr, flush=True)
    except Exception as e:
        print(i, type(e).__name__, " ".join(str(e).split()), flush=True)
s.close()
PY

cat >"$T/agent.js" <<'JS'
const http = require('http');
const { createRequire } = require('module');
const path = require('path');
const [port, deps] = [Number(process.argv[2]), process.argv[3]];
// axios as installed in tests/integration/node (its CommonJS build).
const axios = createRequire(path.join(deps, 'package.json'))('axios');
const agent = new http.Agent({ keepAlive: true });
const client = axios.create({ httpAgent: agent, proxy: false, timeout: 10000 });
(async () => {
  for (let i = 1; i <= 12; i++) {
    try {
      const r = await client.get(`http://127.0.0.1:${port}/r${i}`, { responseType: 'text' });
      console.log(`${i} ${r.status} ${String(r.data).trim()}`);
    } catch (e) {
      console.log(`${i} error ${e.code || e.name}`);
    }
  }
  agent.destroy();
})().catch((e) => { console.log(String(e)); process.exit(3); });
JS

EXPECTED_BARE_LOG="connection$(printf '\nGET /r%d' $(seq 12))"
EXPECTED_GOVERNED_LOG="$(printf 'GET /r%d\n' 1 2 3 4)"

# run_client NAME CMD...: runs CMD
# into $T/NAME.out (stderr $T/NAME.err), bounded; its exit status in RC.
run_client() {
    local name=$1
    shift
    set +e
    timeout 90 "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    set -e
}

# client_cmd python|node: the client's command line into CMD.
client_cmd() {
    case $1 in
    python) CMD=("$DEBPY" "$T/session.py" "$API_PORT") ;;
    node) CMD=(node "$T/agent.js" "$API_PORT" "$NODE_DEPS") ;;
    esac
}

# ---- bare: 12 requests, one connection ---------------------------------------

for client in python node; do
    : >"$T/api.log"
    client_cmd "$client"
    run_client "$client-bare" "${CMD[@]}"
    [ "$RC" -eq 0 ] || { cat "$T/$client-bare.err" >&2; fail "bare $client: exit status $RC"; }
    check_eq "bare $client: answers" "$(for i in $(seq 12); do echo "$i 200 ok /r$i"; done)" \
        "$(cat "$T/$client-bare.out")"
    check_eq "bare $client: the server saw 12 requests over one connection (keep-alive)" \
        "$EXPECTED_BARE_LOG" "$(cat "$T/api.log")"
done

# ---- governed: 4 requests reach the server ----------------------------------

for client in python node; do
    : >"$T/api.log"
    rm -f "$T/audit.jsonl" "$T"/t.state*
    client_cmd "$client"
    run_client "$client" "$ENACT" run -c "$T/enact.ini" -- "${CMD[@]}"
    out=$(cat "$T/$client.out")
    printf '%s under the shim (exit %s):\n%s\n' "$client" "$RC" "$out"
    [ "$RC" -eq 0 ] || problem "$client: exit status $RC: $(tail -3 "$T/$client.err")"
    answered=$(grep -E '^[0-9]+ 200 ok /r[0-9]+$' <<<"$out" | cut -d' ' -f1 | tr '\n' ' ' || true)
    [ "$answered" == "1 2 3 4 " ] ||
        problem "$client: the requests answered are '$answered', expected '1 2 3 4 '"
    if [ "$client" = python ]; then
        refused=$(grep -cE '^([5-9]|1[0-2]) ConnectionError$' <<<"$out" || true)
        [ "$refused" -eq 8 ] ||
            problem "python: $refused of requests 5-12 raised ConnectionError, expected 8"
    else
        refused=$(grep -cE '^([5-9]|1[0-2]) error ' <<<"$out" || true)
        [ "$refused" -eq 8 ] || problem "node: $refused of requests 5-12 were rejected, expected 8"
    fi
    requests_seen=$(grep -c '^GET ' "$T/api.log" || true)
    [ "$(grep '^GET ' "$T/api.log" || true)" == "$EXPECTED_GOVERNED_LOG" ] ||
        problem "$client: the server received $requests_seen request(s) ($(grep '^GET ' "$T/api.log" | tr '\n' ' ')), expected exactly 4 (GET /r1 .. /r4)"
    audit_check "$T/audit.jsonl" 8 verdict=deny reason=rate_limited tool=api \
        "target=127.0.0.1:$API_PORT" 2>"$T/audit_check.err" ||
        problem "$client: audit log: $(head -1 "$T/audit_check.err") (verdicts/reasons: $(audit_eval "$T/audit.jsonl" '[(r["verdict"], r.get("reason")) for r in recs]' 2>&1))"
done

fail_on_problems
