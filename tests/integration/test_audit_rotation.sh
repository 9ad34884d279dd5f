#!/usr/bin/env bash
# The audit log is followed when it is rotated or deleted while an agent
# runs. One governed program makes 301 connects to a
# closed loopback port, 10 ms apart, on a tool with burst 1 and a rate that
# never refills: the first is admitted (ECONNREFUSED from the kernel, no
# record), the other 300 refused by enact (EPERM), which the program counts
# and prints. While it runs:
#   1. once the log has 60 records, it is renamed as logrotate does
#      (mv audit.jsonl audit.jsonl.1);
#   2. once a new audit.jsonl has appeared at the configured path and holds
#      60 records, it is deleted (rm; the test keeps a descriptor on it, so
#      what was written to it can still be counted).
# Then: the program saw exactly 300 EPERM and 1 ECONNREFUSED; the renamed
# file, the deleted one and the final audit.jsonl are each valid JSON lines
# (every record a deny, rate_limited, EPERM) and together hold exactly 300
# records — none lost — in time order, the renamed file's before the
# deleted one's before the final file's; the final file is non-empty.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.closed]
connect = 127.0.0.1:$PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
INI

cat >"$T/conn.c" <<'C'
/* conn N PORT USEC: N blocking connects to 127.0.0.1:PORT, each on a fresh
 * socket, USEC microseconds apart; prints "denied=N refused=N other=N"
 * (EPERM, ECONNREFUSED, anything else). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int n = atoi(argv[1]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int denied = 0, refused = 0, other = 0;
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) {
            perror("socket");
            return 4;
        }
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
            other++;
        else if (errno == EPERM)
            denied++;
        else if (errno == ECONNREFUSED)
            refused++;
        else
            other++;
        close(s);
        usleep(atoi(argv[3]));
    }
    printf("denied=%d refused=%d other=%d\n", denied, refused, other);
    return 0;
}
C
gcc -O2 -o "$T/conn" "$T/conn.c" || fail "cannot compile conn.c"

# lines FILE: its number of lines (0 when missing).
lines() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# wait_lines FILE N: waits (at most 10 s) until FILE holds N lines; fails
# if the program ended first.
wait_lines() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ "$(lines "$1")" -ge "$2" ] && return 0
        kill -0 "$prog" 2>/dev/null || fail "the program ended before $1 held $2 records"
        sleep 0.01
    done
    fail "$1 did not reach $2 records within 10 s"
}

"$ENACT" run -c "$T/enact.ini" -a rotor -- "$T/conn" 301 "$PORT" 10000 \
    >"$T/out" 2>"$T/err" </dev/null &
prog=$!

# 1. Rename, as logrotate does.
wait_lines "$T/audit.jsonl" 60
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
note "renamed the log at $(lines "$T/audit.jsonl.1") records"

# 2. A new log appears at the configured path; delete it mid-run, holding a
# descriptor on it to count what it got.
wait_lines "$T/audit.jsonl" 60
exec 3<"$T/audit.jsonl"
rm "$T/audit.jsonl"
note "deleted the new log at $(wc -l <&3) records"

wait "$prog" || { cat "$T/err" >&2; fail "the program exited with status $?"; }
[ -s "$T/err" ] && { cat "$T/err" >&2; fail "the program wrote to stderr"; }
check_eq "the program's outcomes" "denied=300 refused=1 other=0" "$(cat "$T/out")"

cat /proc/self/fd/3 >"$T/deleted.jsonl" # reopens the deleted file from its start
exec 3<&-
[ -f "$T/audit.jsonl" ] || fail "no new audit.jsonl after the deletion"
n1=$(lines "$T/audit.jsonl.1")
n2=$(lines "$T/deleted.jsonl")
n3=$(lines "$T/audit.jsonl")
note "records: renamed $n1, deleted $n2, final $n3"
[ "$n3" -gt 0 ] || fail "the final audit.jsonl holds no records"
for f in audit.jsonl.1 deleted.jsonl audit.jsonl; do
    audit_check "$T/$f" "$(lines "$T/$f")" verdict=deny reason=rate_limited op=connect \
        tool=closed agent=rotor errno=EPERM
done
check_eq "records in all three files" 300 $((n1 + n2 + n3))

# One writer, one after another: the timestamps run in order across the files.
cat "$T/audit.jsonl.1" "$T/deleted.jsonl" "$T/audit.jsonl" >"$T/all.jsonl"
check_eq "records in time order across the files" True \
    "$(audit_eval "$T/all.jsonl" 'all(a["ts"] <= b["ts"] for a, b in zip(recs, recs[1:]))')"
check_eq "one pid" 1 "$(audit_eval "$T/all.jsonl" 'len({r["pid"] for r in recs})')"
