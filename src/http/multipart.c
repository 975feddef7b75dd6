/* multipart.c — streaming multipart/form-data parser (RFC 7578, RFC 2046)
 * and the Content-Type boundary parser.  The grammar decisions, limits and
 * the O(n) argument are in multipart.h. */
#include "http/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
    ST_PREAMBLE,       /* looking for the first delimiter, discarding */
    ST_AFTER_DELIM,    /* just after "--boundary" */
    ST_CLOSE_DASH,     /* after "--boundary-" */
    ST_PADDING,        /* transport padding after the delimiter */
    ST_DELIM_CR,       /* CR ending the delimiter line; LF must follow */
    ST_HDR_LINE_START, /* at the start of a header line */
    ST_HDR_LINE,       /* inside a header line */
    ST_HDR_CR,         /* CR ending a header line */
    ST_HDR_END_CR,     /* CR of the blank line ending the headers */
    ST_BODY,           /* part data, looking for the delimiter */
    ST_EPILOGUE,       /* after the close delimiter: ignore everything */
    ST_FINISHED,       /* multipart_finish() was called */
};

/* ------------------------------------------------------------ helpers */

static enum mp_status fail(struct multipart *mp, enum mp_status st,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error and its message; returns the recorded code. */
static enum mp_status fail(struct multipart *mp, enum mp_status st,
                           const char *fmt, ...)
{
    va_list ap;

    if (mp->err != MP_OK)
        return mp->err;
    mp->err = st;
    va_start(ap, fmt);
    if (vsnprintf(mp->msg, sizeof mp->msg, fmt, ap) < 0)
        mp->msg[0] = '\0';
    va_end(ap);
    return st;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive compare of s[0..n) with the NUL-terminated lit. */
static bool ci_eq(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lit[i] == '\0' ||
            lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
            return false;
    return lit[n] == '\0';
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 bcharsnospace. */
static bool is_bchar_nospace(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("'()+_,-./:=?", c) != NULL;
}

static bool boundary_valid(const char *b, size_t n)
{
    size_t i;

    if (n == 0 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
        return false;
    for (i = 0; i < n; i++)
        if (b[i] != ' ' && !is_bchar_nospace((unsigned char)b[i]))
            return false;
    return true;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ------------------------------------------------ header parameters */

enum { PARAM_NONE = 0, PARAM_OK = 1, PARAM_BAD = -1, PARAM_END = 2 };

/* Parses one parameter; *pp points just after its ';'.  Sets the name span
 * and copies the value (quotes removed, escapes applied) into val[cap];
 * *too_long is set when it did not fit (val then holds a prefix), *quoted
 * when it was a quoted string.  On
 * success *pp points at the next ';' or the terminating NUL.  Returns
 * PARAM_OK, PARAM_NONE for an empty parameter (";;", trailing ';') or
 * PARAM_BAD on a syntax error. */
static int next_param(const char **pp, const char **name, size_t *nlen,
                      char *val, size_t cap, bool *too_long, bool *quoted)
{
    const char *p = *pp;
    size_t w = 0;

    *too_long = false;
    *quoted = false;
    while (is_ows(*p))
        p++;
    if (*p == ';' || *p == '\0') {
        *pp = p;
        return PARAM_NONE;
    }
    *name = p;
    while (is_tchar((unsigned char)*p) && *p != '*')
        p++;
    if (*p == '*') /* the RFC 5987 extended-parameter marker */
        p++;
    *nlen = (size_t)(p - *name);
    if (*nlen == 0)
        return PARAM_BAD;
    while (is_ows(*p))
        p++;
    if (*p != '=')
        return PARAM_BAD;
    p++;
    while (is_ows(*p))
        p++;
    if (*p == '"') {
        *quoted = true;
        p++;
        for (;;) {
            char c = *p;
            if (c == '\0')
                return PARAM_BAD; /* unterminated quoted string */
            if (c == '"') {
                p++;
                break;
            }
            if (c == '\\' && (p[1] == '"' || p[1] == '\\'))
                c = *++p;
            if (w + 1 < cap)
                val[w++] = c;
            else
                *too_long = true;
            p++;
        }
        while (is_ows(*p))
            p++;
        if (*p != ';' && *p != '\0')
            return PARAM_BAD;
    } else {
        const char *start = p, *end;
        while (*p != ';' && *p != '\0')
            p++;
        end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        if (end == start)
            return PARAM_BAD;
        w = (size_t)(end - start);
        if (w >= cap) {
            *too_long = true;
            w = cap - 1;
        }
        memcpy(val, start, w);
    }
    val[w] = '\0';
    *pp = p;
    return PARAM_OK;
}

/* The next ";param" of a header value: PARAM_END when *pp is not at a
 * ';', else next_param's answer for what follows it. */
static int next_item(const char **pp, const char **name, size_t *nlen, char *val, size_t cap,
                     bool *too_long, bool *quoted)
{
    if (**pp != ';')
        return PARAM_END;
    (*pp)++;
    return next_param(pp, name, nlen, val, cap, too_long, quoted);
}

/* Skips the type token at *pp if it is `want` (case-insensitive) and the
 * spaces after it; false (and *pp unchanged) otherwise. */
static bool take_type(const char **pp, const char *want)
{
    const char *p = *pp, *t = p;
    while (*p != '\0' && *p != ';' && !is_ows(*p))
        p++;
    if (!ci_eq(t, (size_t)(p - t), want))
        return false;
    while (is_ows(*p))
        p++;
    *pp = p;
    return true;
}

/* ------------------------------------------------- Content-Type header */

enum mp_status multipart_boundary_from_content_type(const char *ct, char *out,
                                                    size_t cap)
{
    const char *p = ct;
    char val[MP_BOUNDARY_MAX + 2];
    bool found = false;

    if (out == NULL || cap == 0)
        return MP_ERR_BOUNDARY;
    out[0] = '\0';
    if (ct == NULL)
        return MP_ERR_MEDIA_TYPE;
    while (is_ows(*p))
        p++;
    if (!take_type(&p, "multipart/form-data"))
        return MP_ERR_MEDIA_TYPE;
    if (*p != ';' && *p != '\0')
        return MP_ERR_MEDIA_TYPE;
    for (;;) {
        const char *name = NULL;
        size_t nlen = 0, vlen;
        bool too_long, quoted;
        int r = next_item(&p, &name, &nlen, val, sizeof val, &too_long, &quoted);

        if (r == PARAM_END)
            break;
        if (r == PARAM_BAD)
            goto bad;
        if (r == PARAM_NONE || !ci_eq(name, nlen, "boundary"))
            continue;
        vlen = strlen(val);
        /* An unquoted value is a token: no spaces (RFC 2045). */
        if (found || too_long || !boundary_valid(val, vlen) ||
            (!quoted && strchr(val, ' ') != NULL) || vlen + 1 > cap)
            goto bad;
        memcpy(out, val, vlen + 1);
        found = true;
    }
    if (*p == '\0' && found)
        return MP_OK;
bad:
    out[0] = '\0';
    return MP_ERR_BOUNDARY;
}

/* ------------------------------------------------------ part headers */

enum { EXT_IGNORE = 0, EXT_OK = 1, EXT_NUL = -1, EXT_LONG = -2 };

/* Decodes an RFC 5987 ext-value (charset'lang'pct-encoded) into out[cap]:
 * UTF-8 bytes kept as they are, ISO-8859-1 converted to UTF-8.  Returns
 * EXT_OK, EXT_IGNORE when unparseable, EXT_NUL for an encoded NUL or
 * EXT_LONG when it does not fit. */
static int decode_ext_value(const char *v, char *out, size_t cap)
{
    const char *q1 = strchr(v, '\''), *q2, *p;
    bool latin1;
    size_t w = 0;

    if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
        return EXT_IGNORE;
    if (ci_eq(v, (size_t)(q1 - v), "utf-8"))
        latin1 = false;
    else if (ci_eq(v, (size_t)(q1 - v), "iso-8859-1"))
        latin1 = true;
    else
        return EXT_IGNORE;
    for (p = q2 + 1; *p != '\0'; p++) {
        unsigned c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval((unsigned char)p[1]), lo;
            if (hi < 0 || (lo = hexval((unsigned char)p[2])) < 0)
                return EXT_IGNORE;
            c = (unsigned)(hi * 16 + lo);
            p += 2;
        }
        if (c == 0)
            return EXT_NUL;
        if (latin1 && c >= 0x80) {
            if (w + 2 >= cap)
                return EXT_LONG;
            out[w++] = (char)(0xC0 | (c >> 6));
            out[w++] = (char)(0x80 | (c & 0x3F));
            continue;
        }
        if (w + 1 >= cap)
            return EXT_LONG;
        out[w++] = (char)c;
    }
    out[w] = '\0';
    return EXT_OK;
}

/* Stores the value of a plain disposition parameter (param: its name,
 * what: how messages call it) into dst (cap bytes, the limit reported
 * being cap - 1), refusing a repeat or a value too long. */
static enum mp_status take_param(struct multipart *mp, const char *param, const char *what,
                                 const char *val, size_t vlen, bool too_long, char *dst,
                                 size_t cap, bool *seen)
{
    if (*seen)
        return fail(mp, MP_ERR_SYNTAX, "part %u: repeated %s parameter", mp->parts, param);
    if (too_long || vlen >= cap)
        return fail(mp, MP_ERR_HEADER_VALUE, "part %u: %s longer than %d bytes", mp->parts,
                    what, (int)cap - 1);
    memcpy(dst, val, vlen + 1);
    *seen = true;
    return MP_OK;
}

/* Parses a Content-Disposition value into mp->name / filename /
 * filename_star. */
static enum mp_status parse_disposition(struct multipart *mp, const char *v)
{
    /* The whole header fits in line[], so any value fits here. */
    char val[MP_HEADER_LINE_MAX + 1];
    const char *p = v;
    unsigned part = mp->parts;

    if (!take_type(&p, "form-data"))
        return fail(mp, MP_ERR_SYNTAX,
                    "part %u: Content-Disposition is not form-data", part);
    for (;;) {
        const char *name = NULL;
        size_t nlen = 0, vlen;
        bool too_long, quoted;
        int r = next_item(&p, &name, &nlen, val, sizeof val, &too_long, &quoted);

        if (r == PARAM_END || r == PARAM_BAD)
            break;
        if (r == PARAM_NONE)
            continue;
        vlen = strlen(val);
        if (ci_eq(name, nlen, "name")) {
            if (take_param(mp, "name", "field name", val, vlen, too_long, mp->name,
                           sizeof mp->name, &mp->has_name) != MP_OK)
                return mp->err;
        } else if (ci_eq(name, nlen, "filename")) {
            if (take_param(mp, "filename", "filename", val, vlen, too_long, mp->filename,
                           sizeof mp->filename, &mp->has_filename) != MP_OK)
                return mp->err;
        } else if (ci_eq(name, nlen, "filename*")) {
            int d;
            if (mp->has_filename_star)
                return fail(mp, MP_ERR_SYNTAX,
                            "part %u: repeated filename* parameter", part);
            mp->has_filename_star = true;
            d = too_long ? EXT_LONG
                         : decode_ext_value(val, mp->filename_star,
                                            sizeof mp->filename_star);
            if (d == EXT_NUL)
                return fail(mp, MP_ERR_SYNTAX,
                            "part %u: filename* contains a NUL byte", part);
            if (d == EXT_LONG)
                return fail(mp, MP_ERR_HEADER_VALUE,
                            "part %u: filename longer than %d bytes", part,
                            MP_FILENAME_MAX - 1);
            /* EXT_IGNORE: unparseable, ignored (RFC 6266 section 4.3). */
            mp->filename_star_ok = d == EXT_OK;
        }
        /* Other parameters are ignored, whatever their length. */
    }
    if (*p != '\0')
        return fail(mp, MP_ERR_SYNTAX,
                    "part %u: malformed Content-Disposition parameters", part);
    return MP_OK;
}

/* A delimiter line followed by something other than "--", spaces or EOL. */
static void unexpected_after_boundary(struct multipart *mp)
{
    fail(mp, MP_ERR_SYNTAX, "unexpected byte after boundary %u", mp->parts + 1);
}

/* Processes the complete (unfolded) header in mp->line. */
static enum mp_status process_header(struct multipart *mp)
{
    char *line = mp->line, *colon, *v, *end;
    size_t nlen;
    unsigned part = mp->parts;

    line[mp->line_len] = '\0';
    mp->pending = false;
    colon = memchr(line, ':', mp->line_len);
    if (colon == NULL)
        return fail(mp, MP_ERR_SYNTAX, "part %u: header line without ':'",
                    part);
    nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)line[i]))
            nlen = 0;
    if (nlen == 0)
        return fail(mp, MP_ERR_SYNTAX, "part %u: malformed header name",
                    part);
    v = colon + 1;
    while (is_ows(*v))
        v++;
    end = line + mp->line_len;
    while (end > v && is_ows(end[-1]))
        end--;
    *end = '\0';
    if (ci_eq(line, nlen, "content-disposition")) {
        if (mp->has_cd)
            return fail(mp, MP_ERR_SYNTAX,
                        "part %u: repeated Content-Disposition header", part);
        mp->has_cd = true;
        return parse_disposition(mp, v);
    }
    if (ci_eq(line, nlen, "content-type")) {
        size_t vlen = (size_t)(end - v);
        if (mp->has_ct)
            return fail(mp, MP_ERR_SYNTAX,
                        "part %u: repeated Content-Type header", part);
        if (vlen >= sizeof mp->content_type)
            return fail(mp, MP_ERR_HEADER_VALUE,
                        "part %u: Content-Type longer than %d bytes", part,
                        MP_CTYPE_MAX - 1);
        memcpy(mp->content_type, v, vlen + 1);
        mp->has_ct = true;
    }
    return MP_OK;
}

/* A delimiter line ended: a new part's headers follow. */
static enum mp_status begin_headers(struct multipart *mp)
{
    if (mp->parts >= MP_PARTS_MAX)
        return fail(mp, MP_ERR_TOO_MANY_PARTS, "more than %d parts",
                    MP_PARTS_MAX);
    mp->parts++;
    mp->state = ST_HDR_LINE_START;
    mp->line_len = 0;
    mp->hdr_bytes = 0;
    mp->pending = false;
    mp->has_cd = mp->has_ct = mp->has_name = false;
    mp->has_filename = mp->has_filename_star = mp->filename_star_ok = false;
    mp->name[0] = mp->filename[0] = mp->filename_star[0] = '\0';
    mp->content_type[0] = '\0';
    return MP_OK;
}

/* The blank line ended the headers: announce the part. */
static enum mp_status end_headers(struct multipart *mp)
{
    struct mp_part_headers h;
    int rc;

    if (mp->pending && process_header(mp) != MP_OK)
        return mp->err;
    if (!mp->has_cd || !mp->has_name)
        return fail(mp, MP_ERR_SYNTAX,
                    "part %u: no Content-Disposition: form-data header with "
                    "a name", mp->parts);
    h.name = mp->name;
    h.filename = mp->filename_star_ok ? mp->filename_star
                 : mp->has_filename   ? mp->filename
                                      : NULL;
    h.content_type = mp->has_ct ? mp->content_type : NULL;
    h.index = mp->parts - 1;
    mp->state = ST_BODY;
    mp->k = 0;
    if (mp->cb.on_part_begin && (rc = mp->cb.on_part_begin(mp->ud, &h)) != 0) {
        mp->cb_rc = rc;
        return fail(mp, MP_ERR_ABORTED, "part %u: aborted by the receiver",
                    mp->parts);
    }
    return MP_OK;
}

/* Appends one byte to the header line. */
static enum mp_status line_add(struct multipart *mp, char c)
{
    if (mp->line_len >= MP_HEADER_LINE_MAX)
        return fail(mp, MP_ERR_HEADER_LINE,
                    "part %u: header line longer than %d bytes", mp->parts,
                    MP_HEADER_LINE_MAX);
    mp->line[mp->line_len++] = c;
    return MP_OK;
}

/* One byte of a part's header block. */
static enum mp_status header_byte(struct multipart *mp, char c)
{
    if (++mp->hdr_bytes > MP_HEADERS_MAX)
        return fail(mp, MP_ERR_HEADERS_SIZE,
                    "part %u: headers longer than %d bytes", mp->parts,
                    MP_HEADERS_MAX);
    if (c == '\0')
        return fail(mp, MP_ERR_SYNTAX, "part %u: NUL byte in the headers",
                    mp->parts);
    switch (mp->state) {
    case ST_HDR_LINE_START:
        if (c == '\r') {
            mp->state = ST_HDR_END_CR;
            return MP_OK;
        }
        if (c == '\n')
            return end_headers(mp);
        if (is_ows(c)) {
            if (!mp->pending)
                return fail(mp, MP_ERR_SYNTAX,
                            "part %u: continuation line without a header",
                            mp->parts);
            mp->state = ST_HDR_LINE; /* obs-fold: the line goes on */
            return line_add(mp, ' ');
        }
        if (mp->pending && process_header(mp) != MP_OK)
            return mp->err;
        mp->line_len = 0;
        mp->pending = true;
        mp->state = ST_HDR_LINE;
        return line_add(mp, c);
    case ST_HDR_LINE:
        if (c == '\r')
            mp->state = ST_HDR_CR;
        else if (c == '\n')
            mp->state = ST_HDR_LINE_START;
        else
            return line_add(mp, c);
        return MP_OK;
    case ST_HDR_CR:
        if (c != '\n')
            return fail(mp, MP_ERR_SYNTAX,
                        "part %u: CR without LF in the headers", mp->parts);
        mp->state = ST_HDR_LINE_START;
        return MP_OK;
    default: /* ST_HDR_END_CR */
        if (c != '\n')
            return fail(mp, MP_ERR_SYNTAX,
                        "part %u: CR without LF in the headers", mp->parts);
        return end_headers(mp);
    }
}

/* ------------------------------------------------- delimiter search */

static enum mp_status emit(struct multipart *mp, const char *d, size_t n)
{
    int rc;

    if (n == 0 || mp->cb.on_part_data == NULL)
        return MP_OK;
    rc = mp->cb.on_part_data(mp->ud, d, n);
    if (rc != 0) {
        mp->cb_rc = rc;
        return fail(mp, MP_ERR_ABORTED, "part %u: aborted by the receiver",
                    mp->parts);
    }
    return MP_OK;
}

/* Scans p[i..len) for the delimiter, passing part data on when `data` (in
 * the preamble it is dropped).  mp->k bytes of a match that began in an
 * earlier feed are pending; their content is delim[0..k).  Returns the
 * index just past a complete delimiter (mp->k reset to 0, *found set), or
 * len with mp->k holding the partial match at the end of the chunk.
 *
 * Invariant: the bytes not yet passed on are the run p[start..) of this
 * chunk minus its matched tail, preceded by `carry` matched bytes from
 * earlier feeds.  While carry > 0 the match covers all of p[start..i), so
 * released carried bytes never overtake chunk data. */
static size_t scan(struct multipart *mp, const char *p, size_t len, size_t i,
                   bool data, bool *found)
{
    const char *delim = mp->delim;
    size_t k = mp->k, carry = k, start = i, dlen = mp->dlen;

    *found = false;
    while (i < len) {
        size_t nk, released;
        unsigned char c;

        if (k == 0) {
            const char *cr = memchr(p + i, '\r', len - i);
            if (cr == NULL) {
                i = len;
                break;
            }
            i = (size_t)(cr - p);
        }
        c = (unsigned char)p[i++];
        /* No proper border of the delimiter exists (only delim[0] is CR),
         * so a mismatch restarts at 1 on CR, else at 0. */
        nk = c == (unsigned char)delim[k] ? k + 1 : c == '\r' ? 1 : 0;
        released = k + 1 - nk;
        if (released > 0 && carry > 0) {
            size_t r = released < carry ? released : carry;
            if (data && emit(mp, delim, r) != MP_OK)
                return len;
            carry -= r;
        }
        k = nk;
        if (k == dlen) {
            if (data && emit(mp, p + start, i - dlen + carry - start) != MP_OK)
                return len;
            mp->k = 0;
            *found = true;
            return i;
        }
    }
    if (data && emit(mp, p + start, len - (k - carry) - start) != MP_OK)
        return len;
    mp->k = k;
    return len;
}

/* ------------------------------------------------------------ public */

enum mp_status multipart_init(struct multipart *mp, const char *boundary,
                              const struct mp_callbacks *cb, void *ud)
{
    size_t n = boundary ? strlen(boundary) : 0;

    memset(mp, 0, offsetof(struct multipart, line));
    mp->line[0] = mp->name[0] = mp->filename[0] = '\0';
    mp->filename_star[0] = mp->content_type[0] = mp->msg[0] = '\0';
    if (cb != NULL)
        mp->cb = *cb;
    mp->ud = ud;
    mp->state = ST_PREAMBLE;
    if (!boundary_valid(boundary ? boundary : "", n))
        return fail(mp, MP_ERR_BOUNDARY, "invalid multipart boundary");
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, n + 1);
    mp->dlen = n + 4;
    /* The body may open with "--boundary": act as if a CRLF came first. */
    mp->k = 2;
    return MP_OK;
}

