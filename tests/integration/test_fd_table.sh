#!/usr/bin/env bash
# The shim's descriptor -> connection table follows dup, dup2 and close.
# Tool sim is a dry run (dry_run = true, dry_run.response = HELLO\r\n) on
# the port of a live loopback server that logs every connection it accepts
# with the bytes it got: python3 connects twice, and the server gets no
# connection at all (checked between two ungoverned marker connections).
# - connection 1: sendall(b"GET /one\r\n"); os.read on an os.dup() of the
#   socket's descriptor gets b"HELLO\r\n", then nothing more (the
#   simulated server answers each request once); the original
#   and the dup are closed, and an os.pipe() made next reuses the
#   descriptor numbers: bytes written to it are read back unchanged, not
#   replaced by the dry-run response.
# - connection 2: sendall(b"GET /two\r\n"); os.dup2 onto descriptor 100:
#   os.read(100) gets b"HELLO\r\n"; the original and 100 are closed, and a
#   socket.socketpair() reuses the original's number: recv on it gets what
#   its peer sent, and descriptor 100, dup2'd from a fresh pipe, reads the
#   pipe's bytes. A fcntl(F_DUPFD_CLOEXEC) copy made before the read
#   shares the connection: after the response was read on 100, it finds
#   nothing more.
# - connection 3: sendall(b"GET /three\r\n"), closed by os.closerange
#   (close_range): its record is written by that close (nothing was read,
#   so not before), and a pipe reusing the number reads its own bytes.
# - connection 4: sendall(b"GET /four\r\n"), closed behind the shim's back
#   (libc's fclose of an fdopen'd stream closes inside libc, past any
#   hook): a socketpair made next reuses the number, and what is sent on
#   it reaches its peer, not the simulation (the table checks the socket's
#   inode before it takes a descriptor for its connection); the
#   connection's record is written when that send finds it ended.
# One dry_run record per connection (4) (op connect, tool sim), would_execute
# the bytes that connection sent.
. "$(dirname "$0")/lib.sh"

cat >"$T/logserver.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    conn.settimeout(1)
    data = b""
    try:
        data = conn.recv(100)
    except OSError:
        pass
    conn.close()
    with open(sys.argv[2], "a") as f:
        f.write(repr(data) + "\n")
PY
for attempt in 1 2 3; do
    PORT=$(free_port)
    spawn_bg "$T/logserver-$attempt.log" "$PY" "$T/logserver.py" "$PORT" "$T/accepts.log"
    wait_accepting "$BG_PID" 127.0.0.1 "$PORT" && break
    kill "$BG_PID" 2>/dev/null || true
    [ "$attempt" = 3 ] && { cat "$T"/logserver-*.log >&2; fail "the logging server did not start"; }
done

# marker WORD: an ungoverned connection that sends WORD; waits (at most
# 10 s) until the server has logged it.
marker() {
    "$PY" - "$PORT" "$1" "$T/accepts.log" <<'PY'
import socket, sys, time
port, word, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    s.sendall(word.encode())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if repr(word.encode()) in open(log).read().split("\n"):
                sys.exit(0)
        except FileNotFoundError:
            pass
        time.sleep(0.05)
sys.exit(1)
PY
}
marker start || fail "the start marker never reached the server"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.sim]
connect = 127.0.0.1:$PORT
dry_run = true
dry_run.response = HELLO\r\n
INI

cat >"$T/client.py" <<'PY'
import fcntl, os, select, socket, sys

def more(fd):
    """What a read would find now: the simulated server answered once."""
    return "nothing more" if not select.select([fd], [], [], 0.3)[0] else os.read(fd, 100)
addr = ("127.0.0.1", int(sys.argv[1]))

# ---- connection 1: dup ----
s = socket.socket()
s.settimeout(5)
s.connect(addr)
print("1 connected")
s.sendall(b"GET /one\r\n")
orig = s.fileno()
d = os.dup(orig)
print("1 dup read", os.read(d, 100), more(d))
s.close()
os.close(d)
r, w = os.pipe()
print("1 pipe reuses both numbers", sorted((r, w)) == sorted((orig, d)))
os.write(w, b"pipe bytes")
print("1 pipe read", os.read(r, 100))
os.close(r)
os.close(w)

