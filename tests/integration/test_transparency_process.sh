#!/usr/bin/env bash
# What the program sees of its own process is the same with the shim as
# without it: its environment (the names), its open
# descriptors, its signal dispositions and mask, its children, and errno
# after successful calls. A C program reports all of these before and after
# a connect, a send and receive, fork+execv, posix_spawn, system() and
# popen(); it runs bare, under a config that maps nothing, and under one
# that maps every socket and program (action = request, io timeout, breaker,
# limits never reached). The three reports must be identical.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/probe.c" <<'C'
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;

static void report(const char *when)
{
    printf("[%s]\nfds:", when);
    DIR *d = opendir("/proc/self/fd");
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            printf(" %s", e->d_name);
    closedir(d);
    printf("\n");
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, st))
        if (!strncmp(line, "SigBlk", 6) || !strncmp(line, "SigIgn", 6) || !strncmp(line, "SigCgt", 6))
            fputs(line, stdout);
    fclose(st);
    errno = 0;
    pid_t w = waitpid(-1, NULL, WNOHANG);
    printf("children: %s\n", w == -1 && errno == ECHILD ? "none" : "some");
    for (char **v = environ; *v; v++)
        printf("env %.*s\n", (int)strcspn(*v, "="), *v);
}

int main(int argc, char **argv)
{
    (void)argc;
    int port = atoi(argv[1]);
    signal(SIGUSR1, SIG_IGN);
    report("start");

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    errno = 4242;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    printf("connect %d errno %d\n", rc, errno);
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    errno = 4242;
    ssize_t n = send(fd, req, sizeof req - 1, 0);
    printf("send %zd errno %d\n", n, errno);
    char buf[16];
    errno = 4242;
    n = recv(fd, buf, 12, MSG_WAITALL);
    printf("recv %zd errno %d %.12s\n", n, errno, buf);
    close(fd);
    report("after connect");

    pid_t pid = fork();
    if (pid == 0) {
        execv("/bin/true", (char *[]){"true", NULL});
        _exit(127);
    }
    int status;
    errno = 4242;
    printf("fork+execv waitpid %d status %d errno %d\n", waitpid(pid, &status, 0) == pid, status, errno);
    errno = 4242;
    rc = posix_spawn(&pid, "/bin/true", NULL, NULL, (char *[]){"true", NULL}, environ);
    printf("posix_spawn %d errno %d\n", rc, errno);
    waitpid(pid, &status, 0);
    errno = 4242;
    printf("system %d errno %d\n", system("true"), errno);
    FILE *p = popen("echo popen-out", "r");
    char out[32] = "";
    fgets(out, sizeof out, p);
    printf("popen %s pclose %d\n", strtok(out, "\n"), pclose(p));
    report("after programs");
    return 0;
}
C
cc -o "$T/probe" "$T/probe.c"

cat >"$T/none.ini" <<INI
[enact]
state = none.state
audit_log = none.jsonl
[tool.elsewhere]
connect = 10.255.255.1:9
exec = nothing-maps-this
INI
cat >"$T/all.ini" <<INI
[enact]
state = all.state
audit_log = all.jsonl
[tool.net]
connect = *
connect = unix:/*
connect = unix:@*
action = request
io_timeout_seconds = 30
breaker.failure_threshold = 1000
rate.max_calls_per_minute = 100000
rate.burst_size = 100000
[tool.programs]
exec = *
timeout_seconds = 60
breaker.failure_threshold = 1000
quota.max_actions = 100000
INI

(cd "$T" && env -u LD_PRELOAD "$T/probe" "$HTTP_PORT") >"$T/bare.out"
for cfg in none all; do
    (cd "$T" && "$ENACT" run -c "$T/$cfg.ini" -- "$T/probe" "$HTTP_PORT") >"$T/$cfg.out"
    diff -u "$T/bare.out" "$T/$cfg.out" >&2 || fail "the program saw its process differently under $cfg.ini"
done
grep -q '^recv 12 errno 4242 HTTP/1.0 200' "$T/bare.out" || fail "the probe did not talk to the server: $(cat "$T/bare.out")"
grep -q '^SigIgn:.*[1-9a-f]' "$T/bare.out" || fail "the probe's own SIGUSR1 disposition is not seen"
[ -s "$T/all.jsonl" ] && fail "records were written with nothing refused: $(cat "$T/all.jsonl")"
# And the second config did govern: each program start was decided (the
# probe, true twice, system's true, popen's echo).
used=$("$ENACT" status -c "$T/all.ini" --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(t["quota"]["used"] for a in s["agents"] for t in a["tools"] if t["name"] == "programs"))')
[ "$used" -ge 5 ] || fail "under all.ini only $used program starts were decided"
note "identical in three runs: $(grep -c . "$T/bare.out") lines (fds, signals, children, environment names, errno)"