enum mp_status multipart_feed(struct multipart *mp, const void *data,
                              size_t len)
{
    const char *p = data;
    size_t i = 0;
    bool found;

    if (mp->err != MP_OK)
        return mp->err;
    if (mp->state == ST_FINISHED)
        return fail(mp, MP_ERR_STATE, "data after the end of the body");
    while (i < len && mp->err == MP_OK) {
        char c;

        switch (mp->state) {
        case ST_PREAMBLE:
        case ST_BODY:
            i = scan(mp, p, len, i, mp->state == ST_BODY, &found);
            if (found && mp->err == MP_OK) {
                if (mp->state == ST_BODY && mp->cb.on_part_end) {
                    int rc = mp->cb.on_part_end(mp->ud);
                    if (rc != 0) {
                        mp->cb_rc = rc;
                        fail(mp, MP_ERR_ABORTED,
                             "part %u: aborted by the receiver", mp->parts);
                        break;
                    }
                }
                mp->state = ST_AFTER_DELIM;
            }
            break;
        case ST_EPILOGUE:
            i = len;
            break;
        case ST_AFTER_DELIM:
        case ST_PADDING:
            c = p[i++];
            if (c == '-' && mp->state == ST_AFTER_DELIM)
                mp->state = ST_CLOSE_DASH;
            else if (is_ows(c))
                mp->state = ST_PADDING;
            else if (c == '\r')
                mp->state = ST_DELIM_CR;
            else if (c == '\n')
                begin_headers(mp);
            else
                unexpected_after_boundary(mp);
            break;
        case ST_CLOSE_DASH:
            if (p[i++] == '-')
                mp->state = ST_EPILOGUE;
            else
                unexpected_after_boundary(mp);
            break;
        case ST_DELIM_CR:
            if (p[i++] == '\n')
                begin_headers(mp);
            else
                fail(mp, MP_ERR_SYNTAX, "CR without LF after boundary %u",
                     mp->parts + 1);
            break;
        default: /* header states */
            header_byte(mp, p[i++]);
            break;
        }
    }
    return mp->err;
}

