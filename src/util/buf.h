/* buf.h — growable byte buffer with a hard cap (like curl's dynbuf): a
 * client can never make us allocate without bound.  The buffer owns its
 * memory; buf_free() releases it; buf_take() hands it to the caller. */
#ifndef BB_BUF_H
#define BB_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;     /* NUL-terminated when non-NULL */
    size_t len;
    size_t alloc;
    size_t cap;     /* maximum len */
} buf;

void buf_init(buf *b, size_t cap);
/* Return 0, or -1 when the cap would be exceeded or memory is short (the
 * buffer is unchanged then). */
int buf_append(buf *b, const void *data, size_t len);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal including quotes. */
int buf_json_str(buf *b, const char *s);
void buf_reset(buf *b);
void buf_free(buf *b);
/* Returns the data (caller frees; never NULL on success: "" for empty)
 * and resets the buffer. */
char *buf_take(buf *b);

#endif
