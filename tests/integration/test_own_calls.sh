#!/usr/bin/env bash
# The shim's own I/O never enters its own hooks. A preloaded library's
# exported names come first in lookup, so a plain write() in the audit sink
# or close() in the state code would run the shim's write and close hooks
# (which look each descriptor up as a governed connection) instead of
# libc's. One list names the self-calls that are meant, by calling
# function and hook, each with its reason:
#   - static: the shim's PLT relocations (JUMP_SLOT) that name one of its
#     own exported functions name exactly the allowed hooks; no other
#     relocation names one; and each call through the PLT to one of them
#     (objdump, by the function it is in) is an allowed pair;
#   - at run time: an LD_AUDIT library (rtld-audit(7)), compiled here, sees
#     every PLT call resolved again (LD_BIND_NOT=1: la_symbind64 runs at
#     each call) and logs each one into the shim, by caller: the shim
#     itself ("self") or the main program ("prog"). A C agent, under
#     strict mode, makes the shim read its config and dry_run.response =
#     @file, map its state file, write audit records (refused connects, a
#     simulated one), probe ELF files and start watchdogs (two execs of a
#     tool with timeout_seconds); a second run sends the records to syslog
#     (sendto; with no /dev/log each is lost and counted). The self-calls
#     seen must be exactly those the agent provokes, one each: its
#     syscall(SYS_connect) -> connect, execlp -> execvp, execl -> execve,
#     sendmmsg -> sendmsg, recvmmsg -> recvmsg (seeing them, and the
#     agent's own calls into the hooks, shows that the counting works).
# Blind spots: a call bound inside the shim at link time (-Bsymbolic) or
# made through a pointer from dlsym never goes through the PLT.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || fail "cc is required"
command -v readelf >/dev/null || fail "readelf (binutils) is required"
command -v nm >/dev/null || fail "nm (binutils) is required"

# CALLER CALLEE: why the shim's function CALLER calls its own hook CALLEE
# (CALLER as the symbol table names it, without a .part/.cold suffix).
ALLOWED_WHY="\
execl execve: execl builds an argv for the execve hook
execle execve: execle builds an argv and takes an envp for the execve hook
execlp execvp: execlp builds an argv for the execvp hook
plt_dlsym dlsym: only with nothing after the shim (loaded by dlopen, outside the global scope), where it binds to libc's dlsym
recvmmsg_followed recvmsg: recvmmsg on a simulated connection answers one message through the recvmsg hook
sendmmsg sendmsg: sendmmsg makes each message a call of its own, through the sendmsg hook
simulated_spawn vfork: the child of a simulated spawn is a vfork child like any other, counted by the vfork hook
syscall close: strict mode routes syscall(SYS_close) to the close hook
syscall close_range: strict mode routes syscall(SYS_close_range) to the close_range hook
syscall connect: strict mode routes syscall(SYS_connect) to the connect hook
syscall dup: strict mode routes syscall(SYS_dup) to the dup hook
syscall dup2: strict mode routes syscall(SYS_dup2) to the dup2 hook
syscall dup3: strict mode routes syscall(SYS_dup3) to the dup3 hook
syscall execve: strict mode routes syscall(SYS_execve) to the execve hook
syscall execveat: strict mode routes syscall(SYS_execveat) to the execveat hook
syscall sendmmsg: strict mode routes syscall(SYS_sendmmsg) to the sendmmsg hook
syscall sendmsg: strict mode routes syscall(SYS_sendmsg) to the sendmsg hook
syscall sendto: strict mode routes syscall(SYS_sendto) to the sendto hook
syscall write: strict mode routes syscall(SYS_write) to the write hook
syscall writev: strict mode routes syscall(SYS_writev) to the writev hook"
ALLOWED_PAIRS=$(sed 's/:.*//' <<<"$ALLOWED_WHY" | sort -u)
ALLOWED_CALLEES=$(awk '{print $2}' <<<"$ALLOWED_PAIRS" | sort -u)

# ---- static: the relocations and the call sites -----------------------------
nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | sort -u \
    >"$T/exports"
