#!/usr/bin/env bash
# Dry run of connections: the connect succeeds
# without reaching the tool, what is sent is recorded and dropped, and reads
# get the tool's dry_run.response.
# - python3 http.client POSTs to a dry-run API on a live keep-alive server:
#   it gets the configured response, twice on one connection (the response
#   is served again for each request: a raw simulated server); the server
#   sees no connection; one record per request, would_execute starting
#   "POST /", impact MEDIUM.
# - redis-cli DEL against a real redis-server, on a dry-run tool: the key
#   survives, redis-cli prints the configured reply, impact HIGH.
# - with `action = request`, each request is a record of its own.
. "$(dirname "$0")/lib.sh"

start_api_http
start_redis
redis-cli -p "$REDIS_PORT" set precious 1 >/dev/null

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$API_PORT
dry_run = true
dry_run.response = HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nsimulated\n
[tool.redis]
connect = 127.0.0.1:$REDIS_PORT
dry_run = true
dry_run.response = :1\r\n
INI

cat >"$T/post.py" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
for path in ("/items", "/items/2"):
    c.request("POST", path, body=b'{"name": "x"}', headers={"Content-Type": "application/json"})
    r = c.getresponse()
    print(r.status, r.read().decode().strip())
c.close()
PY

out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/post.py" "$API_PORT")
check_eq "what the client got" "201 simulated
201 simulated" "$out"
check_eq "what the server saw" "" "$(cat "$T/api.log")"

# A raw server (dry_run.response) answers each request; each is a record.
audit_check "$T/audit.jsonl" 2 verdict=dry_run tool=api impact=MEDIUM \
    "target=127.0.0.1:$API_PORT" "impact_reason=HTTP POST"
check_eq "would_execute: the request as sent" \
    'POST /items HTTP/1.1|Content-Length: 13|{"name": "x"}' \
    "$(audit_eval "$T/audit.jsonl" \
        '"|".join(l for l in recs[0]["would_execute"].split("\r\n") if l.startswith(("POST", "Content-Length", "{")))')"
check_eq "one record per request, in order" "connect POST /items HTTP/1.1|send POST /items/2 HTTP/1.1" \
    "$(audit_eval "$T/audit.jsonl" '"|".join(r["op"] + " " + r["would_execute"].split("\r\n")[0] for r in recs)')"

# redis-cli: a destructive command that is never performed.
rm -f "$T/audit.jsonl"
out=$("$ENACT" run -c "$T/enact.ini" -- redis-cli -p "$REDIS_PORT" DEL precious)
check_eq "redis-cli prints the simulated reply" 1 "$out"
check_eq "the key survives" 1 "$(redis-cli -p "$REDIS_PORT" get precious)"
audit_check "$T/audit.jsonl" 1 verdict=dry_run tool=redis op=connect impact=HIGH \
    "impact_reason=Redis DEL" "target=127.0.0.1:$REDIS_PORT"
check_eq "would_execute: the RESP command as sent (raw)" '*2\r\n$3\r\nDEL\r\n$8\r\nprecious\r\n' \
    "$(audit_eval "$T/audit.jsonl" 'recs[0]["would_execute"].encode("unicode_escape").decode()')"

# action = request: the same, one record per request on the keep-alive connection.
rm -f "$T/audit.jsonl"
sed -i 's/^dry_run = true$/dry_run = true\naction = request/' "$T/enact.ini"
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/post.py" "$API_PORT")
check_eq "per request: what the client got" "201 simulated
201 simulated" "$out"
audit_check "$T/audit.jsonl" 2 verdict=dry_run tool=api impact=MEDIUM
check_eq "one record per request, in order" "connect POST /items HTTP/1.1|send POST /items/2 HTTP/1.1" \
    "$(audit_eval "$T/audit.jsonl" '"|".join(r["op"] + " " + r["would_execute"].split("\r\n")[0] for r in recs)')"
check_eq "the server still saw nothing" "" "$(cat "$T/api.log")"
