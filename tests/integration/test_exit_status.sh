#!/usr/bin/env bash
# `enact run` exits with CMD's status; 127 when CMD does not exist; non-zero
# with FILE:LINE: when the config is broken (and CMD does not run).
. "$(dirname "$0")/lib.sh"

cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 1
rate.burst_size = 1
INI

set +e
"$ENACT" run -c "$T/enact.ini" -- sh -c 'exit 7'
rc=$?
set -e
check_eq "exit status of sh -c 'exit 7'" 7 "$rc"

"$ENACT" run -c "$T/enact.ini" -- true || fail "enact run -- true failed"

set +e
"$ENACT" run -c "$T/enact.ini" -- /nonexistent/prog 2>"$T/err"
rc=$?
set -e
check_eq "exit status of a missing program" 127 "$rc"
grep -q '/nonexistent/prog' "$T/err" || fail "the missing program is not named on stderr"

cat >"$T/broken.ini" <<INI
[enact]
state = t.state
[tool.touch]
exec = touch
rate.max_calls_per_minute = -1
INI
set +e
"$ENACT" run -c "$T/broken.ini" -- touch "$T/should-not-exist" 2>"$T/err"
rc=$?
set -e
cat "$T/err"
[ "$rc" -ne 0 ] || fail "broken config: exit status 0"
grep -q "^$T/broken\.ini:5: " "$T/err" || fail "broken config: no '$T/broken.ini:5:' on stderr"
[ ! -e "$T/should-not-exist" ] || fail "broken config: the command ran anyway"

audit_check "$T/audit.jsonl" 0
