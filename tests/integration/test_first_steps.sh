#!/usr/bin/env bash
# What a newcomer meets first: `enact` alone prints a short usage of the
# five commands people start with (exit 2) and `enact --help` the whole
# list; `enact run` with no config says what it looked for and how to
# start; scripts/deps.sh refuses a tier it does not know.
. "$(dirname "$0")/lib.sh"

rc=0
"$ENACT" >"$T/out" 2>"$T/err" || rc=$?
check_eq "enact alone: status" 2 "$rc"
check_eq "enact alone: nothing on stdout" "" "$(cat "$T/out")"
for cmd in learn run check log status; do
    grep -q "^  enact $cmd " "$T/err" || fail "enact alone does not show 'enact $cmd': $(cat "$T/err")"
done
check_eq "enact alone: five commands" 5 "$(grep -c '^  enact ' "$T/err")"
"$ENACT" --help | grep -q "^  watch " || fail "enact --help does not list every command"

mkdir "$T/empty"
rc=0
(cd "$T/empty" && env -u ENACT_CONFIG "$ENACT" run -- true) >"$T/out" 2>"$T/err" || rc=$?
check_eq "enact run without a config: status" 2 "$rc"
grep -q "no -c FILE was given, ENACT_CONFIG is not set, and there is no enact.ini in $T/empty" \
    "$T/err" || fail "enact run without a config: $(cat "$T/err")"
grep -q "enact learn -o enact.ini -- CMD" "$T/err" && grep -q "config/enact.ini" "$T/err" &&
    grep -q "enact check enact.ini" "$T/err" ||
    fail "enact run without a config does not say how to start: $(cat "$T/err")"

rc=0
"$ROOT/scripts/deps.sh" nonsense 2>"$T/err" || rc=$?
check_eq "deps.sh with an unknown tier" 2 "$rc"
grep -q "build, demo, bench, deb or test" "$T/err" || fail "deps.sh: $(cat "$T/err")"
echo "ok: short usage, a missing config explained, deps tiers"