[ -s "$T/exports" ] || fail "nm lists no exported function in $SHIM"
readelf -rW "$SHIM" >"$T/relocs"
awk '$3 ~ /JUMP_SLOT$/ {print $5}' "$T/relocs" | sed 's/@.*//' | sort -u >"$T/plt"
[ -s "$T/plt" ] || fail "readelf lists no JUMP_SLOT relocation in $SHIM"
self_plt=$(comm -12 "$T/plt" "$T/exports")
unexpected=$(comm -23 <(echo "$self_plt") <(echo "$ALLOWED_CALLEES") | tr '\n' ' ')
gone=$(comm -13 <(echo "$self_plt") <(echo "$ALLOWED_CALLEES") | tr '\n' ' ')
[ -z "$unexpected" ] ||
    problem "the shim's PLT calls its own exported functions outside the allowed list: $unexpected"
[ -z "$gone" ] || problem "allowed self-calls no longer in the PLT (drop them from the list): $gone"
# A pointer to an own export taken in the shim (GLOB_DAT, an absolute
# relocation) would call the hook as surely as the PLT.
other=$(awk '$3 ~ /^R_/ && $3 !~ /JUMP_SLOT$/ && NF >= 5 {print $5}' "$T/relocs" |
    sed 's/@.*//' | sort -u | comm -12 - "$T/exports" | tr '\n' ' ')
[ -z "$other" ] || problem "non-PLT relocations name the shim's own exports: $other"
# By name the PLT cannot tell the audit sink's write() from syscall()'s
# routed one: each call site, by the function it is in, must be allowed.
command -v objdump >/dev/null || fail "objdump (binutils) is required"
[ "$(nm "$SHIM" 2>/dev/null | wc -l)" -gt "$(wc -l <"$T/exports")" ] ||
    fail "$SHIM has no symbol table of its own (stripped?): its call sites cannot be named"
# objdump names a function by any of its names: a hook exported under a
# glibc alias as well (__sendmmsg is sendmmsg) is named by the hook's.
nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWiV]$/ {sub(/@.*/, "", $3); print $1, $3}' |
    awk '{ if (!($1 in hook) || hook[$1] ~ /^__|^_IO_/) hook[$1] = $2; names[$2] = $1 }
         END { for (n in names) print n, hook[names[n]] }' >"$T/hook_of"
objdump -d --no-show-raw-insn "$SHIM" | awk '
    NR == FNR { hook[$1] = $2; next }
    /^[0-9a-f]+ <[^>]+>:$/ { fn = $2; gsub(/[<>:]/, "", fn); sub(/\..*/, "", fn); if (fn in hook) fn = hook[fn] }
    /(call|jmp)[a-z]* +[0-9a-f]+ <[^>]+@plt>$/ { t = $NF; gsub(/[<>]/, "", t); sub(/@plt$/, "", t); print fn, t }' \
    "$T/hook_of" - | sort -u >"$T/sites"
[ -s "$T/sites" ] || fail "objdump shows no call through the PLT in $SHIM"
self_sites=$(awk 'NR == FNR {own[$1]; next} $2 in own' "$T/exports" "$T/sites")
unexpected=$(comm -23 <(echo "$self_sites") <(echo "$ALLOWED_PAIRS") | sed 's/ / -> /' | tr '\n' ',')
gone=$(comm -13 <(echo "$self_sites") <(echo "$ALLOWED_PAIRS") | sed 's/ / -> /' | tr '\n' ',')
[ -z "$unexpected" ] || problem "the shim calls its own hooks from: ${unexpected%,}"
[ -z "$gone" ] || problem "allowed self-calls no longer made (drop them from the list): ${gone%,}"

