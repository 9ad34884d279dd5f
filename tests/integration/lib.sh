# Shared helpers for the integration tests. Each test sources this file:
#   . "$(dirname "$0")/lib.sh"
# The runner (run.sh) starts every test in a fresh, empty temp dir (its cwd)
# and removes it afterwards; a test keeps everything it writes in "$T".
#
# Provides: ROOT ENACT SHIM SHIM_PRELOAD TEST_PRELOAD T PY DEBPY, fail, check_eq, note, free_port,
# wait_accepting, problem, fail_on_problems, start_counting_listeners, start_http, start_unix_http, start_api_http, start_redis,
# start_postgres, psql_bare, spawn_bg, at_exit, need_debpy, need_node_modules, curl_code,
# count_curls, audit_check, audit_eval, PROMTOOL, need_promtool.

set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${ENACT_ROOT:-$(cd "$LIB_DIR/../.." && pwd)}
# ENACT_BUILD: another build of the shim and the CLI (make asan, make ubsan).
ENACT=${ENACT_BUILD:-$ROOT/build}/enact
SHIM=${ENACT_BUILD:-$ROOT/build}/libenact_shim.so
T=$(pwd -P)
TEST_NAME=$(basename "$0" .sh)

# Hermetic: nothing of the caller's governance or proxies leaks in.
unset LD_PRELOAD ENACT_CONFIG ENACT_AGENT ENACT_MODE
# Known to the test, not to the programs it runs (test_env_scrub counts
# the ENACT_* variables they see).
unset ENACT_BUILD
# make asan: the ASan runtime preloaded into every program of the test, so
# that it comes first when the sanitized shim is loaded after it.
# SHIM_PRELOAD is what a test puts in LD_PRELOAD itself (raw use).
# TEST_PRELOAD: that runtime, empty without one (a test may leave out a
# program that cannot take it).
SHIM_PRELOAD=$SHIM
TEST_PRELOAD=${ENACT_TEST_PRELOAD:-}
if [ -n "${ENACT_TEST_PRELOAD:-}" ]; then
    export LD_PRELOAD=$ENACT_TEST_PRELOAD
    SHIM_PRELOAD="$ENACT_TEST_PRELOAD $SHIM"
    unset ENACT_TEST_PRELOAD
fi
# Nor an outer make's (make test): a make run by a test prints as make[1].
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ftp_proxy FTP_PROXY \
    no_proxy NO_PROXY

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

note() {
    echo "# $*"
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    [ "$2" == "$3" ] || fail "$1: expected '$2', got '$3'"
}

[ -x "$ENACT" ] || fail "$ENACT is missing (run make)"
[ -f "$SHIM" ] || fail "$SHIM is missing (run make)"

# The interpreter itself, not a version manager's wrapper script (pyenv's
# shims are shell scripts that would run governed programs of their own).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 is required"
[ -x "$PY" ] || fail "python3 reports an unusable sys.executable '$PY'"

# promtool: the one on PATH, else the one make deps (scripts/deps.sh)
# unpacks from Debian's prometheus package; need_promtool fails without it.
PROMTOOL=$(command -v promtool || echo "$ROOT/build/tools/usr/bin/promtool")
need_promtool() {
    [ -x "$PROMTOOL" ] ||
        fail "promtool is neither on PATH nor at $PROMTOOL (make deps, or scripts/deps.sh, puts it there)"
}

# ---- background processes ---------------------------------------------------

_BG_PIDS=()
_EXIT_CMDS=()
_lib_cleanup() {
    local p c
    for c in ${_EXIT_CMDS[@]+"${_EXIT_CMDS[@]}"}; do
        eval "$c" >/dev/null 2>&1 || true
    done
    for p in "${_BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${_BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
}
trap _lib_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# spawn_bg LOG CMD ARGS...: starts CMD in the background (killed on exit);
# its pid is in BG_PID.
spawn_bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 </dev/null &
    BG_PID=$!
    _BG_PIDS+=("$BG_PID")
}

# at_exit CMD ARGS...: runs CMD when the test ends (before the background
# processes are killed), for servers that put themselves in the background.
at_exit() {
    _EXIT_CMDS+=("$(printf '%q ' "$@")")
}

