#!/usr/bin/env bash
# Runs the integration tests: every tests/integration/test_*.sh (or only the
# ones named on the command line, e.g. `run.sh test_check`), each in a fresh
# temp dir under ${TMPDIR:-/tmp} (its cwd, removed afterwards) and under
# `timeout 120` (or the SECONDS of a "# timeout: SECONDS" line in the test).
# Prints PASS/FAIL per test (a failing test's output follows its FAIL line)
# and ends with "integration: N passed, N failed"; exits non-zero when any
# test failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

missing=0
# ENACT_BUILD (absolute): run against another build, e.g. build/asan.
BUILD_DIR=${ENACT_BUILD:-$ROOT/build}
for f in "$BUILD_DIR/enact" "$BUILD_DIR/libenact_shim.so"; do
    if [ ! -f "$f" ]; then
        echo "integration: $f is missing; build it first with 'make' (or 'make asan', 'make ubsan') in $ROOT" >&2
        missing=1
    fi
done
[ "$missing" -eq 0 ] || exit 2
command -v timeout >/dev/null || { echo "integration: 'timeout' (coreutils) is required" >&2; exit 2; }

# The tests must not inherit the caller's governance.
unset LD_PRELOAD ENACT_CONFIG ENACT_AGENT ENACT_MODE

tests=()
if [ $# -gt 0 ]; then
    for name in "$@"; do
        name=$(basename "$name" .sh)
        [ -f "$HERE/$name.sh" ] || { echo "integration: no test $HERE/$name.sh" >&2; exit 2; }
        tests+=("$HERE/$name.sh")
    done
else
    for t in "$HERE"/test_*.sh; do
        [ -f "$t" ] && tests+=("$t")
    done
fi
[ ${#tests[@]} -gt 0 ] || { echo "integration: no tests found in $HERE" >&2; exit 2; }

box=""
trap '[ -n "$box" ] && rm -rf "$box"; exit 130' INT TERM

passed=0 failed=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    box=$(mktemp -d "${TMPDIR:-/tmp}/enact-it.$name.XXXXXX") || {
        echo "integration: cannot create a temp dir" >&2
        exit 2
    }
    mkdir "$box/work"
    # A test may ask for more time on a line "# timeout: SECONDS".
    limit=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -1)
    (cd "$box/work" && ENACT_ROOT="$ROOT" timeout "${limit:-120}" bash "$t") >"$box/output" 2>&1 </dev/null
    rc=$?
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        [ "$rc" -eq 124 ] && echo "    (timed out after 120 s)"
        sed 's/^/    /' "$box/output"
    fi
    rm -rf "$box"
    box=""
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
