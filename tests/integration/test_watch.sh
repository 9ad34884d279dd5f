#!/usr/bin/env bash
# enact watch follows the audit log and hands each alert record over.
#   1. A real breaker: tool down on a closed loopback port,
#      failure_threshold 2, timeout 1 s, watched with
#      --exec "cat >> got; echo >> got" (default --min-interval 60s) before
#      the log exists. Two refused curls open the breaker (CLOSED -> OPEN);
#      after the timeout a probe fails (OPEN -> HALF_OPEN -> OPEN), so the
#      log holds two records to OPEN: the command got the first, once, as
#      valid JSON, and the HALF_OPEN one (another key).
#   2. Records appended by hand: quota_low, kill, resume,
#      approval_requested, backend_down, backend_up are delivered, deny and
#      allow are not.
#   3. Rotation: records appended to the log just before it is renamed,
#      and those of the new file at its path, are all delivered; then the
#      new file is truncated and written again: delivered too.
#   4. --min-interval 0 runs the command for each of 3 repeats; with 1s, 3
#      repeats run it once, and the next after the interval runs with
#      ENACT_ALERT_SUPPRESSED=2 (and says so on stderr); breaker to OPEN and
#      to CLOSED of one tool are two keys. ENACT_ALERT, _KEY, _TOOL, _AGENT
#      as documented. Without --exec, the alert is printed as stored; a
#      watch started on a log that exists begins at its end, with
#      --from-start at its first record.
#   5. A command that exits 3 is reported on stderr and the next alert runs
#      it again; it holds no descriptor of the log; SIGTERM ends watch with
#      status 0, also while the command runs (sleep 20: within 5 s).
#   6. config/enact-watch.service: its ExecStart, with this test's paths,
#      runs a watch that delivers an alert to the alert script; and
#      systemd-analyze verify accepts the unit, where it is installed.
. "$(dirname "$0")/lib.sh"

# conf NAME: $T/NAME.ini, its state NAME.state and log NAME.jsonl.
conf() {
    cat >"$T/$1.ini" <<INI
[enact]
state = $1.state
audit_log = $1.jsonl
[tool.any]
connect = 127.0.0.1:1
INI
}

# watch_bg NAME ARGS...: enact watch ARGS in the background, its stdout in
# $T/NAME.out, its stderr in $T/NAME.err; its pid in WATCH_PID.
watch_bg() {
    local name=$1
    shift
    "$ENACT" watch "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
    WATCH_PID=$!
    at_exit kill -9 "$WATCH_PID"
}

# waiting NAME: waits (at most 10 s) until watch NAME says it waits for
# its log to be written: from then on, nothing written to it is missed.
waiting() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'waiting for .* to be written' "$T/$1.err" && return 0
        sleep 0.1
    done
    fail "watch $1 does not wait for its log: $(cat "$T/$1.err")"
}

# stop_watch PID NAME: SIGTERM; it must end within 5 s with status 0.
stop_watch() {
    local i rc=0
    kill -TERM "$1"
    for ((i = 0; i < 50; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$1" 2>/dev/null && fail "$2: still running 5 s after SIGTERM"
    wait "$1" || rc=$?
    check_eq "$2: exit status after SIGTERM" 0 "$rc"
}

# record VERDICT TOOL [AGENT [TO]]: one audit record as a JSON line; an
# empty TOOL or AGENT is left out (AGENT defaults to bot), a TO makes it a
# breaker change from CLOSED.
record() {
    local agent=${3-bot}
    printf '{"v":1,"ts":"2026-11-28T15:13:28.123Z","pid":1,%s"op":"connect",%s"verdict":"%s"%s}\n' \
        "${agent:+\"agent\":\"$agent\",}" "${2:+\"tool\":\"$2\",}" "$1" \
        "${4:+,\"from\":\"CLOSED\",\"to\":\"$4\"}"
}

# got FILE EXPR: EXPR evaluated (python) over the records in FILE, the
# JSON lines among its lines (blank ones skipped): recs, tools (their tool
# fields in order).
got() {
    "$PY" - "$@" <<'EOF'
import json, os, sys
path, expr = sys.argv[1], sys.argv[2]
recs = []
if os.path.exists(path):
    recs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
tools = [r.get("tool") for r in recs]
print(eval(expr, {"recs": recs, "tools": tools}))
EOF
}

# wait_for WHAT FILE EXPR: waits (at most 10 s) until got FILE EXPR says
# True.
wait_for() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(got "$2" "$3")" = True ] && return 0
        sleep 0.1
    done
    [ -f "$2" ] && cat "$2" >&2
    fail "$1: not seen within 10 s"
}

# lines FILE: its lines (0 when missing).
lines() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# wait_lines WHAT FILE N: waits (at most 10 s) until FILE holds N lines.
wait_lines() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(lines "$2")" -ge "$3" ] && return 0
        sleep 0.1
    done
    fail "$1: $2 holds $(lines "$2") lines, not $3, after 10 s"
}

