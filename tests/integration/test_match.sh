#!/usr/bin/env bash
# `enact match` answers as enforcement decides. Every case of the table
# runs twice: through `enact match`, and as a real call under the shim (a
# python connect to each address the target resolves to, or sh exec'ing
# the command), whose audit record (log_allowed) names the tool that
# governed it; both must give the table's answer. Cases: CIDR with port
# ranges, IPv4 rules against IPv4-mapped IPv6 and an IPv6 rule over
# v4-mapped addresses, IPv6 addresses and prefixes, localhost, DNS names
# (resolved by getaddrinfo, every address; an address by the name it was
# last resolved from, in the state), a name whose addresses answer
# differently, unix socket globs, exec globs with argument globs; the first
# tool in file order wins. Exit 0 for an answer (governed or not), 1 for a
# broken config (FILE:LINE: on stderr), 2 for a usage error.
#
# Loopback only: every address is in 127.0.0.0/8 or ::1, every port
# closed (a connect is refused at once). The names come from a hosts file
# of the test's own, bound over /etc/hosts in a mount namespace (unshare;
# as root, else in a user namespace); without one, the cases by name other
# than localhost are skipped with a note.
. "$(dirname "$0")/lib.sh"

IN_NS=
if [ "${1:-}" = --in-mount-namespace ]; then
    IN_NS=1
elif command -v unshare >/dev/null; then
    if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
        exec unshare --mount bash "$0" --in-mount-namespace
    elif unshare --user --map-root-user --mount true 2>/dev/null; then
        exec unshare --user --map-root-user --mount bash "$0" --in-mount-namespace
    fi
fi

cd "$T"
cat >hosts <<'HOSTS'
127.0.0.1 localhost
::1 localhost
127.0.0.3 api.enact.test
127.0.0.2 multi.enact.test
::1 multi.enact.test
127.16.2.3 internal.enact.lan
HOSTS
NAMES=
if [ -n "$IN_NS" ] && mount --bind "$T/hosts" /etc/hosts 2>/dev/null; then
    # Files only: a name missing from them fails at once, never asks DNS.
    if [ -f /etc/nsswitch.conf ]; then
        sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf >nsswitch.conf
        mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf
    fi
    # nscd, if one runs, would answer from the system's hosts.
    [ "$(getent ahostsv4 api.enact.test | awk 'NR == 1 {print $1}')" = 127.0.0.3 ] && NAMES=1
fi
[ -n "$NAMES" ] || note "no private hosts file (no mount namespace): cases by name skipped"

BASE=$(free_port)
[ "$BASE" -le 65400 ] || BASE=$((BASE - 200))
# Rule ports clear of the range and of the ports just outside it.
LO=$BASE HI=$((BASE + 99)) PX=$((BASE + 110)) PV=$((BASE + 111)) PY6=$((BASE + 112))
PC=$((BASE + 113)) PN=$((BASE + 114)) PM=$((BASE + 115))
ABSTRACT=enact-test-$$

