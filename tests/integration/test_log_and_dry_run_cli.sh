#!/usr/bin/env bash
# enact log and enact dry-run on a log a governed
# shell wrote: a refused touch (rate), a simulated `rm -rf DIR` (HIGH) and
# `ls` (LOW).
# - enact log: a header and one row per record; --blocked keeps the deny;
#   --tool, --verdict filter; --since 1h keeps all, --json prints the lines
#   as stored; no colour codes when not on a terminal; a line that is not a
#   record is skipped and counted on stderr.
# - enact dry-run list shows the simulated rm -rf with its impact, and the
#   counts per level; --impact LOW only ls, --impact high (any case) only
#   rm, --impact severe refused; after clear, list shows nothing;
#   a later simulated call shows again; the audit log keeps every line.
# - enact log --follow prints records as they come, across a rotation.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/victim"
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.rm]
exec = rm
dry_run = true
[tool.ls]
exec = ls
dry_run = true
INI
"$ENACT" run -c "$T/enact.ini" -- sh -c "touch $T/a; touch $T/b; rm -rf $T/victim; ls /" \
    >/dev/null 2>&1 || true
[ -d "$T/victim" ] || fail "the dry-run rm removed the folder"
audit_check "$T/audit.jsonl" 3

log() { "$ENACT" log -c "$T/enact.ini" "$@"; }
out=$(log)
check_eq "header and 3 rows" 4 "$(wc -l <<<"$out")"
head -1 <<<"$out" | grep -q "^TIME (UTC) *AGENT *TOOL *OP *VERDICT *REASON *CALL$" ||
    fail "header: $(head -1 <<<"$out")"
grep -q "touch *exec *deny *rate_limited *touch $T/b" <<<"$out" || fail "deny row: $out"
grep -q "rm *exec *dry_run .*rm -rf $T/victim \[HIGH\]" <<<"$out" || fail "dry_run row: $out"
if grep -q $'\033' <<<"$out"; then fail "colour codes when not on a terminal"; fi
check_eq "--blocked" 2 "$(log --blocked | wc -l)"
log --blocked | grep -q "rate_limited" || fail "--blocked lost the deny"
check_eq "--tool ls" 2 "$(log --tool ls | wc -l)"
check_eq "--verdict dry_run" 3 "$(log --verdict dry_run | wc -l)"
check_eq "--since 1h keeps all" 4 "$(log --since 1h | wc -l)"
check_eq "--json prints the stored lines" "$(cat "$T/audit.jsonl")" "$(log --json)"
set +e
log --since soon >/dev/null 2>"$T/err"
rc=$?
set -e
check_eq "a bad --since: exit status" 2 "$rc"
grep -q "duration" "$T/err" || fail "a bad --since is not explained: $(cat "$T/err")"
echo "not a record" >>"$T/audit.jsonl"
check_eq "a damaged line is skipped" 4 "$(log 2>"$T/err" | wc -l)"
grep -q "1 line of .* is not audit records" "$T/err" || fail "the damaged line is not counted: $(cat "$T/err")"

dry() { "$ENACT" dry-run -c "$T/enact.ini" "$@"; }
out=$(dry list)
grep -q "rm *HIGH *rm -rf $T/victim" <<<"$out" || fail "dry-run list: $out"
grep -q "ls *LOW *ls /" <<<"$out" || fail "dry-run list: $out"
grep -q "^2 simulated: 1 HIGH, 0 MEDIUM, 1 LOW, 0 UNKNOWN$" <<<"$out" || fail "counts: $out"
out=$(dry list --impact LOW)
if grep -q "rm -rf" <<<"$out"; then fail "--impact LOW shows rm: $out"; fi
grep -q "^1 simulated: 0 HIGH, 0 MEDIUM, 1 LOW" <<<"$out" || fail "--impact LOW: $out"
# The level in any case; a word that is no level is refused.
for level in high High hIGH; do
    out=$(dry list --impact "$level")
    if grep -q "ls /" <<<"$out"; then fail "--impact $level shows ls: $out"; fi
    grep -q "rm *HIGH *rm -rf $T/victim" <<<"$out" || fail "--impact $level: $out"
    grep -q "^1 simulated: 1 HIGH, 0 MEDIUM, 0 LOW" <<<"$out" || fail "--impact $level: $out"
done
set +e
dry list --impact severe >/dev/null 2>"$T/err"
rc=$?
set -e
check_eq "--impact severe: exit status" 2 "$rc"
grep -q "^enact dry-run: --impact is HIGH, MEDIUM, LOW or UNKNOWN" "$T/err" ||
    fail "--impact severe is not explained: $(cat "$T/err")"
check_eq "clear" "cleared 2 simulated calls (the audit log keeps them)" "$(dry clear)"
check_eq "after clear" "no simulated calls since the last clear" "$(dry list)"
check_eq "the audit log keeps every line" 4 "$(wc -l <"$T/audit.jsonl")"
"$ENACT" run -c "$T/enact.ini" -- rm -rf "$T/victim"
[ -d "$T/victim" ] || fail "the dry-run rm removed the folder"
out=$(dry list)
grep -q "^1 simulated: 1 HIGH" <<<"$out" || fail "a later simulated call: $out"

# --follow prints records as they come, and goes on after the log is
# rotated (renamed, then written again at its path).
rm -f "$T/audit.jsonl" "$T"/t.state*
spawn_bg "$T/follow.out" "$ENACT" log -c "$T/enact.ini" --follow --json
follower=$BG_PID
"$ENACT" run -c "$T/enact.ini" -- sh -c "touch $T/f1; touch $T/f2" >/dev/null 2>&1 || true
for _ in $(seq 50); do [ "$(wc -l <"$T/follow.out")" -ge 1 ] && break; sleep 0.1; done
mv "$T/audit.jsonl" "$T/audit.jsonl.1"
"$ENACT" run -c "$T/enact.ini" -- sh -c "touch $T/f3" >/dev/null 2>&1 || true
for _ in $(seq 50); do [ "$(wc -l <"$T/follow.out")" -ge 2 ] && break; sleep 0.1; done
kill "$follower" 2>/dev/null || true
check_eq "--follow saw both records, across the rotation" \
    "$(cat "$T/audit.jsonl.1" "$T/audit.jsonl")" "$(cat "$T/follow.out")"
