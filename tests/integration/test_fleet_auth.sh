#!/usr/bin/env bash
# A Redis that admits only an ACL user: the password comes from
# backend.password_file (mode 0600) or backend.password_env, never from the
# INI. enact check --backend signs in and loads the script; a password file
# others can read is warned of; a wrong password is an error naming the
# file and the line of backend.password_file, and at run time on_down
# decides (deny: refused, reason backend_down, with one backend_down record
# that says the server refused the password).
. "$(dirname "$0")/lib.sh"

REDIS_PORT=$(free_port)
cat >"$T/redis.conf" <<CONF
port $REDIS_PORT
bind 127.0.0.1
save ""
appendonly no
dir $T
user default off
user enact on >s3cret-pw ~* &* +@all
CONF
spawn_bg "$T/redis.log" redis-server "$T/redis.conf"
wait_accepting "$BG_PID" 127.0.0.1 "$REDIS_PORT" || fail "redis-server did not start"
check_eq "the default user is refused" NOAUTH \
    "$(redis-cli -p "$REDIS_PORT" ping 2>&1 | awk '{print $1}')"

start_counting_listeners "$T/accepted.log" api
printf 's3cret-pw\n' >"$T/pw"
chmod 600 "$T/pw"
cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = $T/audit.jsonl
backend = redis://enact@127.0.0.1:$REDIS_PORT
backend.password_file = $T/pw
backend.on_down = deny
[tool.api]
connect = 127.0.0.1:$LISTENER_PORTS
rate.max_calls_per_minute = 0.01
rate.burst_size = 3
INI
out=$("$ENACT" check --backend "$T/enact.ini")
echo "$out" | grep -q "answered: Redis [0-9.]*, limits script loaded, round trip" ||
    fail "enact check --backend did not report the backend: $out"
echo "$out" | grep -q "password from backend.password_file" || fail "check names no password source: $out"
! echo "$out" | grep -q warning || fail "a private password file was warned of: $out"

agent() {
    "$ENACT" run -c "$1" -- "$PY" "$(dirname "$0")/fleet/agent.py" "$LISTENER_PORTS" 5 1
}
check_eq "signed in as enact: ok refused other" "3 2 0" "$(agent "$T/enact.ini")"
check_eq "the bucket is on Redis" 1 \
    "$(redis-cli -p "$REDIS_PORT" --user enact --pass s3cret-pw --no-auth-warning --scan --pattern '{enact:enact}:t:*' | wc -l)"

chmod 644 "$T/pw"
check_eq "a password file others can read is warned of" \
    "$T/enact.ini:5: warning: backend.password_file $T/pw is readable by other users (mode 0644); chmod 600 it" \
    "$("$ENACT" check "$T/enact.ini" | grep warning)"
chmod 600 "$T/pw"

# The same from the environment.
sed -e "s|^backend.password_file = .*|backend.password_env = ENACT_TEST_REDIS_PW|" \
    -e "s|^backend.on_down = deny|backend.key_prefix = by-env\nbackend.on_down = deny|" \
    "$T/enact.ini" >"$T/env.ini"
check_eq "password from the environment: ok refused other" "3 2 0" \
    "$(ENACT_TEST_REDIS_PW=s3cret-pw agent "$T/env.ini")"

# A wrong password.
printf 'not-the-password\n' >"$T/pw"
set +e
err=$("$ENACT" check --backend "$T/enact.ini" 2>&1 >/dev/null)
rc=$?
set -e
check_eq "enact check --backend exit status" 1 "$rc"
case $err in
"$T/enact.ini:5: backend 127.0.0.1:$REDIS_PORT: authentication refused: WRONGPASS"*) ;;
*) fail "enact check --backend said: $err" ;;
esac
rm -f "$T/audit.jsonl"
check_eq "wrong password at run time, on_down = deny: ok refused other" "0 5 0" "$(agent "$T/enact.ini")"
check_eq "records: one backend_down, then the refusals" "backend_down:None deny:backend_down deny:backend_down deny:backend_down deny:backend_down deny:backend_down" \
    "$(audit_eval "$T/audit.jsonl" '" ".join("%s:%s" % (r["verdict"], r.get("reason")) for r in recs)')"
check_eq "the backend_down record says the password was refused" True \
    "$(audit_eval "$T/audit.jsonl" '"WRONGPASS" in recs[0]["detail"] and "on_down = deny" in recs[0]["detail"]')"
