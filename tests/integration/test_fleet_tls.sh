#!/usr/bin/env bash
# timeout: 120
# A rediss:// backend: redis-server on a TLS-only port with a certificate
# for 127.0.0.1 made here by openssl, trusted through backend.tls_ca_file.
# Limits hold over TLS; OpenSSL is mapped into a governed process only when
# its config names a rediss:// backend; a certificate the CA does not vouch
# for is an enact check --backend error naming the line of
# backend.tls_ca_file; a program started from a vfork child (python's
# subprocess), which cannot run OpenSSL on its parent's stack, is decided as
# backend.on_down says (local: this host's state file).
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl is required (make deps installs it)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj /CN=enact-test -addext "subjectAltName=IP:127.0.0.1" 2>"$T/openssl.log" ||
    fail "openssl could not make a certificate: $(cat "$T/openssl.log")"
TLS_PORT=$(free_port)
spawn_bg "$T/redis.log" redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 \
    --tls-cert-file "$T/cert.pem" --tls-key-file "$T/key.pem" --tls-ca-cert-file "$T/cert.pem" \
    --tls-auth-clients no --save '' --appendonly no --dir "$T"
wait_accepting "$BG_PID" 127.0.0.1 "$TLS_PORT" || fail "redis-server did not start its TLS port"
start_redis # a plain one, to compare with

start_counting_listeners "$T/accepted.log" api
cat >"$T/tls.ini" <<INI
[enact]
agent = tls-agent
state = tls.state
audit_log = $T/tls.jsonl
backend = rediss://127.0.0.1:$TLS_PORT
backend.tls_ca_file = $T/cert.pem
[tool.api]
connect = 127.0.0.1:$LISTENER_PORTS
rate.max_calls_per_minute = 0.01
rate.burst_size = 3
[tool.touch]
exec = touch
rate.max_calls_per_minute = 0.01
rate.burst_size = 2
INI
sed -e "s|^backend = .*|backend = redis://127.0.0.1:$REDIS_PORT|" -e '/tls_ca_file/d' \
    -e "s|tls.jsonl|plain.jsonl|; s|tls.state|plain.state|" "$T/tls.ini" >"$T/plain.ini"

out=$("$ENACT" check --backend "$T/tls.ini")
echo "$out" | grep -q "limits:    on Redis at 127.0.0.1:$TLS_PORT (TLS)" || fail "check: $out"
echo "$out" | grep -q "answered: Redis" || fail "check --backend over TLS: $out"

cat >"$T/agent.py" <<'PY'
# 5 connects, then whether OpenSSL is in this process
import socket, sys
port = int(sys.argv[1])
ok = no = 0
for _ in range(5):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        ok += 1
    except PermissionError:
        no += 1
    s.close()
ssl = any("libssl.so" in line for line in open("/proc/self/maps"))
print(ok, no, "libssl" if ssl else "no-libssl")
PY
check_eq "over TLS: ok refused, OpenSSL loaded" "3 2 libssl" \
    "$("$ENACT" run -c "$T/tls.ini" -- "$PY" "$T/agent.py" "$LISTENER_PORTS")"
check_eq "a second process: the bucket is on the TLS server" "0 5 libssl" \
    "$("$ENACT" run -c "$T/tls.ini" -- "$PY" "$T/agent.py" "$LISTENER_PORTS")"
check_eq "plain Redis: ok refused, OpenSSL never loaded" "3 2 no-libssl" \
    "$("$ENACT" run -c "$T/plain.ini" -- "$PY" "$T/agent.py" "$LISTENER_PORTS")"
audit_check "$T/tls.jsonl" 7 verdict=deny reason=rate_limited tool=api

# vfork children over TLS: decided by on_down = local (this host's state).
mkdir "$T/out"
cat >"$T/spawner.py" <<'PY'
import shutil, subprocess
touch = shutil.which("touch")
ok = no = 0
for i in range(4):
    try:
        subprocess.run([touch, f"out/f{i}"], check=True)
        ok += 1
    except PermissionError:
        no += 1
print(ok, no)
PY
check_eq "subprocess over TLS (vfork: the host's bucket of 2)" "2 2" \
    "$(cd "$T" && "$ENACT" run -c "$T/tls.ini" -- "$PY" spawner.py)"

# A CA that does not vouch for the server.
sed "s|^backend.tls_ca_file = .*|backend.tls_ca_file = /etc/ssl/certs/ca-certificates.crt|" \
    "$T/tls.ini" >"$T/wrong-ca.ini"
set +e
err=$("$ENACT" check --backend "$T/wrong-ca.ini" 2>&1 >/dev/null)
rc=$?
set -e
check_eq "check --backend with the wrong CA: exit status" 1 "$rc"
check_eq "check --backend with the wrong CA" \
    "$T/wrong-ca.ini:6: backend 127.0.0.1:$TLS_PORT: the server's certificate is not trusted: self-signed certificate" \
    "$err"
