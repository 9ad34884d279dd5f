#!/usr/bin/env bash
# One exec tool, many runtimes: tool touch (`exec = touch`, burst 2), and 4
# starts of touch through each way a runtime starts a program. Each part has
# its own state file, audit log and agent, so its counts stand alone; in
# every part exactly 2 files are created, the 3rd and 4th starts are refused
# the way that API reports a refused start, and there is exactly one record
# per refusal, with the op of the call Enact decided:
#   - python subprocess.run(["touch", f]): 2 PermissionError; op exec;
#   - python os.system(f"touch {f}"): 0, 0, 126<<8, 126<<8; op system
#     (C system(), decided before any shell runs);
#   - python os.popen(f"touch {f}").close(): None, None, 126<<8, 126<<8, the
#     shell says "Operation not permitted" twice; op exec, made by sh;
#   - python os.posix_spawnp("touch", ...) + waitpid: 2 children that exit
#     0, 2 PermissionError; op spawn;
#   - node execFileSync: 2 errors with code EPERM; spawnSync: 2 results with
#     error.code 'EPERM'; op exec (libuv forks, then execs);
#   - bash and sh: `for i in 1 2 3 4; do touch f$i; done`: 126 twice and
#     "Operation not permitted" twice; op exec;
#   - make with 4 touch lines: make stops at the first refused one (f3):
#     "make: touch: Operation not permitted", "[Makefile:4: all] Error 127",
#     exit status 2; exactly 1 record, op spawn (make 4.3 uses posix_spawn);
#   - a C program: system("touch s") and popen("touch p", "r") 3 times each,
#     one tool each at burst 2: system gives 0, 0, 126<<8; popen two streams
#     (EOF at once, pclose 0) then NULL with errno EPERM; ops system / popen.
. "$(dirname "$0")/lib.sh"

command -v node >/dev/null || fail "node is not installed (make deps installs nodejs)"
command -v make >/dev/null || fail "make is not installed"
command -v gcc >/dev/null || fail "gcc is not installed"

# part NAME: a fresh directory $T/NAME (cwd of the agent) with its own
# config, state file and audit log ($T/NAME/audit.jsonl), and an empty
# output dir $T/NAME/out.
part() {
    P=$T/$1
    mkdir -p "$P/out"
    cat >"$P/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI
}

# run_governed NAME CMD ARGS...: runs CMD governed in $T/NAME as agent NAME
# (bounded by timeout); stdout in $P/stdout, stderr in $P/stderr, exit
# status in RC.
run_governed() {
    local name=$1
    shift
    set +e
    (cd "$T/$name" && timeout 30 "$ENACT" run -c "$T/$name/enact.ini" -a "$name" -- "$@") \
        >"$T/$name/stdout" 2>"$T/$name/stderr"
    RC=$?
    set -e
    note "$name: exit $RC"
    sed "s/^/# $name stdout: /" "$T/$name/stdout"
    sed "s/^/# $name stderr: /" "$T/$name/stderr"
}

# check_files NAME: exactly f1 and f2 exist in $T/NAME/out.
check_files() {
    check_eq "$1: files created" "f1 f2" "$(cd "$T/$1/out" && echo *)"
}

# check_refusals NAME OP EXE: exactly 2 deny records, for f3 and f4.
check_refusals() {
    audit_check "$T/$1/audit.jsonl" 2 verdict=deny reason=rate_limited tool=touch op="$2" \
        errno=EPERM argv0=touch agent="$1" exe="$3" target="$(command -v touch)"
    check_eq "$1: argv of the refusals" "[['touch', 'out/f3'], ['touch', 'out/f4']]" \
        "$(audit_eval "$T/$1/audit.jsonl" '[r["argv"] for r in recs]')"
}

# ---- python -----------------------------------------------------------------

part py_run
cat >"$P/agent.py" <<'PY'
import subprocess
for i in range(1, 5):
    try:
        print(subprocess.run(["touch", f"out/f{i}"]).returncode)
    except PermissionError as e:
        print("PermissionError", e.errno)
PY
run_governed py_run "$PY" agent.py
check_eq "py_run: exit status" 0 "$RC"
check_eq "py_run: results" "0
0
PermissionError 1
PermissionError 1" "$(cat "$P/stdout")"
check_files py_run
check_refusals py_run exec "$(basename "$PY")"

part py_system
cat >"$P/agent.py" <<'PY'
import os
for i in range(1, 5):
    st = os.system(f"touch out/f{i}")
    print(st, os.waitstatus_to_exitcode(st))
PY
run_governed py_system "$PY" agent.py
check_eq "py_system: exit status" 0 "$RC"
check_eq "py_system: os.system statuses (raw, exit code)" "0 0
0 0
32256 126
32256 126" "$(cat "$P/stdout")"
check_files py_system
check_refusals py_system system "$(basename "$PY")"

part py_popen
cat >"$P/agent.py" <<'PY'
import os
for i in range(1, 5):
    st = os.popen(f"touch out/f{i}").close()
    print(st, None if st is None else os.waitstatus_to_exitcode(st))
PY
run_governed py_popen "$PY" agent.py
check_eq "py_popen: exit status" 0 "$RC"
check_eq "py_popen: close() statuses (raw, exit code)" "None None
None None
32256 126
32256 126" "$(cat "$P/stdout")"
check_eq "py_popen: the shell said why, twice" 2 \
    "$(grep -c 'touch: Operation not permitted' "$P/stderr" || true)"
check_files py_popen
check_refusals py_popen exec sh

