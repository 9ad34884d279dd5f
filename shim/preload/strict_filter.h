/* strict = true at the kernel: a seccomp filter that answers io_uring's
 * three system calls with ENOSYS whatever issues them (a libc handle's
 * syscall, inline asm), in the process and in every program it starts,
 * since a filter is inherited across fork and exec and cannot be taken
 * off (README "Strict mode", THREAT-MODEL.md).
 *
 * io_uring alone: a ring performs connects, sends and opens the preload
 * never sees, and nothing an agent runs needs one to work (liburing's
 * users fall back to ordinary calls on ENOSYS, as on kernels without it).
 * The filter refuses nothing else, so no call of the shim's or libc's can
 * be refused by it. */
#ifndef ENACT_STRICT_FILTER_H
#define ENACT_STRICT_FILTER_H

enum strict_filter_result {
    STRICT_FILTER_INSTALLED,
    STRICT_FILTER_INHERITED, /* io_uring already answers ENOSYS: a parent's filter */
    STRICT_FILTER_FAILED,    /* errno says why (no seccomp in this kernel, a
                                container that refuses it) */
};

/* Installs the filter in every thread of the process, after
 * PR_SET_NO_NEW_PRIVS (which the filter needs, and which strict mode's
 * refusal of setuid programs already implies), unless io_uring already
 * answers ENOSYS. */
enum strict_filter_result strict_filter_install(void);

#endif
