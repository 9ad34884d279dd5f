#!/usr/bin/env bash
# An INI edited while agents run (README "Editing the config while agents
# run") is picked up by the next new process and, within about a second,
# by running ones; each waits below is bounded, none asserts a speed.
# - python3 connecting to a loopback listener every 100 ms, one process:
#   tool api is turned to dry_run = true, and its records become dry_run
#   ones; a broken edit (an unknown key, appended in place) leaves the
#   dry run in force and is said once (one config_error record, one
#   message on stderr) however many seconds pass; the mended INI with a
#   tight rate limit makes it refused (rate_limited). That last edit also
#   names another agent and audit log: the running process keeps its own
#   (its records stay in the old log, with the old agent), a process
#   started after the edit uses the new config at once (its limit, its
#   agent, its log).
# - bash running /bin/true every 100 ms (fork + exec), and python3's
#   subprocess.run(["/bin/true"]) (vfork + exec): a tool that maps true,
#   added by an edit, is applied to the programs they start from then on
#   (dry_run records of exec whose parent is the loop).
# - python3 running /bin/false: a breaker on it, added by an edit, is fed
#   by the running parent's children (it had no such breaker at its
#   start), opens and refuses them (circuit_open).
# timeout: 180
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$T/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
start_counting_listeners "$T/accepts" api
port=$LISTENER_PORTS
LIMIT=${RELOAD_WAIT:-20} # seconds any one wait may take before the test fails

# write_ini AGENT LOG TOOL-LINES...: written beside and renamed over, as
# editors and deployment tools do.
write_ini() {
    local agent=$1 log=$2
    shift 2
    {
        printf '[enact]\nagent = %s\naudit_log = %s\nstate = %s/state\nlog_allowed = true\n\n' \
            "$agent" "$log" "$T"
        printf '[tool.api]\nconnect = 127.0.0.1:%s\n' "$port"
        printf '%s\n' "$@"
    } >"$T/enact.ini.new"
    mv "$T/enact.ini.new" "$T/enact.ini"
}

# wait_for LOG EXPR: waits until the Python expression over recs (the
# log's records) is true; prints how long it took. Fails after LIMIT s.
wait_for() {
    "$PY" - "$1" "$2" "$LIMIT" <<'PY' || fail "waited ${LIMIT}s for: $2 in $1 ($(tail -3 "$1" 2>/dev/null))"
import json, sys, time
path, expr, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
start = time.monotonic()
while True:
    try:
        with open(path, encoding="utf-8") as f:
            recs = [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        recs = []
    if eval(expr, {"recs": recs}):
        print("%.2f" % (time.monotonic() - start))
        sys.exit(0)
    if time.monotonic() - start > limit:
        sys.exit(1)
    time.sleep(0.05)
PY
}

governed() {
    ENACT_CONFIG="$T/enact.ini" LD_PRELOAD="$SHIM_PRELOAD" "$@"
}

# ---- a running process that connects --------------------------------------

write_ini first "$T/audit.jsonl"
: >"$T/stop"
governed "$PY" -c "
import os, socket, sys, time
print(os.getpid(), flush=True)
while os.path.exists(sys.argv[1]):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', $port))
    except OSError:
        pass
    s.close()
    time.sleep(0.1)
" "$T/stop" >"$T/loop.out" 2>"$T/loop.err" &
loop=$!
_BG_PIDS+=("$loop")
for _ in $(seq 100); do [ -s "$T/loop.out" ] && break; sleep 0.05; done
lpid=$(head -1 "$T/loop.out")
[ -n "$lpid" ] || fail "the loop did not start: $(cat "$T/loop.err")"
mine="r['pid'] == $lpid"

wait_for "$T/audit.jsonl" "any($mine and r.get('verdict') == 'allow' for r in recs)" >/dev/null

write_ini first "$T/audit.jsonl" "dry_run = true"
took=$(wait_for "$T/audit.jsonl" "any($mine and r.get('verdict') == 'dry_run' for r in recs)")
note "the running process simulates the tool ${took}s after the edit"

# Broken, written in place: the dry run stays, one record, one message.
echo "no_such_key = 1" >>"$T/enact.ini"
took=$(wait_for "$T/audit.jsonl" "any($mine and r.get('reason') == 'config_error' for r in recs)")
note "the broken edit is reported ${took}s after it"
marker=$(wc -l <"$T/audit.jsonl")
sleep 3 # three looks at the unchanged broken file
"$PY" - "$T/audit.jsonl" "$lpid" "$marker" <<'PY' || fail "after the broken edit: see above"
import json, sys
path, pid, marker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(line) for line in open(path, encoding="utf-8")]
errors = [r for r in recs if r["pid"] == pid and r.get("reason") == "config_error"]
if len(errors) != 1:
    sys.exit("expected one config_error record, got %d: %s" % (len(errors), errors))
e = errors[0]
if e.get("verdict") != "error" or "no_such_key" not in e.get("detail", "") or \
        "keeps the config it had" not in e.get("detail", ""):
    sys.exit("the config_error record says: %s" % e)
after = [r.get("verdict") for r in recs[marker:] if r["pid"] == pid and r.get("op") == "connect"]
if len(after) < 5 or set(after) != {"dry_run"}:
    sys.exit("after the broken edit the connects were %s, not all dry_run" % after)
PY
check_eq "messages on stderr about the broken edit" 1 \
    "$(grep -c 'edited configuration cannot be loaded' "$T/loop.err" || true)"
grep -q "enact.ini:.*no_such_key" "$T/loop.err" || fail "stderr does not name the line: $(cat "$T/loop.err")"

