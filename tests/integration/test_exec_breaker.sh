#!/usr/bin/env bash
# Circuit breaker of an exec tool, fed by how its programs end: exit 0 is a
# success, a non-zero exit or a death by a signal a failure; the parent's
# wait call (or system()) tells the breaker. Tool false (`exec = false`;
# /bin/false, since `false` is a shell builtin), failure_threshold 3,
# breaker.timeout_seconds 60, each part with a fresh state and log:
#   - sh loop of 5 `/bin/false`: statuses 1 1 1 126 126, "Operation not
#     permitted" twice on stderr; records: breaker CLOSED -> OPEN, then 2
#     deny circuit_open (op exec, EPERM);
#   - python subprocess.run(["false"]) x5: returncode 1 x3, PermissionError
#     (errno 1) x2; the same records;
#   - python os.system("/bin/false") x5: 256 x3 (exit 1), then 126<<8 x2;
#     records: breaker CLOSED -> OPEN, 2 deny circuit_open (op system);
#   - a program exec'd in place of a started process counts as well:
#     `bash -c /bin/false` (bash execs its only command, no fork) x5 from an
#     sh loop and from python's subprocess.run: 1 1 1 126 126 (bash reports
#     the refused exec with 126), the same 3 records;
#   - each wait call counts: failure_threshold 5, and python forks and
#     execs /bin/false, reaping the children with os.wait, os.waitpid,
#     os.wait4, os.waitid and os.wait3: after the fifth the breaker is open
#     and the sixth start raises PermissionError;
#   - a signal death is a failure and exit 0 a success that resets the
#     count in CLOSED: tool sh (failure_threshold 2), bash running
#     `sh -c 'kill -9 $$'` (137), `sh -c 'exit 0'`, `exit 1`, `exit 0`,
#     `kill -TERM $$` (143): never 2 failures in a row, no record; then
#     `kill -9 $$` again: open (CLOSED -> OPEN), the next sh refused (126).
# Recovery: tool probe on a script (./probe.sh fails until the file ok
# exists), failure_threshold 2, success_threshold 1, timeout 1 s: 2
# failures open it, the third run is refused (126); after 1.2 s, with ok
# created, the next run is admitted as a probe, succeeds and closes the
# breaker; 2 more runs pass unrecorded. Records: CLOSED -> OPEN, deny
# circuit_open, OPEN -> HALF_OPEN, HALF_OPEN -> CLOSED.
. "$(dirname "$0")/lib.sh"

# conf NAME [KEY=VALUE...]: $T/NAME.ini with state NAME.state, log NAME.jsonl
# and tool false (exec = false) with the given keys.
conf() {
    local name=$1 kv
    shift
    {
        printf '[enact]\nstate = %s.state\naudit_log = %s.jsonl\n[tool.false]\nexec = false\n' \
            "$name" "$name"
        for kv in "$@"; do echo "$kv"; done
    } >"$T/$name.ini"
}
FALSE=$("$PY" -c 'import shutil; print(shutil.which("false"))')

EXPECT_OPEN='[("breaker", "CLOSED", "OPEN", None, None),
  ("deny", None, None, "circuit_open", "EPERM"),
  ("deny", None, None, "circuit_open", "EPERM")]'
check_records() { # NAME EXPECTED-PYTHON-LIST
    check_eq "$1: records" "True" "$(audit_eval "$T/$1.jsonl" \
        '([(r["verdict"], r.get("from"), r.get("to"), r.get("reason"), r.get("errno"))
           for r in recs] == '"$2"')')"
}

# ---- sh loop ----
conf sh breaker.failure_threshold=3 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/sh.ini" -- sh -c \
    'for i in 1 2 3 4 5; do /bin/false; printf "%s " $?; done' 2>"$T/sh.err")
check_eq "sh: status of each /bin/false" "1 1 1 126 126 " "$out"
check_eq "sh: 'Operation not permitted' on stderr" 2 "$(grep -c 'Operation not permitted' "$T/sh.err")"
check_records sh "$EXPECT_OPEN"
check_eq "sh: the refusals" "True" "$(audit_eval "$T/sh.jsonl" \
    'all(r["op"] == "exec" and r["tool"] == "false" and r["target"] == "/bin/false"
         and r["argv"] == ["/bin/false"] and 0 < r["retry_after_ms"] <= 60000
         for r in recs if r["verdict"] == "deny")')"
check_eq "sh: the breaker record names the tool" "false" \
    "$(audit_eval "$T/sh.jsonl" 'recs[0]["tool"]')"

# ---- python subprocess.run ----
conf sub breaker.failure_threshold=3 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/sub.ini" -- "$PY" -c '
import subprocess
for i in range(5):
    try:
        print(subprocess.run(["false"]).returncode)
    except PermissionError as e:
        print("PermissionError", e.errno)
')
check_eq "subprocess.run: outcome of each" "1
1
1
PermissionError 1
PermissionError 1" "$out"
check_records sub "$EXPECT_OPEN"
check_eq "subprocess.run: the refusals" "True" "$(audit_eval "$T/sub.jsonl" \
    'all(r["op"] == "exec" and r["target"] == "'"$FALSE"'" and r["argv"] == ["false"]
         for r in recs if r["verdict"] == "deny")')"