# ---- connection 2: dup2 ----
s = socket.socket()
s.settimeout(5)
s.connect(addr)
print("2 connected")
s.sendall(b"GET /two\r\n")
orig = s.fileno()
print("2 dup2", os.dup2(orig, 100))
f = fcntl.fcntl(orig, fcntl.F_DUPFD_CLOEXEC, 200)
print("2 fcntl F_DUPFD_CLOEXEC", f >= 200)
print("2 dup2 read", os.read(100, 100))
print("2 fcntl dup read after", more(f))
s.close()
os.close(100)
os.close(f)
a, b = socket.socketpair()
a.settimeout(5)
print("2 socketpair reuses the number", orig in (a.fileno(), b.fileno()))
x, y = (a, b) if a.fileno() == orig else (b, a)
y.sendall(b"pair bytes")
print("2 socketpair recv", x.recv(100))
r, w = os.pipe()
os.dup2(r, 100)
os.write(w, b"more pipe bytes")
print("2 fd 100 read", os.read(100, 100))
for fd in (r, w, 100):
    os.close(fd)
a.close()
b.close()

# ---- connection 3: closed by os.closerange (close_range) ----
s = socket.socket()
s.settimeout(5)
s.connect(addr)
print("3 connected")
s.sendall(b"GET /three\r\n")
orig = s.fileno()
s.detach()
print("3 records before close", sum(1 for _ in open(sys.argv[2])))
os.closerange(orig, orig + 1)
print("3 records after close", sum(1 for _ in open(sys.argv[2])))
r, w = os.pipe()
print("3 pipe reuses the number", orig in (r, w))
os.write(w, b"last pipe bytes")
print("3 pipe read", os.read(r, 100))
os.close(r)
os.close(w)

# ---- connection 4: closed inside libc, where no hook sees it ----
import ctypes
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
libc.fclose.argtypes = [ctypes.c_void_p]
s = socket.socket()
s.settimeout(5)
s.connect(addr)
print("4 connected")
s.sendall(b"GET /four\r\n")
orig = s.detach()
print("4 fclose", libc.fclose(libc.fdopen(orig, b"r+")))
a, b = socket.socketpair()
print("4 socketpair reuses the number", orig in (a.fileno(), b.fileno()))
x, y = (a, b) if a.fileno() == orig else (b, a)
x.sendall(b"fourth pair bytes")
print("4 socketpair recv", y.recv(100) if select.select([y], [], [], 2)[0] else "nothing")
PY

out=$(timeout 30 "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/client.py" "$PORT" "$T/audit.jsonl")
expected="1 connected
1 dup read b'HELLO\r\n' nothing more
1 pipe reuses both numbers True
1 pipe read b'pipe bytes'
2 connected
2 dup2 100
2 fcntl F_DUPFD_CLOEXEC True
2 dup2 read b'HELLO\r\n'
2 fcntl dup read after nothing more
2 socketpair reuses the number True
2 socketpair recv b'pair bytes'
2 fd 100 read b'more pipe bytes'
3 connected
3 records before close 2
3 records after close 3
3 pipe reuses the number True
3 pipe read b'last pipe bytes'
4 connected
4 fclose 0
4 socketpair reuses the number True
4 socketpair recv b'fourth pair bytes'"
check_eq "client output" "$expected" "$out"

marker end || fail "the end marker never reached the server"
check_eq "the server got no connection between the two markers" "b'start'
b'end'" "$(sed -n "/^b'start'\$/,\$p" "$T/accepts.log")"

audit_check "$T/audit.jsonl" 4 verdict=dry_run op=connect tool=sim "target=127.0.0.1:$PORT"
check_eq "what each connection would have sent" "True" "$(audit_eval "$T/audit.jsonl" \
    '[r["would_execute"] for r in recs] == ["GET /one\r\n", "GET /two\r\n", "GET /three\r\n", "GET /four\r\n"]')"
