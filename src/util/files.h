/* files.h — file and directory helpers: mkdir -p, rm -r, sorted directory
 * listings, whole-buffer writes and whole-file reads, content types by
 * extension.  No I/O beyond what each function names.  Included through
 * util/util.h. */
#ifndef BB_UTIL_FILES_H
#define BB_UTIL_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Content type from a file name's extension; never NULL (borrowed). */
const char *bb_content_type_for(const char *name);

/* mkdir -p with mode 0755 (0700 for the leaf when private); 0 or -1/errno. */
int bb_mkdirs(const char *path, bool private_leaf);
/* Removes a directory tree (no symlink following); 0 or -1. */
int bb_rmtree(const char *path);
/* The entries of directory dir ("." and ".." never; other names starting
 * with '.' only when !skip_hidden), sorted bytewise, at most max of them
 * (E2BIG beyond).  On success *names is a malloc'd array of *n malloc'd
 * strings (caller frees with bb_strv_free); -1 with errno otherwise. */
int bb_dir_names(const char *dir, bool skip_hidden, size_t max, char ***names, size_t *n);
/* Writes all len bytes of data to fd, resuming after short writes and
 * EINTR.  0, or -1 with errno set (EIO for a write of 0 bytes). */
int bb_write_all(int fd, const void *data, size_t len);
/* Reads a whole file up to max bytes into a malloc'd NUL-terminated
 * buffer (caller frees); NULL with errno set (EFBIG when over max). */
char *bb_read_file(const char *path, size_t max, size_t *len_out);

#endif
