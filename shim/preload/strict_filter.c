#include "strict_filter.h"

#include "real.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* io_uring_setup, io_uring_enter, io_uring_register: numbered alike on
 * every architecture (system calls from 424 on share one table). */
#define IO_URING_FIRST 425u
#define IO_URING_LAST 427u

/* The architectures a process here can make system calls as: its own, and
 * the 32-bit one its kernel runs too. Another (unknown) one is let be. */
#if defined(__x86_64__)
#define ARCH_NATIVE AUDIT_ARCH_X86_64
#define ARCH_COMPAT AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define ARCH_NATIVE AUDIT_ARCH_AARCH64
#define ARCH_COMPAT AUDIT_ARCH_ARM
#endif

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000u
#endif

#ifdef ARCH_NATIVE
static int set_filter(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NATIVE, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_COMPAT, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* x32's numbers are x86-64's with this bit set */
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)__X32_SYSCALL_BIT),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, IO_URING_FIRST, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, IO_URING_LAST, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (real.syscall(SYS_prctl, (long)PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
        return -1;
    /* Every thread at once: one left without it could set up a ring. */
    long rc = real.syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER,
                           (long)SECCOMP_FILTER_FLAG_TSYNC, (long)&prog);
    if (rc > 0) { /* a thread whose filters differ: its id */
        errno = EBUSY;
        return -1;
    }
    return rc == 0 ? 0 : -1;
}
#else
static int set_filter(void)
{
    errno = ENOTSUP;
    return -1;
}
#endif

enum strict_filter_result strict_filter_install(void)
{
    int saved = errno;
    /* A bad pointer: the kernel says EFAULT (or EPERM where io_uring is
     * turned off) before anything is set up; ENOSYS is a filter's answer,
     * or a kernel without io_uring, and either way there is nothing to do. */
    if (real.syscall((long)IO_URING_FIRST, 0L, 0L) < 0 && errno == ENOSYS) {
        errno = saved;
        return STRICT_FILTER_INHERITED;
    }
    if (set_filter() != 0)
        return STRICT_FILTER_FAILED;
    errno = saved;
    return STRICT_FILTER_INSTALLED;
}