# ---- 1. a real breaker ------------------------------------------------------
DOWN=$(free_port)
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.down]
connect = 127.0.0.1:$DOWN
breaker.failure_threshold = 2
breaker.success_threshold = 1
breaker.timeout_seconds = 1
INI
watch_bg main -c "$T/enact.ini" --exec "cat >> $T/got; echo >> $T/got"
MAIN=$WATCH_PID
waiting main

curl_down() {
    "$ENACT" run -c "$T/enact.ini" -a bot -- curl -s --noproxy '*' --max-time 5 \
        -o /dev/null "http://127.0.0.1:$DOWN/" || true
}
curl_down
curl_down
curl_down # refused by the open breaker: a deny, no alert
sleep 1.2
curl_down # the probe, refused by the kernel: HALF_OPEN, then OPEN again
check_eq "1: breaker records in the log" \
    "[('CLOSED', 'OPEN'), ('OPEN', 'HALF_OPEN'), ('HALF_OPEN', 'OPEN')]" \
    "$(audit_eval "$T/audit.jsonl" '[(r["from"], r["to"]) for r in recs if r["verdict"] == "breaker"]')"
# Each record is read in turn: once a later one is delivered, the earlier
# ones were decided.
record backend_down sentinel1 >>"$T/audit.jsonl"
wait_for "1: the sentinel" "$T/got" '"sentinel1" in tools'
check_eq "1: what the command got" \
    "[('breaker', 'down', 'CLOSED', 'OPEN'), ('breaker', 'down', 'OPEN', 'HALF_OPEN')]" \
    "$(got "$T/got" '[(r["verdict"], r["tool"], r["from"], r["to"]) for r in recs
                      if r.get("tool") == "down"]')"
check_eq "1: the record as the log holds it" True \
    "$("$PY" -c 'import sys
log = [l for l in open(sys.argv[1]) if "\"breaker\"" in l]
got = [l for l in open(sys.argv[2]) if "\"breaker\"" in l]
print(got[0] == log[0])' "$T/audit.jsonl" "$T/got")"

# ---- 2. records by hand -----------------------------------------------------
{
    record deny h-deny
    record quota_low h-quota
    record allow h-allow
    record kill h-kill
    record resume h-resume
    record approval_requested h-approval
    record backend_down h-down
    record backend_up h-up
    record would_deny h-would
    record backend_up sentinel2
} >>"$T/audit.jsonl"
wait_for "2: the sentinel" "$T/got" '"sentinel2" in tools'
check_eq "2: alerts delivered, in order, the others not" \
    "['h-quota', 'h-kill', 'h-resume', 'h-approval', 'h-down', 'h-up', 'sentinel2']" \
    "$(got "$T/got" '[t for t in tools if t.startswith(("h-", "sentinel2"))]')"

# ---- 3. rotation and truncation --------------------------------------------
{
    record kill r-old-1
    record kill r-old-2
    record kill r-old-3
} >>"$T/audit.jsonl"
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
{
    record kill r-new-1
    record deny r-new-deny
    record kill r-new-2
} >>"$T/audit.jsonl"
wait_for "3: the new file's records" "$T/got" '"r-new-2" in tools'
check_eq "3: the old file's last records, then the new file's" \
    "['r-old-1', 'r-old-2', 'r-old-3', 'r-new-1', 'r-new-2']" \
    "$(got "$T/got" '[t for t in tools if t.startswith("r-")]')"
