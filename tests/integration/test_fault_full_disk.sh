#!/usr/bin/env bash
# Fault injection: a full filesystem under the state file and under the
# audit log. Nothing the agent does may crash (no SIGBUS from a mapped
# state file that the filesystem cannot back) or change beyond what the
# design says.
#
# (a) The state file on a 64 KiB tmpfs: far too small for any state file
#     (the smallest is several hundred KiB, sized from the config's tools).
#     Enact cannot keep state there, so on_error decides every mapped call
#     (README: "When Enact cannot decide (the state file cannot be
#     created ...), on_error decides and the record says state_error"):
#       a1: the tmpfs empty; 24 agents (each its own slots, spread over the
#           file's pages) each run a program that connects to a mapped
#           listener and starts a mapped program. on_error = deny: both
#           refused with EPERM in every run, the program exits 0, never a
#           signal; records say deny/state_error.
#       a2: the tmpfs filled up first (dd); on_error = deny: the same.
#       a3: the tmpfs filled up; on_error = allow: both go through,
#           records say error/state_error.
#     No temporary file of enact's is left behind on the tmpfs.
# (b) The audit log on a full tmpfs (state elsewhere): the program's stdout
#     and stderr are byte for byte those of a run whose log is writable,
#     and `enact status` counts every record that was lost.
#       b1: the tmpfs filled completely.
#       b2: one page left, so that the log fills up in the middle of a
#           record: every line that is in the file is whole JSON, and
#           records written + records counted lost = records of the
#           reference run.
# (c) The state file made, then its tmpfs filled: its tables cannot grow
#     (README "How limits work", Shared state). 1,200 agents on one tool,
#     more than its bucket table holds: no process dies of a signal, those
#     without room are refused state_full (on_error = deny), the others
#     admitted, and the file is neither moved aside nor extended.
# Needs mount(8) of a tmpfs: as root directly; otherwise inside a user and
# mount namespace (unshare -rm) if the system allows one; else skipped with
# a note.
# timeout: 120
. "$(dirname "$0")/lib.sh"

# ---- a private tmpfs, unmounted on exit --------------------------------------
MOUNTS=()
_umount_all() {
    local m
    for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}
trap '_lib_cleanup; _umount_all' EXIT

# small_fs DIR SIZE: mounts a tmpfs of SIZE at DIR (made if missing).
small_fs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2,mode=0700" enact-fault "$1" || return 1
    MOUNTS+=("$1")
}

if ! small_fs "$T/probe" 64k 2>/dev/null; then
    if [ -z "${ENACT_FAULT_NS:-}" ] && command -v unshare >/dev/null &&
        unshare --user --map-root-user --mount true 2>/dev/null; then
        note "mount(8) refused; running again inside a user and mount namespace"
        ENACT_FAULT_NS=1 exec unshare --user --map-root-user --mount bash "$0"
    fi
    note "SKIPPED: cannot mount a tmpfs here (not root, no user namespaces)"
    exit 0
fi
umount "$T/probe" && MOUNTS=()

# Problems are collected, so that one run reports every case that failed.
start_http 127.0.0.1

