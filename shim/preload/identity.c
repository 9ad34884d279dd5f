#include "identity.h"

#include "on_fork.h"
#include "real.h"
#include "shim.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The process's identity caches (identity.h). */
static pid_t pid_cache; /* 0: ask the kernel */
static bool uncached;   /* for good: a memory-sharing child we cannot follow */
static __thread pid_t tid_cache __attribute__((tls_model("initial-exec")));
/* vfork children of ours not yet exec'd or exited. Hidden and named for
 * the vfork hook below, which reaches it without a GOT entry. */
unsigned enact_vforks_out __attribute__((visibility("hidden")));

static bool cacheable(void)
{
    return __atomic_load_n(&enact_vforks_out, __ATOMIC_ACQUIRE) == 0 &&
           !__atomic_load_n(&uncached, __ATOMIC_ACQUIRE);
}

/* Through syscall(), which real_resolve found first: no first call of
 * getpid or gettid for the loader to bind, in a vfork child least of all. */
static pid_t kernel_pid(void)
{
    long (*sys)(long, ...) = __atomic_load_n(&real.syscall, __ATOMIC_ACQUIRE);
    return sys ? (pid_t)sys(SYS_getpid) : getpid();
}

static pid_t kernel_tid(void)
{
    long (*sys)(long, ...) = __atomic_load_n(&real.syscall, __ATOMIC_ACQUIRE);
    return sys ? (pid_t)sys(SYS_gettid) : gettid();
}

pid_t shim_pid(void)
{
    if (!cacheable())
        return kernel_pid();
    pid_t pid = __atomic_load_n(&pid_cache, __ATOMIC_RELAXED);
    if (pid == 0) {
        pid = kernel_pid();
        __atomic_store_n(&pid_cache, pid, __ATOMIC_RELAXED);
    }
    return pid;
}

int32_t shim_thread_id(void)
{
    if (!cacheable())
        return (int32_t)kernel_tid();
    if (tid_cache == 0)
        tid_cache = kernel_tid();
    return (int32_t)tid_cache;
}

void identity_uncached(void)
{
    __atomic_store_n(&uncached, true, __ATOMIC_RELEASE);
}

/* The child of fork(): only the forking thread lives on, with a new id. */
static void identity_forked(void)
{
    __atomic_store_n(&pid_cache, 0, __ATOMIC_RELAXED);
    tid_cache = 0;
    __atomic_store_n(&enact_vforks_out, 0, __ATOMIC_RELEASE);
}

void identity_init(void)
{
    on_fork_child(identity_forked);
}

/* _Fork runs no atfork handler: its child forgets the caches here. */
EXPORT pid_t _Fork(void)
{
    if (!real._Fork) {
        errno = ENOSYS;
        return -1;
    }
    pid_t pid = real._Fork();
    if (pid == 0)
        identity_forked();
    return pid;
}

/* A child sharing our memory may call our hooks while we run on, for as
 * long as it lives: it cannot be told apart without a system call. The
 * three optional arguments are passed on whether given or not, as glibc
 * reads them only when the flags ask for them. */
EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    pid_t *parent_tid = va_arg(ap, pid_t *);
    void *tls = va_arg(ap, void *);
    pid_t *child_tid = va_arg(ap, pid_t *);
    va_end(ap);
    if (flags & CLONE_VM)
        identity_uncached();
    if (!real.clone) {
        errno = ENOSYS;
        return -1;
    }
    return real.clone(fn, stack, flags, arg, parent_tid, tls, child_tid);
}
EXPORT int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) __THROW
    GLIBC_ALIAS(clone);

#if defined(__x86_64__)
/* vfork, as glibc writes it (the return address kept in a register, since
 * the child returns first and reuses the stack), with the count of
 * children out around it. The child leaves the count raised: it shares
 * the counter, and its parent lowers it when it runs again (after the
 * child's exec or exit). Errors set errno through the PLT. Exported as
 * __vfork too, glibc's other name for it (GLIBC_ALIAS, shim.h). */
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork,@function\n"
        "vfork:\n"
        "    lock incl enact_vforks_out(%rip)\n"
        "    popq %rdi\n"
        "    movl $58, %eax\n" /* SYS_vfork */
        "    syscall\n"
        "    pushq %rdi\n"
        "    testq %rax, %rax\n"
        "    je 1f\n" /* the child */
        "    lock decl enact_vforks_out(%rip)\n"
        "    cmpq $-4095, %rax\n"
        "    jae 2f\n"
        "1:  ret\n"
        "2:  negl %eax\n"
        "    pushq %rax\n" /* also aligns the stack for the call */
        "    call __errno_location@PLT\n"
        "    popq %rdx\n"
        "    movl %edx, (%rax)\n"
        "    movq $-1, %rax\n"
        "    ret\n"
        ".size vfork, .-vfork\n"
        ".globl __vfork\n"
        ".type __vfork,@function\n"
        ".set __vfork, vfork\n");
#else
/* Without a vfork hook of our own, a vfork child cannot be told from its
 * parent without a system call: no caches. */
__attribute__((constructor)) static void identity_no_vfork_hook(void)
{
    identity_uncached();
}
#endif
