#!/usr/bin/env bash
# The shim finds libc's functions in one pass over the objects loaded after
# it (preload/libc_next.c), not with a dlsym(RTLD_NEXT) each: the answers
# must be dlsym's, name for name. A checker library built from the same
# sources compares both at load, in every order a preload can sit in:
# alone, before and after another interposer of connect and send, behind
# the ASan runtime, in python3, and loaded by dlopen (nothing after it:
# every name goes to dlsym). Then the shim itself, built so, governs a
# connect and an exec as before.
. "$(dirname "$0")/lib.sh"

cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -shared -o "$T/check.so" \
    "$ROOT/tests/integration/symbols/next_check.c" "$ROOT/shim/preload/libc_next.c" \
    "$ROOT/shim/pure/elf_symbols.c" -ldl || fail "cannot build the checker"
cc -O2 -fPIC -shared -o "$T/other.so" "$ROOT/tests/integration/symbols/other.c" ||
    fail "cannot build the other interposer"

check() { # WHAT EXPECT-DIRECT COMMAND...: the checker's line, 0 mismatches
    local what=$1 direct=$2
    shift 2
    local out
    out=$("$@" 2>&1 >/dev/null) || fail "$what: exit status $?: $out"
    grep -q "^next_check: 42 names, $direct found in one pass, 0 mismatches" <<<"$out" ||
        fail "$what: $out"
}
# 38 functions of the shim's and __connect found directly; memcpy and
# strlen are IFUNCs (dlsym's), one name nobody defines.
check "alone" 39 env LD_PRELOAD="$T/check.so" /bin/true
check "before another interposer" 39 env LD_PRELOAD="$T/check.so:$T/other.so" /bin/true
check "after another interposer" 39 env LD_PRELOAD="$T/other.so:$T/check.so" /bin/true
check "in python3" 39 env LD_PRELOAD="$T/check.so" "$PY" -c pass
check "by dlopen" 0 "$PY" -c "import ctypes; ctypes.CDLL('$T/check.so')"
asan=$(cc -print-file-name=libasan.so)
if [ -f "$asan" ]; then
    check "behind the ASan runtime" 39 env LD_PRELOAD="$asan:$T/check.so" ASAN_OPTIONS=detect_leaks=0 /bin/true
fi

# The shim before another interposer of connect: a connect it admits goes
# to that interposer (which fails it with ENOTSUP), as
# dlsym(RTLD_NEXT) would have sent it.
cat >"$T/enact.ini" <<INI
[enact]
state = $T/state
audit_log = $T/audit.jsonl
[tool.web]
connect = 127.0.0.1:9
INI
out=$(ENACT_CONFIG="$T/enact.ini" LD_PRELOAD="$SHIM_PRELOAD:$T/other.so" "$PY" -c '
import socket
s = socket.socket()
try:
    s.connect(("127.0.0.1", 9)); print("connected")
except OSError as e:
    print("failed", e.errno)' 2>&1)
check_eq "a connect through the shim reaches the next interposer" "failed $("$PY" -c 'import errno; print(errno.ENOTSUP)')" "$out"
