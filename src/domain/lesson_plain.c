/* lesson_plain.c — the plain text of lesson Markdown (lesson_plain() in
 * lesson.h): emphasis, links, code spans, HTML tags and comments and
 * character references removed or resolved, in one linear pass.  Used by
 * the parser (lesson.c) for every name and spoken line.  No I/O. */
#include "domain/lesson.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lesson_int.h"


/* Position of the first c in s[from..n), or n.  *cache keeps the last
 * answer (SIZE_MAX: none yet); with non-decreasing `from` the total work
 * stays linear in n. */
static size_t next_char(const char *s, size_t n, size_t from, char c,
                        size_t *cache)
{
    const char *q;

    if (*cache != SIZE_MAX && *cache >= from)
        return *cache;
    if (from >= n)
        return *cache = n;
    q = memchr(s + from, c, n - from);
    *cache = q != NULL ? (size_t)(q - s) : n;
    return *cache;
}

/* Position of the first "-->" in s[from..n), or n; cached like next_char. */
static size_t next_comment_end(const char *s, size_t n, size_t from,
                               size_t *cache)
{
    size_t j;

    if (*cache != SIZE_MAX && *cache >= from)
        return *cache;
    for (j = from; j + 3 <= n; j++)
        if (s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '>')
            return *cache = j;
    return *cache = n;
}

/* Writes code point cp as UTF-8 into out; returns the byte count. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static const struct {
    const char *name;
    uint32_t cp;
} entities[] = {
    {"amp", '&'},      {"lt", '<'},         {"gt", '>'},
    {"quot", '"'},     {"apos", '\''},      {"nbsp", 0xA0},
    {"mdash", 0x2014}, {"ndash", 0x2013},   {"hellip", 0x2026},
    {"lsquo", 0x2018}, {"rsquo", 0x2019},   {"ldquo", 0x201C},
    {"rdquo", 0x201D},
};

/* Decodes the entity starting at s[i] == '&'.  Returns the number of
 * bytes it spans (with *cp set), or 0 when it is not one we decode.  Every
 * decoded entity is longer than its UTF-8 encoding. */
static size_t entity_at(const char *s, size_t n, size_t i, uint32_t *cp)
{
    size_t j = i + 1, k, digits = 0;
    uint32_t v = 0;

    if (j < n && s[j] == '#') {
        bool hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');

        j += hex ? 2 : 1;
        while (j < n && digits < (hex ? 6u : 7u)) {
            int c = (unsigned char)s[j], d;

            if (is_digit(c))
                d = c - '0';
            else if (hex && lower(c) >= 'a' && lower(c) <= 'f')
                d = lower(c) - 'a' + 10;
            else
                break;
            v = v * (hex ? 16u : 10u) + (uint32_t)d;
            digits++;
            j++;
        }
        if (digits == 0 || j >= n || s[j] != ';')
            return 0;
        if (v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) ||
            (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
            return 0;
        *cp = v;
        return j + 1 - i;
    }
    for (k = j; k < n && k - j < 8 && is_alpha((unsigned char)s[k]); k++)
        ;
    if (k == j || k >= n || s[k] != ';')
        return 0;
    for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++)
        if (ieq(s + j, k - j, entities[e].name) &&
            memcmp(s + j, entities[e].name, k - j) == 0) {
            *cp = entities[e].cp;
            return k + 1 - i;
        }
    return 0;
}

/* True if the HTML tag starting at s[i] == '<' is one that separates
 * words (br, p, div, li, tr, td, th, h1-h6), opening or closing. */
static bool tag_breaks_words(const char *s, size_t n, size_t i)
{
    static const char *const names[] = {"br", "p", "div", "li", "tr",
                                        "td", "th", "h1", "h2", "h3",
                                        "h4", "h5", "h6"};
    size_t j = i + 1, k;

    if (j < n && s[j] == '/')
        j++;
    for (k = j; k < n && (is_alpha((unsigned char)s[k]) ||
                          is_digit((unsigned char)s[k]));
         k++)
        ;
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++)
        if (ieq(s + j, k - j, names[t]))
            return true;
    return false;
}

/* Writes the plain form of s[0..n) into out (room for n + 1 bytes) and
 * returns its length.  See lesson_plain() and docs/lesson-format.md. */