part py_spawnp
cat >"$P/agent.py" <<'PY'
import os
for i in range(1, 5):
    try:
        pid = os.posix_spawnp("touch", ["touch", f"out/f{i}"], os.environ)
        _, st = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(st))
    except PermissionError as e:
        print("PermissionError", e.errno)
PY
run_governed py_spawnp "$PY" agent.py
check_eq "py_spawnp: exit status" 0 "$RC"
check_eq "py_spawnp: results" "child 0
child 0
PermissionError 1
PermissionError 1" "$(cat "$P/stdout")"
check_files py_spawnp
check_refusals py_spawnp spawn "$(basename "$PY")"

# ---- node -------------------------------------------------------------------

part node_execfile
cat >"$P/agent.js" <<'JS'
const cp = require('child_process');
for (let i = 1; i <= 4; i++) {
  try {
    cp.execFileSync('touch', [`out/f${i}`]);
    console.log('ok');
  } catch (e) {
    console.log(`error ${e.code}`);
  }
}
JS
run_governed node_execfile node agent.js
check_eq "node_execfile: exit status" 0 "$RC"
check_eq "node_execfile: results" "ok
ok
error EPERM
error EPERM" "$(cat "$P/stdout")"
check_files node_execfile
check_refusals node_execfile exec node

part node_spawnsync
cat >"$P/agent.js" <<'JS'
const cp = require('child_process');
for (let i = 1; i <= 4; i++) {
  const r = cp.spawnSync('touch', [`out/f${i}`]);
  console.log(r.error ? `error ${r.error.code}` : `status ${r.status}`);
}
JS
run_governed node_spawnsync node agent.js
check_eq "node_spawnsync: exit status" 0 "$RC"
check_eq "node_spawnsync: results" "status 0
status 0
error EPERM
error EPERM" "$(cat "$P/stdout")"
check_files node_spawnsync
check_refusals node_spawnsync exec node

# ---- shells -----------------------------------------------------------------

for shell in bash sh; do
    part "$shell"
    run_governed "$shell" "$shell" -c \
        'for i in 1 2 3 4; do touch out/f$i; echo "touch f$i: $?"; done'
    check_eq "$shell: exit status" 0 "$RC"
    check_eq "$shell: results" "touch f1: 0
touch f2: 0
touch f3: 126
touch f4: 126" "$(cat "$P/stdout")"
    check_eq "$shell: said why, twice" 2 \
        "$(grep -c 'Operation not permitted' "$P/stderr" || true)"
    check_files "$shell"
    check_refusals "$shell" exec "$shell"
done

# ---- make -------------------------------------------------------------------

part make
printf 'all:\n\ttouch out/f1\n\ttouch out/f2\n\ttouch out/f3\n\ttouch out/f4\n' >"$P/Makefile"
run_governed make make
check_eq "make: exit status" 2 "$RC"
check_eq "make: recipe lines echoed (it stops at f3)" "touch out/f1
touch out/f2
touch out/f3" "$(cat "$P/stdout")"
check_eq "make: its message" "make: touch: Operation not permitted
make: *** [Makefile:4: all] Error 127" "$(cat "$P/stderr")"
check_files make
audit_check "$P/audit.jsonl" 1 verdict=deny reason=rate_limited tool=touch op=spawn \
    errno=EPERM argv0=touch agent=make exe=make target="$(command -v touch)"
check_eq "make: argv of the refusal" "[['touch', 'out/f3']]" \
    "$(audit_eval "$P/audit.jsonl" '[r["argv"] for r in recs]')"

# ---- C system() and popen() -------------------------------------------------

P=$T/c_shell
mkdir -p "$P/out"
cat >"$P/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch_system]
exec = touch out/s*
rate.max_calls_per_minute = 1
rate.burst_size = 2
[tool.touch_popen]
exec = touch out/p*
rate.max_calls_per_minute = 1
rate.burst_size = 2
INI
cat >"$P/prog.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char cmd[64];
    for (int i = 1; i <= 3; i++) {
        snprintf(cmd, sizeof cmd, "touch out/s%d", i);
        printf("system %d\n", system(cmd));
    }
    for (int i = 1; i <= 3; i++) {
        snprintf(cmd, sizeof cmd, "touch out/p%d", i);
        errno = 0;
        FILE *f = popen(cmd, "r");
        if (f == NULL) {
            printf("popen NULL %s\n", errno == EPERM ? "EPERM" : strerror(errno));
            continue;
        }
        int c = fgetc(f);
        printf("popen stream %s pclose %d\n", c == EOF ? "EOF" : "data", pclose(f));
    }
    return 0;
}
C
gcc -O -Wall -o "$P/prog" "$P/prog.c" || fail "cannot compile the C program"
run_governed c_shell ./prog
check_eq "c_shell: exit status" 0 "$RC"
check_eq "c_shell: results" "system 0
system 0
system $((126 << 8))
popen stream EOF pclose 0
popen stream EOF pclose 0
popen NULL EPERM" "$(cat "$P/stdout")"
check_eq "c_shell: files created" "p1 p2 s1 s2" "$(cd "$P/out" && echo *)"
audit_check "$P/audit.jsonl" 2 verdict=deny reason=rate_limited errno=EPERM argv0=touch \
    agent=c_shell exe=prog target="$(command -v touch)"
check_eq "c_shell: records (op, tool, argv)" \
    "[('system', 'touch_system', ['touch', 'out/s3']), ('popen', 'touch_popen', ['touch', 'out/p3'])]" \
    "$(audit_eval "$P/audit.jsonl" '[(r["op"], r["tool"], r["argv"]) for r in recs]')"
