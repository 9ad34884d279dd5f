#!/bin/sh
# make bench: runs every benchmark side by side (bench/run_micro.py: B1-B3,
# B6 against the bare calls and Debian's trickle, proxychains4 and snoopy,
# unpacked under build/bench and never installed; bench/run_gate.py: B4-B5
# against a Redis Lua limiter on a redis-server of its own; bench/run_fleet.py:
# B7, limits on Redis, against the local backend and redis-benchmark;
# bench/run_counts.py: instructions (callgrind) and page faults (perf stat) of
# a start, a connect, a send and a spawn, bare, under the shim and its peers), prints the
# tables and rewrites BENCHMARKS.md (keeping its notes on missed targets,
# bench/NOTES.md). BENCH_QUICK=1 runs small counts and writes nothing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/bench"
mkdir -p "$out"
cd "$root"
quick=""
[ "${BENCH_QUICK:-0}" = 1 ] && quick="--quick"
python3 bench/run_micro.py $quick --json "$out/micro.json" | tee "$out/micro.txt"
python3 bench/run_gate.py $quick --json "$out/gate.json" | tee "$out/gate.txt"
python3 bench/run_fleet.py $quick --json "$out/fleet.json" | tee "$out/fleet.txt"
python3 bench/run_counts.py $quick --json "$out/counts.json" | tee "$out/counts.txt"
if [ -z "$quick" ]; then
    python3 bench/report.py "$out/micro.txt" "$out/gate.txt" "$out/fleet.txt" "$out/counts.txt" \
        bench/NOTES.md >BENCHMARKS.md
    echo "bench: BENCHMARKS.md rewritten"
fi
