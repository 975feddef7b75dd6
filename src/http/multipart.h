/* multipart.h — a streaming, push-style multipart/form-data parser
 * (RFC 7578 over RFC 2046) for uploads, plus the boundary parameter parser
 * for the request's Content-Type.
 *
 * Usage:
 *
 *     char b[MP_BOUNDARY_MAX + 1];
 *     struct multipart *mp = malloc(sizeof *mp);   // ~11 KiB; caller frees
 *     if (multipart_boundary_from_content_type(ct, b, sizeof b) != MP_OK) ...
 *     if (multipart_init(mp, b, &callbacks, ud) != MP_OK) ...
 *     while ((n = read_some(buf)) > 0)
 *         if (multipart_feed(mp, buf, n) != MP_OK) break;   // any chunking
 *     rc = multipart_finish(mp);   // MP_ERR_TRUNCATED if no "--b--" came
 *
 * Memory: the parser allocates nothing.  Its state is the fixed-size
 * struct below (one header line, the current part's name, filename and
 * content type), whatever the size of the body or of a part.
 *
 * Time: O(n) in the body length, every byte examined once.  The delimiter
 * is "\r\n--" + boundary and a boundary cannot contain CR or LF, so a
 * partial match can only restart at a CR: on a mismatch the match length
 * falls to 1 (the byte is CR) or 0, and the bytes given up are a known
 * prefix of the delimiter itself, so nothing is ever rescanned and no
 * look-behind buffer is kept (bytes of a partial match that straddles two
 * feeds are emitted from the delimiter string).
 *
 * Grammar decisions (documented here and tested):
 *   - The body may start directly with "--boundary" (no CRLF before it);
 *     otherwise the first delimiter must follow a CRLF.  Everything before
 *     it (the preamble) and everything after the close delimiter
 *     "--boundary--" (the epilogue) is ignored.
 *   - A delimiter inside the body must be "\r\n--boundary": CRLF is
 *     required there, a bare LF before "--boundary" is part data (anything
 *     else would make binary data containing "\n--boundary" ambiguous).
 *   - Bare LF IS tolerated as the end of a delimiter line and of part header
 *     lines (including the blank line that ends the headers), since some
 *     hand-written clients send them and there it is not ambiguous.  A CR
 *     not followed by LF in those places is a syntax error.
 *   - After "--boundary", linear white space (SP/HT) is allowed before the
 *     line end (RFC 2046 transport padding); any other byte is an error.
 *   - Header names are case-insensitive; obsolete line folding (a line
 *     starting with SP/HT continues the previous header) is accepted; a NUL
 *     byte in the headers is an error.  Every part must carry
 *     "Content-Disposition: form-data" with a name parameter.  A repeated
 *     Content-Disposition or Content-Type header, or a repeated name /
 *     filename / filename* parameter, is an error (ambiguous).
 *   - Parameter values may be quoted or not (an unquoted value runs to the
 *     next ';', surrounding white space removed).  In quoted values "\\"
 *     and "\"" are escapes for '\' and '"'; a backslash before any other
 *     character is kept literally, because browsers send Windows paths
 *     ("C:\dir\a.txt") unescaped and the RFC escape of an ordinary
 *     character is never needed.
 *   - filename*=charset'lang'pct-encoded (RFC 5987 / RFC 6266) is decoded
 *     (UTF-8 kept, ISO-8859-1 converted to UTF-8) and wins over filename=.
 *     A filename* that cannot be parsed (unknown charset, bad %-escape) is
 *     ignored as RFC 6266 asks; one that decodes to a NUL byte is an error.
 *   - The filename handed to on_part_begin is the client's raw value: any
 *     bytes but NUL, not necessarily valid UTF-8.  Pass it through
 *     upload_sanitize_filename() (domain/upload.h) before using it.
 *
 * Limits (each with its own error code and a message naming the part):
 * a header line (after unfolding) of at most MP_HEADER_LINE_MAX bytes, a
 * part's header block of at most MP_HEADERS_MAX bytes (line ends
 * included), at most MP_PARTS_MAX parts, a field name shorter than
 * MP_NAME_MAX, a filename shorter than MP_FILENAME_MAX and a content type
 * shorter than MP_CTYPE_MAX bytes. */
#ifndef BB_MULTIPART_H
#define BB_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define MP_BOUNDARY_MAX 70        /* RFC 2046 */
#define MP_HEADER_LINE_MAX 8192   /* one header line, unfolded */
#define MP_HEADERS_MAX 16384      /* one part's header block */
#define MP_PARTS_MAX 100          /* parts in one body */
#define MP_NAME_MAX 256           /* field name, NUL included */
#define MP_FILENAME_MAX 1024      /* filename, NUL included */
#define MP_CTYPE_MAX 256          /* part Content-Type, NUL included */
/* What a caller that keeps one part (an upload's "file") allows besides
 * it: delimiters, part headers, preamble, epilogue and the fields it
 * ignores, together (docs/api.md, POST /uploads). */
#define MP_OVERHEAD_MAX (64 * 1024)
#define MP_OVERHEAD_MAX_TEXT "65536"

/* Results.  MP_OK is 0; every error is sticky: once a parser failed, later
 * multipart_feed()/multipart_finish() calls return the same code. */
