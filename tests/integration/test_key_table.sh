#!/usr/bin/env bash
# The key table (`enact keys`, every key by section) against what documents
# it: enact.ini(5) describes exactly the table's keys, each in its own
# section, and config/enact.ini shows every one of them (set or commented
# out) and no other.
. "$(dirname "$0")/lib.sh"

"$ENACT" keys >"$T/keys.txt" || fail "enact keys: exit $?"
[ "$(wc -l <"$T/keys.txt")" -gt 30 ] || fail "enact keys printed almost nothing: $(cat "$T/keys.txt")"
awk '{print $1, $2}' "$T/keys.txt" | sort -u >"$T/table.txt"

# A key of the man page is the "KEY = " of a .TP entry's first line, in the
# section of the .SH before it.
awk '
/^\.SH/ {
    sec = ""
    if ($0 ~ /^\.SH SECTION \[enact\]/) sec = "[enact]"
    else if ($0 ~ /^\.SH SECTION \[tool\.NAME\]/) sec = "[tool.NAME]"
    else if ($0 ~ /^\.SH SECTIONS \[agent\]/) sec = "[agent]"
    else if ($0 ~ /^\.SH SECTION \[impact\]/) sec = "[impact]"
}
prev == ".TP" && sec != "" && match($0, /^\.B[IR]? "[a-z_.]+ = /) {
    k = substr($0, RSTART, RLENGTH)
    sub(/^\.B[IR]? "/, "", k)
    sub(/ = $/, "", k)
    print sec, k
}
{ prev = $0 }' "$ROOT/man/enact.ini.5" | sort -u >"$T/man.txt"
[ -s "$T/man.txt" ] || fail "no key found in man/enact.ini.5 (has its layout changed?)"
diff "$T/man.txt" "$T/table.txt" >"$T/man.diff" ||
    fail "enact.ini(5) and the key table disagree (<: only the man page, >: only the table): $(grep '^[<>]' "$T/man.diff" | tr '\n' ' ')"

# config/enact.ini: "KEY = VALUE" lines, set or commented out.
sed -nE 's/^;? ?([a-z_.]+) = .*/\1/p' "$ROOT/config/enact.ini" | sort -u >"$T/ini.txt"
awk '{print $2}' "$T/keys.txt" | sort -u >"$T/names.txt"
diff "$T/ini.txt" "$T/names.txt" >"$T/ini.diff" ||
    fail "config/enact.ini and the key table disagree (<: only enact.ini, >: only the table): $(grep '^[<>]' "$T/ini.diff" | tr '\n' ' ')"
