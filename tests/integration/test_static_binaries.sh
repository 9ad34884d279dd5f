#!/usr/bin/env bash
# Programs the preload cannot follow: a statically
# linked binary built here with gcc -static is recognised before it starts.
# static_binaries = deny refuses it (the shell's exec fails with EPERM,
# status 126; record deny, reason static_binary); audit (the default) lets
# it run and records it (verdict allow, reason static_binary); allow lets
# it run unrecorded. A dynamic program (/bin/true) is never recorded.
# enact doctor says static for it and dynamic for /bin/true, and names the
# calls Enact interposes that curl imports; it judges a wrapper script (a
# version manager's shim) by the program the wrapper starts, stopped before
# it runs, a #!/usr/bin/env NAME script by the NAME in PATH, and any other
# script by its interpreter, without running it.
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

# verdict OUT: doctor's verdict, from the line that names the program judged.
verdict() { sed -n '/: dynamic ELF/,$p' <<<"$1"; }
direct=$("$ENACT" doctor "$PY")
[ -n "$(verdict "$direct")" ] || fail "doctor on $PY: $direct"

# A wrapper script, as version managers' shims are (pyenv's: bash, ending
# in exec): doctor runs it as a user would, without arguments, until it
# starts the program it wraps, stops that program before its first
# instruction, and judges it: the verdict on $PY itself.
cat >"$T/wrapper" <<SH
#!/bin/sh
# a version manager's shim
: >"$T/wrapper-ran"
exec "$PY" -c 'open("$T/python-ran", "w")' "\$@"
SH
chmod +x "$T/wrapper"
out=$("$ENACT" doctor "$T/wrapper")
check_eq "doctor through the wrapper" "$(verdict "$direct")" "$(verdict "$out")"
grep -q "^$T/wrapper: a wrapper script .*it started $(realpath "$PY"), stopped before" <<<"$out" ||
    fail "doctor does not say how it followed the wrapper: $out"
[ -e "$T/wrapper-ran" ] || fail "doctor did not run the wrapper"
[ ! -e "$T/python-ran" ] || fail "doctor let the wrapped program run"

# #!/usr/bin/env NAME is judged by the NAME env finds in PATH: here a link
# to the wrapper, followed in turn.
mkdir "$T/bin"
ln -s "$T/wrapper" "$T/bin/fakepy"
printf '#!/usr/bin/env fakepy\nprint("agent")\n' >"$T/agent.py"
chmod +x "$T/agent.py"
out=$(PATH="$T/bin:$PATH" "$ENACT" doctor "$T/agent.py")
check_eq "doctor through env" "$(verdict "$direct")" "$(verdict "$out")"
grep -q "^$T/agent.py: a script for $T/wrapper, judged by it$" <<<"$out" ||
    fail "doctor does not follow env to the wrapper: $out"

# A script that does not end in exec, or ends in an exec of redirections
# only, is judged by its interpreter, never run.
printf '#!/bin/sh\n: >"%s/deploy-ran"\necho deployed\n' "$T" >"$T/deploy.sh"
printf '#!/bin/sh\n: >"%s/redirect-ran"\nexec 2>&1\n' "$T" >"$T/redirect.sh"
for script in deploy redirect; do
    chmod +x "$T/$script.sh"
    out=$("$ENACT" doctor "$T/$script.sh")
    check_eq "doctor on $script.sh" "$T/$script.sh: a script for $(realpath /bin/sh), judged by it" \
        "$(head -1 <<<"$out")"
    [ ! -e "$T/$script-ran" ] || fail "doctor ran $script.sh, which is no wrapper"
done

# python3 in PATH, when it is a version manager's wrapper (pyenv here).
py3=$(command -v python3)
if [ "$(head -c 2 "$py3")" = '#!' ]; then
    check_eq "doctor python3 ($py3)" "$(verdict "$direct")" "$(verdict "$("$ENACT" doctor python3)")"
fi

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