# problem MSG: records a failed check and goes on, so that one run reports
# every problem; fail_on_problems (at the end) fails with all of them.
PROBLEMS=()
problem() {
    echo "problem: $*" >&2
    PROBLEMS+=("$*")
}
fail_on_problems() {
    [ ${#PROBLEMS[@]} -eq 0 ] || fail "${#PROBLEMS[@]} problem(s):$(printf '\n  - %s' "${PROBLEMS[@]}")"
}

# start_counting_listeners LOG NAME...: one loopback listener per NAME,
# each accepted connection closed at once and logged as a line NAME in LOG;
# sets LISTENER_PORTS to their ports, space-separated, in NAME order.
start_counting_listeners() {
    local log=$1
    shift
    : >"$log"
    cat >"$T/.listeners.py" <<'PY'
import selectors, socket, sys
log, names = sys.argv[1], sys.argv[2:]
sel = selectors.DefaultSelector()
ports = []
for name in names:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, name)
    ports.append(str(s.getsockname()[1]))
print(" ".join(ports), flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()
        with open(log, "a") as f:
            f.write(key.data + "\n")
PY
    spawn_bg "$T/.listeners.out" "$PY" -u "$T/.listeners.py" "$log" "$@"
    local _
    for _ in $(seq 100); do [ -s "$T/.listeners.out" ] && break; sleep 0.05; done
    [ "$(wc -w <"$T/.listeners.out")" -eq $# ] ||
        fail "the listeners did not start: $(cat "$T/.listeners.out")"
    LISTENER_PORTS=$(cat "$T/.listeners.out")
}

# free_port [HOST]: a port nobody listens on (bind to 0, read it, close).
free_port() {
    "$PY" - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_accepting PID HOST PORT | wait_accepting PID unix:PATH
# Waits (at most 10 s) until a connect succeeds; returns 1 if PID died or
# time ran out. Runs ungoverned.
wait_accepting() {
    "$PY" - "$@" <<'EOF'
import os, socket, sys, time
pid = int(sys.argv[1])
if sys.argv[2].startswith("unix:"):
    fam, addr = socket.AF_UNIX, sys.argv[2][5:]
else:
    host, port = sys.argv[2], int(sys.argv[3])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    addr = (host, port)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    # a zombie has exited too
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                sys.exit(1)
    except OSError:
        sys.exit(1)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(addr)
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
    finally:
        s.close()
sys.exit(1)
EOF
}

# start_http [HOST]: python3's http.server on HOST (default 127.0.0.1) at a
# free port, serving $T/www (index.html says "hello"). Sets HTTP_PORT,
# HTTP_PID, HTTP_URL. Retries a few times should another process take the
# port between the probe and the bind.
start_http() {
    local host=${1:-127.0.0.1} attempt
    mkdir -p "$T/www"
    echo hello >"$T/www/index.html"
    for attempt in 1 2 3; do
        HTTP_PORT=$(free_port "$host")
        spawn_bg "$T/http-$attempt.log" "$PY" -m http.server --bind "$host" \
            --directory "$T/www" "$HTTP_PORT"
        HTTP_PID=$BG_PID
        if wait_accepting "$HTTP_PID" "$host" "$HTTP_PORT"; then
            case $host in
            *:*) HTTP_URL="http://[$host]:$HTTP_PORT/" ;;
            *) HTTP_URL="http://$host:$HTTP_PORT/" ;;
            esac
            return 0
        fi
        kill "$HTTP_PID" 2>/dev/null || true
    done
    cat "$T"/http-*.log >&2 || true
    fail "the HTTP server on $host did not start accepting connections"
}

# start_unix_http PATH: a minimal HTTP server on an AF_UNIX socket that
# answers every request with 200 "hello". Sets UNIX_PID.
start_unix_http() {
    local path=$1
    cat >"$T/unix_http.py" <<'EOF'
import os, socket, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    conn, _ = srv.accept()
    with conn:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                             b"Connection: close\r\n\r\nhello\n")
        except OSError:
            pass
EOF
    spawn_bg "$T/unix_http.log" "$PY" "$T/unix_http.py" "$path"
    UNIX_PID=$BG_PID
    wait_accepting "$UNIX_PID" "unix:$path" || {
        cat "$T/unix_http.log" >&2
        fail "the unix-socket HTTP server at $path did not start accepting connections"
    }
}

# start_api_http: an HTTP/1.1 keep-alive server on 127.0.0.1 at a free port
# that answers every GET, POST and DELETE with 200 "ok PATH\n" and appends one line
# per event to $T/api.log: "connection" when it accepts one, "METHOD PATH"
# per request. Sets API_PORT.
start_api_http() {
    cat >"$T/api_http.py" <<'EOF'
import http.server, sys, threading
log_lock = threading.Lock()
def log(line):
    with log_lock, open(sys.argv[2], "a") as f:
        f.write(line + "\n")
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        log("connection")
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        log(f"{self.command} {self.path}")
        body = f"ok {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_DELETE = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
    local attempt
    for attempt in 1 2 3; do
        API_PORT=$(free_port)
        spawn_bg "$T/api_http-$attempt.log" "$PY" "$T/api_http.py" "$API_PORT" "$T/api.log"
        if wait_accepting "$BG_PID" 127.0.0.1 "$API_PORT"; then
            sleep 0.2
            : >"$T/api.log" # forget the probe's own connection
            return 0
        fi
        kill "$BG_PID" 2>/dev/null || true
    done
    cat "$T"/api_http-*.log >&2 || true
    fail "the keep-alive HTTP server did not start accepting connections"
}

# start_redis: redis-server on 127.0.0.1 at a free port, nothing saved.
# Sets REDIS_PORT.
start_redis() {
    command -v redis-server >/dev/null || fail "redis-server is not installed (make deps installs it)"
    command -v redis-cli >/dev/null || fail "redis-cli is not installed (make deps installs it)"
    local attempt
    for attempt in 1 2 3; do
        REDIS_PORT=$(free_port)
        spawn_bg "$T/redis-$attempt.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --dir "$T"
        if wait_accepting "$BG_PID" 127.0.0.1 "$REDIS_PORT"; then
            return 0
        fi
        kill "$BG_PID" 2>/dev/null || true
    done
    cat "$T"/redis-*.log >&2 || true
    fail "redis-server did not start accepting connections"
}

# need_debpy MODULE...: sets DEBPY, Debian's own python3 (/usr/bin/python3,
# or ENACT_DEBPY), whose client libraries (python3-redis, python3-psycopg2,
# python3-requests) the Debian packages install; the python3 on PATH may
# be another interpreter without them. Fails naming what is missing.
need_debpy() {
    DEBPY=${ENACT_DEBPY:-/usr/bin/python3}
    [ -x "$DEBPY" ] || fail "$DEBPY is missing (make deps installs python3)"
    local m missing=""
    for m in "$@"; do
        "$DEBPY" -c "import $m" 2>/dev/null || missing="$missing $m"
    done
    [ -z "$missing" ] ||
        fail "$DEBPY cannot import:$missing (make deps installs python3-redis, python3-psycopg2, python3-requests)"
}

# need_node_modules: the node packages of tests/integration/node (axios),
# installed from its package-lock.json with `npm ci` when missing (make deps
# does it too). Sets NODE_DEPS to the folder holding node_modules.
need_node_modules() {
    command -v node >/dev/null || fail "node is not installed (make deps installs nodejs)"
    NODE_DEPS=$LIB_DIR/node
    [ -f "$NODE_DEPS/node_modules/axios/package.json" ] && return 0
    command -v npm >/dev/null || fail "npm is required to install $NODE_DEPS (make deps)"
    (cd "$NODE_DEPS" && timeout 300 npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1 || {
        cat "$T/npm.log" >&2
        fail "npm ci in $NODE_DEPS failed"
    }
}

# start_postgres [ssl]: a PostgreSQL cluster of its own in $T/pg, on
# 127.0.0.1 at a free port, its unix socket in $T/pg/sock, trust
# authentication, every connection and statement logged to $PG_LOG; a
# database with a table t of 3 rows. With "ssl": ssl = on with a
# self-signed certificate, so that a client's sslmode=prefer gets TLS.
# initdb and postgres refuse to run as root: as root they run as the
# user postgres (the Debian package makes it) or else nobody, who own
# $T/pg. Stopped when the test ends. Start-up is bounded (pg_ctl -w -t 30).
# Sets PG_BIN, PG_PORT, PG_DB, PG_USER (the superuser), PG_LOG, PG_DATA,
# PG_SOCK, PSQL (the real client, not Debian's pg_wrapper), PG_CONNINFO
# (host, port, dbname, user). psql_bare runs psql on it ungoverned.
start_postgres() {
    local ssl=${1:-} d runas=""
    PG_BIN=${ENACT_PG_BIN:-}
    if [ -z "$PG_BIN" ]; then
        for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
            [ -x "$d/initdb" ] && { PG_BIN=$d; break; }
        done
    fi
    if [ -z "$PG_BIN" ] && command -v initdb >/dev/null; then
        PG_BIN=$(dirname "$(command -v initdb)")
    fi
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/psql" ] ||
        fail "PostgreSQL's initdb, pg_ctl and psql are not installed (make deps installs postgresql)"
    PSQL=$PG_BIN/psql
    PG_DB=enactdb
    PG_USER=enact
    PG_DATA=$T/pg/data
    PG_SOCK=$T/pg/sock
    PG_LOG=$T/pg/server.log
    mkdir -p "$T/pg/sock"
    if [ "$(id -u)" -eq 0 ]; then
        runas=nobody
        id postgres >/dev/null 2>&1 && runas=postgres
        command -v runuser >/dev/null || fail "runuser (util-linux) is required to run PostgreSQL as $runas"
        chown -R "$runas" "$T/pg"
        # run.sh's folders ($T and the one above it) are root's, mode 0700:
        # the server's user may pass through them to $T/pg. Nothing else is
        # opened up.
        for d in "$T" "$(dirname "$T")"; do
            runuser -u "$runas" -- test -w "$T/pg" 2>/dev/null && break
            chmod o+x "$d"
        done
        runuser -u "$runas" -- test -w "$T/pg" 2>/dev/null ||
            fail "user $runas cannot reach $T/pg (a folder above it is closed to it: set TMPDIR)"
    fi
    _PG_RUNAS=$runas
    _as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$T/pg-initdb.log" 2>&1 || {
        cat "$T/pg-initdb.log" >&2
        fail "initdb failed"
    }
    cat >"$T/pg-hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
    _as_pg cp "$T/pg-hba.conf" "$PG_DATA/pg_hba.conf"
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$PG_SOCK'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "max_connections = 20"
        echo "log_connections = on"
        echo "log_statement = 'all'"
        if [ "$ssl" = ssl ]; then
            echo "ssl = on"
            echo "ssl_cert_file = 'server.crt'"
            echo "ssl_key_file = 'server.key'"
        fi
    } >"$T/pg-extra.conf"
    _as_pg sh -c 'cat "$1" >>"$2/postgresql.conf"' sh "$T/pg-extra.conf" "$PG_DATA"
    if [ "$ssl" = ssl ]; then
        command -v openssl >/dev/null || fail "openssl is required for start_postgres ssl"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/pg-server.key" -out "$T/pg-server.crt" \
            -days 1 -subj "/CN=localhost" 2>/dev/null || fail "openssl could not make a certificate"
        cp "$T/pg-server.key" "$PG_DATA/server.key"
        cp "$T/pg-server.crt" "$PG_DATA/server.crt"
        chmod 600 "$PG_DATA/server.key"
        [ -z "$runas" ] || chown "$runas" "$PG_DATA/server.key" "$PG_DATA/server.crt"
    fi
    local attempt started=""
    for attempt in 1 2 3; do
        PG_PORT=$(free_port)
        if _as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 30 start \
            >"$T/pg-start-$attempt.log" 2>&1; then
            started=1
            break
        fi
        _as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    done
    [ -n "$started" ] || {
        cat "$T"/pg-start-*.log "$PG_LOG" >&2 || true
        fail "PostgreSQL did not start"
    }
    at_exit _as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop
    PG_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=$PG_DB user=$PG_USER"
    psql_bare -q -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$PG_PORT dbname=postgres user=$PG_USER" \
        -c "CREATE DATABASE $PG_DB" >"$T/pg-setup.log" 2>&1 &&
        psql_bare -q -v ON_ERROR_STOP=1 "$PG_CONNINFO" \
            -c "CREATE TABLE t (id int PRIMARY KEY, name text)" \
            -c "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')" >>"$T/pg-setup.log" 2>&1 || {
        cat "$T/pg-setup.log" "$PG_LOG" >&2
        fail "could not create the database $PG_DB and its table t"
    }
}
# psql_bare ARGS...: psql -X ARGS, ungoverned and without the test's
# LD_PRELOAD (psql hangs with the ASan runtime preloaded, Enact or not),
# bounded to 30 s.
psql_bare() {
    env -u LD_PRELOAD timeout 30 "$PSQL" -X "$@"
}

