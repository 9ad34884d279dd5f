#!/usr/bin/env bash
# timeout: 120
# THREAT-MODEL.md, case by case: what a governed program can do today
# (strict = false) to get past its limits. Each case asserts the current
# behaviour exactly, so that a change to it fails here and the document is
# updated with it.
#
# Every case runs against a tool that refuses everything: no key refuses
# every call (rate.burst_size = 0 is rejected by enact check), so each
# config has one tool (connect to a loopback listener, exec touch) at
# 0.0001 calls a minute, burst 1, whose only token is spent first by a
# governed `touch`. A plain connect() or execve() is then refused (EPERM)
# for the next 10,000 minutes, and anything that reaches the listener (each
# connection says who it is in its first line) or creates a file got past.
#
#   1 raw syscall(2): syscall(SYS_connect) and syscall(SYS_execve) go
#     through; a program started that way is not governed at all (the
#     environment it inherits has no shim variables). The shim exports
#     syscall() and passes every call through unless strict = true
#     (test_strict.sh: there these are decided like connect and execve).
#   2 the syscall instruction (inline asm): goes through.
#   3 io_uring: io_uring_setup succeeds and an IORING_OP_CONNECT reaches the
#     listener (skipped when the kernel refuses io_uring).
#   4 static binaries: test_static_binaries.sh (static_binaries).
#   5 libc's own connect: through dlmopen(LM_ID_NEWLM), dlopen+dlsym on
#     libc's handle, Python's ctypes: all go through; dlsym(RTLD_DEFAULT)
#     finds the shim's and is refused, and so is glibc's alias __connect
#     (the shim exports it: test_glibc_aliases); test_strict_handles.sh:
#     strict = true closes the others.
#   6 the environment: env -u LD_PRELOAD, env -i, LD_PRELOAD= and the
#     loader run directly (also with --preload '') leave the program
#     governed; but `ld.so touch` is an exec of the loader, a static
#     program to Enact: it runs (static_binaries = audit, recorded) or is
#     refused (deny). A copy of touch under another name runs unrecorded.
#   7 the agent's own files: it finds the config in /proc/self/environ;
#     zeroing the state file, `enact reset` (which leaves a record),
#     raising a limit in the config: each gives it new calls; it can truncate and forge the audit log.
#   8 another user (as root only): state file and audit log are 0600 and
#     another uid cannot write them; but a state folder that another user
#     made first (the default /var/tmp/enact-UID included) is used as it
#     is: that user removes the state file (limits reset) or puts its own
#     there (on_error decides: deny refuses everything, allow admits it).
#   9 setuid (as root only): a setuid-root program run by another uid does
#     not load the shim (the loader's secure mode): its connect goes
#     through, ENACT_CONFIG stays in its environment; static_binaries
#     records it (audit) or refuses it (deny). Run by its owner, it loads
#     the shim. Loaded into it anyway (a setuid copy of the shim in a
#     system folder, the one preload secure mode honours), the shim ignores
#     ENACT_CONFIG (secure_getenv) and stays inert.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc is required"
command -v nm >/dev/null || fail "nm (binutils) is required"
TOUCH=$(command -v touch)

# ---- the programs -----------------------------------------------------------

cat >"$T/common.h" <<'EOF'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static struct sockaddr_in loopback(const char *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static const char *outcome(long rc, int err)
{
    if (rc == 0)
        return "ok";
    switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return strerror(err);
    }
}

/* Tells the listener who got through: the first line on the connection. */
static void tag(int fd, const char *name)
{
    char line[128];
    int n = snprintf(line, sizeof line, "%s\n", name);
    if (write(fd, line, (size_t)n) != n)
        perror("write");
}

/* The libc connect that the shim interposes. */
static const char *plain_connect(const char *port, const char *name)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    if (rc == 0)
        tag(fd, name);
    close(fd);
    return outcome(rc, err);
}
EOF