enum mp_status {
    MP_OK = 0,
    MP_ERR_MEDIA_TYPE,     /* Content-Type is not multipart/form-data (415) */
    MP_ERR_BOUNDARY,       /* boundary missing, empty, > 70 chars or bad chars */
    MP_ERR_SYNTAX,         /* malformed body: delimiter line, header syntax,
                            * missing Content-Disposition, NUL in headers */
    MP_ERR_HEADER_LINE,    /* a header line over MP_HEADER_LINE_MAX */
    MP_ERR_HEADERS_SIZE,   /* a header block over MP_HEADERS_MAX */
    MP_ERR_HEADER_VALUE,   /* name/filename/content type over its cap */
    MP_ERR_TOO_MANY_PARTS, /* more than MP_PARTS_MAX parts */
    MP_ERR_TRUNCATED,      /* finish before the close delimiter */
    MP_ERR_ABORTED,        /* a callback returned non-zero (see
                            * multipart_callback_rc()) */
    MP_ERR_STATE,          /* fed after multipart_finish() */
};

/* What on_part_begin sees.  All strings are borrowed, NUL-terminated and
 * valid only during the callback. */
struct mp_part_headers {
    const char *name;         /* form field name; never NULL */
    const char *filename;     /* NULL when the part has no filename; else
                               * the raw client value (may be "") */
    const char *content_type; /* part Content-Type, trimmed; NULL if absent */
    unsigned index;           /* 0 for the first part */
};

/* Callbacks; any may be NULL.  Returning non-zero aborts parsing: the
 * current multipart_feed() returns MP_ERR_ABORTED and the value is kept
 * for multipart_callback_rc().  on_part_data is never called with len 0;
 * a part's data may arrive in any number of pieces.  on_part_end is called
 * once the part's closing delimiter has been seen (never for a part cut
 * short by an error or a truncated body).  Callbacks must not call back
 * into the same parser. */
struct mp_callbacks {
    int (*on_part_begin)(void *ud, const struct mp_part_headers *h);
    int (*on_part_data)(void *ud, const char *data, size_t len);
    int (*on_part_end)(void *ud);
};

/* The parser.  Fields are private; the struct is public so it can live on
 * the stack or inside another object (no allocation anywhere). */
struct multipart {
    struct mp_callbacks cb;
    void *ud;
    char delim[4 + MP_BOUNDARY_MAX + 1]; /* "\r\n--" boundary */
    size_t dlen;
    size_t k;             /* delimiter bytes matched so far */
    int state;
    enum mp_status err;
    int cb_rc;
    unsigned parts;       /* parts begun */
    size_t line_len;      /* bytes in line[] */
    size_t hdr_bytes;     /* bytes in the current header block */
    bool pending;         /* line[] holds a header not yet processed */
    bool has_cd, has_ct, has_name, has_filename, has_filename_star;
    bool filename_star_ok; /* filename_star[] holds a decoded value */
    char line[MP_HEADER_LINE_MAX + 1];
    char name[MP_NAME_MAX];
    char filename[MP_FILENAME_MAX];
    char filename_star[MP_FILENAME_MAX];
    char content_type[MP_CTYPE_MAX];
    char msg[200];
};

/* Extracts the boundary from a request Content-Type value such as
 * `multipart/form-data; boundary="abc"` (media type and parameter names
 * case-insensitive, boundary quoted or not, other parameters ignored) into
 * out[cap], cap >= MP_BOUNDARY_MAX + 1.  Returns MP_OK, MP_ERR_MEDIA_TYPE
 * when ct is NULL or not multipart/form-data, or MP_ERR_BOUNDARY when the
 * boundary parameter is missing, repeated, empty, longer than 70
 * characters, contains characters outside RFC 2046 bchars, ends in a
 * space, or the parameter list is malformed (or cap is too small).  out is
 * "" on error. */
enum mp_status multipart_boundary_from_content_type(const char *ct, char *out,
                                                    size_t cap);

/* Prepares mp for one body with the given boundary (copied; validated as
 * above) and callbacks (copied; may be NULL for none).  Returns MP_OK or
 * MP_ERR_BOUNDARY (then multipart_feed() fails with it too). */
enum mp_status multipart_init(struct multipart *mp, const char *boundary,
                              const struct mp_callbacks *cb, void *ud);

/* Parses the next len bytes of the body (any split is fine, down to one
 * byte at a time; len 0 is a no-op).  Calls the callbacks in order and
 * returns MP_OK or the (sticky) error.  Bytes after the close delimiter
 * are ignored. */
enum mp_status multipart_feed(struct multipart *mp, const void *data,
                              size_t len);

/* Ends the body: MP_OK if the close delimiter was seen, else
 * MP_ERR_TRUNCATED (the last part, if any, gets no on_part_end), or the
 * earlier error.  Later feeds return MP_ERR_STATE. */
enum mp_status multipart_finish(struct multipart *mp);

/* A human sentence describing the last error ("part 3: header line longer
 * than 8192 bytes"), "" when none; borrowed from mp. */
const char *multipart_error_message(const struct multipart *mp);

/* The non-zero value a callback returned to abort, or 0. */
int multipart_callback_rc(const struct multipart *mp);

/* Number of parts begun so far. */
unsigned multipart_part_count(const struct multipart *mp);

/* Short fixed name of a status ("ok", "truncated", ...); never NULL. */
const char *multipart_status_name(enum mp_status st);

#endif