# _as_pg CMD...: CMD as the server's user, without the test's LD_PRELOAD
# (make asan's ASan runtime: initdb hangs under it). The server is the
# test's scaffolding, never governed.
_as_pg() {
    if [ -n "${_PG_RUNAS:-}" ]; then
        env -u LD_PRELOAD runuser -u "$_PG_RUNAS" -- "$@"
    else
        env -u LD_PRELOAD "$@"
    fi
}

# ---- curl -------------------------------------------------------------------

# curl_code [PREFIX...] curl CURL-ARGS...: runs `PREFIX curl -s -o /dev/null
# -w %{http_code} CURL-ARGS` (PREFIX: e.g. "$ENACT" run -c INI --); sets
# CURL_RC and CURL_CODE, never fails.
curl_code() {
    local prefix=()
    while [ "$1" != "curl" ]; do
        prefix+=("$1")
        shift
    done
    shift
    set +e
    CURL_CODE=$(${prefix[@]+"${prefix[@]}"} curl -s --noproxy '*' --max-time 20 -o /dev/null \
        -w '%{http_code}' "$@" 2>"$T/curl.err")
    CURL_RC=$?
    set -e
}

# count_curls N [PREFIX...] curl CURL-ARGS...: runs curl_code N times; sets
# CURL_OK (exit 0 and 200) and CURL_DENIED (exit 7 "could not connect" and
# code 000). Anything else fails the test.
count_curls() {
    local n=$1 i
    shift
    CURL_OK=0
    CURL_DENIED=0
    for ((i = 1; i <= n; i++)); do
        curl_code "$@"
        if [ "$CURL_RC" = 0 ] && [ "$CURL_CODE" = 200 ]; then
            CURL_OK=$((CURL_OK + 1))
        elif [ "$CURL_RC" = 7 ] && [ "$CURL_CODE" = 000 ]; then
            CURL_DENIED=$((CURL_DENIED + 1))
        else
            cat "$T/curl.err" >&2
            fail "curl attempt $i: unexpected exit $CURL_RC, http code '$CURL_CODE'"
        fi
    done
}

