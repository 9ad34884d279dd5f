#!/usr/bin/env bash
# errno = NAME per tool: what a refused call fails with.
#   - connect tool with errno = ECONNREFUSED, burst 1: the 2nd curl fails
#     with exit 7 and curl's "Connection refused"; the record says
#     "errno":"ECONNREFUSED";
#   - python: each connect errno gives its own exception (ConnectionRefused-
#     Error, ConnectionResetError, TimeoutError, OSError ENETUNREACH /
#     EHOSTUNREACH, PermissionError for EPERM and EACCES);
#   - exec tool with errno = EACCES: python's subprocess raises
#     PermissionError errno 13, posix_spawn too; a shell says "Permission
#     denied".
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
ports=()
for i in 1 2 3 4 5 6 7; do
    ports+=("$(free_port)")
done
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ECONNREFUSED
[tool.e-ECONNREFUSED]
connect = 127.0.0.1:${ports[0]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ECONNREFUSED
[tool.e-ECONNRESET]
connect = 127.0.0.1:${ports[1]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ECONNRESET
[tool.e-ETIMEDOUT]
connect = 127.0.0.1:${ports[2]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ETIMEDOUT
[tool.e-ENETUNREACH]
connect = 127.0.0.1:${ports[3]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = ENETUNREACH
[tool.e-EHOSTUNREACH]
connect = 127.0.0.1:${ports[4]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = EHOSTUNREACH
[tool.e-EACCES]
connect = 127.0.0.1:${ports[5]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = EACCES
[tool.e-EPERM]
connect = 127.0.0.1:${ports[6]}
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
errno = EACCES
INI

# curl: the first call passes, the second fails as a refused connection.
count_curls 1 "$ENACT" run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "first curl" 1 "$CURL_OK"
set +e
"$ENACT" run -c "$T/enact.ini" -- curl -v --noproxy '*' --max-time 10 -o /dev/null \
    "$HTTP_URL" 2>"$T/curl.err"
rc=$?
set -e
check_eq "second curl: exit status" 7 "$rc"
grep -q "Couldn't connect" "$T/curl.err" && grep -q 'Connection refused' "$T/curl.err" || {
    cat "$T/curl.err" >&2
    fail "second curl: no \"Couldn't connect\" / \"Connection refused\""
}
check_eq "curl's refusal record" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["verdict"], r["reason"], r["tool"], r["op"], r["errno"]) for r in recs] ==
      [("deny", "rate_limited", "api", "connect", "ECONNREFUSED")])')"

# python: two connects per tool, each to a port the agent listens on.
cat >"$T/agent.py" <<'PY'
import socket, sys
listeners = []
for port in sys.argv[1:]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(4)
    listeners.append(srv)
for port in sys.argv[1:]:
    out = []
    for attempt in (1, 2):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", int(port)))
            out.append("ok")
        except OSError as e:
            out.append(f"{type(e).__name__}:{e.errno}")
        finally:
            s.close()
    print(" ".join(out))
PY
out=$("$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "${ports[@]}")
check_eq "python: each tool's errno" "ok ConnectionRefusedError:111
ok ConnectionResetError:104
ok TimeoutError:110
ok OSError:101
ok OSError:113
ok PermissionError:13
ok PermissionError:1" "$out"
check_eq "python: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["tool"], r["errno"]) for r in recs[1:]] ==
      [("e-" + e, e) for e in ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
                              "EHOSTUNREACH", "EACCES", "EPERM"]])')"

# exec tool with errno = EACCES; both runs are agent "toucher", so they
# share one bucket of 1.
mkdir "$T/out"
cd "$T/out"
out=$("$ENACT" run -c "$T/enact.ini" -a toucher -- "$PY" -c '
import os, subprocess
for i in (1, 2):
    try:
        print(subprocess.run(["touch", f"sub{i}"]).returncode)
    except OSError as e:
        print(type(e).__name__, e.errno)
try:
    pid = os.posix_spawnp("touch", ["touch", "spawned"], os.environ)
    print("spawned", os.waitpid(pid, 0)[1])
except OSError as e:
    print(type(e).__name__, e.errno)
')
check_eq "exec errno EACCES: python" "0
PermissionError 13
PermissionError 13" "$out"
set +e
"$ENACT" run -c "$T/enact.ini" -a toucher -- sh -c 'touch by-shell' 2>"$T/sh.err"
rc=$?
set -e
check_eq "exec errno EACCES: the shell's status" 126 "$rc"
grep -q 'Permission denied' "$T/sh.err" || { cat "$T/sh.err" >&2; fail "sh: no 'Permission denied'"; }
check_eq "files created" "sub1" "$(echo *)"
check_eq "exec records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["tool"], r["op"], r["errno"], r["argv"]) for r in recs[8:]] ==
      [("touch", "exec", "EACCES", ["touch", "sub2"]),
       ("touch", "spawn", "EACCES", ["touch", "spawned"]),
       ("touch", "exec", "EACCES", ["touch", "by-shell"])])')"
