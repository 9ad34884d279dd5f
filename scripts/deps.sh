#!/bin/sh
# Installs the Debian packages that building and testing need, when missing.
set -eu
need="build-essential binutils pkg-config libinih-dev libcmocka-dev libelf-dev curl python3 nodejs redis-server openssl man-db groff-base clang libclang-rt-14-dev chromium"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# nodejs may come from elsewhere than Debian; a working node is enough.
case " $missing " in *" nodejs "*) command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs//') ;; esac
case " $missing " in *" python3 "*) command -v python3 >/dev/null && missing=$(echo "$missing" | sed 's/ python3//') ;; esac
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
