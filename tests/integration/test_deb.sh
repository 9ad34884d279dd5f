#!/usr/bin/env bash
# timeout: 180
# make deb, then the package as a user gets it: dpkg -i, and only installed
# paths from there on. /usr/bin/enact run finds the shim in
# /usr/lib/<multiarch>/enact and governs curl (the third call refused,
# rate_limited, in the audit log); man enact renders from /usr/share/man;
# the bash completion in /usr/share/bash-completion/completions completes
# commands, options and the config's tool and agent names, and
# bash-completion's loader finds it there; dpkg -r leaves nothing behind.
# Installing needs root (CI runs as root) or sudo -n; the package is
# removed when the test ends, however it ends. It takes about 25 s (make deb
# 15 s of it), more when make deb has the packaging tools to install first.
#
# lintian on the package, for the record: no error and no warning; with
# --pedantic -I, "I: enact: hardening-no-bindnow [usr/bin/enact]" and the
# shim's own, overridden (debian/enact.lintian-overrides says why).
. "$(dirname "$0")/lib.sh"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null ||
        fail "test_deb installs a package (dpkg -i): run it as root, or where sudo -n works"
    SUDO=(sudo -n)
fi
installed() {
    [ "$(dpkg-query -W -f='${Status}' enact 2>/dev/null)" = "install ok installed" ]
}
remove_enact() {
    if installed; then "${SUDO[@]}" dpkg -r enact >>"$T/dpkg-r.log" 2>&1; fi
}
# A package left by an earlier run goes first; this one goes at the end.
remove_enact
installed && fail "an enact package is installed and dpkg -r did not remove it: $(cat "$T/dpkg-r.log")"
at_exit remove_enact

make -C "$ROOT" --no-print-directory deb >"$T/make.log" 2>&1 ||
    fail "make deb failed: $(tail -n 30 "$T/make.log")"
deb=$(tail -n 1 "$T/make.log")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
case $deb in
"$ROOT"/build/deb/enact_*_"$(dpkg-architecture -qDEB_HOST_ARCH)".deb) ;;
*) fail "make deb's last line is not build/deb/enact_VERSION_ARCH.deb: $(tail -n 5 "$T/make.log")" ;;
esac
[ -f "$deb" ] || fail "make deb printed $deb, which does not exist"

"${SUDO[@]}" dpkg -i "$deb" >"$T/dpkg-i.log" 2>&1 || fail "dpkg -i $deb failed: $(cat "$T/dpkg-i.log")"
installed || fail "dpkg -i did not leave enact installed"
dpkg -L enact >"$T/files"
shim=/usr/lib/$multiarch/enact/libenact_shim.so
for f in /usr/bin/enact "$shim" /usr/share/man/man1/enact.1.gz /usr/share/man/man5/enact.ini.5.gz \
    /usr/share/bash-completion/completions/enact /usr/share/doc/enact/README.md.gz \
    /usr/share/doc/enact/copyright /usr/share/doc/enact/examples/enact.ini \
    /usr/share/doc/enact/examples/tools/llm-apis.ini /usr/share/doc/enact/examples/quickstart/agent.py \
    /usr/share/doc/enact/examples/shell-agent/enact.ini; do
    grep -qx "$f" "$T/files" || problem "the package does not install $f"
    [ -f "$f" ] || problem "$f is not there after dpkg -i"
done
fail_on_problems

# Governed by the installed enact and shim: a burst of 2, the third call
# refused. The program run reports which shim it has loaded.
start_http
cat >"$T/enact.ini" <<INI
[enact]
agent = packaged
state = $T/state
audit_log = $T/audit.jsonl
[tool.web]
connect = 127.0.0.1:$HTTP_PORT
rate.max_calls_per_minute = 0.001
rate.burst_size = 2
[tool.spare]
exec = no-such-program
[agent.other]
quota.max_actions = 5
INI
/usr/bin/enact check "$T/enact.ini" >"$T/check.out" 2>&1 || fail "enact check: $(cat "$T/check.out")"
loaded=$(/usr/bin/enact run -c "$T/enact.ini" -- grep -o '/[^ ]*libenact_shim\.so' /proc/self/maps | sort -u) || true
check_eq "the shim enact run loads" "$shim" "$loaded"
count_curls 3 /usr/bin/enact run -c "$T/enact.ini" -- curl "$HTTP_URL"
check_eq "calls let through" 2 "$CURL_OK"
check_eq "calls refused" 1 "$CURL_DENIED"
audit_check "$T/audit.jsonl" 1 agent=packaged tool=web op=connect verdict=deny reason=rate_limited \
    target="127.0.0.1:$HTTP_PORT" || fail "the refused call is not in the audit log as expected"

