#!/usr/bin/env bash
# action = request: on a keep-alive connection each
# send that follows a receive begins a new request, and each request passes
# the gate. python3 http.client sends 5 requests on one connection to a
# tool with burst 3: requests 1-3 are answered (the connect counted as the
# first), the 4th fails with PermissionError (EPERM) before anything is
# sent, and the server saw one connection and 3 requests. One deny record,
# op send. The same client with action = connection (the default) and
# burst 1 makes all 5 requests: one connection is one call.
# Over TLS (an https server with a self-signed certificate), the handshake's
# own back-and-forth is not counted: again exactly 3 requests pass.
. "$(dirname "$0")/lib.sh"

start_api_http
write_config() { # ACTION BURST PORT
    cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$3
action = $1
rate.max_calls_per_minute = 1
rate.burst_size = $2
INI
}

cat >"$T/keepalive.py" <<'PY'
import http.client, ssl, sys
port, tls = int(sys.argv[1]), sys.argv[2] == "tls"
if tls:
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    c = http.client.HTTPSConnection("localhost", port, timeout=10, context=ctx)
else:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for i in range(1, 6):
    try:
        c.request("GET", f"/r{i}")
        r = c.getresponse()
        print(i, r.status, r.read().decode().strip())
    except PermissionError as e:
        print(i, "PermissionError", e.errno)
        break
    except ssl.SSLEOFError:
        # Python 3.11's ssl module (SSL_write_ex) reports any failed send of
        # its socket as SSLEOFError, whatever the errno; the audit record
        # says EPERM.
        print(i, "SSLEOFError")
        break
PY

write_config request 3 "$API_PORT"
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/keepalive.py" "$API_PORT" plain)
check_eq "per request" "1 200 ok /r1
2 200 ok /r2
3 200 ok /r3
4 PermissionError 1" "$out"
check_eq "the server saw one connection and 3 requests" "connection
GET /r1
GET /r2
GET /r3" "$(cat "$T/api.log")"
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited op=send tool=api errno=EPERM \
    "target=127.0.0.1:$API_PORT"

# A refused request sent nothing, so the client's next send is a request
# again, and refused again: it cannot slip through by retrying.
rm -f "$T/audit.jsonl" "$T"/t.state*
: >"$T/api.log"
write_config request 2 "$API_PORT"
cat >"$T/raw.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
for i in range(1, 5):
    try:
        s.sendall(f"GET /raw{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    except PermissionError:
        print(i, "EPERM")
        continue
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(4096)
    head, body = answer.split(b"\r\n\r\n", 1)
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
    while len(body) < length:
        body += s.recv(4096)
    print(i, head.split(b"\r\n")[0].decode())
PY
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/raw.py" "$API_PORT")
check_eq "retrying a refused request" "1 HTTP/1.1 200 OK
2 HTTP/1.1 200 OK
3 EPERM
4 EPERM" "$out"
check_eq "the server saw 2 requests" 2 "$(grep -c '^GET /raw' "$T/api.log")"
audit_check "$T/audit.jsonl" 2 verdict=deny reason=rate_limited op=send

rm -f "$T/audit.jsonl" "$T"/t.state*
: >"$T/api.log"
write_config connection 1 "$API_PORT"
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/keepalive.py" "$API_PORT" plain)
check_eq "per connection: all 5 pass" 5 "$(grep -c ' 200 ok ' <<<"$out")"
check_eq "per connection: one connection" 1 "$(grep -c '^connection$' "$T/api.log")"
audit_check "$T/audit.jsonl" 0

# TLS: a keep-alive https server (python's ssl module) on a fresh port.
command -v openssl >/dev/null || fail "openssl is required for the TLS part"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" 2>/dev/null ||
    fail "openssl could not make a test certificate"
cat >"$T/tls_server.py" <<'PY'
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(sys.argv[4], "a") as f:
            f.write(f"GET {self.path}\n")
        body = f"ok {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
TLS_PORT=$(free_port)
spawn_bg "$T/tls.log" "$PY" "$T/tls_server.py" "$TLS_PORT" "$T/cert.pem" "$T/key.pem" "$T/tls_requests.log"
wait_accepting "$BG_PID" 127.0.0.1 "$TLS_PORT" || { cat "$T/tls.log" >&2; fail "the TLS server did not start"; }
rm -f "$T/audit.jsonl" "$T"/t.state*
write_config request 3 "$TLS_PORT"
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/keepalive.py" "$TLS_PORT" tls "$T/cert.pem")
check_eq "TLS, per request" "1 200 ok /r1
2 200 ok /r2
3 200 ok /r3
4 SSLEOFError" "$out"
check_eq "the TLS server saw 3 requests" 3 "$(grep -c '^GET ' "$T/tls_requests.log")"
audit_check "$T/audit.jsonl" 1 verdict=deny reason=rate_limited op=send tool=api errno=EPERM
