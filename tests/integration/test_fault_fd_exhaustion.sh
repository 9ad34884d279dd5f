#!/usr/bin/env bash
# Fault injection: no file descriptors left. A C agent lowers its
# RLIMIT_NOFILE to 20 and opens /dev/null until EMFILE, then leaves K
# descriptors free (K = 0, 1, 2; and "free": nothing exhausted) before each
# of these calls:
#   connect to a tool of generous limits (the socket made beforehand);
#   2 connects to a tool of burst 1 (the 2nd refused when governed);
#   fork + execv of /bin/true, posix_spawn of it, execvp("true"),
#   system("/bin/true"), popen("/bin/true", "r") (tool of generous limits);
#   fork + execv of a statically linked program.
# Run bare, and governed (log_allowed = true, so every decision makes a
# record) under two policies:
#   static_binaries = audit: every call ends governed exactly as it does
#     bare (same result, same errno), except the 2nd connect to the tool of
#     burst 1, refused for every K as with descriptors to spare;
#   static_binaries = deny: the same, and the static program is refused
#     for every K (with no descriptor to read it, enact cannot tell it from
#     a dynamic one: on_error, deny, may then refuse the other starts too;
#     that is accepted, letting the static program run is not).
# Nothing crashes or hangs. Records that could not be written are counted:
# for every K, the records in the log plus those enact status counts as
# lost are at least the records of the run with descriptors to spare.
# timeout: 90
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
API_PORT=$HTTP_PORT
# The tool of burst 1 has a listener of its own.
for attempt in 1 2 3; do
    LIM_PORT=$(free_port)
    spawn_bg "$T/http2.log" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$LIM_PORT"
    wait_accepting "$BG_PID" 127.0.0.1 "$LIM_PORT" && break
    [ "$attempt" != 3 ] || fail "the second listener did not start: $(cat "$T/http2.log")"
done

cat >"$T/static.c" <<'C'
int main(void) { return 0; }
C
HAVE_STATIC=1
if ! cc -static -O2 -o "$T/static_true" "$T/static.c" 2>"$T/static.err"; then
    HAVE_STATIC=0
    note "no static libc (libc6-dev's libc.a): the static-binary call is left out"
fi

cat >"$T/fdx.c" <<'C'
/* fdx K API LIM STATIC: see the test's header. K: "free" or 0, 1, 2;
 * STATIC: the static program's path, or "-". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static int fillers[64], nfillers;
static int k = -1; /* -1: nothing exhausted */