: >"$T/audit.jsonl"
sleep 0.5
record kill t-1 >>"$T/audit.jsonl"
wait_for "3: a record after the truncation" "$T/got" '"t-1" in tools'

# ---- 4. --min-interval, the environment, printing -------------------------
ENVCMD='printf "%s|%s|%s|%s|%s\n" "$ENACT_ALERT" "$ENACT_ALERT_KEY" "$ENACT_ALERT_TOOL" '
ENVCMD+='"$ENACT_ALERT_AGENT" "$ENACT_ALERT_SUPPRESSED"'
conf every
watch_bg every -c "$T/every.ini" --min-interval 0 --exec "$ENVCMD >> $T/every.env"
EVERY=$WATCH_PID
waiting every
conf spaced
watch_bg spaced -c "$T/spaced.ini" --min-interval 1s --exec "$ENVCMD >> $T/spaced.env"
SPACED=$WATCH_PID
waiting spaced
for i in 1 2 3; do
    record quota_low q >>"$T/every.jsonl"
    record quota_low q >>"$T/spaced.jsonl"
done
{
    record breaker b bot OPEN
    record breaker b bot CLOSED
    record breaker b bot OPEN
    record backend_down "" ""
} >>"$T/spaced.jsonl"
wait_lines "4: --min-interval 0" "$T/every.env" 3
wait_lines "4: --min-interval 1s" "$T/spaced.env" 4
check_eq "4: --min-interval 0 runs each" \
    "quota_low|quota_low/bot/q|q|bot|0 quota_low|quota_low/bot/q|q|bot|0 quota_low|quota_low/bot/q|q|bot|0" \
    "$(tr '\n' ' ' <"$T/every.env" | sed 's/ $//')"
check_eq "4: --min-interval 1s: one per key" \
    "quota_low|quota_low/bot/q|q|bot|0 breaker|breaker/bot/b/OPEN|b|bot|0 breaker|breaker/bot/b/CLOSED|b|bot|0 backend_down|backend_down//|||0" \
    "$(tr '\n' ' ' <"$T/spaced.env" | sed 's/ $//')"
sleep 1.2
record quota_low q >>"$T/spaced.jsonl"
wait_lines "4: the next after the interval" "$T/spaced.env" 5
check_eq "4: it counts the suppressed" "quota_low|quota_low/bot/q|q|bot|2" "$(tail -1 "$T/spaced.env")"
grep -q 'quota_low/bot/q: 2 alerts were suppressed within --min-interval' "$T/spaced.err" ||
    fail "4: stderr does not report the suppressed: $(cat "$T/spaced.err")"
sleep 0.3
check_eq "4: --min-interval 0: no more runs" 3 "$(lines "$T/every.env")"

# Printing; starting at the end of a log that exists, or at its start.
conf print
record kill old >"$T/print.jsonl"
watch_bg print -c "$T/print.ini"
PRINT=$WATCH_PID
watch_bg start --from-start -c "$T/print.ini"
START=$WATCH_PID
# A record is read only once the watch is at the end: append one until it
# comes through (repeats are suppressed by the default interval).
for ((i = 0; i < 50; i++)); do
    record resume ready >>"$T/print.jsonl"
    [ -s "$T/print.out" ] && break
    sleep 0.2
done
{
    record deny p-deny
    record approval_requested p-ask
} >>"$T/print.jsonl"
wait_for "4: the printed alert" "$T/print.out" '"p-ask" in tools'
check_eq "4: printed from the end" "['ready', 'p-ask']" "$(got "$T/print.out" 'tools')"
check_eq "4: printed as stored" "$(record approval_requested p-ask)" "$(tail -1 "$T/print.out")"
wait_for "4: --from-start" "$T/start.out" '"p-ask" in tools'
check_eq "4: printed from the start" "['old', 'ready', 'p-ask']" "$(got "$T/start.out" 'tools')"

