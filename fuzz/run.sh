#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/NAME).
#
#   fuzz/run.sh fuzz NAME...     fuzz each NAME for FUZZ_SECONDS (30) on a
#                                copy of fuzz/corpus/NAME (in build/fuzz/work,
#                                so the committed corpus never changes), with
#                                fuzz/regressions/NAME as extra seeds; at most
#                                FUZZ_JOBS (2) targets at a time
#   fuzz/run.sh regress NAME...  run each NAME once over every file of
#                                fuzz/corpus/NAME and fuzz/regressions/NAME
#
# Exit status: 0 when every target passed, 1 when one found a crash (its
# reproducer is printed), 2 on a usage or setup problem.
# Logs: build/fuzz/logs/NAME.log; crashes: build/fuzz/artifacts/NAME/.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
BIN=build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-2}

# The longest input worth trying, per target.
max_len() {
    case $1 in
        config) echo 4096 ;;     # a config of a few dozen lines
        audit_read) echo 8192 ;; # a record is at most 4 KiB, escaped more
        tls_frame) echo 4096 ;;
        match) echo 1024 ;;      # a rule, a candidate, a few more rules
        impact|jsonw) echo 1024 ;;
        shell_words) echo 512 ;;
        binfmt) echo 4096 ;;     # the header and program headers
        resp) echo 4096 ;;       # a reply of a few dozen items
        redis_url) echo 512 ;;
        *) echo 4096 ;;
    esac
}

# fuzz_config writes its input to a file in a temporary directory, left
# behind when a crash ends the process: keep those under build/.
export TMPDIR=$ROOT/$BIN/tmp
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mode=${1:-}
shift || true
[ "$mode" = fuzz ] || [ "$mode" = regress ] || {
    echo "usage: fuzz/run.sh fuzz|regress NAME..." >&2
    exit 2
}
[ $# -gt 0 ] || { echo "fuzz: no targets given" >&2; exit 2; }
for name in "$@"; do
    [ -x "$BIN/$name" ] || { echo "fuzz: $BIN/$name is missing; run 'make fuzz-build'" >&2; exit 2; }
done
mkdir -p "$BIN/logs" "$TMPDIR"

# Once over the corpus and the regressions: libFuzzer runs each file given
# as an argument once (a directory argument would start fuzzing).
regress_one() {
    local name=$1 log=$BIN/logs/$1.regress.log
    local files=()
    while IFS= read -r -d '' f; do files+=("$f"); done < <(
        find "fuzz/corpus/$name" "fuzz/regressions/$name" -type f ! -name '.*' -print0 2>/dev/null | sort -z)
    if [ ${#files[@]} -eq 0 ]; then
        echo "fuzz-regress: $name: no inputs in fuzz/corpus/$name" >&2
        return 1
    fi
    if "$BIN/$name" -runs=1 "${files[@]}" >"$log" 2>&1; then
        echo "fuzz-regress: $name: ${#files[@]} inputs ok"
        return 0
    fi
    local bad
    bad=$(grep -o 'Running: .*' "$log" | tail -1 | cut -d' ' -f2-)
    echo "fuzz-regress: $name: FAILED on ${bad:-an input} (log: $log)" >&2
    grep -E 'property violated|ERROR: |runtime error|SUMMARY' "$log" | head -5 | sed 's/^/    /' >&2
    echo "    reproduce: $BIN/$name $bad" >&2
    return 1
}

fuzz_one() {
    local name=$1 work=$BIN/work/$1 art=$BIN/artifacts/$1/ log=$BIN/logs/$1.log
    local dict=() extra=()
    rm -rf "$work" && mkdir -p "$work" "$art" || return 2
    cp -R "fuzz/corpus/$name/." "$work/" 2>/dev/null
    [ -f "fuzz/dict/$name.dict" ] && dict=("-dict=fuzz/dict/$name.dict")
    [ -d "fuzz/regressions/$name" ] && extra=("fuzz/regressions/$name")
    "$BIN/$name" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$name")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" \
        "$work" "${extra[@]}" >"$log" 2>&1
    local rc=$?
    local stats
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
        sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+cov: ([0-9]+) ft: ([0-9]+).*exec\/s: ([0-9]+).*/\1 runs, cov \2, ft \3, \4 exec\/s/')
    if [ $rc -eq 0 ]; then
        echo "fuzz: $name: ok (${stats:-no stats}; log: $log)"
        return 0
    fi
    local crash
    crash=$(grep -o 'Test unit written to .*' "$log" | tail -1 | cut -d' ' -f5-)
    echo "fuzz: $name: FAILED (exit $rc; log: $log)" >&2
    grep -E 'property violated|ERROR: |runtime error|SUMMARY' "$log" | head -5 | sed 's/^/    /' >&2
    local known=""
    for f in "fuzz/regressions/$name"/*; do
        [ -n "$crash" ] && [ -f "$f" ] && cmp -s "$f" "$crash" && known=$f
    done
    if [ -n "$known" ]; then
        echo "    the known regression $known: not fixed yet" >&2
        echo "    (FUZZ_IGNORE, see fuzz/README.md, steps over a reported bug meanwhile)" >&2
    elif [ -n "$crash" ]; then
        echo "    reproducer: $crash" >&2
        echo "    reproduce:  $BIN/$name $crash" >&2
        echo "    keep it:    cp $crash fuzz/regressions/$name/crash-SHORT-DESCRIPTION" >&2
        echo "                (make fuzz-regress then fails until the bug is fixed)" >&2
    fi
    return 1
}

failed=0
if [ "$mode" = regress ]; then
    for name in "$@"; do
        regress_one "$name" || failed=1
    done
    exit $failed
fi

# At most JOBS targets at a time; each result is printed as it ends.
running=0
for name in "$@"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    fuzz_one "$name" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
[ $failed -eq 0 ] && echo "fuzz: every target ran ${SECONDS_EACH}s without a crash"
exit $failed
