/* Shared helpers for the cmocka unit tests: temporary folders and files.
 * Header-only; every function is static so each test binary gets its own. */
#ifndef ENACT_TEST_HELPERS_H
#define ENACT_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Creates a fresh folder under $TMPDIR (or /tmp) and returns its canonical
 * absolute path (symlinks resolved), malloc'd. */
static inline char *th_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || base[0] != '/')
        base = "/tmp";
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/enact-unit-XXXXXX", base);
    char *made = mkdtemp(tmpl);
    assert_non_null(made);
    char *real = realpath(made, NULL);
    assert_non_null(real);
    return real;
}

static inline int th_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf dir, then frees it. */
static inline void th_rmtree(char *dir)
{
    if (!dir)
        return;
    nftw(dir, th_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* "<dir>/<name>" into out. */
static inline const char *th_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
    return out;
}

/* Writes exactly len bytes to path (created or truncated, mode 0644). */
static inline void th_write_bytes(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
    assert_int_equal(close(fd), 0);
}

static inline void th_write_file(const char *path, const char *text)
{
    th_write_bytes(path, text, strlen(text));
}

/* Reads the whole file into a malloc'd NUL-terminated buffer; *len gets
 * its size (len may be NULL). */
static inline char *th_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    assert_non_null(buf);
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
    buf[size] = '\0';
    close(fd);
    if (len)
        *len = size;
    return buf;
}

/* Ends a forked child at once: no atexit handlers, no stdio flush, and no
 * LeakSanitizer pass over the parent's heap the child inherited (ASan
 * intercepts _exit, not the raw system call). */
static inline void th_child_exit(int code)
{
    syscall(SYS_exit_group, code);
    for (;;)
        ;
}

static inline bool th_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

#endif
