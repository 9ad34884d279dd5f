#!/usr/bin/env bash
# Programs the preload cannot follow: a statically
# linked binary built here with gcc -static is recognised before it starts.
# static_binaries = deny refuses it (the shell's exec fails with EPERM,
# status 126; record deny, reason static_binary); audit (the default) lets
# it run and records it (verdict allow, reason static_binary); allow lets
# it run unrecorded. A dynamic program (/bin/true) is never recorded.
# enact doctor says static for it and dynamic for /bin/true, and names the
# calls Enact interposes that curl imports.
. "$(dirname "$0")/lib.sh"

command -v gcc >/dev/null || fail "gcc is required"
printf 'int main(void) { return 7; }\n' >"$T/s.c"
gcc -static -o "$T/static-prog" "$T/s.c" 2>"$T/gcc.err" || { cat "$T/gcc.err" >&2; fail "gcc -static failed (libc6-dev provides libc.a)"; }

run_with() { # POLICY
    rm -f "$T/audit.jsonl"
    cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
static_binaries = $1
[tool.unrelated]
exec = nothing-maps-this
INI
    set +e
    OUT=$("$ENACT" run -c "$T/enact.ini" -- sh -c '"$1"; echo "static $?"; /bin/true; echo "dynamic $?"' sh "$T/static-prog" 2>"$T/err")
    set -e
}

run_with deny
check_eq "deny: outcomes" "static 126
dynamic 0" "$OUT"
grep -q "Operation not permitted" "$T/err" || fail "deny: the shell did not report EPERM: $(cat "$T/err")"
check_eq "deny: one record" True "$(audit_eval "$T/audit.jsonl" \
    '(len(recs) == 1 and recs[0]["verdict"] == "deny" and recs[0]["reason"] == "static_binary"
      and recs[0]["errno"] == "EPERM" and recs[0]["op"] == "exec"
      and recs[0]["target"].endswith("/static-prog") and "tool" not in recs[0])')"

run_with audit
check_eq "audit: it runs" "static 7
dynamic 0" "$OUT"
check_eq "audit: one record" True "$(audit_eval "$T/audit.jsonl" \
    '(len(recs) == 1 and recs[0]["verdict"] == "allow" and recs[0]["reason"] == "static_binary"
      and "errno" not in recs[0])')"

run_with allow
check_eq "allow: it runs" "static 7
dynamic 0" "$OUT"
[ ! -s "$T/audit.jsonl" ] || fail "allow: records written: $(cat "$T/audit.jsonl")"

out=$("$ENACT" doctor "$T/static-prog")
grep -q "static ELF" <<<"$out" || fail "doctor on the static program: $out"
out=$("$ENACT" doctor /bin/true)
grep -q "dynamic ELF, interpreter /" <<<"$out" || fail "doctor on /bin/true: $out"
out=$("$ENACT" doctor curl)
grep -q "network: connect" <<<"$out" || fail "doctor on curl names no network call: $out"
grep -q "governed: yes" <<<"$out" || fail "doctor on curl: $out"
set +e
"$ENACT" doctor "$T/no-such-program" 2>"$T/err"
rc=$?
set -e
check_eq "doctor on a missing program: exit status" 1 "$rc"
grep -q "not found" "$T/err" || fail "doctor on a missing program: $(cat "$T/err")"

# A mapped static program started by system() with a command that needs no
# shell: system() decides the command and admits the shell's exec of it,
# but the kind of program is still checked there, so deny refuses it
# (the shell's status 126) and audit lets it run with its record.
cat >"$T/sys.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
int main(int argc, char **argv)
{
    (void)argc;
    int st = system(argv[1]);
    printf("%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
C
cc -o "$T/sys" "$T/sys.c"
for policy in deny audit; do
    rm -f "$T/audit.jsonl" "$T/t.state"
    cat >"$T/enact.ini" <<INI
[enact]
state = t.state
audit_log = audit.jsonl
static_binaries = $policy
[tool.st]
exec = static-prog
rate.max_calls_per_minute = 60
INI
    out=$("$ENACT" run -c "$T/enact.ini" -- "$T/sys" "$T/static-prog" 2>/dev/null)
    want=126
    [ "$policy" = audit ] && want=7
    check_eq "system() of a mapped static program under $policy" "$want" "$out"
    check_eq "system() under $policy: its static_binary record" 1 "$(audit_eval "$T/audit.jsonl" \
        'sum(1 for r in recs if r.get("reason") == "static_binary" and r["target"].endswith("/static-prog"))')"
done
