#!/usr/bin/env bash
# Runs each command of the CLI once, on a state and a log made by a governed
# run, with $ENACT_BIN (a sanitizer build, or a wrapper that runs enact
# under valgrind: make asan, make valgrind). Fails when a run reports a
# memory error, a leak or undefined behaviour: a sanitizer's or valgrind's
# exit status (86, 87, 99) or its "==PID==" / "runtime error:" lines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ENACT_BIN:?set ENACT_BIN to the enact to check}
T=$(mktemp -d "${TMPDIR:-/tmp}/enact-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset LD_PRELOAD ENACT_CONFIG ENACT_AGENT ENACT_MODE

cat >"$T/enact.ini" <<INI
[enact]
state = $T/t.state
audit_log = $T/audit.jsonl
[tool.touch]
exec = touch
rate.max_calls_per_minute = 0.001
rate.burst_size = 1
quota.max_actions = 5
[tool.rm]
exec = rm
dry_run = true
INI
# The governed run itself uses the plain build: a sanitized shim is checked
# elsewhere (tests/linked, make ubsan).
"$ROOT/build/enact" run -c "$T/enact.ini" -- sh -c "touch $T/a; touch $T/b; rm -f $T/a" 2>/dev/null || true

n=0
# ENACT_TEST_PRELOAD (make asan): the sanitizer runtime, first in the
# program `enact run` starts, where the sanitized shim is loaded.
check() {
    n=$((n + 1))
    local rc=0
    LD_PRELOAD=${ENACT_TEST_PRELOAD:-} "$BIN" "$@" >"$T/out" 2>&1 || rc=$?
    if [ "$rc" -eq 86 ] || [ "$rc" -eq 87 ] || [ "$rc" -eq 99 ] ||
        grep -qE '^==[0-9]+==|runtime error:' "$T/out"; then
        cat "$T/out" >&2
        echo "cli-commands: enact $* (exit status $rc)" >&2
        exit 1
    fi
}
check --help
check check "$T/enact.ini"
check check "$ROOT/config/enact.ini"
check match -c "$T/enact.ini" exec rm -rf /
check match -c "$T/enact.ini" connect 127.0.0.1:80
check status -c "$T/enact.ini"
check status -c "$T/enact.ini" --json
check status -c "$T/enact.ini" --prometheus
check log -c "$T/enact.ini"
check log -c "$T/enact.ini" --blocked --json
check log -c "$T/enact.ini" --since 1d --verdict deny
check dry-run -c "$T/enact.ini" list
check report -c "$T/enact.ini" --html
check reset -c "$T/enact.ini"
check ps -c "$T/enact.ini"
check ps -c "$T/enact.ini" --json
check kill -c "$T/enact.ini" --agent nobody --reason "a check" --signal TERM
check status -c "$T/enact.ini"
check status -c "$T/enact.ini" --json
check resume -c "$T/enact.ini" --all
check pending -c "$T/enact.ini"
check pending -c "$T/enact.ini" --json
check approve -c "$T/enact.ini" 0000abcd --note none
check deny -c "$T/enact.ini" not-an-id
check watch --help
check watch -c "$T/enact.ini" --min-interval soon
check doctor /bin/true
check doctor "$ROOT/build/libenact_shim.so"
check run -c "$T/enact.ini" -- true
check learn --from "$T/audit.jsonl" -o "$T/learnt.ini"
check learn --duration 10s -- sh -c "touch $T/c; rm -f $T/c"

# enact metrics: started on a port the kernel picks (its start line names
# it), asked for each kind of answer, then stopped with SIGTERM.
n=$((n + 1))
LD_PRELOAD=${ENACT_TEST_PRELOAD:-} "$BIN" metrics -c "$T/enact.ini" --listen 127.0.0.1:0 \
    >"$T/metrics.out" 2>&1 &
pid=$!
url=""
for _ in $(seq 300); do
    url=$(sed -n 's|^enact metrics: serving \(http://[^ ]*\) for .*|\1|p' "$T/metrics.out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$T/metrics.out" >&2; echo "cli-commands: enact metrics did not start" >&2; exit 1; }
for args in "" "-I" "-X POST -d x" "-H X-Pad:$(printf '%09000d' 0)"; do
    # shellcheck disable=SC2086
    curl -s --max-time 20 -o /dev/null $args "$url" || true
done
curl -s --max-time 20 -o /dev/null "${url%/metrics}/other" || true
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" -ne 0 ] || grep -qE '^==[0-9]+==|runtime error:' "$T/metrics.out"; then
    cat "$T/metrics.out" >&2
    echo "cli-commands: enact metrics (exit status $rc)" >&2
    exit 1
fi
echo "cli-commands: $n commands of $BIN: no report"