# probe NAME PORT: is the shim in this process, and what does a plain
# connect get.
cat >"$T/probe.c" <<'EOF'
#include "common.h"
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int mapped = 0;
    while (f && fgets(line, sizeof line, f))
        mapped |= strstr(line, "libenact_shim.so") != NULL;
    printf("%s: shim=%s setuid=%s ENACT_CONFIG=%s LD_PRELOAD=%s connect=%s\n", argv[1],
           mapped ? "yes" : "no", geteuid() != getuid() ? "yes" : "no",
           getenv("ENACT_CONFIG") ? "set" : "unset", getenv("LD_PRELOAD") ? "set" : "unset",
           plain_connect(argv[2], argv[1]));
    return 0;
}
EOF

# rawsys PORT FILE TOUCH PROBE: the libc calls and their syscall(2) forms.
cat >"$T/rawsys.c" <<'EOF'
#include "common.h"
static const char *child(int raw, char *const argv[])
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (raw)
            syscall(SYS_execve, argv[0], argv, environ);
        else
            execve(argv[0], argv, environ);
        _exit(errno == EPERM ? 126 : 127);
    }
    int st;
    waitpid(pid, &st, 0);
    return !WIFEXITED(st) ? "killed" : WEXITSTATUS(st) == 0 ? "ok"
                                     : WEXITSTATUS(st) == 126 ? "EPERM" : "failed";
}
int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    printf("connect=%s\n", plain_connect(argv[1], "plain-connect"));
    struct sockaddr_in a = loopback(argv[1]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long rc = syscall(SYS_connect, fd, (struct sockaddr *)&a, sizeof a);
    printf("syscall(SYS_connect)=%s\n", outcome(rc, errno));
    if (rc == 0)
        tag(fd, "syscall-connect");
    close(fd);
    char plain[4096], raw[4096];
    snprintf(plain, sizeof plain, "%s.plain", argv[2]);
    snprintf(raw, sizeof raw, "%s.raw", argv[2]);
    char *touch_plain[] = {argv[3], plain, NULL}, *touch_raw[] = {argv[3], raw, NULL};
    printf("execve(touch)=%s\n", child(0, touch_plain));
    printf("syscall(SYS_execve, touch)=%s\n", child(1, touch_raw));
    char *probe[] = {argv[4], "raw-exec-child", argv[1], NULL};
    child(1, probe);
    return 0;
}
EOF

# asm PORT: connect through the system call instruction, no libc.
cat >"$T/asm.c" <<'EOF'
#include "common.h"
static long raw_connect(long fd, const void *addr, long len)
{
    long ret;
#if defined(__x86_64__)
    __asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_connect), "D"(fd), "S"(addr), "d"(len)
                     : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_connect, x0 __asm__("x0") = fd;
    register long x1 __asm__("x1") = (long)addr, x2 __asm__("x2") = len;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    ret = x0;
#else
#error "no inline system call for this architecture"
#endif
    return ret;
}
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    printf("connect=%s\n", plain_connect(argv[1], "plain-connect"));
    struct sockaddr_in a = loopback(argv[1]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long rc = raw_connect(fd, &a, sizeof a);
    printf("asm connect=%s\n", outcome(rc, (int)-rc));
    if (rc == 0)
        tag(fd, "asm-connect");
    close(fd);
    return 0;
}
EOF

# uring PORT: IORING_OP_CONNECT with raw system calls and the rings mapped
# by hand (no liburing).
cat >"$T/uring.c" <<'EOF'
#include "common.h"
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <sys/mman.h>
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    printf("connect=%s\n", plain_connect(argv[1], "plain-connect"));
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (ring < 0) {
        printf("io_uring_setup=%s\n", outcome(-1, errno));
        return 0;
    }
    printf("io_uring_setup=ok\n");
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (single)
        sq_len = cq_len = sq_len > cq_len ? sq_len : cq_len;
    int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_POPULATE;
    char *sq = mmap(NULL, sq_len, prot, flags, ring, IORING_OFF_SQ_RING);
    char *cq = single ? sq : mmap(NULL, cq_len, prot, flags, ring, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes =
        mmap(NULL, p.sq_entries * sizeof *sqes, prot, flags, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
        printf("io_uring mmap=%s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in a = loopback(argv[1]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    _Atomic unsigned *sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
    unsigned tail = atomic_load(sq_tail), mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    struct io_uring_sqe *sqe = &sqes[tail & mask];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_CONNECT;
    sqe->fd = fd;
    sqe->addr = (unsigned long)&a;
    sqe->off = sizeof a; /* a connect's address length travels in off */
    ((unsigned *)(sq + p.sq_off.array))[tail & mask] = tail & mask;
    atomic_store_explicit(sq_tail, tail + 1, memory_order_release);
    if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        printf("io_uring_enter=%s\n", strerror(errno));
        return 1;
    }
    _Atomic unsigned *cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
    unsigned head = atomic_load_explicit(cq_head, memory_order_acquire);
    struct io_uring_cqe *cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) +
                               (head & *(unsigned *)(cq + p.cq_off.ring_mask));
    int res = cqe->res;
    atomic_store_explicit(cq_head, head + 1, memory_order_release);
    printf("IORING_OP_CONNECT=%s\n", outcome(res, -res));
    if (res == 0)
        tag(fd, "io_uring-connect");
    close(fd);
    return 0;
}
EOF

