#!/usr/bin/env bash
# strict = true closes the doors to libc's own functions, each against the
# same api tool (one token, errno = EACCES), after a plain connect spent it:
#   - dlsym and dlvsym on a handle of libc (dlopen("libc.so.6")) answer the
#     shim's connect (dladdr names the shim), and so does glibc's alias
#     __connect; the connect through it is refused with the tool's errno
#     and recorded. Without strict they answer libc's own (dladdr names
#     libc.so.6) and the connect goes through, unrecorded;
#   - dlsym(RTLD_NEXT, "connect") from the program answers the shim's with
#     or without strict (it comes after the program);
#   - dlmopen(LM_ID_NEWLM) of libc, by name or by a link to its file, and
#     of any other library (libm, one found by the program's own RUNPATH:
#     each brings a libc of its own into the new namespace) returns NULL,
#     dlerror begins with the reason, and each is recorded (op dlmopen,
#     reason strict); dlmopen(LM_ID_BASE) of the RUNPATH library still
#     loads ($ORIGIN/lib: dlmopen answers relative to its caller). Without
#     strict all load;
#   - a preload after the shim that wraps connect, asking dlsym(RTLD_NEXT)
#     for the next one at each call, gets libc's (the shim's would call it
#     again, for ever): the program's second connect is the shim's refusal;
#   - Python: ctypes.CDLL("libc.so.6").connect is refused (PermissionError,
#     EACCES) and recorded; its syscall(SYS_connect, ...) too, decided as a
#     connect. Without strict both connect.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc is required"
start_counting_listeners "$T/conns.log" api
PORT=$LISTENER_PORTS

cat >"$T/handles.c" <<'C'
/* handles PORT LINK: each door's answer, one per line. LINK: a symbolic
 * link to be made to libc's file. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
static int port;
static const char *whose(void *fn)
{
    Dl_info info;
    if (!fn)
        return "NULL";
    if (!dladdr(fn, &info) || !info.dli_fname)
        return "unknown";
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    return strncmp(base, "libc.so", 7) == 0 ? "libc" : strstr(base, "enact_shim") ? "shim" : base;
}
static const char *try_connect(connect_fn fn)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = fn(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    return rc == 0 ? "ok" : e == EACCES ? "EACCES" : e == EPERM ? "EPERM" : strerror(e);
}
static void load(const char *what, Lmid_t ns, const char *file)
{
    void *h = dlmopen(ns, file, RTLD_NOW | RTLD_LOCAL);
    const char *why = h ? NULL : dlerror();
    printf("dlmopen %s: %s%s\n", what, h ? "ok" : "NULL: ", why ? why : "");
}
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    port = atoi(argv[1]);
    printf("connect: %s\n", try_connect(connect)); /* spends the only token */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    struct link_map *map = NULL;
    if (!libc || dlinfo(libc, RTLD_DI_LINKMAP, &map) != 0 || symlink(map->l_name, argv[2]) != 0)
        return 3;
    void *fn = dlsym(libc, "connect");
    printf("dlsym(libc, connect): %s\n", whose(fn));
    printf("dlvsym(libc, connect): %s\n", whose(dlvsym(libc, "connect", "GLIBC_2.2.5")));
    printf("dlsym(libc, __connect): %s\n", whose(dlsym(libc, "__connect")));
    printf("dlsym(libc, recv): %s\n", whose(dlsym(libc, "recv")));
    printf("dlsym(RTLD_NEXT, connect): %s\n", whose(dlsym(RTLD_NEXT, "connect")));
    printf("connect through dlsym(libc): %s\n", fn ? try_connect((connect_fn)fn) : "none");
    load("libc.so.6", LM_ID_NEWLM, "libc.so.6");
    load("a link to libc", LM_ID_NEWLM, argv[2]);
    load("libm.so.6", LM_ID_NEWLM, "libm.so.6");
    load("by the program's RUNPATH", LM_ID_NEWLM, "libhandles_x.so");
    load("by the program's RUNPATH, base namespace", LM_ID_BASE, "libhandles_x.so");
    return 0;
}
C
mkdir -p "$T/lib"
printf 'int handles_x(void) { return 1; }\n' >"$T/x.c"
cc -shared -fPIC -o "$T/lib/libhandles_x.so" "$T/x.c"
cc -o "$T/handles" "$T/handles.c" -ldl -Wl,--enable-new-dtags,-rpath,'$ORIGIN/lib'

cat >"$T/by_ctypes.py" <<'PY'
import ctypes, errno, socket, sys
port = int(sys.argv[1])
def outcome(call):
    s = socket.socket()
    addr = socket.inet_aton("127.0.0.1")
    sa = (ctypes.c_ubyte * 16)(2, 0, port >> 8, port & 255, *addr)
    rc = call(s.fileno(), sa, 16)
    e = ctypes.get_errno()
    s.close()
    return "ok" if rc == 0 else errno.errorcode.get(e, str(e))
