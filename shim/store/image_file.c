#include "image_file.h"

#include "state.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t ns_of(struct timespec t)
{
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

bool file_identity_of(const char *path, struct file_identity *out)
{
    struct stat st;
    if (sys_stat(path, &st) != 0)
        return false;
    *out = (struct file_identity){.dev = (uint64_t)st.st_dev,
                                  .ino = (uint64_t)st.st_ino,
                                  .size = (uint64_t)st.st_size,
                                  .mtime_ns = ns_of(st.st_mtim),
                                  .ctime_ns = ns_of(st.st_ctim)};
    return true;
}

void *image_file_read(const char *path, size_t max, size_t *len)
{
    int fd = sys_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *block = MAP_FAILED;
    size_t want = 0, got = 0;
    if (sys_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == sys_getuid() &&
        (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 && st.st_size > 0 &&
        (uint64_t)st.st_size <= max) {
        want = (size_t)st.st_size;
        block = sys_mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    while (block != MAP_FAILED && got < want) {
        ssize_t n = sys_read(fd, (char *)block + got, want - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    sys_close(fd);
    if (block == MAP_FAILED)
        return NULL;
    if (got != want) {
        munmap(block, want);
        return NULL;
    }
    *len = want;
    return block;
}

void image_file_release(void *block, size_t len)
{
    if (block)
        munmap(block, len);
}

bool image_file_write(const char *path, const void *block, size_t len)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (n <= 0 || (size_t)n >= sizeof tmp || state_make_parents(path) != 0)
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = true;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = sys_write(fd, (const char *)block + done, len - done);
        if (w > 0)
            done += (size_t)w;
        else if (!(w < 0 && errno == EINTR))
            ok = false;
    }
    if (sys_close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
}
