#!/usr/bin/env bash
# strict = true closes io_uring at the kernel (a seccomp filter installed
# at start, inherited by every program started after): io_uring_setup
# answers ENOSYS through
#   - python's ctypes on a libc handle (CDLL("libc.so.6").syscall: strict
#     mode's dlsym answers the shim's syscall hook, which refuses it first
#     and records it),
#   - a C program's inline asm (the syscall instruction: only the kernel
#     sees it),
#   - syscall() (the hook, recorded),
# in the agent and in a child it starts (a python that starts the C
# program); /proc/self/status says Seccomp: 2 in both. Without strict,
# each route gets what it gets without the shim (a descriptor, or the
# kernel's own refusal where io_uring is turned off), and no filter.
# enact status says whether the governed processes have the filter.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc is required"
cat >"$T/ring.c" <<'C'
/* ring: io_uring_setup by the syscall instruction, then by syscall(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *outcome(long rc, int err)
{
    return rc >= 0 ? "fd" : err == ENOSYS ? "ENOSYS" : "refused by the kernel";
}
int main(void)
{
    unsigned char params[120] = {0};
    long rc;
#if defined(__x86_64__)
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"(425L), "D"(4L), "S"(params)
                     : "rcx", "r11", "memory");
    int err = rc < 0 ? (int)-rc : 0;
    if (rc < 0)
        rc = -1;
#else
    rc = syscall(425, 4, params); /* no inline form here: the same call */
    int err = errno;
#endif
    printf("asm %s\n", outcome(rc, err));
    if (rc >= 0)
        close((int)rc);
    rc = syscall(425, 4, params);
    printf("syscall() %s\n", outcome(rc, errno));
    if (rc >= 0)
        close((int)rc);
    return 0;
}
C
cc -O1 -o "$T/ring" "$T/ring.c"

cat >"$T/agent.py" <<'PY'
import ctypes, errno, os, subprocess, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
params = (ctypes.c_char * 120)()
fd = libc.syscall(425, 4, params)
e = ctypes.get_errno()
print("handle", "fd" if fd >= 0 else "ENOSYS" if e == errno.ENOSYS else "refused by the kernel")
if fd >= 0:
    os.close(fd)
seccomp = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")]
print("agent seccomp", seccomp[0] if seccomp else "?")
sys.stdout.flush()
out = subprocess.run([sys.argv[1]], stdout=subprocess.PIPE, universal_newlines=True).stdout
print("child " + out.replace("\n", " | ").rstrip(" |"))
status = subprocess.run(["grep", "^Seccomp:", "/proc/self/status"], stdout=subprocess.PIPE,
                        universal_newlines=True).stdout.split()
print("grandchild seccomp", status[1] if status else "?")
PY

ini() { # NAME STRICT
    mkdir -p "$T/$1.d"
    chmod 0700 "$T/$1.d"
    cat >"$T/$1.ini" <<INI
[enact]
state = $T/$1.d/t.state
audit_log = $T/$1.jsonl
strict = $2
[tool.api]
connect = 127.0.0.1:9
INI
}

# What io_uring gives without the shim on this kernel.
bare=$("$T/ring" | head -1 | sed 's/^asm //')
note "without the shim, io_uring_setup gives: $bare"

ini off false
out=$(timeout 60 "$ENACT" run -c "$T/off.ini" -- "$PY" "$T/agent.py" "$T/ring")
check_eq "without strict" "handle $bare
agent seccomp 0
child asm $bare | syscall() $bare
grandchild seccomp 0" "$out"

ini on true
out=$(timeout 60 "$ENACT" run -c "$T/on.ini" -- "$PY" "$T/agent.py" "$T/ring")
check_eq "strict" "handle ENOSYS
agent seccomp 2
child asm ENOSYS | syscall() ENOSYS
grandchild seccomp 2" "$out"
check_eq "strict: what the shim saw and recorded" True "$(audit_eval "$T/on.jsonl" '(
    [(r["exe"], r["op"], r["target"], r["verdict"], r.get("reason"), r.get("errno"))
     for r in recs if r["op"] == "syscall"] == [
        ("python3", "syscall", "io_uring_setup", "deny", "strict", "ENOSYS"),
        ("ring", "syscall", "io_uring_setup", "deny", "strict", "ENOSYS")]
    and not [r for r in recs if r["verdict"] == "error"])')"

# enact status, while a governed process waits: the filter is on in it.
"$ENACT" run -c "$T/on.ini" -- "$PY" -c 'import sys, time; open(sys.argv[1], "w").close(); time.sleep(30)' \
    "$T/ready" &
sleeper=$!
_BG_PIDS+=("$sleeper")
for _ in $(seq 500); do [ -e "$T/ready" ] && break; sleep 0.02; done
"$ENACT" status -c "$T/on.ini" >"$T/status" 2>&1 || fail "enact status failed: $(cat "$T/status")"
grep -q "strict: on; the seccomp filter that refuses io_uring is on in 1 of 1 governed processes" "$T/status" ||
    fail "enact status does not show the filter: $(cat "$T/status")"
"$ENACT" status -c "$T/on.ini" --json >"$T/status.json" || fail "enact status --json failed"
check_eq "status --json: strict" '{"on": true, "filtered": 1, "processes": 1}' \
    "$("$PY" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["strict"]))' "$T/status.json")"
kill "$sleeper" 2>/dev/null || true
