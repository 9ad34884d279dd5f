#!/usr/bin/env bash
# audit_log = syslog: records go to the local syslog socket (/dev/log) as
# RFC 5424 messages (<13>1 TIMESTAMP HOST enact PID - - {record}), sent on a
# non-blocking datagram socket. With no syslog listening, a refused call is
# refused all the same and enact status counts the lost records.
# /dev/log is made by the test (a python listener) when the machine has
# none; a machine with a syslog of its own only gets the second part.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = syslog
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI
"$ENACT" check "$T/enact.ini" | grep -q "audit log: syslog" || fail "check does not say syslog"
governed() { "$ENACT" run -c "$T/enact.ini" -- sh -c "touch $T/a; touch $T/b; touch $T/c" 2>/dev/null || true; }

if [ ! -e /dev/log ] && [ -w /dev ]; then
    cat >"$T/listen.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1], "w").close()
s.settimeout(10)
with open(sys.argv[2], "wb") as out:
    for _ in range(2):
        out.write(s.recv(8192) + b"\n")
        out.flush()
PY
    trap 'rm -f /dev/log; _lib_cleanup' EXIT
    spawn_bg "$T/listen.log" "$PY" "$T/listen.py" "$T/ready" "$T/got"
    for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
    governed
    for _ in $(seq 100); do [ "$(wc -l <"$T/got" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
    check_eq "two messages" 2 "$(wc -l <"$T/got")"
    "$PY" - "$T/got" <<'PY' || fail "the syslog messages are not RFC 5424 with a record"
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"<13>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \S+ enact (\d+) - - (\{.*\})$", line.rstrip("\n"))
    assert m, line
    rec = json.loads(m.group(3))
    assert rec["verdict"] == "deny" and rec["reason"] == "rate_limited", rec
    assert rec["ts"] == m.group(1) and str(rec["pid"]) == m.group(2), (rec, m.groups())
PY
    rm -f /dev/log "$T"/t.state*
    trap _lib_cleanup EXIT
fi

if [ ! -e /dev/log ]; then
    # Nobody listens: the calls are refused as before, the loss is counted.
    rm -f "$T"/t.state* "$T"/a "$T"/b "$T"/c
    governed
    [ -e "$T/a" ] && [ ! -e "$T/b" ] && [ ! -e "$T/c" ] || fail "the refusals changed without a syslog"
    "$ENACT" status -c "$T/enact.ini" | grep -q "2 records could not be written" ||
        fail "status does not count the lost records: $("$ENACT" status -c "$T/enact.ini")"
fi