# ---- python os.system ----
conf system breaker.failure_threshold=3 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/system.ini" -- "$PY" -c '
import os
print(*[os.system("/bin/false") for i in range(5)])
' 2>"$T/system.err")
check_eq "os.system: status of each" "256 256 256 32256 32256" "$out"
check_records system "$EXPECT_OPEN"
check_eq "os.system: the refusals" "True" "$(audit_eval "$T/system.jsonl" \
    'all(r["op"] == "system" and r["target"] == "/bin/false" and r["argv"] == ["/bin/false"]
         for r in recs if r["verdict"] == "deny")')"

# ---- a program exec'd in place of its process: bash -c runs its only
# command by exec, without a fork; the process the parent reaps ran /bin/false ----
conf inplace breaker.failure_threshold=3 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/inplace.ini" -- sh -c \
    'for i in 1 2 3 4 5; do bash -c /bin/false; printf "%s " $?; done' 2>"$T/inplace.err")
check_eq "bash -c /bin/false: status of each" "1 1 1 126 126 " "$out"
check_records inplace "$EXPECT_OPEN"
conf inplace2 breaker.failure_threshold=3 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/inplace2.ini" -- "$PY" -c '
import subprocess
print(*[subprocess.run(["bash", "-c", "/bin/false"], stderr=subprocess.DEVNULL).returncode
        for i in range(5)])
')
check_eq "python, bash -c /bin/false: returncode of each" "1 1 1 126 126" "$out"
check_records inplace2 "$EXPECT_OPEN"

# ---- every wait call tells the breaker ----
conf waits breaker.failure_threshold=5 breaker.timeout_seconds=60
out=$("$ENACT" run -c "$T/waits.ini" -- "$PY" -c '
import os
def start():
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/bin/false", ["/bin/false"])
        except PermissionError:
            os._exit(126)
        os._exit(99)
    return pid
def by_wait(pid):
    return os.wait()
def by_waitpid(pid):
    return os.waitpid(pid, 0)
def by_wait4(pid):
    return os.wait4(pid, 0)[:2]
def by_wait3(pid):
    return os.wait3(0)[:2]
def by_waitid(pid):
    r = os.waitid(os.P_PID, pid, os.WEXITED)
    return r.si_pid, r.si_status << 8
for fn in (by_wait, by_waitpid, by_wait4, by_waitid, by_wait3):
    pid = start()
    got, status = fn(pid)
    print(fn.__name__, got == pid, os.waitstatus_to_exitcode(status))
pid = start()
print("sixth", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
')
check_eq "wait calls: status of each" "by_wait True 1
by_waitpid True 1
by_wait4 True 1
by_waitid True 1
by_wait3 True 1
sixth 126" "$out"
check_records waits '[("breaker", "CLOSED", "OPEN", None, None),
  ("deny", None, None, "circuit_open", "EPERM")]'

# ---- signal deaths fail, exit 0 succeeds and resets the count ----
cat >"$T/sig.ini" <<INI
[enact]
state = sig.state
audit_log = sig.jsonl
[tool.sh]
exec = sh
breaker.failure_threshold = 2
breaker.timeout_seconds = 60
INI
out=$("$ENACT" run -c "$T/sig.ini" -- bash -c '
    r() { "$@"; printf "%s " $?; }
    r sh -c "kill -9 \$\$"; r sh -c "exit 0"; r sh -c "exit 1"; r sh -c "exit 0"
    r sh -c "kill -TERM \$\$"; echo
    r sh -c "kill -9 \$\$"; r sh -c "exit 0"
' 2>/dev/null)
check_eq "signals: statuses" "137 0 1 0 143 
137 126 " "$out"
check_eq "signals: records" "True" "$(audit_eval "$T/sig.jsonl" \
    '([(r["verdict"], r["tool"], r.get("from"), r.get("to"), r.get("reason")) for r in recs] ==
      [("breaker", "sh", "CLOSED", "OPEN", None), ("deny", "sh", None, None, "circuit_open")])')"

# ---- recovery: a probe after the timeout closes the breaker ----
cat >"$T/probe.sh" <<'SH'
#!/bin/sh
echo run >>runs
[ -f ok ]
SH
chmod +x "$T/probe.sh"
cat >"$T/rec.ini" <<INI
[enact]
state = rec.state
audit_log = rec.jsonl
[tool.probe]
exec = probe.sh
breaker.failure_threshold = 2
breaker.success_threshold = 1
breaker.timeout_seconds = 1
INI
out=$(cd "$T" && "$ENACT" run -c "$T/rec.ini" -- sh -c '
    for i in 1 2 3; do ./probe.sh; printf "%s " $?; done
    sleep 1.2; touch ok
    for i in 4 5 6; do ./probe.sh; printf "%s " $?; done
' 2>"$T/rec.err")
check_eq "recovery: statuses" "1 1 126 0 0 0 " "$out"
check_eq "recovery: runs of the script (the refused one did not run)" 5 "$(wc -l <"$T/runs")"
check_eq "recovery: records" "True" "$(audit_eval "$T/rec.jsonl" \
    '([(r["verdict"], r["tool"], r.get("from"), r.get("to"), r.get("reason")) for r in recs] ==
      [("breaker", "probe", "CLOSED", "OPEN", None),
       ("deny", "probe", None, None, "circuit_open"),
       ("breaker", "probe", "OPEN", "HALF_OPEN", None),
       ("breaker", "probe", "HALF_OPEN", "CLOSED", None)])')"
