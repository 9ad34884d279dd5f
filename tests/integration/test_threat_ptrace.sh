#!/usr/bin/env bash
# THREAT-MODEL.md, ptrace: a tracer can make a governed process issue any
# system call. The agent forks a child that asks to be traced; the child's
# connect() to a tool whose only token is spent is refused (EPERM), then it
# calls getppid(), whose system call the tracing parent rewrites at entry
# into connect on the same socket: the connection reaches the listener, and
# no record says so. strict = true does not change this (user space cannot
# stop it; Yama's ptrace_scope or seccomp can).
. "$(dirname "$0")/lib.sh"

case $(uname -m) in x86_64) ;; *) note "ptrace case written for x86_64: skipped on $(uname -m)"; exit 0 ;; esac
start_counting_listeners "$T/accepts.log" api
PORT=$LISTENER_PORTS

cat >"$T/tracer.c" <<'C'
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in addr; /* at the same address in the forked child */
static int fd;

int main(int argc, char **argv)
{
    (void)argc;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
        printf("connect=%s\n", rc == 0 ? "ok" : errno == EPERM ? "EPERM" : strerror(errno));
        getppid(); /* the tracer turns this into connect(fd, &addr, len) */
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        printf("traced connect=%s\n",
               getpeername(fd, (struct sockaddr *)&peer, &len) == 0 ? "ok" : strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0); /* the SIGSTOP */
    ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)PTRACE_O_TRACESYSGOOD);
    for (;;) {
        ptrace(PTRACE_SYSCALL, child, NULL, NULL);
        if (waitpid(child, &status, 0) < 0 || WIFEXITED(status))
            break;
        if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
            continue;
        struct user_regs_struct r;
        ptrace(PTRACE_GETREGS, child, NULL, &r);
        if (r.orig_rax == SYS_getppid && r.rax == (unsigned long long)-ENOSYS) { /* at entry */
            r.orig_rax = SYS_connect;
            r.rdi = (unsigned long long)fd;
            r.rsi = (unsigned long long)(unsigned long)&addr;
            r.rdx = sizeof addr;
            ptrace(PTRACE_SETREGS, child, NULL, &r);
            ptrace(PTRACE_DETACH, child, NULL, NULL);
            waitpid(child, &status, 0);
            break;
        }
    }
    return 0;
}
C
cc -o "$T/tracer" "$T/tracer.c"

for strict in false true; do
    : >"$T/accepts.log"
    rm -f "$T/t.state" "$T/audit.jsonl"
    cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
strict = $strict
[tool.api]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
INI
    # The tool's only token, spent by a first governed connect.
    "$ENACT" run -c "$T/enact.ini" -a agent -- "$PY" -c '
import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()' "$PORT"
    out=$("$ENACT" run -c "$T/enact.ini" -a agent -- "$T/tracer" "$PORT")
    if grep -q 'traced connect=Operation not permitted' <<<"$out"; then
        note "ptrace is not permitted here (Yama ptrace_scope or seccomp): skipped"
        exit 0
    fi
    check_eq "strict = $strict: outcomes" "connect=EPERM
traced connect=ok" "$out"
    for _ in $(seq 50); do [ "$(grep -c api "$T/accepts.log")" -ge 2 ] && break; sleep 0.05; done
    check_eq "strict = $strict: connections the listener accepted" 2 "$(grep -c api "$T/accepts.log")"
    check_eq "strict = $strict: records (the refusal only)" 1 "$(audit_eval "$T/audit.jsonl" 'len(recs)')"
done
note "ptrace: the traced child's getppid() rewritten into connect reaches the listener past a spent limit, with strict = false and true; only the refused connect is recorded"