# dl PORT: libc's own connect, reached without the interposed symbol.
cat >"$T/dl.c" <<'EOF'
#include "common.h"
#include <dlfcn.h>
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
extern int __connect(int, const struct sockaddr *, socklen_t);
static void try(const char *how, connect_fn fn, const char *port)
{
    if (!fn) {
        printf("%s=unresolved\n", how);
        return;
    }
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = fn(fd, (struct sockaddr *)&a, sizeof a);
    printf("%s=%s\n", how, outcome(rc, errno));
    if (rc == 0)
        tag(fd, how);
    close(fd);
}
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    printf("connect=%s\n", plain_connect(argv[1], "plain-connect"));
    /* LD_PRELOAD applies to the base namespace only. */
    void *ns = dlmopen(LM_ID_NEWLM, "libc.so.6", RTLD_NOW | RTLD_LOCAL);
    try("dlmopen", ns ? (connect_fn)dlsym(ns, "connect") : NULL, argv[1]);
    /* A handle's lookup searches that object and its dependencies. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    try("dlopen+dlsym", libc ? (connect_fn)dlsym(libc, "connect") : NULL, argv[1]);
    try("__connect", __connect, argv[1]);
    /* The global scope: the shim comes first. */
    try("dlsym(RTLD_DEFAULT)", (connect_fn)dlsym(RTLD_DEFAULT, "connect"), argv[1]);
    return 0;
}
EOF

cat >"$T/ctypes_connect.py" <<'EOF'
import ctypes, socket, struct, sys
port = int(sys.argv[1])
s = socket.socket()
try:
    s.connect(("127.0.0.1", port))
    s.send(b"plain-connect\n")
    print("socket.connect=ok")
except PermissionError:
    print("socket.connect=EPERM")
s.close()
libc = ctypes.CDLL("libc.so.6", use_errno=True)
s = socket.socket()
addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + \
    socket.inet_aton("127.0.0.1") + bytes(8)
rc = libc.connect(s.fileno(), addr, len(addr))
print("ctypes libc.connect=" + ("ok" if rc == 0 else str(ctypes.get_errno())))
if rc == 0:
    s.send(b"ctypes-connect\n")
s.close()
EOF

for p in probe rawsys asm uring dl; do
    cc -O -Wall -o "$T/$p" "$T/$p.c" -ldl 2>"$T/cc.err" || { cat "$T/cc.err" >&2; fail "cc $p.c"; }
done

# ---- the listener and the configs ------------------------------------------

cat >"$T/listener.py" <<'EOF'
import socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
lock = threading.Lock()
def handle(c):
    c.settimeout(5)
    data = b""
    try:
        while b"\n" not in data:
            chunk = c.recv(256)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    c.close()
    with lock, open(sys.argv[2], "a") as f:
        f.write((data.split(b"\n")[0].decode(errors="replace") or "(nothing)") + "\n")
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
: >"$T/conns.log"
spawn_bg "$T/listener.out" "$PY" "$T/listener.py" "$T/port" "$T/conns.log"
for _ in $(seq 250); do [ -s "$T/port" ] && break; sleep 0.02; done
[ -s "$T/port" ] || fail "the listener did not start: $(cat "$T/listener.out")"
PORT=$(cat "$T/port")