socket.create_connection(("127.0.0.1", port), timeout=5).close()  # the only token
libc = ctypes.CDLL("libc.so.6", use_errno=True)
print("ctypes connect:", outcome(libc.connect))
SYS_connect = 42
print("ctypes syscall(SYS_connect):",
      outcome(lambda fd, sa, n: libc.syscall(ctypes.c_long(SYS_connect), ctypes.c_long(fd), sa, ctypes.c_long(n))))
PY

ini() { # NAME STRICT
    mkdir -p "$T/$1.d"
    chmod 0700 "$T/$1.d"
    cat >"$T/$1.ini" <<INI
[enact]
state = $T/$1.d/t.state
audit_log = $T/$1.jsonl
strict = $2
[tool.api]
connect = 127.0.0.1:$PORT
errno = EACCES
rate.max_calls_per_minute = 0.0001
rate.burst_size = 1
INI
}

ini off false
out=$("$ENACT" run -c "$T/off.ini" -- "$T/handles" "$PORT" "$T/off-link.so")
check_eq "without strict: libc's own" "connect: ok
dlsym(libc, connect): libc
dlvsym(libc, connect): libc
dlsym(libc, __connect): libc
dlsym(libc, recv): libc
dlsym(RTLD_NEXT, connect): shim
connect through dlsym(libc): ok
dlmopen libc.so.6: ok
dlmopen a link to libc: ok
dlmopen libm.so.6: ok
dlmopen by the program's RUNPATH: ok
dlmopen by the program's RUNPATH, base namespace: ok" "$out"
check_eq "without strict: no record" 0 "$(audit_eval "$T/off.jsonl" 'len(recs)')"

ini on true
out=$("$ENACT" run -c "$T/on.ini" -- "$T/handles" "$PORT" "$T/on-link.so")
reason="enact: strict = true refuses a new namespace (dlmopen LM_ID_NEWLM), whose own C library no hook sees"
check_eq "strict: the shim's" "connect: ok
dlsym(libc, connect): shim
dlvsym(libc, connect): shim
dlsym(libc, __connect): shim
dlsym(libc, recv): libc
dlsym(RTLD_NEXT, connect): shim
connect through dlsym(libc): EACCES
dlmopen libc.so.6: NULL: $reason
dlmopen a link to libc: NULL: $reason
dlmopen libm.so.6: NULL: $reason
dlmopen by the program's RUNPATH: NULL: $reason
dlmopen by the program's RUNPATH, base namespace: ok" "$(sed 's/\(NULL: .*sees\):.*/\1/' <<<"$out")"
check_eq "strict: records" True "$(audit_eval "$T/on.jsonl" "(
    sorted((r['op'], r['verdict'], r.get('reason'), r.get('errno'), r.get('target')) for r in recs) == sorted([
        ('connect', 'deny', 'rate_limited', 'EACCES', '127.0.0.1:$PORT'),
        ('dlmopen', 'deny', 'strict', None, 'libc.so.6'),
        ('dlmopen', 'deny', 'strict', None, '$T/on-link.so'),
        ('dlmopen', 'deny', 'strict', None, 'libm.so.6'),
        ('dlmopen', 'deny', 'strict', None, 'libhandles_x.so')]))")"

# A wrapper of connect after the shim.
cat >"$T/after.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
int connect(int fd, const struct sockaddr *to, socklen_t len)
{
    int (*next)(int, const struct sockaddr *, socklen_t);
    *(void **)&next = dlsym(RTLD_NEXT, "connect");
    return next(fd, to, len);
}
C
cc -shared -fPIC -o "$T/after.so" "$T/after.c" -ldl
cat >"$T/twice.c" <<'C'
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    (void)argc;
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
        printf("%s\n", rc == 0 ? "ok" : errno == EACCES ? "EACCES" : strerror(errno));
        close(fd);
    }
    return 0;
}
C
cc -o "$T/twice" "$T/twice.c"
ini chain true
set +e
out=$(LD_PRELOAD="$SHIM_PRELOAD $T/after.so" ENACT_CONFIG="$T/chain.ini" timeout 20 "$T/twice" "$PORT" 2>&1)
rc=$?
set -e
check_eq "strict: a wrapper after the shim" "ok
EACCES
0" "$out
$rc"

ini pyoff false
check_eq "without strict: python's ctypes" "ctypes connect: ok
ctypes syscall(SYS_connect): ok" "$("$ENACT" run -c "$T/pyoff.ini" -- "$PY" "$T/by_ctypes.py" "$PORT")"
ini pyon true
check_eq "strict: python's ctypes" "ctypes connect: EACCES
ctypes syscall(SYS_connect): EACCES" "$("$ENACT" run -c "$T/pyon.ini" -- "$PY" "$T/by_ctypes.py" "$PORT")"
check_eq "strict: python's records" True "$(audit_eval "$T/pyon.jsonl" "(
    [(r['op'], r['verdict'], r.get('reason'), r.get('errno')) for r in recs] ==
        [('connect', 'deny', 'rate_limited', 'EACCES')] * 2)")"
