#!/bin/sh
# The floors of shim/ (README "How a call flows"), checked from the code:
#   pure    algorithms: may include only pure/ and system headers, and call
#           no function outside the allow-list below (no system call, no
#           clock read, no environment, no stdio)
#   store   I/O behind small interfaces: may include pure/ and store/
#   policy  the binding (config, matcher, gate): pure/, store/, policy/
#   preload, cli   the two programs: any floor, never each other
# and no two files of shim/ call each other round a loop (check-cycles.py).
# Usage: scripts/check-floors.sh [BUILD]   (BUILD holds obj/shim/pure/*.o)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bad=0
complain() { echo "floors: $*" >&2; bad=1; }

# May a file of floor $1 include a header of floor $2?
may_include() {
    case "$1:$2" in
    pure:pure | store:pure | store:store) return 0 ;;
    policy:pure | policy:store | policy:policy) return 0 ;;
    preload:cli | cli:preload) return 1 ;;
    preload:* | cli:*) return 0 ;;
    *) return 1 ;;
    esac
}

for f in shim/*/*.c shim/*/*.h; do
    floor=$(basename "$(dirname "$f")")
    grep -n '^#include "' "$f" | while IFS= read -r line; do
        inc=${line#*\"}
        inc=${inc%\"*}
        case "$inc" in
        ../*/*) to=${inc#../}; to=${to%%/*} ;;
        */*) echo "$f:${line%%:*}: include '$inc' names no floor (../FLOOR/file.h)"; continue ;;
        *) to=$floor ;;
        esac
        [ -d "shim/$to" ] || { echo "$f:${line%%:*}: '$inc': no folder shim/$to"; continue; }
        may_include "$floor" "$to" ||
            echo "$f:${line%%:*}: the $floor floor may not include $inc ($to floor)"
    done
done >"$build/floors.out" 2>&1 || true
if [ -s "$build/floors.out" ]; then
    sed 's/^/floors: /' "$build/floors.out" >&2
    bad=1
fi

# What the pure objects may call: memory and strings, character classes,
# number and address conversion, their own allocations, sorting (qsort),
# and each other.
allowed='^(memchr|memcmp|memcpy|memmove|memset|strchr|strcmp|strcspn|strdup|strlen|strncmp|strndup|strrchr|strspn|strstr|strtod|strtol|strtoul|strtoull|snprintf|vsnprintf|malloc|calloc|realloc|free|inet_ntop|inet_pton|__ctype_b_loc|__ctype_tolower_loc|__ctype_toupper_loc|__errno_location|__stack_chk_fail|__assert_fail|qsort)$'
objs=$(ls "$build"/obj/shim/pure/*.o 2>/dev/null || true)
[ -n "$objs" ] || complain "no objects in $build/obj/shim/pure (build first)"
own=$(nm --defined-only $objs | awk 'NF == 3 {print $3}' | sort -u)
for o in $objs; do
    for sym in $(nm -u "$o" | awk '{print $2}'); do
        printf '%s\n' "$own" | grep -qx "$sym" && continue
        printf '%s\n' "$sym" | grep -Eq "$allowed" && continue
        complain "${o#"$build"/obj/} calls $sym: the pure floor makes no system call, reads no clock or environment (move the call to shim/store)"
    done
done
[ $bad -eq 0 ] && echo "floors: pure, store, policy, preload and cli keep to their floors"
scripts/check-cycles.py "$build" || bad=1
exit $bad
