#!/bin/sh
# Copies a shim object with its start-up functions moved to the front of
# the library's text: each function named in LIST (shim/preload/start.list)
# has its section, .text.NAME or a clone's .text.NAME.SUFFIX (objects are
# built with -ffunction-sections), renamed .text.startup.NAME..., which the
# linker's default script puts first in .text. The kernel maps a library's
# pages around each page fault (fault-around, 16 pages here), so start-up
# code spread over the whole text mapped all of it in every governed
# process (bench/NOTES.md, B6). A name missing from the list costs only
# pages, never behaviour.
# Usage: scripts/start-sections.sh LIST IN.o OUT.o
set -eu
list=$1 in=$2 out=$3
names=$(sed 's/#.*//' "$list" | tr -s ' \t' '\n\n' | grep -v '^$' || true)
renames=$(${READELF:-readelf} -SW "$in" | sed -n 's/^ *\[ *[0-9]*\] \(\.text\.[^ ]*\) .*/\1/p' |
    while read -r section; do
        fn=${section#.text.}
        for name in $names; do
            case $fn in
            "$name" | "$name".*) echo "--rename-section $section=.text.startup.$fn" ;;
            esac
        done
    done)
# shellcheck disable=SC2086 # one word per option
${OBJCOPY:-objcopy} $renames "$in" "$out"
