/* text.c — string helpers: integer parsing, bounded copies, URL
 * escaping, string vectors (see text.h). */
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

int bb_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!*p || strlen(p) > 18)
        return -1;
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

size_t bb_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (cap) {
        size_t c = n < cap - 1 ? n : cap - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

char *bb_strdup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* RFC 3986 unreserved, and '/' when keep_slash: left as it is. */
static bool url_keep(unsigned char c, bool keep_slash)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
}

size_t bb_url_escaped_len(const char *s, bool keep_slash)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += url_keep(*p, keep_slash) ? 1 : 3;
    return n;
}

size_t bb_url_escape(char *out, size_t cap, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = url_keep(*p, keep_slash);
        if (n + (keep ? 1 : 3) >= cap)
            break;
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return n;
}

void bb_one_line(char *out, size_t outlen, const char *s, size_t len)
{
    size_t k = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < len && k + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    out[k] = '\0';
}

void bb_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
