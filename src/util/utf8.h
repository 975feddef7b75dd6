/* utf8.h — UTF-8 validation and repair.  Included through util/util.h. */
#ifndef BB_UTIL_UTF8_H
#define BB_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if the bytes are valid UTF-8 (no overlongs, no surrogates). */
bool bb_utf8_valid(const char *s, size_t len);
/* Copy of s[0..len) with invalid UTF-8 replaced by U+FFFD and NUL bytes
 * dropped (caller frees); NULL on OOM. */
char *bb_utf8_sanitize(const char *s, size_t len);

#endif
