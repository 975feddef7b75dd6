/* lesson_int.h — what the lesson files share and nothing else includes:
 * the byte classes and small string tests of the parser (lesson.c), the
 * plain-text extractor (lesson_plain.c) and the speech segments
 * (lesson_speech.c).  ASCII only: every non-ASCII byte is neither space,
 * letter, digit nor punctuation. */
#ifndef BB_DOMAIN_LESSON_INT_H
#define BB_DOMAIN_LESSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool is_blank_char(int c)
{
    return c == ' ' || c == '\t';
}

static inline bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static inline bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_punct(int c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* A letter or digit, counting every non-ASCII byte as a letter. */
static inline bool is_word_byte(int c)
{
    return is_alpha(c) || is_digit(c) || c >= 0x80;
}

static inline int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* True if s[0..n) equals the NUL-terminated lowercase word w, ignoring
 * ASCII case. */
static inline bool ieq(const char *s, size_t n, const char *w)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (w[i] == '\0' || lower((unsigned char)s[i]) != w[i])
            return false;
    return w[n] == '\0';
}

static inline bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);

    return n >= k && memcmp(s, prefix, k) == 0;
}

/* Writes the plain text of the Markdown s[0..n) into out (room for n + 1
 * bytes; the result is never longer) and returns its length
 * (lesson_plain.c; what lesson_plain() documents). */
size_t lesson_plain_into(const char *s, size_t n, char *out);

struct lesson_error;
/* Records an error (line, printf-style message) in err when err is not
 * NULL; returns -1 (lesson.c). */
__attribute__((format(printf, 3, 4))) int
lesson_set_error(struct lesson_error *err, unsigned line, const char *fmt, ...);

#endif