# ---- run time: the auditor --------------------------------------------------
cat >"$T/auditor.c" <<'C'
/* LD_AUDIT library: appends "PID self|prog SYMBOL" to $OWNCALLS_LOG for
 * each binding of a symbol defined by libenact_shim.so whose caller is the
 * shim itself (self) or the main program (prog). The file is opened per
 * line: the watchdog closes every descriptor, and a clone child never runs
 * exit handlers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uintptr_t *shim, *program;
static char log_path[4096];

unsigned la_version(unsigned version)
{
    (void)version;
    return LAV_CURRENT;
}

unsigned la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
    if (!log_path[0]) {
        const char *p = getenv("OWNCALLS_LOG");
        if (p)
            snprintf(log_path, sizeof log_path, "%s", p);
    }
    const char *base = strrchr(map->l_name, '/');
    base = base ? base + 1 : map->l_name;
    if (strcmp(base, "libenact_shim.so") == 0)
        shim = cookie;
    else if (lmid == LM_ID_BASE && !program && map->l_name[0] == '\0')
        program = cookie;
    return LA_FLG_BINDTO | LA_FLG_BINDFROM;
}

uintptr_t la_symbind64(Elf64_Sym *sym, unsigned ndx, uintptr_t *refcook, uintptr_t *defcook,
                       unsigned *flags, const char *name)
{
    (void)ndx;
    (void)flags;
    if (shim && defcook == shim && (refcook == shim || refcook == program) && log_path[0]) {
        char line[256];
        int n = snprintf(line, sizeof line, "%ld %s %s\n", (long)getpid(),
                         refcook == shim ? "self" : "prog", name);
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0 && n > 0) {
            (void)!write(fd, line, (size_t)n);
            close(fd);
        }
    }
    return sym->st_value;
}
C
cc -O2 -Wall -Werror -shared -fPIC -o "$T/auditor.so" "$T/auditor.c" || fail "cannot compile auditor.c"

cat >"$T/agent.c" <<'C'
/* agent API_PORT SIM_PORT TRUE: each step's outcome, one line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static const char *name(int e) { return e == EPERM ? "EPERM" : e == ECONNREFUSED ? "ECONNREFUSED" : strerror(e); }
static int sock(int port, struct sockaddr_in *a)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return socket(AF_INET, SOCK_STREAM, 0);
}
int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    struct sockaddr_in a;
    for (int i = 1; i <= 2; i++) { /* the api tool has one token */
        int fd = sock(atoi(argv[1]), &a);
        printf("connect %d: %s\n", i, connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? "ok" : name(errno));
        close(fd);
    }
    int fd = sock(atoi(argv[1]), &a);
    long rc = syscall(SYS_connect, fd, (struct sockaddr *)&a, sizeof a);
    printf("syscall(SYS_connect): %s\n", rc == 0 ? "ok" : name(errno));
    close(fd);

    fd = sock(atoi(argv[2]), &a);
    printf("simulated connect: %s\n", connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? "ok" : name(errno));
    printf("simulated write: %zd\n", write(fd, "ping\n", 5));
    struct iovec out = {"ping\n", 5};
    struct mmsghdr sent = {.msg_hdr = {.msg_iov = &out, .msg_iovlen = 1}};
    printf("simulated sendmmsg: %d\n", sendmmsg(fd, &sent, 1, 0));
    char buf[256] = "";
    struct iovec v = {buf, sizeof buf - 1};
    struct mmsghdr m = {.msg_hdr = {.msg_iov = &v, .msg_iovlen = 1}};
    int got = recvmmsg(fd, &m, 1, 0, NULL);
    printf("simulated recvmmsg: %d %.*s", got, got == 1 ? (int)m.msg_len : 0, buf);
    close(fd);

    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (i == 0)
                execlp("true", "true", (char *)NULL);
            else
                execl(argv[3], "true", (char *)NULL);
            _exit(127);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        printf("%s: %d\n", i == 0 ? "execlp" : "execl", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 0;
}
C
cc -O2 -Wall -Werror -Wl,-z,lazy -o "$T/agent" "$T/agent.c" || fail "cannot compile agent.c"

API_PORT=$(free_port) # nobody listens: the first connect is the kernel's refusal
SIM_PORT=$(free_port)
printf 'pong\n' >"$T/response.txt"
TRUE=$(type -P true) # a file: execl needs a path