enum mp_status multipart_finish(struct multipart *mp)
{
    if (mp->err != MP_OK)
        return mp->err;
    if (mp->state == ST_EPILOGUE || mp->state == ST_FINISHED) {
        mp->state = ST_FINISHED;
        return MP_OK;
    }
    if (mp->state == ST_PREAMBLE)
        return fail(mp, MP_ERR_TRUNCATED,
                    "the body has no multipart boundary");
    return fail(mp, MP_ERR_TRUNCATED,
                "the body ends before its closing boundary (%u parts begun)",
                mp->parts);
}

const char *multipart_error_message(const struct multipart *mp)
{
    return mp->err == MP_OK ? "" : mp->msg;
}

int multipart_callback_rc(const struct multipart *mp)
{
    return mp->cb_rc;
}

unsigned multipart_part_count(const struct multipart *mp)
{
    return mp->parts;
}

const char *multipart_status_name(enum mp_status st)
{
    switch (st) {
    case MP_OK: return "ok";
    case MP_ERR_MEDIA_TYPE: return "media_type";
    case MP_ERR_BOUNDARY: return "boundary";
    case MP_ERR_SYNTAX: return "syntax";
    case MP_ERR_HEADER_LINE: return "header_line_too_long";
    case MP_ERR_HEADERS_SIZE: return "headers_too_large";
    case MP_ERR_HEADER_VALUE: return "header_value_too_long";
    case MP_ERR_TOO_MANY_PARTS: return "too_many_parts";
    case MP_ERR_TRUNCATED: return "truncated";
    case MP_ERR_ABORTED: return "aborted";
    case MP_ERR_STATE: return "state";
    }
    return "unknown";
}
