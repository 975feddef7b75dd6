/* text.h — string helpers: whole-number parsing, bounded copies, URL
 * escaping, vectors of strings.  Included through util/util.h. */
#ifndef BB_UTIL_TEXT_H
#define BB_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a whole decimal int64 (optional leading '-'); 0 on success. */
int bb_parse_i64(const char *s, int64_t *out);
/* Copies src into dst[cap], always terminated; returns strlen(src). */
size_t bb_strlcpy(char *dst, const char *src, size_t cap);
/* malloc'd copy of s or NULL if s is NULL (caller frees); aborts never. */
char *bb_strdup_or_null(const char *s);
/* Percent-encodes s into out[cap] (always terminated; an escape is never
 * cut in half): RFC 3986 unreserved characters stay, and '/' too when
 * keep_slash.  Returns the length written. */
size_t bb_url_escape(char *out, size_t cap, const char *s, bool keep_slash);
/* The length bb_url_escape needs for all of s (terminator excluded). */
size_t bb_url_escaped_len(const char *s, bool keep_slash);
/* Copies s[0..len) into out[outlen] (terminated when outlen > 0) with
 * control characters, NUL included, shown as spaces: safe inside a
 * one-line message or log field.  Cut at outlen - 1 bytes. */
void bb_one_line(char *out, size_t outlen, const char *s, size_t len);
/* Frees n strings of v and v itself; v may be NULL. */
void bb_strv_free(char **v, size_t n);

#endif