static const char *name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EACCES: return "EACCES";
    default: return strerror(e);
    }
}
static void release(void)
{
    while (nfillers > 0)
        close(fillers[--nfillers]);
}
/* Fills the table, then leaves k descriptors free. */
static void exhaust(void)
{
    if (k < 0)
        return;
    int fd;
    while (nfillers < 64 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fillers[nfillers++] = fd;
    if (errno != EMFILE) {
        fprintf(stderr, "fdx: open stopped with %s\n", strerror(errno));
        exit(3);
    }
    for (int i = 0; i < k && nfillers > 0; i++)
        close(fillers[--nfillers]);
}
static void dial(const char *label, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    release();
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    exhaust();
    int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
    printf("%s: %s\n", label, rc == 0 ? "ok" : name(errno));
    release();
    close(s);
}
static void show_status(const char *label, int st)
{
    if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
    else if (WEXITSTATUS(st) >= 100)
        printf("%s: %s\n", label, name(WEXITSTATUS(st) - 100));
    else
        printf("%s: ran, status %d\n", label, WEXITSTATUS(st));
}
/* fork, then in the child execv(path) or execvp(path). */
static void start(const char *label, const char *path, int search)
{
    release();
    exhaust();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {(char *)path, NULL};
        if (search)
            execvp(path, args);
        else
            execv(path, args);
        _exit(100 + errno);
    }
    int st = 0;
    if (pid < 0)
        printf("%s: fork %s\n", label, name(errno));
    else if (waitpid(pid, &st, 0) != pid)
        printf("%s: waitpid %s\n", label, name(errno));
    else
        show_status(label, st);
    release();
}
int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    if (strcmp(argv[1], "free") != 0)
        k = atoi(argv[1]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 20;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("setrlimit");
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    dial("connect api", atoi(argv[2]));
    dial("connect lim 1", atoi(argv[3]));
    dial("connect lim 2", atoi(argv[3]));
    start("execv /bin/true", "/bin/true", 0);
    start("execvp true", "true", 1);

    release();
    exhaust();
    char *args[] = {"true", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
    int st = 0;
    if (rc == 0)
        waitpid(pid, &st, 0);
    release();
    if (rc != 0)
        printf("posix_spawn: %s\n", name(rc));
    else
        show_status("posix_spawn", st);

    release();
    exhaust();
    st = system("/bin/true");
    int err = errno;
    release();
    if (st == -1)
        printf("system: -1 %s\n", name(err));
    else
        show_status("system", st);

    release();
    exhaust();
    FILE *f = popen("/bin/true", "r");
    err = errno;
    st = f ? pclose(f) : -1;
    release();
    if (!f)
        printf("popen: NULL %s\n", name(err));
    else
        show_status("popen+pclose", st);

    if (strcmp(argv[4], "-") != 0)
        start("execv static", argv[4], 0);
    printf("done\n");
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/fdx" "$T/fdx.c" || fail "cannot compile fdx.c"
STATIC_ARG=-
[ "$HAVE_STATIC" = 1 ] && STATIC_ARG=$T/static_true

for k in free 0 1 2; do
    rc=0
    timeout 20 "$T/fdx" "$k" "$API_PORT" "$LIM_PORT" "$STATIC_ARG" >"$T/bare-$k.out" 2>"$T/bare-$k.err" </dev/null || rc=$?
    [ "$rc" = 0 ] || fail "bare, K=$k: exit $rc: $(cat "$T/bare-$k.err")"
    grep -q '^done$' "$T/bare-$k.out" || fail "bare, K=$k: incomplete: $(cat "$T/bare-$k.out")"
done

for policy in audit deny; do
    for k in free 0 1 2; do
        run=$policy-$k
        cat >"$T/$run.ini" <<INI
[enact]
state = $run.state
audit_log = $run-audit.jsonl
log_allowed = true
static_binaries = $policy
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 600
rate.burst_size = 100
quota.max_actions = 1000
[tool.lim]
connect = 127.0.0.1:$LIM_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
[tool.truth]
exec = true
rate.max_calls_per_minute = 600
rate.burst_size = 100
quota.max_actions = 1000
INI
        rc=0
        (timeout 20 "$ENACT" run -c "$T/$run.ini" -a fdx -- "$T/fdx" "$k" "$API_PORT" "$LIM_PORT" \
            "$STATIC_ARG" >"$T/$run.out" 2>"$T/$run.err" </dev/null; exit $?) 2>/dev/null || rc=$?
        if [ "$rc" != 0 ]; then
            problem "$policy, K=$k: the agent $([ "$rc" = 124 ] && echo hung || echo "exited $rc"); stdout: $(tr '\n' '|' <"$T/$run.out") stderr: $(tr '\n' '|' <"$T/$run.err")"
            continue
        fi
        # What the governed run must print: the bare run's, but for the
        # refusals by design.
        sed -e 's/^connect lim 2: ok$/connect lim 2: EPERM/' "$T/bare-$k.out" >"$T/$run.want"
        if [ "$policy" = deny ]; then
            sed -i 's/^execv static: ran, status 0$/execv static: EPERM/' "$T/$run.want"
            if [ "$k" = 0 ]; then
                # Undecidable starts may be refused by on_error (deny).
                for line in "execv /bin/true" "execvp true" "posix_spawn"; do
                    if grep -qx "$line: EPERM" "$T/$run.out"; then
                        note "$policy, K=0: '$line' refused (on_error: the program could not be read)"
                        sed -i "s|^$line: ran, status 0\$|$line: EPERM|" "$T/$run.want"
                    fi
                done
            fi
        fi
        diff <(cat "$T/$run.want") "$T/$run.out" >"$T/$run.diff" ||
            problem "$policy, K=$k: governed outcomes differ from the bare run's (refusals by design aside): $(grep '^[<>]' "$T/$run.diff" | tr '\n' '|')"
        cmp -s "$T/bare-$k.err" "$T/$run.err" ||
            problem "$policy, K=$k: stderr differs from the bare run's: $(diff "$T/bare-$k.err" "$T/$run.err" | tr '\n' '|')"
        written=0
        if [ -e "$T/$run-audit.jsonl" ]; then
            written=$(audit_eval "$T/$run-audit.jsonl" 'len(recs)') ||
                problem "$policy, K=$k: the log is not valid JSON Lines"
        fi
        lost=$("$ENACT" status -c "$T/$run.ini" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["audit_failures"])') ||
            problem "$policy, K=$k: enact status --json failed"
        note "$policy, K=$k: $written records written, $lost counted lost"
        if [ "$k" = free ]; then
            check_eq "$policy, K=free: no lost records" 0 "$lost"
            FREE_RECORDS=$written
            refused=$(audit_eval "$T/$run-audit.jsonl" \
                'sorted((r["op"], r.get("tool"), r["verdict"], r.get("reason")) for r in recs if r["verdict"] != "allow" or r.get("reason"))')
            want="[('connect', 'lim', 'deny', 'rate_limited')"
            if [ "$HAVE_STATIC" = 1 ]; then
                [ "$policy" = deny ] && want+=", ('exec', None, 'deny', 'static_binary')" ||
                    want+=", ('exec', None, 'allow', 'static_binary')"
            fi
            check_eq "$policy, K=free: records other than plain allows" "$want]" "$refused"
        elif [ $((written + lost)) -lt "$FREE_RECORDS" ]; then
            # (More is fine: a start enact could not read may be recorded
            # as such.)
            problem "$policy, K=$k: $written records written + $lost counted lost < $FREE_RECORDS records of the run with descriptors to spare: a record went missing uncounted"
        fi
    done
done

fail_on_problems