# run_agent NAME AUDIT_LOG: the agent under the shim and the auditor, its
# config $T/NAME.ini, its output $T/NAME.out, the bindings $T/NAME.calls.
run_agent() {
    local name=$1
    mkdir -p "$T/$name"
    cat >"$T/$name/enact.ini" <<INI
[enact]
state = t.state
audit_log = $2
strict = true
[tool.api]
connect = 127.0.0.1:$API_PORT
rate.max_calls_per_minute = 1
rate.burst_size = 1
[tool.sim]
connect = 127.0.0.1:$SIM_PORT
dry_run = true
dry_run.response = @$T/response.txt
[tool.true]
exec = true
timeout_seconds = 30
INI
    : >"$T/$name.calls"
    OWNCALLS_LOG=$T/$name.calls LD_AUDIT=$T/auditor.so LD_BIND_NOT=1 \
        LD_PRELOAD=$SHIM_PRELOAD ENACT_CONFIG=$T/$name/enact.ini \
        "$T/agent" "$API_PORT" "$SIM_PORT" "$TRUE" >"$T/$name.out" 2>"$T/$name.err" ||
        fail "$name: the agent failed: $(cat "$T/$name.out" "$T/$name.err")"
    # The watchdog is nobody's child: it ends once `true` has, soon after.
    sleep 0.5
    check_eq "$name: the agent's outcomes" "connect 1: ECONNREFUSED
connect 2: EPERM
syscall(SYS_connect): EPERM
simulated connect: ok
simulated write: 5
simulated sendmmsg: 1
simulated recvmmsg: 1 pong
execlp: 0
execl: 0" "$(cat "$T/$name.out")"
}

# count NAME self|prog SYMBOL: how many such bindings were seen.
count() {
    awk -v who="$2" -v sym="$3" '$2 == who && $3 == sym {n++} END {print n + 0}' "$T/$1.calls"
}

# What the agent makes the shim call of its own, one of each: its
# syscall(SYS_connect), execlp, execl, sendmmsg and recvmmsg. Nothing else:
# the config, the response file, the state file, the records, the ELF
# probe and the watchdog are the shim's own I/O.
PROVOKED="connect 1
execve 1
execvp 1
recvmsg 1
sendmsg 1"

# check_calls NAME: the self-calls seen are exactly the provoked ones, and
# the agent's own calls into the hooks were seen.
check_calls() {
    local name=$1 sym n seen
    seen=$(awk '$2 == "self" {n[$3]++} END {for (s in n) print s, n[s]}' "$T/$name.calls" | sort)
    note "$name: self-calls seen: $(tr '\n' ',' <<<"$seen")"
    local extra missing
    extra=$(comm -23 <(echo "$seen") <(echo "$PROVOKED") | sed 's/ \(.*\)/ (\1x)/' | tr '\n' ' ')
    missing=$(comm -13 <(echo "$seen") <(echo "$PROVOKED") | sed 's/ \(.*\)/ (\1x)/' | tr '\n' ' ')
    [ -z "$extra" ] || problem "$name: the shim's own code called its own hooks: $extra"
    [ -z "$missing" ] ||
        problem "$name: provoked self-calls not seen as expected: $missing(is the auditor blind?)"
    for sym in connect close write sendmmsg recvmmsg syscall execlp execl; do
        n=$(count "$name" prog "$sym")
        [ "$n" -gt 0 ] || problem "$name: none of the agent's calls to $sym seen"
    done
}

run_agent file audit.jsonl
check_calls file
# The I/O happened: the two refusals are records in the file.
check_eq "file: refused connects in the audit log" 2 \
    "$(audit_eval "$T/file/audit.jsonl" 'sum(1 for r in recs if r["op"] == "connect" and r["verdict"] == "deny")')"
[ -s "$T/file/t.state" ] || problem "file: no state file"

run_agent syslog syslog
check_calls syslog
if [ ! -e /dev/log ]; then
    # Each record was sent and lost: the shim did call sendto.
    "$ENACT" status -c "$T/syslog/enact.ini" | grep -q "records could not be written" ||
        problem "syslog: status counts no lost records: $("$ENACT" status -c "$T/syslog/enact.ini")"
fi

fail_on_problems
