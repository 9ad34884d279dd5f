#!/usr/bin/env bash
# `enact check`: misspelt key (FILE:LINE: + did-you-mean), syntax error with
# its line, a valid file and its rule counts as written, a missing file, a
# designed-but-unsupported key.
. "$(dirname "$0")/lib.sh"

cd "$T"

# check_run FILE: runs `enact check FILE`; sets RC and OUT (stdout+stderr).
check_run() {
    set +e
    OUT=$("$ENACT" check "$1" 2>&1)
    RC=$?
    set -e
    printf '%s\n' "--- enact check $1 (exit $RC)" "$OUT"
}

# The valid file first: the broken ones below differ from it by one line.
cat >valid.ini <<'INI'
[enact]
state = t.state
[tool.api]
rate.burst_size = 3
connect = 127.0.0.1:8080
rate.max_calls_per_minute = 1
[tool.touch]
exec = touch
INI
check_run valid.ini
check_eq "exit status for a valid file" 0 "$RC"
grep -q '2 tools' <<<"$OUT" || fail "the summary does not count 2 tools"

# Rules are counted as written: a localhost line is one rule (matched as
# 127.0.0.1 and ::1), next to one of each other kind.
cat >counts.ini <<'INI'
[enact]
state = t.state
[tool.local]
connect = localhost:18080
[tool.mixed]
connect = localhost
connect = 127.0.0.1:8080
connect = [::1]:8080
connect = unix:/run/x.sock
exec = touch
exec = rm -rf *
INI
check_run counts.ini
check_eq "exit status for the counted file" 0 "$RC"
check_eq "the rule counts" "  tool local (line 3): 1 connect rule, 0 exec rules
  tool mixed (line 5): 4 connect rules, 2 exec rules" "$(grep '^  tool ' <<<"$OUT")"

# Misspelt key on line 4.
sed 's/^rate.burst_size = 3$/rate.burst_sise = 3/' valid.ini >misspelt.ini
check_eq "the misspelling is on line 4" "rate.burst_sise = 3" "$(sed -n 4p misspelt.ini)"
check_run misspelt.ini
[ "$RC" -ne 0 ] || fail "misspelt key: exit status 0"
grep -q '^misspelt\.ini:4: ' <<<"$OUT" || fail "misspelt key: no 'misspelt.ini:4:' line"
grep -qi "did you mean 'rate.burst_size'" <<<"$OUT" || fail "misspelt key: no did-you-mean hint"

# Section header missing its bracket on line 3.
sed 's/^\[tool.api\]$/[tool.api/' valid.ini >syntax.ini
check_eq "the syntax error is on line 3" "[tool.api" "$(sed -n 3p syntax.ini)"
check_run syntax.ini
[ "$RC" -ne 0 ] || fail "syntax error: exit status 0"
grep -q '^syntax\.ini:3: ' <<<"$OUT" || fail "syntax error: no 'syntax.ini:3:' line"

# A missing file is named.
check_run missing.ini
[ "$RC" -ne 0 ] || fail "missing file: exit status 0"
grep -q 'missing\.ini' <<<"$OUT" || fail "missing file: the message does not name the file"

# strict is enforced: accepted without a word.
sed 's/^state = t.state$/state = t.state\nstrict = true/' valid.ini >strict.ini
check_eq "the key is on line 3" "strict = true" "$(sed -n 3p strict.ini)"
check_run strict.ini
[ "$RC" -eq 0 ] || fail "strict: exit status $RC"
! grep -q 'warning' <<<"$OUT" || fail "strict: a warning: $OUT"
grep -q '^  strict: ' <<<"$OUT" || fail "strict: check does not say what strict mode refuses: $OUT"
grep -q 'room for 64 agents per tool' <<<"$OUT" || fail "check does not say the state's room: $OUT"

# A key for connections on a tool that only starts programs does nothing:
# said on its line.
sed 's/^exec = touch$/exec = touch\nio_timeout_seconds = 30/' valid.ini >sockets.ini
check_run sockets.ini
[ "$RC" -eq 0 ] || fail "io_timeout_seconds on an exec tool: exit status $RC"
grep -q "^sockets\.ini:9: warning: tool 'touch': 'io_timeout_seconds' applies to connections" \
    <<<"$OUT" || fail "io_timeout_seconds on an exec tool: no warning on line 9"

# A bad value of a known key is refused on its line.
sed 's/^exec = touch$/exec = touch\nquota.max_actions = lots/' valid.ini >quota.ini
check_run quota.ini
[ "$RC" -ne 0 ] || fail "quota.max_actions = lots: exit status 0"
grep -q '^quota\.ini:9: quota.max_actions must be a whole number' <<<"$OUT" ||
    fail "quota.max_actions = lots: no 'quota.ini:9: quota.max_actions must be ...' line"

# An absolute path is reported as given.
check_run "$T/misspelt.ini"
grep -q "^$T/misspelt\.ini:4: " <<<"$OUT" || fail "absolute path: no '$T/misspelt.ini:4:' line"

# A config that is not a regular file is read to its end as before: a FIFO
# fed by another process (as from a generator) loads.
mkfifo fifo.ini
cat valid.ini >fifo.ini &
feeder=$!
check_run fifo.ini
wait "$feeder"
[ "$RC" -eq 0 ] || fail "a config read from a FIFO: exit status $RC: $OUT"