# ---- 5. a failing command; SIGTERM ------------------------------------------
conf failing
watch_bg failing -c "$T/failing.ini" --min-interval 0 \
    --exec "echo run >> $T/failing.runs; ls -l /proc/\$\$/fd >> $T/failing.fds; exit 3"
FAILING=$WATCH_PID
waiting failing
record breaker f1 bot OPEN >>"$T/failing.jsonl"
wait_lines "5: the first run" "$T/failing.runs" 1
record quota_low f2 >>"$T/failing.jsonl"
wait_lines "5: the second run" "$T/failing.runs" 2
for i in $(seq 50); do [ "$(grep -c 'exited 3' "$T/failing.err")" -ge 2 ] && break; sleep 0.1; done
grep -q "^enact watch: echo run .* exited 3 for breaker alert breaker/bot/f1/OPEN$" \
    "$T/failing.err" || fail "5: the failure is not reported: $(cat "$T/failing.err")"
grep -q "exited 3 for quota_low alert quota_low/bot/f2$" "$T/failing.err" ||
    fail "5: the second failure is not reported: $(cat "$T/failing.err")"
grep -q 'failing.jsonl' "$T/failing.fds" && fail "5: the command holds the log open: $(cat "$T/failing.fds")"
grep -q 'pipe:' "$T/failing.fds" || fail "5: the command's descriptors were not listed"

conf slow
watch_bg slow -c "$T/slow.ini" --exec "echo started >> $T/slow.runs; sleep 20"
SLOW=$WATCH_PID
waiting slow
record kill s >>"$T/slow.jsonl"
wait_lines "5: the slow command" "$T/slow.runs" 1
stop_watch "$SLOW" "5: while its command runs"
for pid_name in "$MAIN main" "$EVERY every" "$SPACED spaced" "$PRINT print" "$START start" \
    "$FAILING failing"; do
    stop_watch $pid_name
done
for name in main every spaced failing slow; do
    if [ -s "$T/$name.out" ]; then
        fail "$name: wrote to stdout with --exec: $(cat "$T/$name.out")"
    fi
done

# ---- 6. the unit file -------------------------------------------------------
UNIT=$ROOT/config/enact-watch.service
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
check_eq "6: ExecStart" \
    "/usr/local/bin/enact watch -c /etc/enact/enact.ini --exec /etc/enact/alert" "$exec_start"
mkdir "$T/etc"
conf unit
mv "$T/unit.ini" "$T/etc/enact.ini" # its state and log: $T/etc/unit.*
cat >"$T/etc/alert" <<SH
#!/bin/sh
{ echo "\$ENACT_ALERT \$ENACT_ALERT_TOOL"; cat; } >> $T/unit.got
SH
chmod +x "$T/etc/alert"
cmd=${exec_start//\/usr\/local\/bin\/enact/$ENACT}
cmd=${cmd//\/etc\/enact/$T/etc}
# shellcheck disable=SC2086
"${cmd%% *}" ${cmd#* } >"$T/unit.out" 2>"$T/unit.err" </dev/null &
UNITPID=$!
at_exit kill -9 "$UNITPID"
waiting unit
record backend_down redis >>"$T/etc/unit.jsonl"
wait_lines "6: the unit's alert" "$T/unit.got" 2
check_eq "6: the alert script got" "backend_down redis
$(record backend_down redis)" "$(cat "$T/unit.got")"
stop_watch "$UNITPID" "6: the unit's watch"

if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/bin"
    cp "$ENACT" "$T/bin/enact"
    sed "s#/usr/local/bin/enact#$T/bin/enact#" "$UNIT" >"$T/enact-watch.service"
    timeout 60 systemd-analyze verify --man=no "$T/enact-watch.service" >"$T/verify.out" 2>&1 ||
        fail "6: systemd-analyze verify: $(cat "$T/verify.out")"
else
    note "systemd-analyze is not installed: the unit file was not verified"
fi
