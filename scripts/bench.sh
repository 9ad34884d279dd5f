#!/bin/sh
# make bench: builds the benchmark programs, fetches the peer tools
# (Debian's trickle, proxychains4 and snoopy, unpacked under build/bench,
# never installed), runs every benchmark side by side, prints the table and
# rewrites BENCHMARKS.md. BENCH_QUICK=1 runs small counts (a smoke run).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/bench"
mkdir -p "$out"
cd "$root"
CFLAGS="-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"
cc $CFLAGS -pthread -o "$out/micro" bench/micro.c
cc $CFLAGS -Ishim/core -o "$out/gate_bench" bench/gate_bench.c shim/core/*.c \
    $(pkg-config --libs inih 2>/dev/null || echo -linih) -lm
quick=""
[ "${BENCH_QUICK:-0}" = 1 ] && quick="--quick"
python3 bench/run_micro.py $quick --json "$out/micro.json"
python3 bench/run_gate.py $quick --json "$out/gate.json"
[ -n "$quick" ] || python3 bench/report.py "$out/micro.json" "$out/gate.json" >BENCHMARKS.md
[ -n "$quick" ] || echo "bench: BENCHMARKS.md rewritten"
