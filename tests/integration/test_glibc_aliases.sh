#!/usr/bin/env bash
# glibc's other names of the calls the shim interposes go through its
# hooks, in every mode (test_symbols checks each is exported): a C program
# linked against __connect, __send, __write, __libc_system and _IO_popen,
# with tool api (one token; dry_run.response for a simulated one: sim) and
# tool touch (exec, one token):
#   - __connect spends api's token, the second __connect is refused with
#     EPERM (the tool's errno) and recorded rate_limited;
#   - on sim, a dry run, __send and __write are simulated: the server
#     gets no connection and the record's would_execute holds both sends;
#   - __libc_system("touch f0") runs, the second is refused (status 126);
#     _IO_popen of touch is refused too (NULL, EPERM), each recorded.
# Without the aliases exported these reach libc's own functions: the
# second connect succeeds, the bytes reach the server, and touch runs.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc is required"
start_counting_listeners "$T/conns.log" api sim
read -r API_PORT SIM_PORT <<<"$LISTENER_PORTS"

cat >"$T/prog.c" <<'C'
/* prog API_PORT SIM_PORT DIR: each call's outcome, one per line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
int __connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t __send(int fd, const void *buf, size_t len, int flags);
ssize_t __write(int fd, const void *buf, size_t len);
int __libc_system(const char *cmd);
FILE *_IO_popen(const char *cmd, const char *mode);
static const char *name(int e) { return e == EPERM ? "EPERM" : strerror(e); }
static int connect_to(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (__connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
int main(int argc, char **argv)
{
    (void)argc;
    for (int i = 0; i < 2; i++) {
        int fd = connect_to(atoi(argv[1]));
        printf("__connect %d: %s\n", i, fd >= 0 ? "ok" : name(errno));
        if (fd >= 0)
            close(fd);
    }
    int fd = connect_to(atoi(argv[2]));
    printf("sim __connect: %s\n", fd >= 0 ? "ok" : name(errno));
    printf("sim __send: %zd\n", __send(fd, "SET a 1\r\n", 9, 0));
    printf("sim __write: %zd\n", __write(fd, "SET b 2\r\n", 9));
    close(fd);
    char cmd[600];
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "touch %s/s%d", argv[3], i);
        int st = __libc_system(cmd);
        printf("__libc_system %d: %d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    snprintf(cmd, sizeof cmd, "touch %s/p", argv[3]);
    FILE *f = _IO_popen(cmd, "r");
    printf("_IO_popen: %s\n", f ? "stream" : name(errno));
    if (f)
        pclose(f);
    return 0;
}
C
cc -o "$T/prog" "$T/prog.c"

mkdir -p "$T/files"
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
[tool.sim]
connect = 127.0.0.1:$SIM_PORT
dry_run = true
dry_run.response = +OK\r\n
[tool.touch]
exec = touch
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
INI
out=$(timeout 60 "$ENACT" run -c "$T/enact.ini" -- "$T/prog" "$API_PORT" "$SIM_PORT" "$T/files" 2>"$T/err")
check_eq "outcomes" "__connect 0: ok
__connect 1: EPERM
sim __connect: ok
sim __send: 9
sim __write: 9
__libc_system 0: 0
__libc_system 1: 126
_IO_popen: EPERM" "$out"
check_eq "files touched" "s0" "$(ls "$T/files" | tr '\n' ' ' | sed 's/ $//')"
check_eq "connections the listeners got" "api" "$(sort "$T/conns.log" | tr '\n' ' ' | sed 's/ $//')"
check_eq "records" True "$(audit_eval "$T/audit.jsonl" '(
    sorted((r["op"], r["tool"], r["verdict"], r.get("reason", "")) for r in recs) == sorted([
        ("connect", "api", "deny", "rate_limited"),
        ("connect", "sim", "dry_run", ""),
        ("system", "touch", "deny", "rate_limited"),
        ("popen", "touch", "deny", "rate_limited")])
    and [r.get("would_execute") for r in recs if r["tool"] == "sim"] == ["SET a 1\r\nSET b 2\r\n"])')"