# ---- audit log --------------------------------------------------------------

# audit_check FILE COUNT [KEY=VALUE...]: every line of FILE is a JSON object
# with the record's mandatory fields; there are exactly COUNT of them; each
# has KEY equal to VALUE (compared as text; KEY "argv0" is argv[0]). A
# missing FILE counts as no records.
audit_check() {
    "$PY" - "$@" <<'EOF'
import json, os, sys
path, want = sys.argv[1], int(sys.argv[2])
expect = [a.split("=", 1) for a in sys.argv[3:]]
def die(msg):
    print(f"audit log {path}: {msg}", file=sys.stderr)
    if os.path.exists(path):
        sys.stderr.write(open(path, encoding="utf-8", errors="replace").read())
    sys.exit(1)
recs = []
if os.path.exists(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        die("the last line is not terminated by a newline")
    for n, line in enumerate(data.decode("utf-8").split("\n")[:-1] if data else [], 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            die(f"line {n} is not valid JSON ({e}): {line!r}")
        if not isinstance(rec, dict):
            die(f"line {n} is not a JSON object")
        recs.append((n, rec))
if len(recs) != want:
    die(f"expected exactly {want} records, found {len(recs)}")
for n, rec in recs:
    for key, typ in (("v", int), ("ts", str), ("pid", int), ("agent", str), ("exe", str),
                     ("op", str), ("tool", str), ("target", str), ("verdict", str)):
        # A breaker's change is the tool's, not one call's: it may name no target.
        if key == "target" and rec.get("verdict") == "breaker" and key not in rec:
            continue
        if not isinstance(rec.get(key), typ):
            die(f"line {n}: field '{key}' missing or not {typ.__name__}")
    if rec["verdict"] in ("deny", "would_deny") and not isinstance(rec.get("reason"), str):
        die(f"line {n}: a {rec['verdict']} record without a reason")
    if rec["verdict"] == "dry_run" and not all(
            isinstance(rec.get(k), str) for k in ("would_execute", "impact", "impact_reason")):
        die(f"line {n}: a dry_run record without would_execute, impact and impact_reason")
    if rec["v"] != 1:
        die(f"line {n}: v is {rec['v']!r}, expected 1")
    if rec["op"] in ("exec", "spawn") and rec["verdict"] not in ("dry_run", "breaker") and not (
            isinstance(rec.get("argv"), list) and rec["argv"]
            and all(isinstance(a, str) for a in rec["argv"])):
        die(f"line {n}: {rec['op']} record without a non-empty argv list")
    if rec["verdict"] == "deny":
        if rec.get("errno") != "EPERM":
            die(f"line {n}: deny record with errno {rec.get('errno')!r}")
        if rec["reason"] == "rate_limited" and not (
                isinstance(rec.get("retry_after_ms"), int) and rec["retry_after_ms"] > 0):
            die(f"line {n}: rate_limited record without a positive retry_after_ms")
    for key, value in expect:
        got = rec["argv"][0] if key == "argv0" and rec.get("argv") else rec.get(key)
        if got is None or str(got) != value:
            die(f"line {n}: {key} is {got!r}, expected {value!r}")
EOF
}

# audit_eval FILE EXPR: prints the Python expression EXPR evaluated with
# `recs` bound to the list of records (FILE must be valid JSON Lines).
audit_eval() {
    "$PY" - "$@" <<'EOF'
import json, os, sys
path, expr = sys.argv[1], sys.argv[2]
recs = []
if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
print(eval(expr, {"recs": recs}))
EOF
}

# ---- fleets on Redis -------------------------------------------------------

# fleet_host_config N EXTRA...: writes $T/hostN/enact.ini, one "host" of a
# fleet: its own state file and audit log, limits on the Redis at
# REDIS_PORT under the key prefix FLEET_PREFIX (default the test's name).
# The [enact] keys and sections to add come as further arguments, one line
# each.
fleet_host_config() {
    local n=$1
    shift
    mkdir -p "$T/host$n"
    {
        echo "[enact]"
        echo "state = $T/host$n/state"
        echo "audit_log = $T/host$n/audit.jsonl"
        echo "backend = redis://127.0.0.1:$REDIS_PORT"
        echo "backend.key_prefix = ${FLEET_PREFIX:-$TEST_NAME}"
        printf '%s\n' "$@"
    } >"$T/host$n/enact.ini"
}

# fleet_sum FILE...: sums the "OK REFUSED OTHER" lines of fleet/agent.py.
fleet_sum() {
    cat "$@" | awk '{ok += $1; no += $2; other += $3} END {print ok + 0, no + 0, other + 0}'
}

# start_redis_cluster: a Redis Cluster of 3 masters on loopback (free
# ports, nothing saved), its slots spread by redis-cli --cluster create.
# Sets CLUSTER_PORTS (space-separated).
start_redis_cluster() {
    command -v redis-server >/dev/null || fail "redis-server is not installed (make deps installs it)"
    local port pids=() i
    CLUSTER_PORTS=""
    for i in 1 2 3; do
        # The cluster bus listens at port + 10000: both must be free and fit.
        port=$(free_port)
        while [ "$port" -gt 55000 ] || ! "$PY" -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]) + 10000))' "$port" 2>/dev/null; do
            port=$(free_port)
        done
        mkdir -p "$T/cluster-$port"
        spawn_bg "$T/cluster-$port.log" redis-server --port "$port" --bind 127.0.0.1 \
            --save '' --appendonly no --dir "$T/cluster-$port" --cluster-enabled yes \
            --cluster-config-file nodes.conf --cluster-node-timeout 5000
        wait_accepting "$BG_PID" 127.0.0.1 "$port" || fail "cluster node $port did not start"
        CLUSTER_PORTS+="${CLUSTER_PORTS:+ }$port"
    done
    local nodes=""
    for port in $CLUSTER_PORTS; do nodes+=" 127.0.0.1:$port"; done
    # shellcheck disable=SC2086
    redis-cli --cluster create $nodes --cluster-replicas 0 --cluster-yes >"$T/cluster-create.log" 2>&1 ||
        fail "redis-cli --cluster create failed: $(cat "$T/cluster-create.log")"
    for i in $(seq 100); do
        local ok=0
        for port in $CLUSTER_PORTS; do
            redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' && ok=$((ok + 1))
        done
        [ "$ok" -eq 3 ] && return 0
        sleep 0.1
    done
    fail "the cluster did not reach cluster_state:ok"
}

# cluster_owner SLOT: the port of the node that serves SLOT.
cluster_owner() {
    local port=${CLUSTER_PORTS%% *}
    redis-cli -p "$port" cluster shards >/dev/null 2>&1 || true
    redis-cli -p "$port" cluster nodes | awk -v s="$1" '{
        for (i = 9; i <= NF; i++) {
            n = split($i, r, "-")
            if ((n == 1 && r[1] == s) || (n == 2 && s >= r[1] && s <= r[2])) {
                split($2, a, "[:@]"); print a[2]; exit
            }
        }
    }'
}

# cluster_id PORT: the node id of the node at PORT.
cluster_id() {
    redis-cli -p "$1" cluster myid
}