# Every tag the listener must have seen, in order of the cases.
EXPECTED=()
# expect_seen TAG: waits (5 s at most) until a connection said TAG.
expect_seen() {
    EXPECTED+=("$1")
    for _ in $(seq 250); do
        grep -qxF "$1" "$T/conns.log" && return 0
        sleep 0.02
    done
    fail "the listener never saw a connection from '$1': $(cat "$T/conns.log")"
}

# check_connections: nothing else reached the listener (no refused call did).
check_connections() {
    sleep 0.2
    check_eq "connections that got through" "$(printf '%s\n' "${EXPECTED[@]}" | sort)" \
        "$(sort "$T/conns.log")"
}

# mkcfg DIR NAME [[enact] LINES...]: DIR/NAME.ini, its state NAME.state and
# audit log NAME.jsonl beside it, agent "agent"; then spends the tool's only
# token (a governed touch, by the current user).
mkcfg() {
    local dir=$1 name=$2
    shift 2
    {
        echo "[enact]"
        echo "agent = agent"
        echo "state = $name.state"
        echo "audit_log = $name.jsonl"
        local line
        for line in "$@"; do echo "$line"; done
        echo "[tool.everything]"
        echo "connect = 127.0.0.1:$PORT"
        echo "exec = touch"
        echo "rate.max_calls_per_minute = 0.0001"
        echo "rate.burst_size = 1"
    } >"$dir/$name.ini"
    "$ENACT" check "$dir/$name.ini" >/dev/null || fail "$name.ini does not load"
    "$ENACT" run -c "$dir/$name.ini" -- touch "$dir/$name.primed" ||
        fail "$name: the first touch was refused"
}

# No key refuses every call: a burst of 0 is an error.
printf '[tool.t]\nexec = touch\nrate.max_calls_per_minute = 1\nrate.burst_size = 0\n' >"$T/zero.ini"
set +e
out=$("$ENACT" check "$T/zero.ini" 2>&1)
rc=$?
set -e
check_eq "burst_size = 0: enact check" "1 $T/zero.ini:4: rate.burst_size must be a whole number from 1 to 1000000000, not '0'" "$rc $out"
note "setup: rate.burst_size = 0 is rejected by enact check; each case spends the only token of a 0.0001/min, burst 1 tool"

mkcfg "$T" main
CFG=$T/main.ini
run() { "$ENACT" run -c "$CFG" -- "$@"; }

# ---- 1. raw syscall(2) ------------------------------------------------------

out=$(run "$T/rawsys" "$PORT" "$T/f" "$TOUCH" "$T/probe")
check_eq "raw syscall" "connect=EPERM
syscall(SYS_connect)=ok
execve(touch)=EPERM
syscall(SYS_execve, touch)=ok
raw-exec-child: shim=no setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=ok" "$out"
expect_seen syscall-connect
expect_seen raw-exec-child
[ -e "$T/f.raw" ] || fail "raw syscall: the raw execve of touch created nothing"
[ ! -e "$T/f.plain" ] || fail "raw syscall: the refused execve of touch created its file"
exported=$(nm -D --defined-only "$SHIM" | awk '$3 ~ /^syscall(@|$)/ {print $3}')
check_eq "the shim exports syscall() (strict mode's hook)" "syscall" "$exported"
note "raw syscall, strict = false: connect/execve EPERM; syscall(SYS_connect) and syscall(SYS_execve) go through; the program so started runs without the shim (shim=no); strict = true decides them (test_strict)"

# ---- 2. the system call instruction ----------------------------------------

out=$(run "$T/asm" "$PORT")
check_eq "inline syscall" "connect=EPERM
asm connect=ok" "$out"
expect_seen asm-connect
note "inline asm: connect EPERM; the syscall instruction's connect goes through (no user-space hook can see it)"

# ---- 3. io_uring --------------------------------------------------------------

out=$(run "$T/uring" "$PORT")
case $out in
*"io_uring_setup=ENOSYS"* | *"io_uring_setup=EPERM"*)
    check_eq "io_uring refused by the kernel: plain connect" "connect=EPERM" "$(head -1 <<<"$out")"
    note "io_uring: skipped, the kernel refuses io_uring_setup (${out##*=}; kernel.io_uring_disabled or seccomp)"
    ;;
