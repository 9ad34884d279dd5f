#!/usr/bin/env bash
# The shim exports exactly the libc names it interposes: no
# helper of its own can clash with the agent's symbols. glibc exports some
# of those functions under more than one name (__connect is connect, at the
# same address): every name libc gives a function the shim interposes is
# exported by the shim too, read from libc's own table, so that this fails
# when glibc grows a new alias.
. "$(dirname "$0")/lib.sh"

command -v nm >/dev/null || fail "nm (binutils) is required"
want="_Fork clone close close_range connect dup dup2 dup3 execl execle execlp execv execve execvp execvpe \
execveat fcntl fcntl64 fexecve getaddrinfo gethostbyname gethostbyname2 getsockopt pclose popen posix_spawn posix_spawnp read \
readv recv recvfrom recvmmsg recvmsg send sendmmsg sendmsg sendto syscall system vfork wait wait3 wait4 waitid waitpid write writev \
_IO_popen __clone __close __connect __dup2 __fcntl __libc_fcntl64 __libc_system __read __recv __send __sendmmsg __vfork \
__wait __waitpid __write"
# Written in assembly, x86-64 only (preload/dl.c).
[ "$(uname -m)" = x86_64 ] && want="$want dlmopen dlsym dlvsym"
got=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
check_eq "exported symbols" "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" "$got"
# And no data symbols at all.
data=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[BDGRS]$/ {print $3}')
[ -z "$data" ] || fail "exported data symbols: $data"

# Each alias libc has of an exported name, exported too.
LIBC=$(ldd "$SHIM" | awk '/libc\.so/ {print $3}')
[ -r "$LIBC" ] || fail "cannot find the C library the shim is linked with"
echo "$got" | tr ' ' '\n' >"$T/exports"
missing=$("$PY" - "$LIBC" "$T/exports" <<'PY'
import collections, subprocess, sys
libc, exports = sys.argv[1], set(open(sys.argv[2]).read().split())
out = subprocess.run(["nm", "-D", "--defined-only", libc], capture_output=True,
                     universal_newlines=True, check=True).stdout
names_at = collections.defaultdict(set)
for line in out.splitlines():
    f = line.split()
    if len(f) >= 3 and f[1] in "TWi":
        names_at[f[0]].add(f[2].split("@")[0])
aliased = {n for names in names_at.values() if names & exports for n in names}
print(" ".join(sorted(aliased - exports)))
PY
)
[ -z "$missing" ] || fail "libc names of interposed functions the shim does not export: $missing"
