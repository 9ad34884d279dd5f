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

/* The image's file and key for the INI at abs, as id says it is now. */
static bool image_of(const char *abs, const struct file_identity *id, uint64_t build,
                     char image[PATH_MAX], struct config_image_key *key)
{
    if (!build || !config_cache_path(abs, image, PATH_MAX))
        return false;
    *key = (struct config_image_key){.layout = config_image_layout() ^ build, .dev = id->dev,
                                     .ino = id->ino,
                                     .size = id->size, .mtime_ns = id->mtime_ns,
                                     .ctime_ns = id->ctime_ns};
    return true;
}

/* The config from the image at image when it was made with key. */
static struct enact_config *from_image(const char *image, const struct config_image_key *key)
{
    size_t len = 0;
    void *block = image_file_read(image, IMAGE_MAX, &len);
    struct enact_config *cfg = block ? config_image_open(block, len, key) : NULL;
    if (cfg) {
        cfg->image = block;
        cfg->image_len = len;
        return cfg;
    }
    image_file_release(block, len);
    return NULL;
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
                                       struct config_diag *diag, struct file_identity *seen)
{
    char resolved[PATH_MAX], image[PATH_MAX];
    struct config_image_key key;
    struct file_identity id;
    const char *abs = plain_absolute(path) ? path : realpath(path, resolved);
    bool known = abs && file_identity_of(abs, &id);
    if (seen && known)
        *seen = id;
    else if (seen)
        memset(seen, 0xff, sizeof *seen);
    if (!known || !image_of(abs, &id, build, image, &key))
        return config_load(path, diag);
    struct enact_config *cfg = from_image(image, &key);
    if (cfg) {
        if (diag)
            *diag = (struct config_diag){0};
        return cfg;
    }
    int saved = errno;
    cfg = config_load(abs, diag);
    size_t len = 0;
    void *made = cfg ? config_image_build(cfg, &key, &len) : NULL;
    if (made)
        (void)image_file_write(image, made, len); /* the next process's; a failure costs it a parse */
    free(made);
    errno = saved;
    return cfg;
}

struct enact_config *config_cache_image(const char *abs_path, uint64_t build)
{
    char image[PATH_MAX];
    struct config_image_key key;
    struct file_identity id;
    return file_identity_of(abs_path, &id) && image_of(abs_path, &id, build, image, &key)
               ? from_image(image, &key)
               : NULL;
}