*)
    check_eq "io_uring" "connect=EPERM
io_uring_setup=ok
IORING_OP_CONNECT=ok" "$out"
    expect_seen io_uring-connect
    note "io_uring: connect EPERM; io_uring_setup (syscall 425) succeeds, IORING_OP_CONNECT reaches the listener"
    ;;
esac

# ---- 4. static binaries -----------------------------------------------------

note "static binaries: see test_static_binaries.sh (static_binaries = deny refuses them, audit records them, allow is silent)"

# ---- 5. libc's own connect ----------------------------------------------------

out=$(run "$T/dl" "$PORT")
check_eq "libc's own connect" "connect=EPERM
dlmopen=ok
dlopen+dlsym=ok
__connect=EPERM
dlsym(RTLD_DEFAULT)=EPERM" "$out"
expect_seen dlmopen
expect_seen dlopen+dlsym
out=$(run "$PY" "$T/ctypes_connect.py" "$PORT")
check_eq "ctypes" "socket.connect=EPERM
ctypes libc.connect=ok" "$out"
expect_seen ctypes-connect
note "libc's own connect: dlmopen(LM_ID_NEWLM), dlsym on dlopen(libc.so.6), Python ctypes.CDLL(\"libc.so.6\").connect go through; dlsym(RTLD_DEFAULT) and __connect get the shim's (EPERM)"

# ---- 6. the environment and the loader -------------------------------------

LDSO=$(sed -n 's/.*interpreter \(\/[^ ,)]*\).*/\1/p' <<<"$("$ENACT" doctor /bin/true)" | head -1)
[ -x "$LDSO" ] || fail "enact doctor names no interpreter for /bin/true: $("$ENACT" doctor /bin/true)"
out=$(run env -u LD_PRELOAD "$T/probe" env-u "$PORT")
out+=$'\n'$(run env -i "$T/probe" env-i "$PORT")
out+=$'\n'$(run sh -c 'LD_PRELOAD= "$0" emptied "$1"' "$T/probe" "$PORT")
out+=$'\n'$(run "$LDSO" "$T/probe" ldso "$PORT")
out+=$'\n'$(run "$LDSO" --preload '' "$T/probe" ldso-preload "$PORT")
check_eq "still governed" "env-u: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM
env-i: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM
emptied: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM
ldso: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM
ldso-preload: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM" "$out"
note "environment: env -u LD_PRELOAD, env -i, LD_PRELOAD= and $LDSO [--preload ''] PROG: PROG still loads the shim, its connect EPERM"

: >"$T/main.jsonl"
run "$LDSO" "$TOUCH" "$T/via-loader" || fail "the loader running touch was refused"
[ -e "$T/via-loader" ] || fail "the loader running touch created nothing"
check_eq "the loader's start: one record" "allow static_binary $LDSO" "$(audit_eval "$T/main.jsonl" \
    '" ".join(str(recs[0].get(k)) for k in ("verdict", "reason", "target")) if len(recs) == 1 else recs')"
mkcfg "$T" loader "static_binaries = deny"
set +e
"$ENACT" run -c "$T/loader.ini" -- "$LDSO" "$TOUCH" "$T/via-loader-deny" 2>/dev/null
rc=$?
set -e
check_eq "static_binaries = deny: the loader's start" 126 "$rc"
[ ! -e "$T/via-loader-deny" ] || fail "static_binaries = deny: the loader still ran touch"
cp "$TOUCH" "$T/renamed"
: >"$T/main.jsonl"
run "$T/renamed" "$T/via-copy" || fail "the copy of touch was refused"
[ -e "$T/via-copy" ] || fail "the copy of touch created nothing"
[ ! -s "$T/main.jsonl" ] || fail "the copy of touch was recorded: $(cat "$T/main.jsonl")"
note "loader: '$LDSO touch FILE' is an exec of the loader (static to Enact): exec = touch does not match, it runs, recorded allow/static_binary (static_binaries = deny: refused, 126)"
note "renamed program: a copy of touch as 'renamed' runs, no record (rules match names)"

# ---- 7. the agent's own files ----------------------------------------------