cat >m.ini <<INI
[enact]
state = m.state
audit_log = audit.jsonl
log_allowed = true
[tool.internal]
connect = 127.16.0.0/12:$LO-$HI
rate.max_calls_per_minute = 600
[tool.mapped]
connect = [::ffff:127.0.0.0/104]:$PX
[tool.v6]
connect = [::1]:$PV
connect = [::/127]:$PY6
[tool.cache]
connect = localhost:$PC
[tool.names]
connect = *.enact.test:$PN
[tool.multi4]
connect = 127.0.0.2:$PM
[tool.sockets]
connect = unix:$T/run/*.sock
connect = unix:@$ABSTRACT
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
connect = 127.16.2.3:$LO
connect = [::1]:$PV
exec = kubectl *
INI

# The programs of the exec cases that could do harm, or may be missing.
mkdir bin run
for prog in kubectl git; do
    printf '#!/bin/sh\nexit 0\n' >"bin/$prog"
    chmod +x "bin/$prog"
done
export PATH="$T/bin:$PATH"

# probe.py TARGET: connects (closing at once) to every address TARGET
# resolves to, as a program does (getaddrinfo), or to the unix socket;
# prints "attempt ADDR" per address, formatted as the audit log's target,
# or "unresolved".
cat >probe.py <<'PY'
import ipaddress, socket, sys
target = sys.argv[1]
def shown(addr):
    ip = ipaddress.ip_address(addr[0].split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return f"[{ip}]:{addr[1]}" if ip.version == 6 else f"{ip}:{addr[1]}"
if target.startswith("unix:"):
    path = target[5:]
    dests = [(socket.AF_UNIX, "\0" + path[1:] if path.startswith("@") else path, target)]
else:
    host, _, port = target.rpartition(":")
    host = host[1:-1] if host.startswith("[") else host
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror:
        print("unresolved")
        sys.exit(0)
    dests = []
    for fam, _, _, _, addr in infos:
        if shown(addr) not in [d[2] for d in dests]:
            dests.append((fam, addr, shown(addr)))
for fam, addr, text in dests:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
    except OSError:
        pass
    s.close()
    print("attempt", text)
PY

# answers.py MATCH_OUT PROBE_OUT AUDIT SKIP: two lines, the answer of
# `enact match` (its output in MATCH_OUT) and the shim's (the audit records
# after the first SKIP; PROBE_OUT: the addresses the probe connected to,
# empty for an exec). An answer is the governing tool or "none"; for
# addresses that answer differently, "ADDR=TOOL ..." sorted by address.
cat >answers.py <<'PY'
import json, os, re, sys
match_out, probe_out, audit, skip = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def canon(by_addr):
    if len(set(by_addr.values())) == 1:
        return next(iter(by_addr.values()))
    return " ".join(f"{a}={t}" for a, t in sorted(by_addr.items()))
lines = open(match_out).read().splitlines()
said, resolved = {}, None
for i, line in enumerate(lines):
    m = re.match(r"^\S+ resolves to (.*?)(, and the answer differs by address)?$", line)
    if m:
        resolved = m.group(1).split()
        continue
    m = re.match(r"^(\S+)(?: \([^)]*\))?: (governed by|no tool matches)", line)
    if m:
        tool = "none"
        if m.group(2) == "governed by":
            tool = re.match(r"^  tool (\S+) \(line \d+\):", lines[i + 1]).group(1)
        said[m.group(1)] = tool
attempts = [l.split()[1] for l in open(probe_out).read().splitlines() if l.startswith("attempt ")]
recs = []
if os.path.exists(audit):
    recs = [json.loads(l) for l in open(audit).read().splitlines()[skip:]]
if not attempts:  # an exec
    print(next(iter(said.values()), "?") if len(said) == 1 else f"? {said}")
    print(next((r["tool"] for r in recs if r["op"] in ("exec", "spawn")), "none"))
    sys.exit(0)
if resolved is not None and sorted(resolved) != sorted(attempts):
    print(f"? resolved to {resolved}, the program connected to {attempts}")
elif resolved is not None:
    print(canon({a: said.get(a, next(iter(said.values()), "?")) for a in resolved}))
else:
    print(canon({a: said.get(a, "?") for a in attempts}))
shim = {a: "none" for a in attempts}
for r in recs:
    if r["op"] == "connect" and r["target"] in shim and shim[r["target"]] == "none":
        shim[r["target"]] = r["tool"]
print(canon(shim))
PY

# expect WANT KIND ARGS...: `enact match -c m.ini KIND ARGS` answers WANT
# (exit 0), and so does the real call under the shim.
expect() {
    local want=$1 kind=$2 rc skip
    shift 2
    set +e
    "$ENACT" match -c m.ini "$kind" "$@" >match.out 2>match.err
    rc=$?
    set -e
    check_eq "enact match $kind $*: exit status ($(cat match.err))" 0 "$rc"
    skip=0
    [ ! -f audit.jsonl ] || skip=$(wc -l <audit.jsonl)
    : >probe.out
    if [ "$kind" = connect ]; then
        "$ENACT" run -c m.ini -- "$PY" probe.py "$1" >probe.out
        grep -q '^attempt ' probe.out || fail "the probe connected to nothing for $1: $(cat probe.out)"
    else
        "$ENACT" run -c m.ini -- sh -c 'exec "$@"' sh "$@" >/dev/null 2>&1 || true
    fi
    "$PY" answers.py match.out probe.out audit.jsonl "$skip" >answers.out
    check_eq "enact match $kind $*" "$want" "$(sed -n 1p answers.out)"
    check_eq "a real $kind $* under the shim" "$want" "$(sed -n 2p answers.out)"
}

expect internal connect "127.16.2.3:$LO"
expect internal connect "127.16.0.0:$LO"
expect internal connect "127.31.255.255:$HI"
expect none connect "127.16.2.3:$((HI + 1))"
expect none connect "127.16.2.3:$((LO - 1))"
expect none connect "127.32.0.1:$LO"
expect none connect "127.15.255.255:$LO"
expect internal connect "[::ffff:127.16.2.3]:$LO"

# An IPv6 rule over v4-mapped addresses governs IPv4 connects too.
expect mapped connect "127.0.0.9:$PX"
expect mapped connect "[::ffff:127.0.0.9]:$PX"
expect none connect "[::1]:$PX"

expect v6 connect "[::1]:$PV"
expect v6 connect "[::1]:$PY6"
expect none connect "[::ffff:127.0.0.1]:$PY6"
expect none connect "127.0.0.1:$PV"

# localhost in a rule is 127.0.0.1 and ::1; by name, whatever it resolves to.
expect cache connect "127.0.0.1:$PC"
expect cache connect "[::1]:$PC"
expect cache connect "[::ffff:127.0.0.1]:$PC"
expect cache connect "localhost:$PC"
expect cache connect "LOCALHOST:$PC"
expect none connect "127.0.0.2:$PC"

if [ -n "$NAMES" ]; then
    # 127.0.0.3 is api.enact.test's, but nothing has resolved that yet.
    expect none connect "127.0.0.3:$PN"
    expect names connect "api.enact.test:$PN"
    expect names connect "API.Enact.TEST:$PN"
    expect none connect "api.enact.test:$PV"
    # Now the state knows whose address it is.
    expect names connect "127.0.0.3:$PN"
    # A name resolving into a CIDR: the address rule governs it.
    expect internal connect "internal.enact.lan:$LO"
    expect none connect "internal.enact.lan:$PN"
    # ::1 was last resolved from localhost...
    expect none connect "[::1]:$PN"
    # ...and, once multi.enact.test is resolved, from it.
    expect "127.0.0.2:$PM=multi4 [::1]:$PM=none" connect "multi.enact.test:$PM"
    expect names connect "[::1]:$PN"

    # A name that does not resolve: enact match says so and what the
    # name alone decides; the program connects nowhere.
    out=$("$ENACT" match -c m.ini connect "nowhere.enact.test:$PN")
    grep -q "^nowhere\.enact\.test:$PN does not resolve here" <<<"$out" ||
        fail "an unresolvable name is not said so: $out"
    grep -q '^  tool names ' <<<"$out" || fail "the name rule is not applied to it: $out"
    check_eq "the program on an unresolvable name" unresolved \
        "$("$ENACT" run -c m.ini -- "$PY" probe.py "nowhere.enact.test:$PN")"
fi

expect sockets connect "unix:$T/run/app.sock"
expect none connect "unix:$T/var/app.sock"
expect none connect "unix:$T/run/app.socket"
expect sockets connect "unix:@$ABSTRACT"
expect none connect "unix:@enact-other-$$"

expect kdelete exec kubectl delete pod x
expect kdelete exec kubectl delete deployment/web --now
expect shadowed exec kubectl get pods
expect force-push exec git push --force origin main
expect force-push exec git push --force-with-lease
expect none exec git push origin main
expect rm exec rm -rf gone
expect rm exec /bin/rm gone
expect none exec rmdir gone

# The answer names the policy, and the name the address is known by.
out=$("$ENACT" match -c m.ini connect "127.16.2.3:$LO")
head="127.16.2.3:$LO: governed by"
[ -z "$NAMES" ] || head="127.16.2.3:$LO (last resolved from internal.enact.lan): governed by"
check_eq "the answer's first line" "$head" "$(head -1 <<<"$out")"
grep -q '600 calls/min' <<<"$out" || fail "the rate of tool internal is not shown: $out"
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

# which_tool ARGS...: `enact match -c m.ini ARGS`; prints the governing
# tool's name, or "none" when no tool matches, then the exit status.
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

# Usage errors: exit 2.
check_eq "no port" "? 2" "$(which_tool connect 127.16.2.3)"
check_eq "not an address" "? 2" "$(which_tool connect 'not an address')"
check_eq "port 70000" "? 2" "$(which_tool connect 127.16.2.3:70000)"
check_eq "no host" "? 2" "$(which_tool connect :80)"
check_eq "a name in brackets" "? 2" "$(which_tool connect '[localhost]:80')"
check_eq "unknown kind" "? 2" "$(which_tool listen 127.16.2.3:80)"
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
