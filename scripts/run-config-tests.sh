#!/usr/bin/env bash
# Config corpus: runs `build/enact check FILE` on every tests/config/bad/*.ini
# and tests/config/good/*.ini (or only the NAMEs given, e.g. `bad/nul_byte`)
# and compares its stderr, with the file's path at the start of a line
# replaced by the literal FILE, to FILE's .expect next to it, exactly.
# Exit status: 1 for a bad file, 0 for a good one; a bad file prints nothing
# on stdout, a good one its "PATH: ok" summary.
# Prints one FAIL line per failing file with a diff, and ends with
# "config: N passed, N failed"; exits non-zero when any failed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ENACT=${ENACT:-$ROOT/build/enact}
CORPUS=$ROOT/tests/config

[ -x "$ENACT" ] || { echo "config: $ENACT is missing; build it first with 'make'" >&2; exit 2; }
command -v timeout >/dev/null || { echo "config: 'timeout' (coreutils) is required" >&2; exit 2; }
unset LD_PRELOAD ENACT_CONFIG ENACT_AGENT ENACT_MODE

files=()
if [ $# -gt 0 ]; then
    for name in "$@"; do
        name=${name%.ini}
        name=${name#"$CORPUS/"}
        [ -f "$CORPUS/$name.ini" ] || { echo "config: no $CORPUS/$name.ini" >&2; exit 2; }
        files+=("$CORPUS/$name.ini")
    done
else
    for f in "$CORPUS"/bad/*.ini "$CORPUS"/good/*.ini; do
        [ -f "$f" ] && files+=("$f")
    done
fi
[ ${#files[@]} -gt 0 ] || { echo "config: no files in $CORPUS/bad or $CORPUS/good" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/enact-config.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
for f in "${files[@]}"; do
    rel=${f#"$CORPUS/"}
    name=${rel%.ini}
    expect=${f%.ini}.expect
    case $rel in
    bad/*) want_rc=1 ;;
    *) want_rc=0 ;;
    esac
    problems=()

    timeout 10 "$ENACT" check "$f" >"$work/stdout" 2>"$work/stderr" </dev/null
    rc=$?
    # The path only where a diagnostic names it: at the start of a line.
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line == "$f"* ]] && line="FILE${line#"$f"}"
        printf '%s\n' "$line"
    done <"$work/stderr" >"$work/actual"

    [ "$rc" -eq "$want_rc" ] || problems+=("exit status $rc, expected $want_rc")
    if [ "$want_rc" -eq 1 ]; then
        [ -s "$work/stdout" ] && problems+=("printed on stdout: '$(head -n 1 "$work/stdout")'")
    elif ! grep -q "^$f: ok, " "$work/stdout"; then
        problems+=("no '$f: ok, ...' summary on stdout")
    fi
    if [ ! -f "$expect" ]; then
        problems+=("$expect is missing")
    elif ! cmp -s "$expect" "$work/actual"; then
        problems+=("stderr is not the .expect (diff below)")
    fi

    if [ ${#problems[@]} -eq 0 ]; then
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    msg=$(printf '%s; ' "${problems[@]}")
    echo "FAIL $name: ${msg%; }"
    if [ -f "$expect" ] && ! cmp -s "$expect" "$work/actual"; then
        diff -u --label "expected ($name.expect)" --label "enact check" "$expect" "$work/actual" |
            sed 's/^/    /'
    fi
done

echo "config: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