mkcfg "$T" own
cat >"$T/own-files.sh" <<'EOF'
port=$1 probe=$2 enact=$3
# The shim's variables are gone from environ, not from /proc/self/environ.
cfg=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^ENACT_CONFIG=//p')
echo "config from /proc: ${cfg##*/}"
"$probe" before "$port"
dd if=/dev/zero of="$(dirname "$cfg")/own.state" bs=4096 count=1 conv=notrunc status=none
"$probe" zeroed "$port"
"$probe" zeroed-2 "$port"
"$enact" reset -c "$cfg" >/dev/null
"$probe" reset "$port"
"$probe" reset-2 "$port"
sed -i 's/^rate.burst_size = 1$/rate.burst_size = 2/' "$cfg"
"$probe" edited "$port"
"$probe" edited-2 "$port"
"$probe" edited-3 "$port"
log=$(dirname "$cfg")/own.jsonl
wc -l <"$log" >"$log.count"
echo '{"v":1,"ts":"2026-01-01T00:00:00.000Z","pid":1,"agent":"agent","exe":"probe","op":"connect","tool":"everything","target":"127.0.0.1:1","verdict":"deny","reason":"rate_limited","errno":"EPERM","retry_after_ms":1}' >"$log"
EOF
out=$("$ENACT" run -c "$T/own.ini" -- sh "$T/own-files.sh" "$PORT" "$T/probe" "$ENACT" | sed 's/ shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset / /')
check_eq "own files" "config from /proc: own.ini
before: connect=EPERM
zeroed: connect=ok
zeroed-2: connect=EPERM
reset: connect=ok
reset-2: connect=EPERM
edited: connect=ok
edited-2: connect=ok
edited-3: connect=EPERM" "$out"
expect_seen zeroed
expect_seen reset
expect_seen edited
expect_seen edited-2
ls "$T"/own.state.corrupt-* >/dev/null 2>&1 || fail "own files: the zeroed state file was not moved aside"
# Before the forgery: 4 refusals, the rebuild and the reset's own record.
check_eq "own files: records before the forgery" 6 "$(cat "$T/own.jsonl.count")"
check_eq "own files: enact log after the forgery" "2026-01-01 00:00:00 deny rate_limited 127.0.0.1:1" \
    "$("$ENACT" log -c "$T/own.ini" | tail -n +2 | awk '{print $1, $2, $6, $7, $8}')"
note "own files: ENACT_CONFIG is readable in /proc/self/environ; zeroing the state file: rebuilt full (1 more call, an error/state_error record); enact reset: 1 more call and a reset record; burst 1 -> 2 in the config: a fresh bucket (2 more calls); the log truncated and forged: enact log shows only the forgery"

# ---- 8. another user ----------------------------------------------------------

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    note "another user: skipped (needs root and setpriv)"
    note "setuid: skipped (needs root and setpriv)"
    check_connections
    exit 0
fi
NOBODY=65534
VICTIM=47011 # an unused uid: its default state folder is /var/tmp/enact-47011
as() { # UID CMD...: CMD under that uid and gid, no other groups, no XDG_RUNTIME_DIR
    local uid=$1
    shift
    setpriv --reuid="$uid" --regid="$uid" --clear-groups env -u XDG_RUNTIME_DIR "$@"
}
# $T is inside the runner's 0700 folder: the other users' files live in a
# folder of their own that they can reach.
PUB=$(mktemp -d /tmp/enact-threat.XXXXXX)
VTMP=/var/tmp/enact-$VICTIM
made_vtmp=
SECURE_SHIM=
cleanup() {
    rm -rf "$PUB"
    [ -z "$SECURE_SHIM" ] || rm -f "$SECURE_SHIM"
    [ -z "$made_vtmp" ] || rm -rf "$VTMP"
    _lib_cleanup
}
trap cleanup EXIT
chmod 0755 "$PUB"
mkdir "$PUB/bin" "$PUB/root" "$PUB/victim" "$PUB/nobody"
cp "$ENACT" "$SHIM" "$T/probe" "$PUB/bin/"
chown "$VICTIM:$VICTIM" "$PUB/victim"
chown "$NOBODY:$NOBODY" "$PUB/nobody"

