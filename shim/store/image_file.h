/* The file a config's compiled image is kept in (policy/config_cache.h):
 * read whole into private memory, written whole under a temporary name
 * and renamed over the old one. */
#ifndef ENACT_IMAGE_FILE_H
#define ENACT_IMAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a file is, as stat() sees it: another INI is another identity. */
struct file_identity {
    uint64_t dev, ino, size, mtime_ns, ctime_ns;
};
bool file_identity_of(const char *path, struct file_identity *out);

/* The file at path read into a fresh private anonymous mapping (never
 * the file's own pages: a file cut short later cannot fault the reader);
 * NULL unless it is a regular file of this user that no one else may
 * write, of 1 byte to max bytes. */
void *image_file_read(const char *path, size_t max, size_t *len);
void image_file_release(void *block, size_t len);

/* block written to path.PID.tmp (0600, the folders above made 0700 when
 * missing) and renamed to path; false (and no file left) on failure. */
bool image_file_write(const char *path, const void *block, size_t len);

#endif
