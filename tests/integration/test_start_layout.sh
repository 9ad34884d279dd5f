#!/usr/bin/env bash
# The shim's start-up functions (shim/preload/start.list) are together in
# its text, as scripts/start-sections.sh puts them: a process that makes
# no governed call then maps a few pages of the text, not all of it
# (bench/NOTES.md, B6). The names listed are functions of the shim (a
# stale list would spread the start again), and no other function lies
# between the first and the last of them. Nor does a start reach pages
# beyond them for the loader's exit call (DT_FINI is enact_fini, listed,
# not .fini at the text's end), for pthread_atfork (a stub apart from
# them: the shim calls __register_atfork), or to relocate the key table
# (read-only data, no relocation).
. "$(dirname "$0")/lib.sh"

command -v nm >/dev/null || fail "nm (binutils) is required"
list=$ROOT/shim/preload/start.list
names=$(sed 's/#.*//' "$list" | tr -s ' \t' '\n\n' | grep -v '^$')
syms=$T/syms
# Not the cold parts (NAME.cold): the compiler puts them apart, first, and
# a start runs none of them; nor a sanitizer's own constructors and
# destructors (_sub_I_*, _sub_D_*), which the linker puts with the start.
nm -n --defined-only "$SHIM" |
    awk '$2 ~ /^[tT]$/ && $3 !~ /\.cold/ && $3 !~ /^_sub_[ID]_/ {print $1, $3}' >"$syms"
[ -s "$syms" ] || fail "no function symbols in $SHIM (stripped?)"

# A build may inline one of them (UBSan's does); a list of which a quarter
# is gone is stale.
missing=""
for name in $names; do
    grep -Eq " $name(\..*)?\$" "$syms" || missing="$missing $name"
done
total=$(echo $names | wc -w)
gone=$(echo $missing | wc -w)
[ $((gone * 4)) -lt "$total" ] || fail "start.list names $gone functions the shim has not got:$missing"
[ -z "$missing" ] || note "inlined in this build:$missing"
# Each function: listed (itself or as a clone, NAME.SUFFIX) or not.
awk -v names="$names" '
    BEGIN { n = split(names, w, /[ \n]+/); for (i = 1; i <= n; i++) listed[w[i]] = 1 }
    { base = $2; sub(/\..*/, "", base); print $1, (base in listed ? "start" : "other"), $2 }
' "$syms" >"$T/kinds"
first=$(grep -n ' start ' "$T/kinds" | head -1 | cut -d: -f1)
last=$(grep -n ' start ' "$T/kinds" | tail -1 | cut -d: -f1)
between=$(sed -n "${first},${last}p" "$T/kinds" | awk '$2 == "other" {print $3}' | tr '\n' ' ')
[ -z "$between" ] || fail "functions among the start-up ones: $between"
span=$(( 0x$(sed -n "${last}p" "$T/kinds" | cut -d' ' -f1) - 0x$(sed -n "${first}p" "$T/kinds" | cut -d' ' -f1) ))
# About 18 kB as make builds it: less than half a fault-around window of
# 16 pages. A sanitizer's build is two to four times larger.
nm -D --undefined-only "$SHIM" >"$T/imports"
if grep -Eq ' __(asan|ubsan)_' "$T/imports"; then
    note "a sanitizer's build: its span ($span bytes) not checked"
else
    [ "$span" -lt 32768 ] || fail "the start-up functions span $span bytes"
fi
note "start-up functions: $(grep -c ' start ' "$T/kinds") in $span bytes"

command -v readelf >/dev/null || fail "readelf (binutils) is required"
fini=$(readelf -dW "$SHIM" | awk '$2 == "(FINI)" {print $3}')
at=$(awk '$3 == "enact_fini" {print $1}' "$T/kinds" | head -1)
[ -n "$fini" ] && [ -n "$at" ] && [ $((fini)) -eq $((0x$at)) ] ||
    fail "DT_FINI is ${fini:-missing}, not enact_fini (${at:-not found})"
grep -q ' start enact_fini$' "$T/kinds" || fail "enact_fini is not among the start-up functions"
! nm --defined-only "$SHIM" | grep -q ' pthread_atfork$' ||
    fail "the shim links pthread_atfork's stub (call __register_atfork: preload/on_fork.h)"
# The section CONFIG_KEYS lies in: allocated and not writable.
keys=$(nm --defined-only "$SHIM" | awk '$3 == "CONFIG_KEYS" {print $1}')
[ -n "$keys" ] || fail "no CONFIG_KEYS in $SHIM"
flags=""
while read -r name type addr _ size _ fl _; do
    [ "$type" != NOBITS ] || continue
    if [ $((0x$keys)) -ge $((0x$addr)) ] && [ $((0x$keys)) -lt $((0x$addr + 0x$size)) ]; then
        flags="$name $fl"
        break
    fi
done < <(readelf -SW "$SHIM" | sed -n 's/^ *\[ *[0-9]*\] *\(\..*\)/\1/p')
case $flags in
*W*) fail "CONFIG_KEYS lies in a writable section ($flags): the loader relocates it at every start" ;;
"") fail "no section holds CONFIG_KEYS" ;;
esac
note "DT_FINI is enact_fini; CONFIG_KEYS in ${flags%% *}"
