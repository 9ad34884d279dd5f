#!/usr/bin/env bash
# Who calls, told apart without a system call per decision: a vfork child
# (it runs on its parent's memory), a fork child, and a descriptor number
# reused after a close the shim did not see (syscall(SYS_close)).
# tests/integration/identity/vfork_agent.c, under the shim:
# - a vfork child closes the parent's dry-run connection and execs
#   /bin/true: its exec record names the child's pid, not the parent's,
#   and the parent's connection is still followed (the dry-run record has
#   the bytes the parent sent after the child);
# - a fork child's exec record names its own pid, and so does the child of
#   a fork made by syscall(SYS_fork), where no atfork handler runs;
# - the reused descriptor's connect is a new call: refused by the burst of 1.
. "$(dirname "$0")/lib.sh"

cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$T/vfork_agent" \
    "$ROOT/tests/integration/identity/vfork_agent.c" || fail "vfork_agent did not build"
start_counting_listeners "$T/accepts.log" sim api
read -r SIM_PORT API_PORT <<<"$LISTENER_PORTS"
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
log_allowed = true
[tool.sim]
connect = 127.0.0.1:$SIM_PORT
dry_run = true
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.true]
exec = true
INI
out=$(cd "$T" && "$ENACT" run -c enact.ini -- "$T/vfork_agent" "$SIM_PORT" "$API_PORT" /bin/true) ||
    fail "the agent failed: $out"
echo "$out"
vfork_child=$(sed -n '1s/^child \([0-9]*\) exited 0$/\1/p' <<<"$out")
fork_child=$(sed -n '2s/^child \([0-9]*\) exited 0$/\1/p' <<<"$out")
raw_child=$(sed -n '3s/^child \([0-9]*\) exited 0$/\1/p' <<<"$out")
[ -n "$vfork_child" ] && [ -n "$fork_child" ] && [ -n "$raw_child" ] ||
    fail "the children did not all exit 0: $out"
check_eq "the reused descriptor" "api first connected
api again refused" "$(sed -n '4,5p' <<<"$out")"

log=$T/audit.jsonl
check_eq "exec records, by pid" "$vfork_child $fork_child $raw_child" \
    "$(audit_eval "$log" "' '.join(str(r['pid']) for r in recs if r['op'] == 'exec' and r['tool'] == 'true')")"
check_eq "the parent's dry run, after its vfork child closed the descriptor" "AFTER" \
    "$(audit_eval "$log" "''.join(r['would_execute'] for r in recs if r['verdict'] == 'dry_run')")"
check_eq "api: allowed, then refused" "allow deny:rate_limited" \
    "$(audit_eval "$log" "' '.join(r['verdict'] + (':' + r['reason'] if 'reason' in r else '') for r in recs if r['tool'] == 'api')")"
echo "PASS"
