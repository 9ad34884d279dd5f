#!/usr/bin/env bash
# strict = true closes what user space can:
#   - a static binary is refused even under static_binaries = allow;
#   - syscall(425 /* io_uring_setup */, ...) returns -1 with ENOSYS and a
#     record (op syscall, reason strict), where without strict it reaches
#     the kernel;
#   - syscall(SYS_connect, ...) and syscall(SYS_execve, ...) are decided like
#     connect() and execve(): a spent tool refuses them with EPERM, where
#     without strict they go through;
#   - a state file others could change is refused (state_error naming
#     strict; on_error decides): a folder writable by all without the
#     sticky bit, a group-writable file.
. "$(dirname "$0")/lib.sh"

command -v gcc >/dev/null || fail "gcc is required"
PORT=$(free_port)
"$PY" - "$PORT" >"$T/server.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
PY
_BG_PIDS+=($!)
wait_accepting "$!" 127.0.0.1 "$PORT"

printf 'int main(void) { return 7; }\n' >"$T/s.c"
gcc -static -o "$T/static-prog" "$T/s.c"

cat >"$T/prog.c" <<'C'
/* prog PORT DIR: the outcome of each kind of call, one per line. */
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
static const char *name(int e) { return e == EPERM ? "EPERM" : e == ENOSYS ? "ENOSYS" : strerror(e); }
static int sock(int port, struct sockaddr_in *a)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return socket(AF_INET, SOCK_STREAM, 0);
}
int main(int argc, char **argv)
{
    (void)argc;
    int port = atoi(argv[1]);
    struct sockaddr_in a;
    int fd = sock(port, &a); /* spends the api tool's only token */
    printf("connect: %s\n", connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? "ok" : name(errno));
    close(fd);
    fd = sock(port, &a);
    long rc = syscall(SYS_connect, fd, (struct sockaddr *)&a, sizeof a);
    printf("syscall(SYS_connect): %s\n", rc == 0 ? "ok" : name(errno));
    close(fd);
    unsigned char params[120] = {0};
    rc = syscall(425, 4, params);
    printf("syscall(io_uring_setup): %s\n", rc >= 0 ? "fd" : errno == ENOSYS ? "ENOSYS" : "kernel refused");
    if (rc >= 0)
        close((int)rc);
    fflush(stdout);
    for (int i = 0; i < 2; i++) { /* the touch tool has one token */
        char file[512];
        snprintf(file, sizeof file, "%s/f%d", argv[2], i);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"touch", file, NULL};
            if (i == 0)
                execv("/usr/bin/touch", args);
            else
                syscall(SYS_execve, "/usr/bin/touch", args, (char *[]){NULL});
            printf("exec %d: %s\n", i, name(errno));
            fflush(stdout);
            _exit(126);
        }
        int st;
        waitpid(pid, &st, 0);
    }
    return 0;
}
C
cc -o "$T/prog" "$T/prog.c"

ini() { # NAME STRICT [EXTRA ENACT LINES]
    cat >"$T/$1.ini" <<INI
[enact]
state = $T/$1.d/t.state
audit_log = $T/$1.jsonl
static_binaries = allow
strict = $2
${3:-}
[tool.api]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
[tool.touch]
exec = touch
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
INI
    mkdir -p "$T/$1.d" "$T/$1.files"
    chmod 0700 "$T/$1.d"
}

ini off false
out=$("$ENACT" run -c "$T/off.ini" -- "$T/prog" "$PORT" "$T/off.files")
check_eq "without strict: raw syscalls pass" "connect: ok
syscall(SYS_connect): ok" "$(sed -n 1,2p <<<"$out")"
# Without strict the kernel answers io_uring_setup (an fd, or EPERM/ENOSYS
# where io_uring is disabled): no strict record either way.
[ -e "$T/off.files/f0" ] && [ -e "$T/off.files/f1" ] || fail "without strict: syscall(SYS_execve) did not run touch: $out"
check_eq "without strict: no strict record" 0 "$(audit_eval "$T/off.jsonl" 'sum(r.get("reason") == "strict" for r in recs)')"

ini on true
out=$("$ENACT" run -c "$T/on.ini" -- "$T/prog" "$PORT" "$T/on.files")
check_eq "strict: outcomes" "connect: ok
syscall(SYS_connect): EPERM
syscall(io_uring_setup): ENOSYS
exec 1: EPERM" "$out"
[ -e "$T/on.files/f0" ] || fail "strict: execv of touch did not run"
[ ! -e "$T/on.files/f1" ] || fail "strict: syscall(SYS_execve) ran touch past its limit"
check_eq "strict: records" True "$(audit_eval "$T/on.jsonl" '(
    sorted((r["op"], r["verdict"], r.get("reason"), r.get("errno")) for r in recs) == sorted([
        ("connect", "deny", "rate_limited", "EPERM"),
        ("syscall", "deny", "strict", "ENOSYS"),
        ("exec", "deny", "rate_limited", "EPERM")])
    and [r["target"] for r in recs if r["op"] == "syscall"] == ["io_uring_setup"])')"

# A static binary: static_binaries = allow, but strict refuses it.
set +e
"$ENACT" run -c "$T/on.ini" -- sh -c '"$1"; echo "static $?"' sh "$T/static-prog" >"$T/out" 2>/dev/null
set -e
check_eq "strict: a static binary" "static 126" "$(cat "$T/out")"
check_eq "strict: its record" 1 "$(audit_eval "$T/on.jsonl" \
    'sum(r["verdict"] == "deny" and r.get("reason") == "static_binary" for r in recs)')"
"$ENACT" run -c "$T/off.ini" -- sh -c '"$1"; echo "static $?"' sh "$T/static-prog" >"$T/out" 2>/dev/null || true
check_eq "without strict, static_binaries = allow: it runs" "static 7" "$(cat "$T/out")"

# State others could change: refused under strict (on_error = deny refuses
# the connect), used without it.
connect_once() { # CONFIG -> ok | EPERM
    "$ENACT" run -c "$1" -- "$PY" -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close(); print("ok")
except PermissionError:
    print("EPERM")' "$PORT" 2>/dev/null
}
for mode in open-folder group-file; do
    for s in true false; do
        name="$mode-$s"
        ini "$name" "$s"
        rm -f "$T/$name.d/t.state"
        case $mode in
        open-folder) chmod 0777 "$T/$name.d" ;;
        group-file)
            connect_once "$T/$name.ini" >/dev/null # makes the file, spends the token
            "$ENACT" reset -c "$T/$name.ini" >/dev/null
            chmod 0660 "$T/$name.d/t.state"
            rm -f "$T/$name.jsonl" ;;
        esac
        got=$(connect_once "$T/$name.ini")
        if [ "$s" = true ]; then
            check_eq "$name: refused" EPERM "$got"
            check_eq "$name: state_error naming strict" True "$(audit_eval "$T/$name.jsonl" \
                'any(r.get("reason") == "state_error" and "strict" in r.get("detail", "") for r in recs)')"
        else
            check_eq "$name: used" ok "$got"
        fi
    done
done
