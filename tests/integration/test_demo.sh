#!/usr/bin/env bash
# make demo: the quickstart agent runs governed and
# the account that follows shows, readably, what was refused and why (a
# rate limit, an open breaker), what was only simulated (rm -rf, HIGH), and
# the limits as they stand.
. "$(dirname "$0")/lib.sh"

out=$("$ROOT/scripts/demo.sh" 2>&1) || fail "the demo failed: $out"
for want in \
    "call 4: failed: \[Errno 1\] Operation not permitted" \
    "try 4: failed: \[Errno 1\] Operation not permitted" \
    "exit status 0; the file is still there" \
    "== enact log --blocked" \
    "demo-agent *api *connect deny *rate_limited" \
    "demo-agent *flaky-service *connect deny *circuit_open" \
    "file-delete *HIGH *rm -rf .*scratch1 *(rm: destructive)" \
    "2 simulated: 2 HIGH" \
    "flaky-service *OPEN" \
    "demo-agent *api *0/3"; do
    grep -q -- "$want" <<<"$out" || fail "the demo does not show '$want':
$out"
done
check_eq "refusals in the blocked view" 5 "$(grep -c ' deny ' <<<"$out")"
