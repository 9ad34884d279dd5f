#!/usr/bin/env bash
# quota.max_actions = 2 on an exec tool (touch), per (agent, tool): of 4
# separate `enact run -a bot -- sh -c 'touch FILE'` runs, 2 create their file and 2 are
# refused (exit 126 from the shell, quota_exceeded records with op exec);
# another agent has its own 2; a tool without a quota is not counted.
# A call refused by the rate limit is not charged to the quota (tool stamp:
# rate 2/s with burst 1, quota 3).
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.stamp]
exec = touch stamp-*
quota.max_actions = 3
rate.max_calls_per_minute = 120
rate.burst_size = 1
[tool.touch]
exec = touch
quota.max_actions = 2
quota.window_hours = 1
[tool.mkdir]
exec = mkdir
INI

mkdir "$T/out"
cd "$T/out"
# run_touch AGENT FILE: `enact run -a AGENT -- sh -c 'touch FILE'`; prints
# the shell's exit status (126: the exec was refused).
run_touch() {
    set +e
    "$ENACT" run -c "$T/enact.ini" -a "$1" -- sh -c "touch $2" 2>>"$T/sh.err"
    echo $?
    set -e
}
statuses=""
for i in 1 2 3 4; do
    statuses+="$(run_touch bot "bot$i") "
done
check_eq "exit status of each run" "0 0 126 126 " "$statuses"
check_eq "files created" "bot1 bot2" "$(echo *)"

# The refused exec shows through the shell as EPERM.
grep -q 'Operation not permitted' "$T/sh.err" || {
    cat "$T/sh.err" >&2
    fail "the shell did not report 'Operation not permitted'"
}

statuses=""
for i in 1 2 3; do
    statuses+="$(run_touch other "other$i") "
done
check_eq "agent other: exit statuses" "0 0 126 " "$statuses"

# mkdir has no quota: unlimited.
for i in 1 2 3 4 5; do
    "$ENACT" run -c "$T/enact.ini" -a bot -- sh -c "mkdir d$i"
done
check_eq "files created" "bot1 bot2 d1 d2 d3 d4 d5 other1 other2" "$(echo *)"

# Tool stamp (matched before touch by its argument glob): the 2nd call,
# refused by the rate, leaves the quota at 1 of 3.
out=$("$ENACT" run -c "$T/enact.ini" -a stamper -- "$PY" -c '
import subprocess, time
for i, pause in enumerate((0, 0, 0.6, 0.6, 0.6), 1):
    time.sleep(pause)
    try:
        subprocess.run(["touch", f"stamp-{i}"], check=True)
        print("ok")
    except PermissionError:
        print("refused")
')
check_eq "stamp: outcomes" "ok refused ok ok refused" "$(echo $out)"
check_eq "stamp: files" "stamp-1 stamp-3 stamp-4" "$(echo stamp-*)"
check_eq "stamp: records" "True" "$(audit_eval "$T/audit.jsonl" \
    '([(r["reason"], r["argv"]) for r in recs if r["tool"] == "stamp"] ==
      [("rate_limited", ["touch", "stamp-2"]), ("quota_exceeded", ["touch", "stamp-5"])])')"
sed -i '/"tool":"stamp"/d' "$T/audit.jsonl"
rm stamp-*

audit_check "$T/audit.jsonl" 3 verdict=deny reason=quota_exceeded tool=touch op=exec \
    errno=EPERM argv0=touch
check_eq "agents and argv of the refusals" "True" "$(audit_eval "$T/audit.jsonl" \
    '[(r["agent"], r["argv"]) for r in recs] == [("bot", ["touch", "bot3"]),
        ("bot", ["touch", "bot4"]), ("other", ["touch", "other3"])]')"
check_eq "retry_after_ms within the 1 h window (+1/60)" "True" "$(audit_eval "$T/audit.jsonl" \
    'all(0 < r["retry_after_ms"] <= 3660000 for r in recs)')"