# The man pages, found by man itself under /usr/share/man.
out=$(env -u MANPATH MANPAGER=cat MANWIDTH=100 man enact 2>&1) || fail "man enact: $out"
grep -q "enact run" <<<"$out" && grep -q "/usr/share/bash-completion/completions/enact" <<<"$out" ||
    fail "man enact does not render enact(1): $(head -n 20 <<<"$out")"
out=$(env -u MANPATH MANPAGER=cat MANWIDTH=100 man 5 enact.ini 2>&1) || fail "man 5 enact.ini: $out"
grep -q "rate.burst_size" <<<"$out" || fail "man 5 enact.ini does not render: $(head -n 20 <<<"$out")"

# Bash completion, sourced from where the package put it; the enact it
# asks is /usr/bin/enact. complete(1) names the function.
comp=/usr/share/bash-completion/completions/enact
fn=$(PATH=/usr/bin:/bin bash -c 'source "$1" && complete -p enact' _ "$comp" |
    sed -n 's/^complete -F \([^ ]*\) enact$/\1/p')
[ -n "$fn" ] || fail "$comp does not register a completion function for enact"
# complete_words WORD...: what the completion offers for the last WORD, one
# a line, in the order given, with $T as the cwd.
complete_words() {
    (cd "$T" && PATH=/usr/bin:/bin bash -c 'source "$1"; fn=$2; shift 2
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); "$fn" enact "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$fn" "$@")
}
check_eq "enact st<TAB>" "status" "$(complete_words enact st)"
all=$(complete_words enact "" | sort | tr '\n' ' ')
for cmd in run learn check match status metrics reset doctor keys log dry-run report watch ps kill resume \
    pending approve deny --help; do
    [[ " $all" == *" $cmd "* ]] || problem "enact <TAB> does not offer $cmd: $all"
done
check_eq "enact log --b<TAB>" "--blocked" "$(complete_words enact log --b)"
check_eq "enact reset -c FILE --tool <TAB>" "spare web" \
    "$(complete_words enact reset -c "$T/enact.ini" --tool "" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "enact reset -c FILE --tool w<TAB>" "web" \
    "$(complete_words enact reset -c "$T/enact.ini" --tool w)"
check_eq "ENACT_CONFIG=FILE enact kill --agent <TAB>" "other packaged" \
    "$(ENACT_CONFIG=$T/enact.ini complete_words enact kill --agent "" | sort | tr '\n' ' ' | sed 's/ $//')"
cp "$T/enact.ini" "$T/sub.ini"
check_eq "enact run -c su<TAB> (files)" "sub.ini" "$(complete_words enact run -c su)"
# bash-completion's loader finds it by the command's name.
if [ -f /usr/share/bash-completion/bash_completion ]; then
    got=$(PATH=/usr/bin:/bin bash -c '. /usr/share/bash-completion/bash_completion
        _completion_loader enact; complete -p enact' 2>&1)
    check_eq "bash-completion's loader" "complete -F $fn enact" "$got"
fi
fail_on_problems

# dpkg -r: every path the package listed is gone, but the directories other
# packages share (dpkg -S still names an owner).
"${SUDO[@]}" dpkg -r enact >"$T/dpkg-r.log" 2>&1 || fail "dpkg -r enact failed: $(cat "$T/dpkg-r.log")"
dpkg -s enact >"$T/dpkg-s.out" 2>&1 && ! grep -q '^Status: deinstall ok not-installed' "$T/dpkg-s.out" &&
    fail "dpkg -s enact after dpkg -r: $(cat "$T/dpkg-s.out")"
installed && fail "enact is still installed after dpkg -r"
left=0
while IFS= read -r p; do
    [ "$p" != /. ] || continue # dpkg -L's name for /
    [ -e "$p" ] || [ -L "$p" ] || continue
    if [ -d "$p" ] && [ ! -L "$p" ] && dpkg -S "$p" >/dev/null 2>&1; then
        continue
    fi
    problem "dpkg -r left $p"
    left=$((left + 1))
done <"$T/files"
[ -e "/usr/lib/$multiarch/enact" ] && problem "dpkg -r left /usr/lib/$multiarch/enact"
[ -e /usr/share/doc/enact ] && problem "dpkg -r left /usr/share/doc/enact"
fail_on_problems
note "installed and removed $(basename "$deb"): $(wc -l <"$T/files") paths, none left"
