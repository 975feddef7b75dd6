/* util.h — small helpers shared by every layer: time, strings, files,
 * UTF-8 checks.  No I/O beyond what each function names. */
#ifndef BB_UTIL_H
#define BB_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock in milliseconds since the epoch. */
int64_t bb_now_ms(void);
/* Monotonic clock in microseconds (for durations and deadlines). */
int64_t bb_mono_us(void);
/* Formats ms since epoch as "2026-11-22T05:00:00.123Z" into out[32]. */
void bb_iso8601(int64_t ms, char out[32]);

/* Sleeps ms milliseconds (resumed after signals). */
void bb_sleep_ms(long ms);
/* Sleeps ms milliseconds, looking at *cancel (may be NULL) every slice_ms;
 * returns false as soon as it is set, true after the full sleep. */
bool bb_sleep_cancelable(long ms, const atomic_bool *cancel, long slice_ms);

/* Parses a whole decimal int64 (optional leading '-'); 0 on success. */
int bb_parse_i64(const char *s, int64_t *out);
/* Copies src into dst[cap], always terminated; returns strlen(src). */
size_t bb_strlcpy(char *dst, const char *src, size_t cap);
/* malloc'd copy of s or NULL if s is NULL (caller frees); aborts never. */
char *bb_strdup_or_null(const char *s);
/* True if the bytes are valid UTF-8 (no overlongs, no surrogates). */
bool bb_utf8_valid(const char *s, size_t len);
/* Percent-encodes s into out[cap] (always terminated; an escape is never
 * cut in half): RFC 3986 unreserved characters stay, and '/' too when
 * keep_slash.  Returns the length written. */
size_t bb_url_escape(char *out, size_t cap, const char *s, bool keep_slash);
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
/* Frees n strings of v and v itself; v may be NULL. */
void bb_strv_free(char **v, size_t n);
/* Writes all len bytes of data to fd, resuming after short writes and
 * EINTR.  0, or -1 with errno set (EIO for a write of 0 bytes). */
int bb_write_all(int fd, const void *data, size_t len);
/* Reads a whole file up to max bytes into a malloc'd NUL-terminated
 * buffer (caller frees); NULL with errno set (EFBIG when over max). */
char *bb_read_file(const char *path, size_t max, size_t *len_out);

#endif

#ifndef BB_UTIL_H_EXTRA
#define BB_UTIL_H_EXTRA
/* Copy of s[0..len) with invalid UTF-8 replaced by U+FFFD and NUL bytes
 * dropped (caller frees); NULL on OOM. */
char *bb_utf8_sanitize(const char *s, size_t len);
#endif
