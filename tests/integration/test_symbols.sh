#!/usr/bin/env bash
# The shim exports exactly the libc names it interposes: no
# helper of its own can clash with the agent's symbols.
. "$(dirname "$0")/lib.sh"

command -v nm >/dev/null || fail "nm (binutils) is required"
want="_Fork clone close close_range connect dup dup2 dup3 execl execle execlp execv execve execvp execvpe \
execveat fcntl fcntl64 fexecve getaddrinfo gethostbyname gethostbyname2 getsockopt pclose popen posix_spawn posix_spawnp read \
readv recv recvfrom recvmmsg recvmsg send sendmmsg sendmsg sendto syscall system vfork wait wait3 wait4 waitid waitpid write writev"
# Written in assembly, x86-64 only (preload/dl.c).
[ "$(uname -m)" = x86_64 ] && want="$want dlmopen dlsym dlvsym"
got=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
check_eq "exported symbols" "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" "$got"
# And no data symbols at all.
data=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[BDGRS]$/ {print $3}')
[ -z "$data" ] || fail "exported data symbols: $data"