mkcfg "$PUB/root" root
# A refusal writes the log's first record.
check_eq "root: refused" "root: connect=EPERM" \
    "$("$ENACT" run -c "$PUB/root/root.ini" -- "$T/probe" root "$PORT" | sed 's/ shim=.* connect=/ connect=/')"
check_eq "modes of the state file and the audit log" "600 600" \
    "$(stat -c %a "$PUB/root/root.state") $(stat -c %a "$PUB/root/root.jsonl")"
for f in root.state root.jsonl; do
    if as "$NOBODY" sh -c ': >>"$1"' sh "$PUB/root/$f" 2>/dev/null; then
        fail "another user: uid $NOBODY could open $f for writing"
    fi
done
note "another user: state file and audit log are created 0600; uid $NOBODY cannot open either for writing"

if [ -e "$VTMP" ]; then
    note "another user's folder: skipped ($VTMP exists already)"
else
    as "$NOBODY" mkdir -m 0777 "$VTMP"
    made_vtmp=1
    cat >"$PUB/victim/victim.ini" <<EOF
[enact]
agent = agent
audit_log = victim.jsonl
[tool.everything]
connect = 127.0.0.1:$PORT
exec = touch
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
EOF
    victim() { as "$VICTIM" "$PUB/bin/enact" run -c "$PUB/victim/victim.ini" -- "$@"; }
    victim touch "$PUB/victim/primed" || fail "victim: the first touch was refused"
    state=$(ls "$VTMP"/*.state)
    check_eq "the victim's state file in the other user's folder" "$VICTIM 600" \
        "$(stat -c '%u %a' "$state")"
    out=$(victim "$PUB/bin/probe" victim-before "$PORT")
    as "$NOBODY" rm -f "$state"
    out+=$'\n'$(victim "$PUB/bin/probe" victim-removed "$PORT")
    out+=$'\n'$(victim "$PUB/bin/probe" victim-removed-2 "$PORT")
    as "$NOBODY" sh -c 'rm -f "$1" && : >"$1"' sh "$state"
    out+=$'\n'$(victim "$PUB/bin/probe" victim-replaced "$PORT")
    sed -i 's/^agent = agent$/agent = agent\non_error = allow/' "$PUB/victim/victim.ini"
    out+=$'\n'$(victim "$PUB/bin/probe" victim-replaced-allow "$PORT")
    check_eq "the victim's calls" "victim-before: connect=EPERM
victim-removed: connect=ok
victim-removed-2: connect=EPERM
victim-replaced: connect=EPERM
victim-replaced-allow: connect=ok" \
        "$(sed 's/ shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset / /' <<<"$out")"
    expect_seen victim-removed
    expect_seen victim-replaced-allow
    check_eq "the victim's connect records" \
        "deny rate_limited|deny rate_limited|deny state_error|error state_error" \
        "$(audit_eval "$PUB/victim/victim.jsonl" \
            '"|".join(r["verdict"] + " " + r["reason"] for r in recs if r.get("op") == "connect")')"
    note "another user's folder: $VTMP made first by uid $NOBODY (0777) is used as it is: the victim's state file (0600) in it; removed by uid $NOBODY: the victim's limits start over (1 more call); replaced by a file of uid $NOBODY: state_error, on_error decides (deny: EPERM; allow: the connect goes through)"
fi

# ---- 9. setuid ------------------------------------------------------------------

cp "$T/probe" "$PUB/suid-probe"
chmod 4755 "$PUB/suid-probe"
cat >"$PUB/nobody/nobody.ini" <<EOF
[enact]
agent = agent
state = nobody.state
audit_log = nobody.jsonl
[tool.everything]
connect = 127.0.0.1:$PORT
exec = touch
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
EOF
chown "$NOBODY:$NOBODY" "$PUB/nobody/nobody.ini"
nob() { as "$NOBODY" "$PUB/bin/enact" run -c "$PUB/nobody/nobody.ini" -- "$@"; }
nob touch "$PUB/nobody/primed" || fail "setuid: the first touch was refused"
out=$(nob "$PUB/bin/probe" nobody-dynamic "$PORT")
out+=$'\n'$(nob "$PUB/suid-probe" nobody-setuid "$PORT")
if grep -q "nobody-setuid: .*setuid=no" <<<"$out"; then
    note "setuid: skipped ($PUB is on a nosuid mount: the program runs as uid $NOBODY)"
    check_eq "setuid: the plain program" "nobody-dynamic: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM" "$(head -1 <<<"$out")"
else
    check_eq "setuid" "nobody-dynamic: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM
nobody-setuid: shim=no setuid=yes ENACT_CONFIG=set LD_PRELOAD=unset connect=ok" "$out"
    expect_seen nobody-setuid
    check_eq "setuid: the start's record" "allow setuid" "$(audit_eval "$PUB/nobody/nobody.jsonl" \
        '" ".join(r["verdict"] + " " + r["reason"] for r in recs if r.get("op") == "exec")')"
    sed -i 's/^agent = agent$/agent = agent\nstatic_binaries = deny/' "$PUB/nobody/nobody.ini"
    set +e
    nob "$PUB/suid-probe" nobody-setuid-deny "$PORT" >/dev/null 2>&1
    rc=$?
    set -e
    check_eq "setuid with static_binaries = deny: status" 126 "$rc"
    # Its owner running it: no secure mode, the shim is loaded.
    : >"$T/main.jsonl"
    out=$("$ENACT" run -c "$CFG" -- "$PUB/suid-probe" root-setuid "$PORT")
    check_eq "setuid run by its owner: the start's record" \
        "allow setuid the preload cannot follow this program: its own calls are not governed" \
        "$(audit_eval "$T/main.jsonl" \
            '" ".join(r["verdict"] + " " + r["reason"] + " " + r["detail"] for r in recs if r.get("op") == "exec")')"
    check_eq "setuid run by its owner" "root-setuid: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM" "$out"
    # Loaded into a setuid process anyway, the shim ignores ENACT_*: the one
    # preload the loader honours in secure mode is a setuid library in a
    # system folder, named without a slash. The shim reads its variables
    # with secure_getenv, so it stays inert there: the connect goes
    # through, nothing is recorded. The same library without secure mode
    # (the plain probe) governs as ever.
    SYSLIB=/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)
    if [ -d "$SYSLIB" ] && [ "$SYSLIB" != /usr/lib/ ]; then
        SECURE_SHIM=$SYSLIB/enact-threat-$$-libenact_shim.so
        install -m 4755 "$SHIM" "$SECURE_SHIM"
        : >"$PUB/nobody/nobody.jsonl"
        out=$(cd "$PUB/nobody" && as "$NOBODY" env LD_PRELOAD="$(basename "$SECURE_SHIM")" \
            ENACT_CONFIG="$PUB/nobody/nobody.ini" "$PUB/suid-probe" secure-loaded "$PORT")
        check_eq "setuid with the shim loaded in secure mode" \
            "secure-loaded: shim=yes setuid=yes ENACT_CONFIG=set LD_PRELOAD=unset connect=ok" "$out"
        expect_seen secure-loaded
        check_eq "setuid with the shim loaded: no record" 0 "$(audit_eval "$PUB/nobody/nobody.jsonl" 'len(recs)')"
        out=$(cd "$PUB/nobody" && as "$NOBODY" env LD_PRELOAD="$SECURE_SHIM" \
            ENACT_CONFIG="$PUB/nobody/nobody.ini" "$PUB/bin/probe" plain-loaded "$PORT")
        check_eq "the same library, no secure mode" \
            "plain-loaded: shim=yes setuid=no ENACT_CONFIG=unset LD_PRELOAD=unset connect=EPERM" "$out"
        note "setuid: the shim loaded into a setuid process (a setuid copy in $SYSLIB) ignores ENACT_CONFIG (secure_getenv): inert, its connect goes through unrecorded; the same library governs a plain program"
    fi
    note "setuid: a setuid-root program run governed by uid $NOBODY: the shim is not loaded (secure mode), its connect goes through, ENACT_CONFIG is still in its environment (LD_PRELOAD is not); recorded allow/setuid; static_binaries = deny refuses its start (126); run by root, its owner, it loads the shim (connect EPERM)"
fi

check_connections