size_t lesson_plain_into(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    size_t c_rbr = SIZE_MAX, c_lbr = SIZE_MAX, c_rpar = SIZE_MAX;
    size_t c_gt = SIZE_MAX, c_lt = SIZE_MAX, c_cend = SIZE_MAX;
    size_t link_close = SIZE_MAX, link_resume = 0;
    bool space = false;

#define EMIT(ch)                                                           \
    do {                                                                   \
        if (space && o > 0)                                                \
            out[o++] = ' ';                                                \
        space = false;                                                     \
        out[o++] = (char)(ch);                                             \
    } while (0)

    while (i < n) {
        int c = (unsigned char)s[i];

        if (link_close != SIZE_MAX && i >= link_close) {
            if (i == link_close) { /* "](url)": the link's target */
                i = link_resume;
                link_close = SIZE_MAX;
                continue;
            }
            link_close = SIZE_MAX; /* jumped past it (a tag, an escape) */
        }
        if (is_space(c)) {
            space = true;
            i++;
        } else if (c == '\\' && i + 1 < n &&
                   is_punct((unsigned char)s[i + 1])) {
            EMIT(s[i + 1]);
            i += 2;
        } else if (c == '`') {
            while (i < n && s[i] == '`')
                i++;
        } else if (c == '*' || c == '_' || c == '~') {
            size_t r = 0;
            int prev = i > 0 ? (unsigned char)s[i - 1] : ' ';
            int next;
            bool keep;

            while (i + r < n && s[i + r] == (char)c)
                r++;
            next = i + r < n ? (unsigned char)s[i + r] : ' ';
            if (c == '~' && r < 2)
                keep = true; /* "~5 minutes" */
            else if (c == '_' && is_word_byte(prev) && is_word_byte(next))
                keep = true; /* snake_case */
            else
                keep = is_space(prev) && is_space(next); /* "5 * 3" */
            if (keep)
                for (size_t k = 0; k < r; k++)
                    EMIT(c);
            i += r;
        } else if (c == '<') {
            int d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
            int d2 = i + 2 < n ? (unsigned char)s[i + 2] : 0;

            if (starts_with(s + i, n - i, "<!--")) {
                size_t e = next_comment_end(s, n, i + 4, &c_cend);

                if (e < n) {
                    i = e + 3;
                    continue;
                }
            } else if (is_alpha(d) || (d == '/' && is_alpha(d2)) ||
                       d == '!' || d == '?') {
                size_t gt = next_char(s, n, i + 1, '>', &c_gt);
                size_t lt = next_char(s, n, i + 1, '<', &c_lt);

                if (gt < n && lt > gt) {
                    if (tag_breaks_words(s, n, i))
                        space = true;
                    i = gt + 1;
                    continue;
                }
            }
            EMIT(c);
            i++;
        } else if (c == '&') {
            uint32_t cp = 0;
            size_t len = entity_at(s, n, i, &cp);

            if (len == 0) {
                EMIT(c);
                i++;
            } else if (cp == 0xA0 || cp == ' ') {
                space = true;
                i += len;
            } else {
                char u[4];
                size_t ul = put_utf8(u, cp);

                for (size_t k = 0; k < ul; k++)
                    EMIT(u[k]);
                i += len;
            }
        } else if ((c == '[' || (c == '!' && i + 1 < n && s[i + 1] == '[')) &&
                   link_close == SIZE_MAX) {
            /* [label](target) or ![alt](src): keep the label.  A label
             * holds no '[' and the target ends at the first ')'. */
            size_t at = c == '[' ? i : i + 1;
            size_t rb = next_char(s, n, at + 1, ']', &c_rbr);
            size_t lb = next_char(s, n, at + 1, '[', &c_lbr);

            if (rb < n && lb > rb && rb + 1 < n && s[rb + 1] == '(') {
                size_t rp = next_char(s, n, rb + 2, ')', &c_rpar);

                if (rp < n) {
                    link_close = rb;
                    link_resume = rp + 1;
                    i = at + 1;
                    continue;
                }
            }
            EMIT(c);
            i++;
        } else {
            EMIT(c);
            i++;
        }
    }
#undef EMIT
    out[o] = '\0';
    return o;
}

char *lesson_plain(const char *md, size_t len)
{
    char *out = malloc(len + 1);

    if (out == NULL)
        return NULL;
    if (md == NULL)
        len = 0;
    lesson_plain_into(md, len, out);
    return out;
}
