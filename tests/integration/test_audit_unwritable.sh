#!/usr/bin/env bash
# An audit log that cannot be written changes nothing for the program
#: refused calls are refused exactly as before, nothing crashes
# or hangs. One program (C) makes 3 connects to a closed loopback port
# (tool with burst 1: ECONNREFUSED from the kernel, then EPERM, EPERM) and
# starts `true` three times (tool with burst 1: fork+execvp runs it, then
# fork+execvp and posix_spawnp are refused with EPERM). It runs under a
# reference config whose log is writable (4 deny records), then under
# configs whose log is
#   - under a regular file (audit_log = afile/audit.jsonl: ENOTDIR),
#   - a directory (EISDIR),
#   - a FIFO nobody reads (ENXIO on the non-blocking open: no hang),
#   - /dev/full (the write fails with ENOSPC),
#   - (not as root) in a directory of mode 0500 (EACCES);
# each with a state file of its own. Each run ends within 20 s with exit
# status 0, and its stdout and stderr are byte for byte the reference's;
# the file, the directory and the FIFO are left as they were; enact status
# counts the records that could not be written.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
# ini NAME AUDIT_LOG: writes $T/NAME.ini.
ini() {
    cat >"$T/$1.ini" <<INI
[enact]
state = $1.state
audit_log = $2
[tool.closed]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
[tool.true]
exec = true
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
INI
}

cat >"$T/prog.c" <<'C'
/* prog PORT: 3 connects to 127.0.0.1:PORT and 3 starts of `true`; prints
 * the outcome of each. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static const char *name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return strerror(e);
    }
}
int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 1; i <= 3; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
        printf("connect %d: %s\n", i, rc == 0 ? "ok" : name(errno));
        close(s);
    }
    char *args[] = {"true", NULL};
    for (int i = 1; i <= 2; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execvp("true", args);
            _exit(100 + errno);
        }
        int st;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        printf("execvp %d: %s\n", i, code == 0 ? "ran" : code > 100 ? name(code - 100) : "?");
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, "true", NULL, NULL, args, environ);
    if (rc == 0)
        waitpid(pid, NULL, 0);
    printf("posix_spawnp: %s\n", rc == 0 ? "ran" : name(rc));
    fprintf(stderr, "prog: done\n");
    return 0;
}
C
gcc -O2 -Wall -Werror -o "$T/prog" "$T/prog.c" || fail "cannot compile prog.c"

# run NAME: runs prog under $T/NAME.ini (at most 20 s); its stdout and
# stderr in $T/NAME.out, $T/NAME.err.
run() {
    local rc=0
    timeout 20 "$ENACT" run -c "$T/$1.ini" -a unwritable -- "$T/prog" "$PORT" \
        >"$T/$1.out" 2>"$T/$1.err" </dev/null || rc=$?
    [ "$rc" != 124 ] || fail "$1: the program hung (killed after 20 s)"
    check_eq "$1: exit status" 0 "$rc"
}

ini reference audit.jsonl
run reference
check_eq "reference: outcomes" "connect 1: ECONNREFUSED
connect 2: EPERM
connect 3: EPERM
execvp 1: ran
execvp 2: EPERM
posix_spawnp: EPERM" "$(cat "$T/reference.out")"
audit_check "$T/audit.jsonl" 4 verdict=deny agent=unwritable errno=EPERM
check_eq "reference: records" "[('connect', 'closed'), ('connect', 'closed'), ('exec', 'true'), ('spawn', 'true')]" \
    "$(audit_eval "$T/audit.jsonl" '[(r["op"], r["tool"]) for r in recs]')"

echo "not a directory" >"$T/afile"
mkdir "$T/adir"
mkfifo "$T/afifo"
ini enotdir afile/audit.jsonl
ini eisdir adir
ini fifo afifo
ini devfull /dev/full
cases=(enotdir eisdir fifo devfull)
if [ "$(id -u)" != 0 ]; then
    mkdir "$T/ro"
    chmod 0500 "$T/ro"
    ini eacces ro/audit.jsonl
    cases+=(eacces)
else
    note "running as root: a directory of mode 0500 does not stop writes; that case is skipped"
fi

for c in "${cases[@]}"; do
    run "$c"
    cmp -s "$T/reference.out" "$T/$c.out" || {
        diff "$T/reference.out" "$T/$c.out" >&2 || true
        fail "$c: the program's stdout differs from the reference run's"
    }
    cmp -s "$T/reference.err" "$T/$c.err" || {
        diff "$T/reference.err" "$T/$c.err" >&2 || true
        fail "$c: the program's stderr differs from the reference run's"
    }
    [ -s "$T/$c.state" ] || fail "$c: no state file (the limits were not applied)"
done

check_eq "afile untouched" "not a directory" "$(cat "$T/afile")"
check_eq "adir still empty" "" "$(ls -A "$T/adir")"
[ -p "$T/afifo" ] || fail "afifo is no longer a FIFO"
[ "$(id -u)" = 0 ] || check_eq "ro still empty" "" "$(ls -A "$T/ro")"
check_eq "only the reference wrote records" 4 "$(wc -l <"$T/audit.jsonl")"

# Every record that could not be written is counted in the state, and
# enact status says so: 4 refusals per run, none written.
for c in enotdir devfull; do
    out=$("$ENACT" status -c "$T/$c.ini")
    grep -q "4 records could not be written" <<<"$out" ||
        fail "$c: enact status does not count the lost records: $out"
    check_eq "$c: the failures as JSON" 4 \
        "$("$ENACT" status -c "$T/$c.ini" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["audit_failures"])')"
done
out=$("$ENACT" status -c "$T/reference.ini")
if grep -q "could not be written" <<<"$out"; then fail "reference: failures reported: $out"; fi
