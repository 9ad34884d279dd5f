#!/usr/bin/env bash
# enact run governs the command it starts, not only that command's own
# children: `enact run -- rm victim` on a dry-run rm tool leaves the file,
# and a refused first command exits 126 with the refusal recorded.
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.rm]
exec = rm
dry_run = true
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI
: >"$T/victim"
set +e
"$ENACT" run -c "$T/enact.ini" -- rm -f "$T/victim"
rc=$?
set -e
check_eq "dry-run rm exit status" 0 "$rc"
[ -e "$T/victim" ] || fail "the dry-run rm removed the file"
grep -q '"exe":"enact","op":"exec","tool":"rm".*"verdict":"dry_run".*"impact":"HIGH"' \
    "$T/audit.jsonl" || fail "no dry_run record for the first command: $(cat "$T/audit.jsonl")"

"$ENACT" run -c "$T/enact.ini" -- touch "$T/one"
set +e
"$ENACT" run -c "$T/enact.ini" -- touch "$T/two" 2>"$T/err"
rc=$?
set -e
check_eq "refused first command's exit status" 126 "$rc"
[ -e "$T/one" ] && [ ! -e "$T/two" ] || fail "expected only the first touch to run"
grep -q "Operation not permitted" "$T/err" || fail "no reason on stderr: $(cat "$T/err")"
grep -q '"verdict":"deny","reason":"rate_limited"' "$T/audit.jsonl" || fail "refusal not recorded"
