#include "config_cache.h"

#include "config_image.h"
#include "../store/image_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Larger than any image of a config the loader accepts (1 MiB of INI). */
#define IMAGE_MAX (64u << 20)

bool config_cache_path(const char *abs_path, char *out, size_t cap)
{
    return config_default_file(abs_path, ".policy", out, cap);
}

/* An absolute path with no "." or ".." component and no doubled slash:
 * what enact run and every governed parent hand their children (the
 * config's realpath). Such a path names the image as it is, without a
 * realpath() at every start (about 1,200 instructions and a readlink per
 * component). A plain path through a symbolic link names an image of its
 * own, which only costs that image: the key checks the INI itself. */
static bool plain_absolute(const char *path)
{
    if (path[0] != '/')
        return false;
    size_t n = 0;
    for (const char *p = path; *p; p++, n++) {
        if (p[0] != '/')
            continue;
        const char *c = p + 1; /* the component after this slash */
        if (c[0] == '/' || (c[0] == '.' && (c[1] == '/' || c[1] == '\0' ||
                                            (c[1] == '.' && (c[2] == '/' || c[2] == '\0')))))
            return false;
    }
    return n < PATH_MAX;
}

struct enact_config *config_cache_load(const char *path, uint64_t build,
                                       struct config_diag *diag)
{
    char resolved[PATH_MAX], image[PATH_MAX];
    struct file_identity id;
    const char *abs = plain_absolute(path) ? path : realpath(path, resolved);
    if (!build || !abs || !file_identity_of(abs, &id) ||
        !config_cache_path(abs, image, sizeof image))
        return config_load(path, diag);
    struct config_image_key key = {.layout = config_image_layout() ^ build, .dev = id.dev,
                                   .ino = id.ino,
                                   .size = id.size, .mtime_ns = id.mtime_ns,
                                   .ctime_ns = id.ctime_ns};
    size_t len = 0;
    void *block = image_file_read(image, IMAGE_MAX, &len);
    struct enact_config *cfg = block ? config_image_open(block, len, &key) : NULL;
    if (cfg) {
        cfg->image = block;
        cfg->image_len = len;
        if (diag)
            *diag = (struct config_diag){0};
        return cfg;
    }
    image_file_release(block, len);
    int saved = errno;
    cfg = config_load(abs, diag);
    void *made = cfg ? config_image_build(cfg, &key, &len) : NULL;
    if (made)
        (void)image_file_write(image, made, len); /* the next process's; a failure costs it a parse */
    free(made);
    errno = saved;
    return cfg;
}