# Mended, with a tight limit, another agent and another log.
write_ini second "$T/new-audit.jsonl" "rate.max_calls_per_minute = 0.001" "rate.burst_size = 1"
took=$(wait_for "$T/audit.jsonl" "any($mine and r.get('reason') == 'rate_limited' for r in recs)")
note "the running process is refused by the new limit ${took}s after the edit"
# A new process: the new config at once (its own agent's bucket: 1 of 3).
governed "$PY" -c "
import socket
for _ in range(3):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', $port))
    except OSError:
        pass
    s.close()
"
rm -f "$T/stop"
wait "$loop" || fail "the loop ended with $?: $(cat "$T/loop.err")"
"$PY" - "$T/audit.jsonl" "$T/new-audit.jsonl" "$lpid" <<'PY' || fail "after the mended edit: see above"
import json, sys
old, new, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]
mine = [r for r in read(old) if r["pid"] == pid]
if {r["agent"] for r in mine} != {"first"}:
    sys.exit("the running process changed agent: %s" % {r["agent"] for r in mine})
refused = [r for r in mine if r.get("reason") == "rate_limited"]
if not refused:
    sys.exit("no rate_limited record of the running process in the old log")
others = [r for r in read(old) if r["pid"] != pid]
if others:
    sys.exit("another process wrote to the old log: %s" % others)
fresh = [r for r in read(new) if r.get("op") == "connect"]
if any(r["pid"] == pid for r in read(new)):
    sys.exit("the running process wrote to the new log")
verdicts = [(r["agent"], r.get("verdict"), r.get("reason")) for r in fresh]
want = [("second", "allow", None), ("second", "deny", "rate_limited"), ("second", "deny", "rate_limited")]
if verdicts != want:
    sys.exit("the new process's records: %s, expected %s" % (verdicts, want))
PY

# ---- running processes that start programs --------------------------------

# true_dry_runs PARENT: whether a dry_run exec record of true started by PARENT is in.
true_dry_runs() {
    echo "any(r.get('verdict') == 'dry_run' and r.get('op') == 'exec' and r.get('tool') == 'truth' and r.get('parent') == $1 for r in recs)"
}

for kind in bash python; do
    log=$T/$kind-audit.jsonl
    write_ini first "$log" "[tool.other]" "exec = no-such-program"
    : >"$T/stop"
    case $kind in
    bash)
        # read -t on a FIFO opened read-write: a 100 ms pause that starts no program.
        [ -p "$T/fifo" ] || mkfifo "$T/fifo"
        governed bash -c 'echo $$; while [ -e "$1" ]; do /bin/true; read -r -t 0.1 <>"$2" || :; done' \
            bash "$T/stop" "$T/fifo" >"$T/$kind.out" 2>"$T/$kind.err" &
        ;;
    python)
        governed "$PY" -c "
import os, subprocess, sys, time
print(os.getpid(), flush=True)
while os.path.exists(sys.argv[1]):
    subprocess.run(['/bin/true'])
    time.sleep(0.1)
" "$T/stop" >"$T/$kind.out" 2>"$T/$kind.err" &
        ;;
    esac
    loop=$!
    _BG_PIDS+=("$loop")
    for _ in $(seq 100); do [ -s "$T/$kind.out" ] && break; sleep 0.05; done
    lpid=$(head -1 "$T/$kind.out")
    [ -n "$lpid" ] || fail "the $kind loop did not start: $(cat "$T/$kind.err")"
    sleep 0.5
    write_ini first "$log" "[tool.truth]" "exec = true" "dry_run = true"
    took=$(wait_for "$log" "$(true_dry_runs "$lpid")")
    note "$kind's programs are simulated ${took}s after the edit that maps them"
    # Once simulated, every later start of true is.
    marker=$(wc -l <"$log")
    wait_for "$log" "len([r for r in recs[$marker:] if r.get('verdict') == 'dry_run']) >= 5" >/dev/null
    rm -f "$T/stop"
    wait "$loop" || fail "the $kind loop ended with $?: $(cat "$T/$kind.err")"
    check_eq "$kind: nothing on stderr" "" "$(cat "$T/$kind.err")"
done

# A breaker on programs, added by an edit: the running parent (no such
# breaker at its start) takes its children's exit statuses from then on,
# and the breaker opens on them.
log=$T/breaker-audit.jsonl
write_ini first "$log" "[tool.other]" "exec = no-such-program"
: >"$T/stop"
governed "$PY" -c "
import os, subprocess, sys, time
print(os.getpid(), flush=True)
while os.path.exists(sys.argv[1]):
    try:
        subprocess.run(['/bin/false'])
    except PermissionError:
        pass
    time.sleep(0.1)
" "$T/stop" >"$T/breaker.out" 2>"$T/breaker.err" &
loop=$!
_BG_PIDS+=("$loop")
for _ in $(seq 100); do [ -s "$T/breaker.out" ] && break; sleep 0.05; done
lpid=$(head -1 "$T/breaker.out")
[ -n "$lpid" ] || fail "the breaker loop did not start: $(cat "$T/breaker.err")"
sleep 0.5
write_ini first "$log" "[tool.falsity]" "exec = false" "breaker.failure_threshold = 2" \
    "breaker.timeout_seconds = 600"
wait_for "$log" "any(r.get('verdict') == 'breaker' and r.get('to') == 'OPEN' and r.get('tool') == 'falsity' for r in recs)" >/dev/null
wait_for "$log" "any(r.get('reason') == 'circuit_open' and r.get('parent') == $lpid for r in recs)" >/dev/null
rm -f "$T/stop"
wait "$loop" || fail "the breaker loop ended with $?: $(cat "$T/breaker.err")"
