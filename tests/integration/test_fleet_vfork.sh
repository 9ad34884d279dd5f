#!/usr/bin/env bash
# Program starts decided on Redis from where the hooks run: python's
# subprocess.run (a vfork child: its exec is decided on the child's stack,
# over a connection of its own made for that one call) and os.posix_spawn
# (decided before the child exists). Two "hosts" share one bucket of burst
# 4 for touch: exactly 4 files in all, the rest refused rate_limited (not
# backend_down: the backend answered every decision).
. "$(dirname "$0")/lib.sh"

# This python's subprocess takes the vfork path (what the test is about).
command -v strace >/dev/null || fail "strace is required"
strace -f -qq -e trace=vfork,clone,clone3 -o "$T/strace.out" "$PY" -c \
    'import subprocess; subprocess.run(["true"])'
grep -Eq 'vfork\(|CLONE_VFORK' "$T/strace.out" || fail "python's subprocess did not vfork: $(cat "$T/strace.out")"

start_redis
for h in 1 2; do
    fleet_host_config "$h" "agent = builder" "backend.on_down = deny" \
        "[tool.touch]" "exec = touch" "rate.max_calls_per_minute = 0.01" "rate.burst_size = 4"
done
mkdir "$T/out"
cat >"$T/agent.py" <<'PY'
import os, shutil, subprocess, sys
host, how = sys.argv[1], sys.argv[2]
# By its path: a vfork child given a bare name tries each PATH folder, and
# each try that finds the program is a decision (only the first recorded).
touch = shutil.which("touch")
ok = refused = 0
for i in range(5):
    path = f"out/{host}-{how}-{i}"
    try:
        if how == "subprocess":
            subprocess.run([touch, path], check=True)
        else:
            pid = os.posix_spawn(touch, ["touch", path], os.environ)
            os.waitpid(pid, 0)
        ok += 1
    except PermissionError:
        refused += 1
print(ok, refused)
PY
out1=$(cd "$T" && "$ENACT" run -c "$T/host1/enact.ini" -- "$PY" agent.py h1 subprocess)
out2=$(cd "$T" && "$ENACT" run -c "$T/host2/enact.ini" -- "$PY" agent.py h2 spawn)
check_eq "host 1 (subprocess, vfork): ok refused" "4 1" "$out1"
check_eq "host 2 (posix_spawn): ok refused, the bucket already empty" "0 5" "$out2"
check_eq "files made" 4 "$(find "$T/out" -type f | wc -l)"
audit_check "$T/host1/audit.jsonl" 1 verdict=deny reason=rate_limited tool=touch op=exec
audit_check "$T/host2/audit.jsonl" 5 verdict=deny reason=rate_limited tool=touch op=spawn
# Each script run reads the server's TIME once: one per program start.
calls=$(redis-cli -p "$REDIS_PORT" info commandstats | sed -n 's/^cmdstat_time:calls=\([0-9]*\),.*/\1/p')
check_eq "script runs (one per program start)" 10 "$calls"

# A refill lets both go on: the vfork children and the parent share nothing
# but memory, and the next start is decided on Redis again.
"$ENACT" reset -c "$T/host1/enact.ini" >/dev/null
out3=$(cd "$T" && "$ENACT" run -c "$T/host2/enact.ini" -- "$PY" agent.py h2b subprocess)
check_eq "after enact reset: ok refused" "4 1" "$out3"
