#!/bin/sh
# scripts/deps.sh [build | demo | bench | deb | test]: installs the Debian
# packages a make target needs, when missing (test, the default: everything
# the tests run, then the node packages of tests/integration/node, npm ci
# from its package-lock.json, and promtool). make, make install: build;
# make demo: build and python3; make bench: that, redis-server, valgrind and
# linux-perf (the instruction and page-fault counts); make deb:
# build and Debian's packaging tools (debhelper, dpkg-dev, fakeroot), lintian
# to check the package, bash-completion (dh_bash-completion, and the loader
# that finds the completion); test has them too, for test_deb.
# The clients the integration tests run: python3-redis, python3-psycopg2,
# python3-requests (for Debian's /usr/bin/python3), postgresql (initdb,
# pg_ctl, postgres, psql), npm (when node comes without it).
set -eu
tier=${1:-test}
build="build-essential binutils pkg-config libinih-dev libelf-dev"
case $tier in
build) need=$build ;;
demo) need="$build python3" ;;
bench) need="$build python3 redis-server valgrind linux-perf" ;;
deb) need="$build debhelper dpkg-dev fakeroot lintian bash-completion" ;;
test) need="$build netcat-openbsd libcmocka-dev valgrind curl python3 nodejs redis-server openssl man-db groff-base clang libclang-rt-14-dev python3-redis python3-psycopg2 python3-requests postgresql npm chromium debhelper dpkg-dev fakeroot lintian bash-completion" ;;
*) echo "deps: no tier '$tier' (build, demo, bench, deb or test)" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null; then
    # Not Debian: what to install is said, not done.
    echo "deps: not a Debian system; install the equivalents of: $need" >&2
    exit 0
fi
missing=""""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# nodejs may come from elsewhere than Debian; a working node is enough.
case " $missing " in *" nodejs "*) command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs//') ;; esac
# Debian's python3 itself: the client libraries above are for /usr/bin/python3.
case " $missing " in *" python3 "*) [ -x /usr/bin/python3 ] && missing=$(echo "$missing" | sed 's/ python3\( \|$\)/\1/') ;; esac
# A node from elsewhere (NodeSource) brings its own npm.
case " $missing " in *" npm "*) command -v npm >/dev/null && missing=$(echo "$missing" | sed 's/ npm\( \|$\)/\1/') ;; esac
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
[ "$tier" = test ] || exit 0
node_dir=$(cd "$(dirname "$0")/../tests/integration/node" && pwd)
if [ ! -f "$node_dir/node_modules/axios/package.json" ]; then
    echo "deps: npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund)
fi
# promtool (tests/integration/test_metrics.sh checks the exposition and the
# alert rules with it), from Debian's prometheus package, unpacked into
# build/tools rather than installed: installing it would start a Prometheus
# server (its postinst). Only usr/bin/promtool of it is used and kept.
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v promtool >/dev/null && [ ! -x "$root/build/tools/usr/bin/promtool" ]; then
    echo "deps: promtool from Debian's prometheus package into $root/build/tools"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # As root, apt-get download warns that _apt cannot write to $tmp and
    # fetches it itself: harmless, hence the first try's 2>/dev/null.
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    (cd "$tmp" && { apt-get download -qq prometheus 2>/dev/null ||
        { $SUDO apt-get update -qq && apt-get download -qq prometheus; }; })
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$root/build/tools/usr/bin"
    cp "$tmp/x/usr/bin/promtool" "$root/build/tools/usr/bin/promtool"
    rm -rf "$tmp"
    trap - EXIT
fi
