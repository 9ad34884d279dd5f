#!/bin/sh
# Fetch the peers of the micro-benchmarks from Debian without
# installing anything system-wide: `apt-get download` into a cache folder,
# `dpkg-deb -x` into PEERS (default build/bench/peers). Never touches
# /etc/ld.so.preload, /etc or the package database.
#
# Prints one KEY=VALUE line per usable item on stdout (messages go to stderr):
#   TRICKLE_BIN=...        the extracted trickle launcher
#   TRICKLE_LIB=...        its trickle-overload.so (passed with trickle -P)
#   PROXYCHAINS_LIB=...    libproxychains.so.4 (LD_PRELOAD)
#   PROXYCHAINS_CONF=...   a conf with loopback excluded (PROXYCHAINS_CONF_FILE)
#   SNOOPY_LIB=...         libsnoopy.so, patched to read ./snoopy.ini (LD_PRELOAD)
#   SNOOPY_DIR=...         the working directory holding that snoopy.ini
#                          (output = devnull) that the process must run in
# A peer that cannot be had is left out, with a message; the bench goes on.
#
# Usage: bench/peers.sh [PEERS_DIR]
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
PEERS=${1:-$root/build/bench/peers}
CACHE=$PEERS/debs
ROOTFS=$PEERS/root
mkdir -p "$CACHE" "$ROOTFS" || exit 1
PEERS=$(cd "$PEERS" && pwd)
CACHE=$PEERS/debs
ROOTFS=$PEERS/root

say() { echo "peers: $*" >&2; }

# fetch PKG...: download the .debs not in the cache yet, extract all of them.
fetch() {
    for pkg in "$@"; do
        if ! ls "$CACHE/${pkg}"_*.deb >/dev/null 2>&1; then
            # apt-get download writes into the current directory. As root,
            # apt warns that the _apt user cannot write there: harmless.
            if ! (cd "$CACHE" && apt-get download "$pkg") >"$CACHE/$pkg.log" 2>&1; then
                say "cannot download Debian package '$pkg' (no network or no apt lists?" \
                    "try 'apt-get update'); see $CACHE/$pkg.log"
                return 1
            fi
        fi
        deb=$(ls "$CACHE/${pkg}"_*.deb | head -n 1)
        if ! dpkg-deb -x "$deb" "$ROOTFS"; then
            say "cannot extract $deb"
            return 1
        fi
    done
    return 0
}

# findf NAME: the first file called NAME in the extracted tree.
findf() { find "$ROOTFS" -name "$1" \( -type f -o -type l \) 2>/dev/null | head -n 1; }

# libs_ok FILE: every shared library FILE needs is on this system.
libs_ok() {
    if ldd "$1" 2>/dev/null | grep -q 'not found'; then
        say "$1 needs libraries this system lacks:"
        ldd "$1" | grep 'not found' >&2
        return 1
    fi
    return 0
}

# ---- trickle -------------------------------------------------------------
# `trickle -s` (standalone, no trickled) puts TRICKLE_* limits into the
# environment and execs the command with LD_PRELOAD of trickle-overload.so;
# -P names the .so (the compiled-in path is /usr/lib/.../trickle/).
if fetch trickle; then
    tbin=$(findf trickle)
    tlib=$(findf trickle-overload.so)
    if [ -n "$tbin" ] && [ -n "$tlib" ] && libs_ok "$tbin" && libs_ok "$tlib"; then
        if out=$("$tbin" -s -P "$tlib" -u 10000000 -d 10000000 sh -c 'echo "$LD_PRELOAD"' 2>&1) \
            && [ "$out" = "$tlib" ]; then
            echo "TRICKLE_BIN=$tbin"
            echo "TRICKLE_LIB=$tlib"
        else
            say "trickle does not run: $out"
        fi
    else
        say "trickle: launcher or trickle-overload.so missing or unusable"
    fi
fi

# ---- proxychains4 --------------------------------------------------------
# Preloaded by hand with PROXYCHAINS_CONF_FILE; loopback is a localnet, so
# connects to 127.0.0.0/8 go direct; everything else would go through a
# dummy SOCKS5 proxy on TEST-NET-1 (never reached by the bench).
if fetch libproxychains4 proxychains4; then
    plib=$(findf libproxychains.so.4)
    if [ -n "$plib" ] && libs_ok "$plib"; then
        pconf=$PEERS/proxychains.conf
        cat >"$pconf" <<'EOF'
# Enact bench: loopback excluded from proxying; the proxy is a dummy.
strict_chain
quiet_mode
tcp_read_time_out 15000
tcp_connect_time_out 8000
localnet 127.0.0.0/255.0.0.0
[ProxyList]
socks5 192.0.2.1 1080
EOF
        echo "PROXYCHAINS_LIB=$plib"
        echo "PROXYCHAINS_CONF=$pconf"
    else
        say "proxychains4: libproxychains.so.4 missing or unusable"
    fi
fi

# ---- snoopy --------------------------------------------------------------
# Debian's libsnoopy reads /etc/snoopy.ini only (SNOOPY_INI is ignored by the
# preload entry point) and logs to syslog (/dev/log) by default. So that the
# bench neither depends on nor writes to the system's files, a copy of the
# library has that path rewritten to the relative "snoopy.ini" (same string,
# shorter, NUL-padded), and the benchmark runs in SNOOPY_DIR, whose
# snoopy.ini sends the output to devnull (the message is still built; only
# the write is skipped, so this is snoopy's cheapest configuration).
if fetch snoopy; then
    slib=$(findf libsnoopy.so.0.0.0)
    [ -n "$slib" ] || slib=$(findf 'libsnoopy.so*')
    if [ -n "$slib" ] && libs_ok "$slib"; then
        sdir=$PEERS/snoopy
        mkdir -p "$sdir/verify"
        patched=$sdir/libsnoopy-bench.so
        if python3 - "$slib" "$patched" <<'EOF'
import sys
src, dst = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
old = b'/etc/snoopy.ini\0'
new = b'snoopy.ini'
n = data.count(old)
if n != 1:
    sys.exit('snoopy: expected one "/etc/snoopy.ini" in %s, found %d' % (src, n))
data = data.replace(old, new + b'\0' * (len(old) - len(new)))
open(dst, 'wb').write(data)
EOF
        then
            printf '[snoopy]\noutput = devnull\n' >"$sdir/snoopy.ini"
            # Check that the config is read: the same library with a config
            # that logs to a file must log the exec of /bin/true there.
            printf '[snoopy]\noutput = file:%s\n' "$sdir/verify/snoopy.log" \
                >"$sdir/verify/snoopy.ini"
            rm -f "$sdir/verify/snoopy.log"
            (cd "$sdir/verify" && LD_PRELOAD=$patched /bin/sh -c '/bin/true') 2>/dev/null
            if grep -q 'true' "$sdir/verify/snoopy.log" 2>/dev/null; then
                echo "SNOOPY_LIB=$patched"
                echo "SNOOPY_DIR=$sdir"
            else
                say "snoopy: the patched library does not read ./snoopy.ini; left out" \
                    "(it would log to syslog)"
            fi
        else
            say "snoopy: cannot patch the library's config path; left out"
        fi
    else
        say "snoopy: libsnoopy.so missing or unusable"
    fi
fi
exit 0
