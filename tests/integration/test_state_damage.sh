#!/usr/bin/env bash
# The state file truncated, zeroed or scribbled over while an agent runs:
# the agent does not crash, the file is rebuilt, an audit record says so,
# and the limits work again on the new file.
# shrink: the tables have grown (300 agents before; a file made for one
# tool grows at about 250) and the file is cut back to the size it was
# made with, whose header and first tables are still whole: the cut is
# noticed by the file's size against all the process has mapped (the
# tables beyond it would be SIGBUS), not by the header.
. "$(dirname "$0")/lib.sh"

start_http 127.0.0.1
cat >"$T/agent.py" <<'PY'
import os, socket, sys, time
port, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def attempt():
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "ok"
    except PermissionError:
        return "denied"
before = [attempt() for _ in range(2)]
open(ready, "w").close()
for _ in range(500):  # at most 10 s
    if os.path.exists(go):
        break
    time.sleep(0.02)
after = [attempt() for _ in range(5)]
print(" ".join(before), "|", " ".join(after))
PY

# overwrite FILE zero|random: every byte in place, the size kept.
overwrite() {
    "$PY" - "$1" "$2" <<'PY'
import os, sys
path, kind = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
with open(path, "r+b") as f:
    f.write(bytes(size) if kind == "zero" else os.urandom(size))
PY
}

for damage in truncate zero scribble remove shrink; do
    rm -f "$T/ready" "$T/go" "$T"/t.state* "$T/audit.jsonl"
    cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
[tool.api]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 3
INI
    if [ "$damage" = shrink ]; then
        connect_as() {
            LD_PRELOAD="$SHIM_PRELOAD" ENACT_CONFIG="$T/enact.ini" ENACT_AGENT="$1" \
                bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT"
        }
        connect_as first || fail "shrink: the first agent could not connect"
        made=$(stat -c %s "$T/t.state")
        export -f connect_as
        export SHIM_PRELOAD T HTTP_PORT
        seq 300 | xargs -P 2 -I{} bash -c 'connect_as agent-{}' 2>"$T/agents.err" ||
            fail "shrink: an agent could not connect: $(head -c 600 "$T/agents.err")"
        [ "$(stat -c %s "$T/t.state")" -gt "$made" ] || fail "shrink: the state file did not grow"
    fi
    "$ENACT" run -c "$T/enact.ini" -- "$PY" "$T/agent.py" "$HTTP_PORT" "$T/ready" "$T/go" \
        >"$T/out" 2>&1 &
    agent=$!
    for _ in $(seq 500); do [ -e "$T/ready" ] && break; sleep 0.02; done
    [ -e "$T/ready" ] || fail "$damage: the agent did not get ready"
    case $damage in
    truncate) truncate -s 100 "$T/t.state" ;;
    zero) overwrite "$T/t.state" zero ;;
    scribble) overwrite "$T/t.state" random ;;
    remove) rm -f "$T/t.state" ;;
    shrink) truncate -s "$made" "$T/t.state" ;;
    esac
    : >"$T/go"
    set +e
    wait "$agent"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "$damage: the agent exited $rc: $(cat "$T/out")"
    # Two tokens were spent before; the rebuilt file starts full: 3 more.
    check_eq "$damage: calls before | after" "ok ok | ok ok ok denied denied" "$(cat "$T/out")"
    grep -q '"reason":"state_error".*damaged while in use' "$T/audit.jsonl" ||
        fail "$damage: no record of the remapping: $(cat "$T/audit.jsonl")"
    if [ "$damage" != remove ]; then
        ls "$T"/t.state.corrupt-* >/dev/null 2>&1 || fail "$damage: the damaged file was not moved aside"
        grep -q 'moved aside' "$T/audit.jsonl" || fail "$damage: no record of the rebuild"
    fi
    check_eq "$damage: rate refusals recorded" 2 \
        "$(grep -c '"reason":"rate_limited"' "$T/audit.jsonl")"
done
