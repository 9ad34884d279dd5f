/* The compiled policy: each config's image (config_image.h) kept in a file
 * of the default state folder, so that a new process maps it instead of
 * reading and validating the INI (README "How a call flows").
 *
 * The image's file is named by the config's absolute path (as given when
 * it is plain, else its realpath) and keyed by
 * the INI's device, inode, size, mtime and ctime and by the build that
 * reads it (its build ID and its structures' layout):
 * an edited INI, or another enact build, makes the next process read the
 * INI again and write a new image (to a temporary file, renamed over the
 * old one, so that no process ever reads half of one). An image file is
 * used only when it is a regular file of this user that nobody else may
 * write (store/image_file.h); it is read into private memory, never mapped
 * from the file, so that a file cut short later cannot fault the process. A config that
 * reads other files (dry_run.response = @FILE) has no image. Any failure
 * (no folder, a full disk, a damaged image) falls back to the INI. */
#ifndef ENACT_CONFIG_CACHE_H
#define ENACT_CONFIG_CACHE_H

#include "config.h"
#include "../store/image_file.h"

/* The config at path, as config_load gives it; from its image when one
 * matches (diag then stays empty: the image was made from an INI that
 * loaded, and warnings are the CLI's to print), else from the INI, whose
 * image is then written for the next process. build names the program
 * that reads and writes images (the shim's GNU build ID, folded): a new
 * build may compute a config differently with the same structures, so it
 * never reads an older build's images. 0 (no build ID): no image.
 * seen (or NULL): the INI's identity as read before it was, for a watcher
 * (all bits set when it could not be had), from the one stat of a start. */
struct enact_config *config_cache_load(const char *path, uint64_t build,
                                       struct config_diag *diag, struct file_identity *seen);

/* The config at abs_path (absolute, symbolic links resolved: a config's
 * path) from its image alone, or NULL when none matches the INI as it is
 * now: nothing is parsed or allocated (system calls and a private
 * mapping), so that a caller that may be in a signal handler can use it. */
struct enact_config *config_cache_image(const char *abs_path, uint64_t build);

/* Where the image of the config at abs_path is kept. */
bool config_cache_path(const char *abs_path, char *out, size_t cap);

#endif