cat >"$T/prog.c" <<'C'
/* prog PORT: one connect to 127.0.0.1:PORT, one start of /bin/true in a
 * forked child; prints how each ended. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
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
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
    printf("connect: %s\n", rc == 0 ? "ok" : name(errno));
    close(s);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"true", NULL};
        execv("/bin/true", args);
        _exit(100 + errno);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("exec: child killed by signal %d\n", WTERMSIG(st));
    else if (WEXITSTATUS(st) > 100)
        printf("exec: %s\n", name(WEXITSTATUS(st) - 100));
    else
        printf("exec: ran, status %d\n", WEXITSTATUS(st));
    return 0;
}
C
cc -O2 -Wall -Werror -o "$T/prog" "$T/prog.c" || fail "cannot compile prog.c"
[ -x /bin/true ] || fail "/bin/true is missing"

# ini NAME STATE AUDIT ON_ERROR [LOG_ALLOWED]: writes $T/NAME.ini. Both tools
# have a bucket and a quota, so every decision needs the state file.
ini() {
    cat >"$T/$1.ini" <<INI
[enact]
state = $2
audit_log = $3
on_error = $4
log_allowed = ${5:-false}
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 600
rate.burst_size = 100
quota.max_actions = 1000
[tool.truth]
exec = true
rate.max_calls_per_minute = 600
rate.burst_size = 100
quota.max_actions = 1000
INI
}

# run NAME AGENT: prog under $T/NAME.ini as AGENT (at most 20 s); its
# stdout in $T/NAME.out, stderr in $T/NAME.err; RUN_RC its exit status.
run() {
    RUN_RC=0
    # (in a subshell: the shell's own "Bus error" job message goes nowhere)
    (timeout 20 "$ENACT" run -c "$T/$1.ini" -a "$2" -- "$T/prog" "$HTTP_PORT" \
        >"$T/$1.out" 2>"$T/$1.err" </dev/null; exit $?) 2>/dev/null || RUN_RC=$?
}

# rc_says RC: what an exit status means.
rc_says() {
    case $1 in
    124) echo "hung (killed after 20 s)" ;;
    135) echo "killed by SIGBUS (exit 135)" ;;
    13[0-9] | 14[0-9] | 15[0-9]) echo "killed by signal $(($1 - 128)) (exit $1)" ;;
    *) echo "exit status $1" ;;
    esac
}

# records_summary FILE: "VERDICT/REASON" of every record, counted, sorted.
records_summary() {
    audit_eval "$1" 'sorted(__import__("collections").Counter(
        (r.get("verdict"), r.get("reason")) for r in recs).items())'
}

DENIED="connect: EPERM
exec: EPERM"
ALLOWED="connect: ok
exec: ran, status 0"

# ---- (a1) an empty tmpfs far too small for the state file -----------------
small_fs "$T/fs1" 64k || fail "cannot mount the tmpfs fs1"
ini a1 "$T/fs1/enact.state" "$T/a1-audit.jsonl" deny
# Every run: its exit status and outcomes, tallied.
declare -A A1_TALLY=()
a1_first_bad=""
for i in $(seq 1 24); do
    run a1 "agent$i"
    if [ "$RUN_RC" != 0 ]; then
        key="$(rc_says "$RUN_RC")"
    else
        key="exit 0: $(tr '\n' '|' <"$T/a1.out")"
    fi
    A1_TALLY[$key]=$((${A1_TALLY[$key]:-0} + 1))
    if [ -z "$a1_first_bad" ] && { [ "$RUN_RC" != 0 ] || [ "$(cat "$T/a1.out")" != "$DENIED" ]; }; then
        a1_first_bad="agent$i"
    fi
done
if [ -n "$a1_first_bad" ]; then
    tally=""
    for key in "${!A1_TALLY[@]}"; do tally+="${A1_TALLY[$key]} x [$key]; "; done
    problem "a1 (state on an empty 64k tmpfs, on_error = deny): 24 runs (agent1..agent24) gave: $tally expected 24 x [exit 0: $(tr '\n' '|' <<<"$DENIED")]; the first unexpected run: $a1_first_bad; tmpfs: $(ls -l "$T/fs1" | tail -n +2 | tr -s ' ' | tr '\n' '|') $(df -k --output=used,avail "$T/fs1" | tail -1) KiB used, free"
else
    # Every refusal is recorded as the state's fault, nothing else.
    got=$(audit_eval "$T/a1-audit.jsonl" \
        'sum(1 for r in recs if r["verdict"] == "deny" and r.get("reason") == "state_error"
             and r.get("errno") == "EPERM" and r.get("tool") in ("api", "truth"))')
    [ "$got" = 48 ] || problem "a1: expected 48 deny/state_error records (2 per run), found $got: $(records_summary "$T/a1-audit.jsonl")"
    other=$(audit_eval "$T/a1-audit.jsonl" \
        '[(r["verdict"], r.get("reason")) for r in recs if r.get("reason") != "state_error"]')
    [ "$other" = "[]" ] || problem "a1: records for another reason than state_error: $other"
fi
leftovers=$(find "$T/fs1" -name '*.tmp-*' | tr '\n' ' ')
[ -z "$leftovers" ] || problem "a1: enact's temporary files left on the tmpfs: $leftovers"

# ---- (a2, a3) a tmpfs that is full before the state file is made ----------
small_fs "$T/fs2" 64k || fail "cannot mount the tmpfs fs2"
dd if=/dev/zero of="$T/fs2/filler" bs=4096 status=none 2>/dev/null || true
avail=$(df -k --output=avail "$T/fs2" | tail -1 | tr -d ' ')
[ "$avail" = 0 ] || fail "fs2: could not fill the tmpfs ($avail KiB still free)"

ini a2 "$T/fs2/enact.state" "$T/a2-audit.jsonl" deny
run a2 a2agent
if [ "$RUN_RC" != 0 ] || [ "$(cat "$T/a2.out")" != "$DENIED" ]; then
    problem "a2 (state on a full tmpfs, on_error = deny): $(rc_says "$RUN_RC"); stdout: $(tr '\n' '|' <"$T/a2.out"); stderr: $(tr '\n' '|' <"$T/a2.err") (expected exit 0 and: $(tr '\n' '|' <<<"$DENIED"))"
else
    got=$(audit_eval "$T/a2-audit.jsonl" \
        'sorted((r.get("op"), r["verdict"], r.get("reason")) for r in recs if r.get("op"))')
    check="[('connect', 'deny', 'state_error'), ('exec', 'deny', 'state_error')]"
    [ "$got" = "$check" ] || problem "a2: records $got, expected $check"
fi
leftovers=$(find "$T/fs2" -name '*.tmp-*' | tr '\n' ' ')
[ -z "$leftovers" ] || problem "a2: enact's temporary files left on the full tmpfs: $leftovers"
rm -f "$T"/fs2/*.tmp-* "$T/fs2/enact.state"

ini a3 "$T/fs2/enact.state" "$T/a3-audit.jsonl" allow
run a3 a3agent
if [ "$RUN_RC" != 0 ] || [ "$(cat "$T/a3.out")" != "$ALLOWED" ]; then
    problem "a3 (state on a full tmpfs, on_error = allow): $(rc_says "$RUN_RC"); stdout: $(tr '\n' '|' <"$T/a3.out"); stderr: $(tr '\n' '|' <"$T/a3.err") (expected exit 0 and: $(tr '\n' '|' <<<"$ALLOWED"))"
else
    got=$(audit_eval "$T/a3-audit.jsonl" \
        'sorted((r.get("op"), r["verdict"], r.get("reason")) for r in recs if r.get("op"))')
    check="[('connect', 'error', 'state_error'), ('exec', 'error', 'state_error')]"
    [ "$got" = "$check" ] || problem "a3: records $got, expected $check"
fi

# ---- (b) the audit log on a full tmpfs ------------------------------------
# A program whose calls make records: log_allowed, and a tool of burst 1
# for each kind, so that the second call of each is refused.
cat >"$T/burst.ini" <<INI
[enact]
state = STATE
audit_log = AUDIT
log_allowed = true
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
[tool.truth]
exec = true
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
INI
# bini NAME AUDIT: $T/NAME.ini from burst.ini, with a state file of its own.
bini() {
    sed -e "s|^state = STATE|state = $T/$1.state|" -e "s|^audit_log = AUDIT|audit_log = $2|" \
        "$T/burst.ini" >"$T/$1.ini"
}
# brun NAME: prog 6 times under $T/NAME.ini, outputs appended to
# $T/NAME.out and $T/NAME.err; stops at the first run that does not exit 0.
brun() {
    : >"$T/$1.out"
    : >"$T/$1.err"
    local i rc
    for i in 1 2 3 4 5 6; do
        rc=0
        (timeout 20 "$ENACT" run -c "$T/$1.ini" -a logger -- "$T/prog" "$HTTP_PORT" \
            >>"$T/$1.out" 2>>"$T/$1.err" </dev/null; exit $?) 2>/dev/null || rc=$?
        if [ "$rc" != 0 ]; then
            problem "$1: run $i: $(rc_says "$rc")"
            return
        fi
    done
}

bini bref "$T/bref-audit.jsonl"
brun bref
expected_out="$ALLOWED
$DENIED
$DENIED
$DENIED
$DENIED
$DENIED"
check_eq "bref: outcomes" "$expected_out" "$(cat "$T/bref.out")"
# 2 allowed + 10 refused.
REF_RECORDS=$(wc -l <"$T/bref-audit.jsonl")
check_eq "bref: records" 12 "$REF_RECORDS"

# b1: completely full.
small_fs "$T/fs3" 64k || fail "cannot mount the tmpfs fs3"
dd if=/dev/zero of="$T/fs3/filler" bs=4096 status=none 2>/dev/null || true
bini b1 "$T/fs3/audit.jsonl"
brun b1
cmp -s "$T/bref.out" "$T/b1.out" || problem "b1 (audit log on a full tmpfs): stdout differs from the reference: $(diff "$T/bref.out" "$T/b1.out" | tr '\n' '|')"
cmp -s "$T/bref.err" "$T/b1.err" || problem "b1: stderr differs from the reference: $(diff "$T/bref.err" "$T/b1.err" | tr '\n' '|')"
if [ -s "$T/fs3/audit.jsonl" ]; then
    problem "b1: $(wc -c <"$T/fs3/audit.jsonl") bytes reached a log on a full filesystem"
fi
lost=$("$ENACT" status -c "$T/b1.ini" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["audit_failures"])') ||
    problem "b1: enact status --json failed"
[ "$lost" = "$REF_RECORDS" ] || problem "b1: enact status counts $lost lost records, expected $REF_RECORDS"
"$ENACT" status -c "$T/b1.ini" | grep -q "$REF_RECORDS records could not be written" ||
    problem "b1: enact status does not say that $REF_RECORDS records could not be written"

# b2: one page left: the log fills up partway.
small_fs "$T/fs4" 64k || fail "cannot mount the tmpfs fs4"
dd if=/dev/zero of="$T/fs4/filler" bs=4096 count=15 status=none
avail=$(df -k --output=avail "$T/fs4" | tail -1 | tr -d ' ')
[ "$avail" = 4 ] || fail "fs4: expected 4 KiB free, $avail KiB are"
# Records long enough that 12 of them cannot fit into 4096 bytes: a long
# program path (it is the exec record's target and argv).
LONGDIR="$T/$(printf 'd%.0s' $(seq 1 250))/$(printf 'e%.0s' $(seq 1 250))"
mkdir -p "$LONGDIR"
ln -sf /bin/true "$LONGDIR/true"
sed -i "s|execv(\"/bin/true\", args)|execv(getenv(\"TRUE_PATH\") ? getenv(\"TRUE_PATH\") : \"/bin/true\", args)|" "$T/prog.c"
cc -O2 -Wall -Werror -o "$T/prog" "$T/prog.c" || fail "cannot compile prog.c again"
export TRUE_PATH="$LONGDIR/true"
bini bref2 "$T/bref2-audit.jsonl"
brun bref2
bini b2 "$T/fs4/audit.jsonl"
brun b2
unset TRUE_PATH
check_eq "bref2: outcomes" "$expected_out" "$(cat "$T/bref2.out")"
REF2=$(wc -l <"$T/bref2-audit.jsonl")
REF2_BYTES=$(wc -c <"$T/bref2-audit.jsonl")
[ "$REF2_BYTES" -gt 4096 ] || fail "bref2: the records ($REF2_BYTES bytes) would fit into one page; make them longer"
cmp -s "$T/bref2.out" "$T/b2.out" || problem "b2 (audit log fills up partway): stdout differs from the reference: $(diff "$T/bref2.out" "$T/b2.out" | tr '\n' '|')"
cmp -s "$T/bref2.err" "$T/b2.err" || problem "b2: stderr differs from the reference"
verdict=$("$PY" - "$T/fs4/audit.jsonl" <<'EOF'
import json, os, sys
path = sys.argv[1]
data = open(path, "rb").read() if os.path.exists(path) else b""
lines = data.split(b"\n")
tail = lines.pop()  # after the last newline: b"" when the file ends whole
for n, line in enumerate(lines, 1):
    try:
        json.loads(line)
    except ValueError as e:
        print(f"line {n} is not valid JSON ({e}): {line[:120]!r}", file=sys.stderr)
        sys.exit(1)
print(len(lines), len(tail))
EOF
) || problem "b2: a line of the log on the full tmpfs is not valid JSON"
whole=${verdict% *}
torn=${verdict#* }
[ "$torn" = 0 ] || problem "b2: the log on the filled-up tmpfs ends with a torn record of $torn bytes (no newline): $(tail -c 120 "$T/fs4/audit.jsonl" | tr -c '[:print:]' '?')"
lost=$("$ENACT" status -c "$T/b2.ini" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["audit_failures"])') ||
    problem "b2: enact status --json failed"
[ $((whole + lost)) = "$REF2" ] || problem "b2: $whole records written + $lost counted lost != $REF2 records of the reference run"
"$ENACT" log -c "$T/b2.ini" --json >/dev/null 2>"$T/b2-log.err" ||
    problem "b2: enact log fails on the log of the full filesystem: $(cat "$T/b2-log.err")"
# Space comes back: the next records are appended whole, and every line of
# the log is still one JSON object (none glued onto a torn one).
rm -f "$T/fs4/filler"
(timeout 20 "$ENACT" run -c "$T/b2.ini" -a logger -- "$T/prog" "$HTTP_PORT" \
    >"$T/b2-again.out" 2>&1 </dev/null; exit $?) 2>/dev/null || problem "b2: the run after space came back failed"
"$PY" - "$T/fs4/audit.jsonl" >"$T/b2-again.err" 2>&1 <<'EOF' ||
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    try:
        json.loads(line)
    except ValueError as e:
        print(f"line {n} is not one JSON object ({e}): {line[:200]!r}")
        sys.exit(1)
EOF
    problem "b2: once space came back, the log holds a broken line: $(cat "$T/b2-again.err")"

# ---- (c) the state file's tmpfs full: no room to grow ------------------------
small_fs "$T/fs5" 2m || fail "cannot mount the tmpfs fs5"
cat >"$T/c.ini" <<INI
[enact]
state = $T/fs5/enact.state
audit_log = $T/c-audit.jsonl
on_error = deny
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 600
rate.burst_size = 100
INI
connect_as() {
    LD_PRELOAD="$SHIM_PRELOAD" ENACT_CONFIG="$T/c.ini" ENACT_AGENT="$1" \
        bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT" 2>/dev/null
}
connect_as first || problem "c: the first agent was refused"
made=$(stat -c %s "$T/fs5/enact.state")
dd if=/dev/zero of="$T/fs5/fill" bs=4k 2>/dev/null || true
export -f connect_as
export T HTTP_PORT SHIM_PRELOAD
seq 1200 | xargs -P 3 -I{} bash -c 'connect_as agent-{}; echo $?' >"$T/c.rcs" 2>/dev/null || true
check_eq "c: runs" 1200 "$(wc -l <"$T/c.rcs")"
signalled=$(awk '$1 >= 128' "$T/c.rcs" | sort | uniq -c | tr '\n' ' ')
[ -z "$signalled" ] || problem "c: processes died of a signal (count, exit status): $signalled"
full=$(grep -c '"reason":"state_full"' "$T/c-audit.jsonl" || true)
refused=$(grep -cx 1 "$T/c.rcs" || true)
[ "$full" -ge 176 ] || problem "c: $full state_full records; at least 176 of 1,200 agents cannot fit in 1,024 slots"
check_eq "c: refused runs are the state_full records" "$full" "$refused"
check_eq "c: the state file's size" "$made" "$(stat -c %s "$T/fs5/enact.state")"
ls "$T"/fs5/enact.state.corrupt-* >/dev/null 2>&1 && problem "c: the state file was moved aside"
connect_as first || problem "c: the first agent, whose bucket is in, was refused after"

fail_on_problems
