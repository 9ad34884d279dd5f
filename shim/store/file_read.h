/* The whole of a small file, read at load time: the config itself and the
 * files it names (dry_run.response = @FILE). The reads go through
 * store/sys.h, so that in the shim they never enter its own read and close
 * hooks. */
#ifndef ENACT_FILE_READ_H
#define ENACT_FILE_READ_H

#include <stddef.h>

enum file_read_fail {
    FILE_READ_OPEN,        /* open or fstat failed: errnum */
    FILE_READ_NOT_REGULAR, /* errnum: EISDIR for a folder, else 0 */
    FILE_READ_TOO_LARGE,   /* more than max bytes */
    FILE_READ_NO_MEMORY,
    FILE_READ_READ, /* read failed: errnum */
};

struct file_read_error {
    enum file_read_fail fail;
    int errnum;
};

enum file_read_kind {
    /* Whatever the path names, read to its end: the config, which may be a
     * pipe (enact check <(generate)) or /dev/stdin. */
    FILE_READ_ANY,
    /* A regular file only, and an open that never waits (O_NONBLOCK): a
     * FIFO, a terminal or a device named by the config would block or
     * consume what every governed program start needs. */
    FILE_READ_REGULAR,
};

/* The file's bytes and a NUL after them (*len excludes it), or NULL with
 * *err filled. A file that grows while it is read is read to its end, up
 * to max bytes. */
char *file_read(const char *path, enum file_read_kind kind, size_t max, size_t *len,
                struct file_read_error *err);

#endif
