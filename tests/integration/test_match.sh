#!/usr/bin/env bash
# `enact match`: which tool governs a call. CIDR with port ranges, IPv4
# rules against IPv4-mapped IPv6, IPv6 addresses and prefixes, localhost,
# DNS names, unix socket globs, exec globs with argument globs; the first
# tool in file order wins. Exit 0 for an answer (governed or not), 1 for a
# broken config (FILE:LINE: on stderr), 2 for a usage error.
. "$(dirname "$0")/lib.sh"

cd "$T"
cat >m.ini <<'INI'
[enact]
state = m.state
[tool.internal]
connect = 10.0.0.0/8:8000-8099
rate.max_calls_per_minute = 60
[tool.v6]
connect = [::1]:443
connect = [2001:db8::/32]:*
[tool.cache]
connect = localhost:6379
[tool.names]
connect = *.example.com:443
[tool.sockets]
connect = unix:/run/*.sock
connect = unix:@enact-test
[tool.kdelete]
exec = kubectl delete *
dry_run = true
[tool.force-push]
exec = git push --force*
[tool.rm]
exec = rm
[tool.shadowed]
; every rule here is matched by an earlier tool first, except the last
exec = rm
connect = 10.1.2.3:8080
connect = [::1]:443
exec = kubectl *
INI

# which ARGS...: `enact match -c m.ini ARGS`; prints the governing tool's
# name, or "none" when no tool matches, then the exit status.
which_tool() {
    set +e
    out=$("$ENACT" match -c m.ini "$@" 2>"$T/match.err")
    rc=$?
    set -e
    local tool
    tool=$(sed -n 's/^  tool \([^ ]*\) (line [0-9]*):.*/\1/p' <<<"$out")
    if [ -z "$tool" ] && grep -q 'no tool matches' <<<"$out"; then
        tool=none
    fi
    echo "${tool:-?} $rc"
}

# expect WANT ARGS...
expect() {
    local want=$1
    shift
    check_eq "enact match $*" "$want 0" "$(which_tool "$@")"
}

expect internal connect 10.1.2.3:8080
expect internal connect 10.0.0.0:8000
expect internal connect 10.255.255.255:8099
expect none connect 10.1.2.3:9000
expect none connect 10.1.2.3:7999
expect none connect 11.0.0.1:8080
expect none connect 9.255.255.255:8080
expect internal connect '[::ffff:10.1.2.3]:8080'

expect v6 connect '[::1]:443'
expect none connect '[::1]:80'
expect v6 connect '[2001:db8::1]:22'
expect v6 connect '[2001:db8:ffff:ffff::1]:65535'
expect none connect '[2001:db9::1]:22'

expect cache connect 127.0.0.1:6379
expect cache connect '[::1]:6379'
expect none connect 127.0.0.2:6379

expect names connect api.example.com:443
expect names connect API.Example.COM:443
expect none connect api.example.com:80
expect none connect example.org:443

expect sockets connect unix:/run/app.sock
expect none connect unix:/var/run/app.sock
expect none connect unix:/run/app.socket
expect sockets connect unix:@enact-test
expect none connect unix:@other

expect kdelete exec kubectl delete pod x
expect kdelete exec kubectl delete deployment/web --now
expect shadowed exec kubectl get pods
expect force-push exec git push --force origin main
expect force-push exec git push --force-with-lease
expect none exec git push origin main
expect rm exec rm -rf /
expect rm exec /bin/rm x
expect none exec rmdir x

# The answer names the policy.
out=$("$ENACT" match -c m.ini connect 10.1.2.3:8080)
grep -q '^10\.1\.2\.3:8080: governed by' <<<"$out" || fail "no 'governed by' line: $out"
grep -q '60 calls/min' <<<"$out" || fail "the rate of tool internal is not shown: $out"
out=$("$ENACT" match -c m.ini exec kubectl delete pod x)
grep -qi 'dry-run' <<<"$out" || fail "the dry run of tool kdelete is not shown: $out"

# Every key the tool sets, as the key table reads it back, in file order.
cat >keys.ini <<'INI'
[tool.api]
connect = 127.0.0.1:8080
rate.max_calls_per_minute = 0.5
action = request
errno = ECONNREFUSED
retry.jitter = false
dry_run.response = +OK\r\n
io_timeout_seconds = 2.5
INI
out=$("$ENACT" match -c keys.ini connect 127.0.0.1:8080)
want='    written  rate.max_calls_per_minute = 0.5 (line 3)
    written  action = request (line 4)
    written  errno = ECONNREFUSED (line 5)
    written  retry.jitter = false (line 6)
    written  dry_run.response = +OK\r\n (line 7)
    written  io_timeout_seconds = 2.5 (line 8)'
check_eq "the keys of tool api" "$want" "$(grep '^    written ' <<<"$out")"

# Usage errors: exit 2.
check_eq "no port" "? 2" "$(which_tool connect 10.1.2.3)"
check_eq "not an address" "? 2" "$(which_tool connect 'not an address')"
check_eq "port 70000" "? 2" "$(which_tool connect 10.1.2.3:70000)"
check_eq "unknown kind" "? 2" "$(which_tool listen 10.1.2.3:80)"
check_eq "exec without a command" "? 2" "$(which_tool exec)"

# The config: ENACT_CONFIG, else ./enact.ini; a broken one exits 1 and
# says where.
cp m.ini enact.ini
set +e
out=$("$ENACT" match exec rm x)
rc=$?
set -e
check_eq "./enact.ini: status" 0 "$rc"
grep -q '^  tool rm ' <<<"$out" || fail "./enact.ini was not used: $out"
mkdir sub
printf '[tool.only]\nexec = rm\n' >sub/other.ini
out=$(cd sub && ENACT_CONFIG="$T/sub/other.ini" "$ENACT" match exec rm x)
grep -q '^  tool only ' <<<"$out" || fail "ENACT_CONFIG was not used: $out"
printf '[tool.api]\nconnect = 10.0.0.0/33\n' >broken.ini
set +e
"$ENACT" match -c broken.ini connect 10.1.2.3:80 >out.txt 2>err.txt
rc=$?
set -e
check_eq "broken config: status" 1 "$rc"
grep -q "^broken\.ini:2: bad prefix length" err.txt || { cat err.txt >&2; fail "broken config: no broken.ini:2: line"; }
set +e
"$ENACT" match -c missing.ini exec rm >/dev/null 2>err.txt
rc=$?
set -e
check_eq "missing config: status" 1 "$rc"
grep -q 'missing\.ini' err.txt || fail "missing config: not named"
