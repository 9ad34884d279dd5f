/* A loaded config as one flat block: what a process maps instead of
 * reading and validating the INI again (config_cache.h, README "How a call
 * flows"). Every pointer of the config is stored as an offset from the
 * block's start (0: NULL); opening a block turns them back into pointers,
 * in place, after checking that each one, with what it points to, lies
 * inside the block. A block comes from a file: nothing in it is trusted. */
#ifndef ENACT_CONFIG_IMAGE_H
#define ENACT_CONFIG_IMAGE_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define CONFIG_IMAGE_MAGIC "ENACTPOL"

/* What an image was made from: a different one is a different config. */
struct config_image_key {
    uint64_t layout; /* config_image_layout() and the reader's build (config_cache.h) */
    uint64_t dev, ino, size, mtime_ns, ctime_ns; /* the INI file, as stat() saw it */
};

struct config_image_header {
    char magic[8];
    uint32_t header_size;
    uint32_t reserved;
    uint64_t total; /* bytes, header included */
    struct config_image_key key;
    uint64_t root;  /* offset of the struct enact_config */
    uint64_t check; /* config_image_check of the whole block, this field as 0 */
};

/* The layout signature: the sizes and offsets of the structures an image
 * holds, so that a block written by another build is never misread. */
uint64_t config_image_layout(void);

/* The checksum of an image of len bytes, header included, its check field
 * counted as zero: a damaged image (a bit flipped on disk, in the header or
 * the body; a file cut and grown again) is refused before any of it is
 * read. Not a defence against its owner, who may write any image. */
uint64_t config_image_check(const void *block, size_t len);

/* cfg flattened into a new malloc'd block (*len bytes); NULL when out of
 * memory or when cfg read other files than its INI (read_other_files: an
 * image would not see them change). */
void *config_image_build(const struct enact_config *cfg, const struct config_image_key *key,
                         size_t *len);

/* The config in block (len writable bytes), its pointers made absolute;
 * NULL when the block is not an image of want or is damaged anywhere. The
 * config lives in the block: config_free leaves it alone (image_owned). */
struct enact_config *config_image_open(void *block, size_t len,
                                       const struct config_image_key *want);

#endif
