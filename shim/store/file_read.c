#include "file_read.h"

#include "sys.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

static char *fail(struct file_read_error *err, enum file_read_fail why, int errnum, int fd,
                  char *buf)
{
    *err = (struct file_read_error){.fail = why, .errnum = errnum};
    if (fd >= 0)
        sys_close(fd);
    free(buf);
    return NULL;
}

char *file_read(const char *path, enum file_read_kind kind, size_t max, size_t *len,
                struct file_read_error *err)
{
    bool regular = kind == FILE_READ_REGULAR;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (regular ? O_NONBLOCK | O_NOCTTY : 0));
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return fail(err, FILE_READ_OPEN, errno, fd, NULL);
    if (regular && !S_ISREG(st.st_mode))
        return fail(err, FILE_READ_NOT_REGULAR, S_ISDIR(st.st_mode) ? EISDIR : 0, fd, NULL);
    if (st.st_size < 0 || (unsigned long long)st.st_size > max)
        return fail(err, FILE_READ_TOO_LARGE, 0, fd, NULL);
    /* One byte beyond the size it claims: a file that grows meanwhile (or a
     * /proc-like file of size 0) is read to its end all the same. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return fail(err, FILE_READ_NO_MEMORY, ENOMEM, fd, NULL);
    for (;;) {
        if (n == cap) {
            if (cap > max)
                break;
            size_t grown_cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *grown = realloc(buf, grown_cap + 1);
            if (!grown)
                return fail(err, FILE_READ_NO_MEMORY, ENOMEM, fd, buf);
            buf = grown;
            cap = grown_cap;
        }
        ssize_t got = sys_read(fd, buf + n, cap - n);
        if (got == 0)
            break;
        if (got < 0 && errno != EINTR)
            return fail(err, FILE_READ_READ, errno, fd, buf);
        if (got > 0)
            n += (size_t)got;
    }
    sys_close(fd);
    if (n > max)
        return fail(err, FILE_READ_TOO_LARGE, 0, -1, buf);
    buf[n] = '\0';
    *len = n;
    return buf;
}
