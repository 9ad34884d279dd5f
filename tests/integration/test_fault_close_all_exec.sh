#!/usr/bin/env bash
# Fault injection: a program that closes every descriptor, as daemons and
# sandboxes do, with governed connections open. Before closing, the agent
# opens a simulated connection (dry-run tool) and sends "PING\r\n" on it,
# makes 1 connect to a tool of burst 3 and starts `true` once (a tool of
# burst 2). Then it closes everything:
#   range: close_range(3, ~0U, 0) (the libc call);
#   loop:  close(fd) for every fd 0..1023, stdin, stdout and stderr too;
#   raw:   syscall(SYS_close_range, 3, ~0U, 0), which no preload sees;
# opens 6 regular files, which take the freed numbers (the simulated
# connection's among them), and writes and reads back a line in each: every
# byte must reach the file (none taken for the simulated connection).
# Then 4 connects to the tool of burst 3 (ok ok EPERM EPERM) and 2 starts
# of `true` (ran, EPERM): the limits hold exactly; the listener accepted
# exactly the 3 admitted connections and the dry-run tool's none. Records:
# the 3 refusals and the simulated connection's dry_run record with what
# it sent.
# timeout: 60
. "$(dirname "$0")/lib.sh"

start_counting_listeners "$T/accepts.log" api sim
read -r API_PORT SIM_PORT <<<"$LISTENER_PORTS"

cat >"$T/closer.c" <<'C'
/* closer MODE OUT DIR API SIM: see the test's header. Results go to the
 * file OUT (opened again after everything is closed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int out = 1;
static const char *name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return strerror(e);
    }
}
static int dial(int port, int *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    *err = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    return s;
}
static const char *start_true(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"true", NULL};
        execv("/bin/true", args);
        _exit(100 + errno);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return "lost";
    if (WIFSIGNALED(st))
        return "killed";
    return WEXITSTATUS(st) == 0 ? "ran" : WEXITSTATUS(st) > 100 ? name(WEXITSTATUS(st) - 100)
                                                                 : "failed";
}
int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    const char *mode = argv[1], *outpath = argv[2], *dir = argv[3];
    int api = atoi(argv[4]), simport = atoi(argv[5]), err;

    /* Before: a simulated connection with bytes sent, one real one, one
     * start. */
    int sim = dial(simport, &err);
    if (err || send(sim, "PING\r\n", 6, 0) != 6)
        return 3;
    int first = dial(api, &err);
    const char *first_api = name(err);
    const char *first_start = start_true();

    if (strcmp(mode, "range") == 0) {
        if (close_range(3, ~0U, 0) != 0)
            return 4;
    } else if (strcmp(mode, "raw") == 0) {
        if (syscall(SYS_close_range, 3, ~0U, 0) != 0)
            return 4;
    } else {
        for (int fd = 0; fd < 1024; fd++)
            close(fd);
    }
    out = open(outpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0)
        return 5;
    dprintf(out, "before: sim fd %d, api fd %d %s, start %s\n", sim >= 3 ? 3 : sim,
            first >= 3 ? 4 : first, first_api, first_start);

    /* The freed numbers, reused by regular files. */
    int intact = 0, files[6];
    for (int i = 0; i < 6; i++) {
        char path[4200], line[64], back[64] = "";
        snprintf(path, sizeof path, "%s/reuse-%d.txt", dir, i);
        files[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        int n = snprintf(line, sizeof line, "line %d of fd %d\n", i, files[i]);
        ssize_t w = write(files[i], line, (size_t)n);
        lseek(files[i], 0, SEEK_SET);
        ssize_t r = read(files[i], back, sizeof back - 1);
        if (w == n && r == n && memcmp(line, back, (size_t)n) == 0)
            intact++;
        else
            dprintf(out, "file %d (fd %d): wrote %zd, read back %zd: '%.*s'\n", i, files[i], w,
                    r, r > 0 ? (int)r : 0, back);
    }
    dprintf(out, "reused descriptors intact: %d of 6\n", intact);
    for (int i = 0; i < 6; i++)
        close(files[i]);

    dprintf(out, "api:");
    for (int i = 0; i < 4; i++) {
        int s = dial(api, &err);
        dprintf(out, " %s", name(err));
        close(s);
    }
    dprintf(out, "\ntrue: %s", start_true());
    dprintf(out, " %s\ndone\n", start_true());
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/closer" "$T/closer.c" || fail "cannot compile closer.c"

EXPECTED="before: sim fd 3, api fd 4 ok, start ran
reused descriptors intact: 6 of 6
api: ok ok EPERM EPERM
true: ran EPERM
done"

for mode in range loop raw; do
    : >"$T/accepts.log"
    cat >"$T/$mode.ini" <<INI
[enact]
state = $mode.state
audit_log = $mode-audit.jsonl
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 3
[tool.sim]
connect = 127.0.0.1:$SIM_PORT
dry_run = true
dry_run.response = PONG\r\n
[tool.truth]
exec = true
rate.max_calls_per_minute = 0.001
rate.burst_size = 2
INI
    rm -f "$T/$mode.out"
    rc=0
    (timeout 20 "$ENACT" run -c "$T/$mode.ini" -a closer -- "$T/closer" "$mode" "$T/$mode.out" "$T" \
        "$API_PORT" "$SIM_PORT" >"$T/$mode.stdout" 2>"$T/$mode.err" </dev/null; exit $?) 2>/dev/null || rc=$?
    if [ "$rc" != 0 ]; then
        problem "$mode: the agent $([ "$rc" = 124 ] && echo "hung" || echo "exited $rc"); out: $(tr '\n' '|' <"$T/$mode.out" 2>/dev/null) stderr: $(tr '\n' '|' <"$T/$mode.err")"
        continue
    fi
    got=$(cat "$T/$mode.out")
    [ "$got" = "$EXPECTED" ] ||
        problem "$mode: outcomes differ: $(diff <(echo "$EXPECTED") <(echo "$got") | grep '^[<>]' | tr '\n' '|')"
    for i in 0 1 2 3 4 5; do
        [ "$(wc -l <"$T/reuse-$i.txt")" = 1 ] || problem "$mode: reuse-$i.txt holds $(wc -c <"$T/reuse-$i.txt") bytes, expected one line"
    done
    sleep 0.3
    accepts=$(sort "$T/accepts.log" | uniq -c | awk '{print $2, $1}' | tr '\n' ',')
    [ "$accepts" = "api 3," ] || problem "$mode: the listeners accepted '$accepts'; expected 'api 3,' (the dry-run tool's none)"
    recs=$(audit_eval "$T/$mode-audit.jsonl" \
        'sorted((r["op"], r.get("tool"), r["verdict"], r.get("reason"), r.get("would_execute")) for r in recs)' 2>&1)
    want="[('connect', 'api', 'deny', 'rate_limited', None), ('connect', 'api', 'deny', 'rate_limited', None), ('connect', 'sim', 'dry_run', None, 'PING\\r\\n'), ('exec', 'truth', 'deny', 'rate_limited', None)]"
    [ "$recs" = "$want" ] || problem "$mode: records $recs; expected $want"
    audit_check "$T/$mode-audit.jsonl" 4 agent=closer 2>"$T/$mode-check.err" ||
        problem "$mode: $(head -2 "$T/$mode-check.err" | tr '\n' '|')"
done

fail_on_problems
