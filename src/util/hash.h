/* hash.h — SHA-256 of a file, streamed (for artifacts and manifests). */
#ifndef BB_HASH_H
#define BB_HASH_H

#include <stdint.h>

/* Hashes the regular file at path (symlinks refused) into hex[65] (64
 * lower-case hex digits + NUL) and its size into *size (may be NULL).
 * Reads in 64 KiB blocks.  Returns 0, or -1 with errno set. */
int bb_sha256_file(const char *path, char hex[65], int64_t *size);

#endif
