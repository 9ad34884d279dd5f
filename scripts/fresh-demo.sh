#!/bin/sh
# scripts/fresh-demo.sh [--remove-build-packages]: the README's first
# command as a newcomer meets it: `make demo` in a clean clone of this
# repository, which must install what it needs and show what the demo
# shows. With --remove-build-packages (CI's first step, as root) the
# Debian packages the build needs are removed first, each only when
# apt-get would remove nothing else with it, so that make demo has to
# install them again; libcmocka-dev too, which make test then installs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
removed=""
if [ "${1:-}" = --remove-build-packages ]; then
    [ "$(id -u)" -eq 0 ] || { echo "fresh-demo: removing packages needs root" >&2; exit 2; }
    for p in libinih-dev libelf-dev libcmocka-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || continue
        others=$(apt-get -s remove "$p" 2>/dev/null | sed -n 's/^Remv \([^ ]*\) .*/\1/p' | grep -vx "$p" || true)
        if [ -n "$others" ]; then
            echo "fresh-demo: $p stays: removing it would remove $(echo "$others" | tr '\n' ' ')"
            continue
        fi
        echo "fresh-demo: removing $p"
        DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$p" >/dev/null
        removed="$removed $p"
    done
elif [ $# -gt 0 ]; then
    echo "usage: scripts/fresh-demo.sh [--remove-build-packages]" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/enact-fresh.XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/enact"
if ! make -C "$work/enact" --no-print-directory demo >"$work/demo.out" 2>&1; then
    cat "$work/demo.out"
    echo "fresh-demo: make demo failed in a clean clone" >&2
    exit 1
fi
for want in "deny *rate_limited" "deny *circuit_open" "HIGH *rm -rf" "flaky-service *OPEN"; do
    grep -q -- "$want" "$work/demo.out" || {
        cat "$work/demo.out"
        echo "fresh-demo: make demo does not show '$want'" >&2
        exit 1
    }
done
for p in $removed; do
    [ "$p" = libcmocka-dev ] && continue # make test's, not make demo's
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
        echo "fresh-demo: make demo did not install $p" >&2
        exit 1
    }
done
echo "fresh-demo: make demo in a clean clone: built, ran the agent, showed what was refused"
