#!/usr/bin/env bash
# retry.on_exit_nonzero: a command given to system() (C, python's os.system)
# that the tool's exec rule matches (`exec = sh ./flaky.sh`) and that exits
# non-zero is run again, up to retry.max_attempts in all, after the tool's
# backoff (initial_delay 0.2, base 2, jitter false: 0.2 s, then 0.4 s), each
# attempt through the gate again, each retry recorded (verdict retry, op
# system, retry_after_ms, detail "attempt i of K exited with C; the next in
# X s"). flaky.sh counts its runs in a file and fails (exit 1) the first 2.
#   - C system(), max_attempts 3: returns 0 after 3 runs, >= 0.6 s; 2 retry
#     records, retry_after_ms 200 then 400;
#   - max_attempts 2: returns exit status 1 after 2 runs, 1 retry record;
#   - no retry.on_exit_nonzero (max_attempts 3): 1 run, status 1, no record;
#   - python os.system (max_attempts 3): 0 after 3 runs, 2 retry records;
#     subprocess.run of the same command is never retried: 1 run,
#     returncode 1, no record;
#   - the gate again: rate burst 2 with max_attempts 3: 2 runs, 2 retry
#     records, then the third attempt refused (deny rate_limited, op system,
#     retry_after_ms of the bucket): system returns the status of a shell
#     that exited 126.
. "$(dirname "$0")/lib.sh"
command -v gcc >/dev/null || fail "gcc is not installed"

cat >"$T/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
int main(void)
{
    int s = system("sh ./flaky.sh");
    if (s != -1 && WIFEXITED(s))
        printf("exit %d\n", WEXITSTATUS(s));
    else
        printf("status %d\n", s);
    return 0;
}
C
gcc -O -Wall -o "$T/prog" "$T/prog.c" || fail "cannot compile the C program"

cat >"$T/flaky.sh" <<'SH'
n=$(cat runs 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >runs
[ "$n" -gt 2 ]
SH
SH_PATH=$(sh -c 'command -v sh')

# conf NAME [KEY=VALUE...]: $T/NAME.ini, tool flaky on `sh ./flaky.sh`.
conf() {
    local name=$1 kv
    shift
    {
        printf '[enact]\nstate = %s.state\naudit_log = %s.jsonl\n' "$name" "$name"
        printf '[tool.flaky]\nexec = sh ./flaky.sh\n'
        for kv in "$@"; do echo "$kv"; done
    } >"$T/$name.ini"
}
BACKOFF=(retry.initial_delay=0.2 retry.exponential_base=2 retry.jitter=false)
now_ns() { date +%s%N; }
runs() { cat "$T/runs" 2>/dev/null || echo 0; }

# ---- C system(), 3 attempts ----
conf three retry.on_exit_nonzero=true retry.max_attempts=3 "${BACKOFF[@]}"
rm -f "$T/runs"
t0=$(now_ns)
out=$(cd "$T" && "$ENACT" run -c "$T/three.ini" -- ./prog 2>"$T/three.err")
ms=$((($(now_ns) - t0) / 1000000))
note "3 attempts took $ms ms"
check_eq "3 attempts: system's result" "exit 0" "$out"
check_eq "3 attempts: runs" 3 "$(runs)"
[ "$ms" -ge 600 ] || fail "3 attempts: done in $ms ms, less than the 0.2 + 0.4 s of backoff"
[ "$ms" -lt 5000 ] || fail "3 attempts: took $ms ms"
audit_check "$T/three.jsonl" 2 verdict=retry op=system tool=flaky target="$SH_PATH" agent=prog
check_eq "3 attempts: records" "True" "$(audit_eval "$T/three.jsonl" \
    '([(r["argv"], r["retry_after_ms"], r["detail"]) for r in recs] ==
      [(["sh", "./flaky.sh"], 200, "attempt 1 of 3 exited with 1; the next in 0.200 s"),
       (["sh", "./flaky.sh"], 400, "attempt 2 of 3 exited with 1; the next in 0.400 s")])')"

# ---- 2 attempts: still failing ----
conf two retry.on_exit_nonzero=true retry.max_attempts=2 "${BACKOFF[@]}"
rm -f "$T/runs"
out=$(cd "$T" && "$ENACT" run -c "$T/two.ini" -- ./prog 2>"$T/two.err")
check_eq "2 attempts: system's result" "exit 1" "$out"
check_eq "2 attempts: runs" 2 "$(runs)"
audit_check "$T/two.jsonl" 1 verdict=retry op=system tool=flaky retry_after_ms=200 \
    detail="attempt 1 of 2 exited with 1; the next in 0.200 s"

# ---- no retry.on_exit_nonzero ----
conf none retry.max_attempts=3 "${BACKOFF[@]}"
rm -f "$T/runs"
out=$(cd "$T" && "$ENACT" run -c "$T/none.ini" -- ./prog 2>"$T/none.err")
check_eq "no on_exit_nonzero: system's result" "exit 1" "$out"
check_eq "no on_exit_nonzero: runs" 1 "$(runs)"
audit_check "$T/none.jsonl" 0

# ---- python: os.system is retried, subprocess never ----
conf py retry.on_exit_nonzero=true retry.max_attempts=3 "${BACKOFF[@]}"
rm -f "$T/runs"
out=$(cd "$T" && "$ENACT" run -c "$T/py.ini" -- "$PY" -c '
import os, subprocess
print("os.system", os.system("sh ./flaky.sh"), open("runs").read().strip())
os.remove("runs")
print("subprocess.run", subprocess.run(["sh", "./flaky.sh"]).returncode, open("runs").read().strip())
os.remove("runs")
print("subprocess.run shell", subprocess.run("sh ./flaky.sh", shell=True).returncode,
      open("runs").read().strip())
' 2>"$T/py.err")
check_eq "python: results and runs" "os.system 0 3
subprocess.run 1 1
subprocess.run shell 1 1" "$out"
audit_check "$T/py.jsonl" 2 verdict=retry op=system tool=flaky agent=python3
check_eq "python: retry delays" "[200, 400]" \
    "$(audit_eval "$T/py.jsonl" '[r["retry_after_ms"] for r in recs]')"

# ---- every attempt passes the gate ----
conf gate retry.on_exit_nonzero=true retry.max_attempts=3 "${BACKOFF[@]}" \
    rate.max_calls_per_minute=1 rate.burst_size=2
rm -f "$T/runs"
out=$(cd "$T" && "$ENACT" run -c "$T/gate.ini" -- ./prog 2>"$T/gate.err")
check_eq "gate: system's result (refused third attempt)" "exit 126" "$out"
check_eq "gate: runs" 2 "$(runs)"
check_eq "gate: records" "True" "$(audit_eval "$T/gate.jsonl" \
    '([(r["verdict"], r["op"], r.get("reason"), r.get("errno"), r["retry_after_ms"] <= 400)
       for r in recs] ==
      [("retry", "system", None, None, True), ("retry", "system", None, None, True),
       ("deny", "system", "rate_limited", "EPERM", False)])')"
