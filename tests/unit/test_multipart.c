/* test_multipart.c — unit tests for src/http/multipart.c: the Content-Type
 * boundary parser; parts, filenames and content types; any chunking (every
 * chunk size, every split point); near-boundary data; truncated bodies;
 * the limits; callback aborts; linear time on adversarial data; a 50 MB
 * part streamed in 64 KiB chunks and checked by SHA-256. */
#define UNIT_MAIN
#include "unit.h"

#include <sodium.h>
#include <stdint.h>
#include <time.h>

#include "http/multipart.h"

/* ------------------------------------------------------------ collector */

/* Records callbacks as "[i name=N file=F ct=C]" + data + "[end]". */
struct coll {
    char *log;
    size_t len, cap;
    int begins, ends, datas;
    int abort_begin;  /* >0: on_part_begin returns it */
    int abort_data;   /* >0: on_part_data returns it */
    int abort_end;    /* >0: on_part_end returns it */
    bool overflow;
};

static void coll_init(struct coll *c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->log = malloc(cap);
    c->cap = c->log ? cap : 0;
}

static void coll_free(struct coll *c)
{
    free(c->log);
    c->log = NULL;
}

static void coll_put(struct coll *c, const char *d, size_t n)
{
    if (c->len + n > c->cap) {
        c->overflow = true;
        return;
    }
    memcpy(c->log + c->len, d, n);
    c->len += n;
}

static int on_begin(void *ud, const struct mp_part_headers *h)
{
    struct coll *c = ud;
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "[%u name=%s file=%s ct=%s]", h->index,
                     h->name, h->filename ? h->filename : "(null)",
                     h->content_type ? h->content_type : "(null)");
    if (n > 0)
        coll_put(c, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    c->begins++;
    return c->abort_begin;
}

static int on_data(void *ud, const char *d, size_t n)
{
    struct coll *c = ud;
    if (n == 0)
        coll_put(c, "<EMPTY DATA CALLBACK>", 21);
    coll_put(c, d, n);
    c->datas++;
    return c->abort_data;
}

static int on_end(void *ud)
{
    struct coll *c = ud;
    coll_put(c, "[end]", 5);
    c->ends++;
    return c->abort_end;
}

static const struct mp_callbacks CB = {on_begin, on_data, on_end};

/* Parses body[0..len) with the boundary, fed in `chunk`-byte pieces (0 =
 * all at once), then finishes.  Returns the first non-OK status (or the
 * finish status); mp_out, when given, receives the parser. */
static enum mp_status parse(const char *boundary, const char *body,
                            size_t len, size_t chunk, struct coll *c,
                            struct multipart *mp_out)
{
    static struct multipart mpbuf;
    struct multipart *mp = mp_out ? mp_out : &mpbuf;
    enum mp_status st = multipart_init(mp, boundary, &CB, c);
    size_t off = 0;

    if (st != MP_OK)
        return st;
    if (chunk == 0)
        chunk = len ? len : 1;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        st = multipart_feed(mp, body + off, n);
        if (st != MP_OK)
            return st;
        off += n;
    }
    return multipart_finish(mp);
}

#define B "XyZ-boundary"
#define BODY_OF(s) (s), (sizeof(s) - 1)

/* ------------------------------------------------ boundary from header */

TEST(boundary_from_content_type_accepts)
{
    char b[MP_BOUNDARY_MAX + 1];

    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk",
                     b, sizeof b), MP_OK);
    CHECK_STR_EQ(b, "----WebKitFormBoundary7MA4YWxk");
    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "Multipart/Form-Data;BOUNDARY=\"a b'()+_,-./:=?\"", b,
                     sizeof b), MP_OK);
    CHECK_STR_EQ(b, "a b'()+_,-./:=?");
    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "  multipart/form-data ; charset=utf-8 ;\tboundary = abc ; x=\"y;z\"",
                     b, sizeof b), MP_OK);
    CHECK_STR_EQ(b, "abc");
    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "multipart/form-data; boundary=abc;", b, sizeof b), MP_OK);
    CHECK_STR_EQ(b, "abc");
    /* exactly 70 characters */
    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "multipart/form-data; boundary="
                     "0123456789012345678901234567890123456789012345678901234567890123456789",
                     b, sizeof b), MP_OK);
    CHECK_EQ_INT(strlen(b), 70);
}

TEST(boundary_from_content_type_rejects)
{
    char b[MP_BOUNDARY_MAX + 1];
    static const char *const bad_boundary[] = {
        "multipart/form-data",
        "multipart/form-data;",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=\"abc \"",
        "multipart/form-data; boundary=ab@c",
        "multipart/form-data; boundary=a\"b",
        "multipart/form-data; boundary=\"a\\\"b\"",
        "multipart/form-data; boundary=a; boundary=b",
        "multipart/form-data; boundary=abc junk",
        "multipart/form-data; =abc",
        "multipart/form-data; boundary=\"abc\"junk",
        "multipart/form-data; boundary="
        "01234567890123456789012345678901234567890123456789012345678901234567890",
    };
    static const char *const bad_type[] = {
        "", "text/plain", "multipart/mixed; boundary=abc",
        "multipart/form-dataX; boundary=abc", "application/x-www-form-urlencoded",
        "multipart/form-data boundary=abc",
    };
    size_t i;

    for (i = 0; i < sizeof bad_boundary / sizeof bad_boundary[0]; i++) {
        strcpy(b, "junk");
        if (multipart_boundary_from_content_type(bad_boundary[i], b, sizeof b) !=
            MP_ERR_BOUNDARY)
            FAIL("accepted or misclassified: %s", bad_boundary[i]);
        CHECK_STR_EQ(b, "");
    }
    for (i = 0; i < sizeof bad_type / sizeof bad_type[0]; i++)
        if (multipart_boundary_from_content_type(bad_type[i], b, sizeof b) !=
            MP_ERR_MEDIA_TYPE)
            FAIL("not a media-type error: %s", bad_type[i]);
    CHECK_EQ_INT(multipart_boundary_from_content_type(NULL, b, sizeof b),
                 MP_ERR_MEDIA_TYPE);
    /* out too small for the boundary */
    CHECK_EQ_INT(multipart_boundary_from_content_type(
                     "multipart/form-data; boundary=abcdef", b, 4),
                 MP_ERR_BOUNDARY);
}

TEST(init_rejects_bad_boundary)
{
    struct multipart mp;
    char longb[80];

    CHECK_EQ_INT(multipart_init(&mp, "", NULL, NULL), MP_ERR_BOUNDARY);
    CHECK_EQ_INT(multipart_feed(&mp, "x", 1), MP_ERR_BOUNDARY);
    CHECK_EQ_INT(multipart_finish(&mp), MP_ERR_BOUNDARY);
    CHECK_EQ_INT(multipart_init(&mp, NULL, NULL, NULL), MP_ERR_BOUNDARY);
    CHECK_EQ_INT(multipart_init(&mp, "a\r\nb", NULL, NULL), MP_ERR_BOUNDARY);
    memset(longb, 'a', 71);
    longb[71] = '\0';
    CHECK_EQ_INT(multipart_init(&mp, longb, NULL, NULL), MP_ERR_BOUNDARY);
    longb[70] = '\0';
    CHECK_EQ_INT(multipart_init(&mp, longb, NULL, NULL), MP_OK);
}

/* ------------------------------------------------------------- parsing */

static const char TWO_PARTS[] =
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "My lesson\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"notes.md\"\r\n"
    "Content-Type: text/markdown\r\n"
    "\r\n"
    "# Title\r\n\r\nbody\r\n"
    "--" B "--\r\n";

TEST(two_parts)
{
    struct coll c;
    static const char want[] =
        "[0 name=title file=(null) ct=(null)]My lesson[end]"
        "[1 name=file file=notes.md ct=text/markdown]# Title\r\n\r\nbody[end]";

    coll_init(&c, 4096);
    CHECK_EQ_INT(parse(B, BODY_OF(TWO_PARTS), 0, &c, NULL), MP_OK);
    CHECK_EQ_INT(c.len, sizeof want - 1);
    CHECK(memcmp(c.log, want, c.len) == 0);
    CHECK_EQ_INT(c.begins, 2);
    CHECK_EQ_INT(c.ends, 2);
    coll_free(&c);
}

/* Part data full of near-delimiters: partial matches of every kind, a
 * bare-LF delimiter, CR-only, wrong case, no CRLF, binary bytes, and a
 * partial match right before the real delimiter.  It never contains the
 * delimiter "\r\n--" B itself. */
#define DATA1                                                              \
    "\r\r\n\r\n-\r\n--\r\n--X\r\n--XyZ-bound\r\n--XyZ-boundar"              \
    "\n--" B "\r\n\r--" B "\r\n-- " B "\r\n--xyz-boundary\r\nx--" B          \
    "\x00\xff\r\r\n--XyZ-boundar"

/* A body with a preamble, an epilogue, an empty part, transport padding,
 * folded and oddly spelled headers, and DATA1. */
static const char TRICKY[] =
    "This is the preamble.\r\n--XyZ-bound is not it\r\n"
    "--" B "  \t\r\n"
    "content-disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n--" B "\r\n"
    "CONTENT-DISPOSITION: form-data;\r\n"
    "  name=\"data\"; filename=\"a.bin\"\r\n"
    "X-Ignored: yes\r\n"
    "content-type:application/octet-stream  \r\n"
    "\r\n"
    DATA1
    "\r\n--" B "\r\n"
    "Content-Disposition: form-data; name=\"last\"\r\n"
    "\r\n"
    "end\r"
    "\r\n--" B "--"
    "epilogue\r\n--" B "\r\nContent-Disposition: garbage\r\n\r\n";

static const char TRICKY_WANT[] =
    "[0 name=empty file=(null) ct=(null)][end]"
    "[1 name=data file=a.bin ct=application/octet-stream]" DATA1 "[end]"
    "[2 name=last file=(null) ct=(null)]end\r[end]";

TEST(tricky_body_whole)
{
    struct coll c;

    coll_init(&c, 8192);
    CHECK_EQ_INT(parse(B, BODY_OF(TRICKY), 0, &c, NULL), MP_OK);
    CHECK_EQ_INT(c.len, sizeof TRICKY_WANT - 1);
    CHECK(memcmp(c.log, TRICKY_WANT, c.len) == 0);
    CHECK_EQ_INT(c.ends, 3);
    coll_free(&c);
}

TEST(every_chunk_size)
{
    size_t len = sizeof TRICKY - 1, chunk;
    struct coll c;

    for (chunk = 1; chunk <= len; chunk++) {
        coll_init(&c, 8192);
        if (parse(B, TRICKY, len, chunk, &c, NULL) != MP_OK)
            FAIL("chunk %zu: parse failed", chunk);
        if (c.len != sizeof TRICKY_WANT - 1 ||
            memcmp(c.log, TRICKY_WANT, c.len) != 0)
            FAIL("chunk %zu: different parts (%zu bytes logged)", chunk, c.len);
        if (c.ends != 3)
            FAIL("chunk %zu: %d parts ended", chunk, c.ends);
        coll_free(&c);
    }
}

TEST(every_split_point)
{
    size_t len = sizeof TRICKY - 1, cut, cut2;
    struct multipart mp;
    struct coll c;

    /* two pieces at every offset, and three pieces around every offset */
    for (cut = 0; cut <= len; cut++) {
        for (cut2 = cut; cut2 <= len && cut2 <= cut + 80; cut2 += 7) {
            coll_init(&c, 8192);
            CHECK_EQ_INT(multipart_init(&mp, B, &CB, &c), MP_OK);
            if (multipart_feed(&mp, TRICKY, cut) != MP_OK ||
                multipart_feed(&mp, TRICKY + cut, cut2 - cut) != MP_OK ||
                multipart_feed(&mp, TRICKY + cut2, len - cut2) != MP_OK ||
                multipart_finish(&mp) != MP_OK)
                FAIL("split at %zu/%zu: %s", cut, cut2,
                     multipart_error_message(&mp));
            if (c.len != sizeof TRICKY_WANT - 1 ||
                memcmp(c.log, TRICKY_WANT, c.len) != 0)
                FAIL("split at %zu/%zu: different parts", cut, cut2);
            coll_free(&c);
        }
    }
}

TEST(headers_split_byte_by_byte_with_bare_lf)
{
    /* Bare LF ends delimiter and header lines; the body delimiter still
     * needs CRLF, so "\n--B" inside data stays data. */
    static const char body[] =
        "--" B "\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\n"
        "Content-Type: text/plain\n"
        "\n"
        "line1\nline2\n--" B "\n"
        "\r\n--" B "--";
    static const char want[] =
        "[0 name=f file=x.txt ct=text/plain]line1\nline2\n--" B "\n[end]";
    struct coll c;

    coll_init(&c, 4096);
    CHECK_EQ_INT(parse(B, BODY_OF(body), 1, &c, NULL), MP_OK);
    CHECK_EQ_INT(c.len, sizeof want - 1);
    CHECK(memcmp(c.log, want, c.len) == 0);
    coll_free(&c);
}

TEST(bare_lf_delimiter_in_body_is_data)
{
    /* An all-LF body never closes: the part is reported truncated. */
    static const char body[] =
        "--" B "\n"
        "Content-Disposition: form-data; name=\"a\"\n\n"
        "hello\n--" B "--\n";
    struct coll c;
    struct multipart mp;

    coll_init(&c, 4096);
    CHECK_EQ_INT(parse(B, BODY_OF(body), 0, &c, &mp), MP_ERR_TRUNCATED);
    CHECK_EQ_INT(c.begins, 1);
    CHECK_EQ_INT(c.ends, 0);
    CHECK(strstr(multipart_error_message(&mp), "closing boundary") != NULL);
    coll_free(&c);
}

TEST(missing_final_boundary)
{
    static const char *const bodies[] = {
        /* data, then end of stream */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc",
        /* a delimiter with nothing after it (the part did end) */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--" B,
        /* a partial delimiter at the end */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--XyZ",
        /* a delimiter but no close marker */
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--" B "\r\n",
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--" B "-",
        /* inside headers */
        "--" B "\r\nContent-Disposition: form-da",
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n",
        /* no boundary at all */
        "",
        "just some text with no boundary",
        "-" B "\r\n",
    };
    size_t i, chunk;

    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        for (chunk = 0; chunk <= 3; chunk++) {
            struct coll c;
            struct multipart mp;
            enum mp_status st;

            coll_init(&c, 4096);
            st = parse(B, bodies[i], strlen(bodies[i]), chunk, &c, &mp);
            if (st != MP_ERR_TRUNCATED)
                FAIL("body %zu chunk %zu: %s", i, chunk,
                     multipart_status_name(st));
            if (multipart_error_message(&mp)[0] == '\0')
                FAIL("body %zu: no message", i);
            /* sticky; and feeding after finish is refused */
            CHECK_EQ_INT(multipart_finish(&mp), MP_ERR_TRUNCATED);
            CHECK_EQ_INT(c.ends, i == 1 || i == 3 || i == 4);
            coll_free(&c);
        }
    }
}

TEST(finish_then_feed_is_a_state_error)
{
    static const char body[] = "--" B "--";
    struct multipart mp;

    CHECK_EQ_INT(multipart_init(&mp, B, NULL, NULL), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, BODY_OF(body)), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, "trailing junk", 13), MP_OK);
    CHECK_EQ_INT(multipart_finish(&mp), MP_OK);
    CHECK_EQ_INT(multipart_finish(&mp), MP_OK);
    CHECK_EQ_INT(multipart_part_count(&mp), 0);
    CHECK_EQ_INT(multipart_feed(&mp, "x", 1), MP_ERR_STATE);
    CHECK_EQ_INT(multipart_feed(&mp, "", 0), MP_ERR_STATE);
}

TEST(zero_length_feed_is_noop)
{
    struct multipart mp;
    struct coll c;

    coll_init(&c, 4096);
    CHECK_EQ_INT(multipart_init(&mp, B, &CB, &c), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, NULL, 0), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, TWO_PARTS, 50), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, "", 0), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, TWO_PARTS + 50, sizeof TWO_PARTS - 51),
                 MP_OK);
    CHECK_EQ_INT(multipart_finish(&mp), MP_OK);
    CHECK_EQ_INT(c.ends, 2);
    CHECK_EQ_INT(multipart_part_count(&mp), 2);
    coll_free(&c);
}

/* Parses a one-part body with the given header lines (CRLF-terminated)
 * and returns the status; the log is in c. */
static enum mp_status one_part(const char *headers, struct coll *c,
                               struct multipart *mp)
{
    char body[20000];
    int n = snprintf(body, sizeof body, "--%s\r\n%s\r\ndata\r\n--%s--\r\n",
                     B, headers, B);
    if (n < 0 || (size_t)n >= sizeof body)
        return MP_ERR_STATE;
    return parse(B, body, (size_t)n, 0, c, mp);
}

/* Expects the header block to parse and to log exactly want. */
#define EXPECT_PART(headers, want)                                         \
    do {                                                                   \
        struct coll c_;                                                    \
        struct multipart mp_;                                              \
        enum mp_status st_;                                                \
        coll_init(&c_, 8192);                                              \
        st_ = one_part(headers, &c_, &mp_);                                \
        if (st_ != MP_OK)                                                  \
            FAIL("%s: %s (%s)", headers, multipart_status_name(st_),       \
                 multipart_error_message(&mp_));                           \
        if (c_.len != strlen(want) || memcmp(c_.log, want, c_.len) != 0)   \
            FAIL("%s: got %.*s", headers, (int)c_.len, c_.log);            \
        coll_free(&c_);                                                    \
    } while (0)

#define EXPECT_FAIL(headers, status)                                       \
    do {                                                                   \
        struct coll c_;                                                    \
        struct multipart mp_;                                              \
        enum mp_status st_;                                                \
        coll_init(&c_, 8192);                                              \
        st_ = one_part(headers, &c_, &mp_);                                \
        if (st_ != (status))                                               \
            FAIL("%s: %s, expected %s", headers,                           \
                 multipart_status_name(st_), multipart_status_name(status)); \
        if (c_.begins != 0)                                                \
            FAIL("%s: part announced", headers);                           \
        if (strstr(multipart_error_message(&mp_), "part 1") == NULL)       \
            FAIL("%s: message %s", headers, multipart_error_message(&mp_)); \
        coll_free(&c_);                                                    \
    } while (0)

TEST(filenames)
{
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n",
                "[0 name=file file=../../etc/passwd ct=(null)]data[end]");
    /* quoted-pair escapes for '"' and '\\'; other backslashes literal */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"a\\\"b\\\\c.txt\"\r\n",
                "[0 name=file file=a\"b\\c.txt ct=(null)]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"C:\\Users\\me\\notes.md\"\r\n",
                "[0 name=file file=C:\\Users\\me\\notes.md ct=(null)]data[end]");
    /* ';' inside quotes; unquoted values with inner spaces */
    EXPECT_PART("Content-Disposition: form-data; name=\"a;b\"; filename=my file.txt \r\n",
                "[0 name=a;b file=my file.txt ct=(null)]data[end]");
    /* control characters (no NUL) pass through raw for the sanitizer */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"a\x01\x1f\x7f\tb.md\"\r\n",
                "[0 name=file file=a\x01\x1f\x7f\tb.md ct=(null)]data[end]");
    /* raw UTF-8 as browsers send it */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"Zo\xc3\xab \xe5\x88\x98\xe6\xb4\x8b.md\"\r\n",
                "[0 name=file file=Zo\xc3\xab \xe5\x88\x98\xe6\xb4\x8b.md ct=(null)]data[end]");
    /* filename* (RFC 5987) wins over filename, either order */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"fallback.md\"; filename*=UTF-8''%E5%88%98%E6%B4%8B%20Zo%C3%AB.md\r\n",
                "[0 name=file file=\xe5\x88\x98\xe6\xb4\x8b Zo\xc3\xab.md ct=(null)]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; FILENAME*=utf-8'en'a%2fb.txt; filename=\"fallback.md\"\r\n",
                "[0 name=file file=a/b.txt ct=(null)]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename*=iso-8859-1''Zo%EB.txt\r\n",
                "[0 name=file file=Zo\xc3\xab.txt ct=(null)]data[end]");
    /* unparseable filename* is ignored */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"ok.md\"; filename*=koi8-r''%E1.txt\r\n",
                "[0 name=file file=ok.md ct=(null)]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"ok.md\"; filename*=UTF-8''bad%G1\r\n",
                "[0 name=file file=ok.md ct=(null)]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename*=nodelims\r\n",
                "[0 name=file file=(null) ct=(null)]data[end]");
    /* empty filename is "", not absent */
    EXPECT_PART("Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n",
                "[0 name=file file= ct=(null)]data[end]");
    /* an encoded NUL is refused */
    EXPECT_FAIL("Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''a%00b\r\n",
                MP_ERR_SYNTAX);
}

TEST(header_syntax)
{
    /* folding, case, odd spacing, ignored headers and parameters */
    EXPECT_PART("Content-Disposition:form-data;name=x;;\r\n\tfilename=\"f\"\r\n",
                "[0 name=x file=f ct=(null)]data[end]");
    EXPECT_PART("X-Other: a\r\ncOnTeNt-TyPe: text/plain; charset=utf-8\r\nContent-Disposition: FORM-DATA; foo=bar; name=\"n\"\r\n",
                "[0 name=n file=(null) ct=text/plain; charset=utf-8]data[end]");
    EXPECT_PART("Content-Disposition: form-data; name=\"\"\r\n",
                "[0 name= file=(null) ct=(null)]data[end]");
    EXPECT_FAIL("", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Type: text/plain\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: attachment; name=\"a\"\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; filename=\"a\"\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\"; filename=x; filename=y\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\"\r\nContent-Type: a\r\nContent-Type: b\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\"a\"x\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition form-data; name=a\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Bad Name: x\r\nContent-Disposition: form-data; name=a\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL(" folded: x\r\nContent-Disposition: form-data; name=a\r\n", MP_ERR_SYNTAX);
    EXPECT_FAIL("Content-Disposition: form-data; name=a\rX: y\r\n", MP_ERR_SYNTAX);
}

TEST(nul_in_headers)
{
    static const char body[] =
        "--" B "\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\0.md\"\r\n\r\n"
        "data\r\n--" B "--";
    struct coll c;
    struct multipart mp;

    coll_init(&c, 4096);
    CHECK_EQ_INT(parse(B, BODY_OF(body), 0, &c, &mp), MP_ERR_SYNTAX);
    CHECK(strstr(multipart_error_message(&mp), "NUL") != NULL);
    CHECK_EQ_INT(c.begins, 0);
    coll_free(&c);
}

TEST(junk_after_boundary)
{
    static const char *const bodies[] = {
        "--" B "x\r\n",
        "--" B " x\r\n",
        "--" B " -\r\n",
        "--" B "-x",
        "--" B "\rx",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nd\r\n--" B "Q",
    };
    size_t i;

    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct coll c;
        enum mp_status st;

        coll_init(&c, 4096);
        st = parse(B, bodies[i], strlen(bodies[i]), 1, &c, NULL);
        if (st != MP_ERR_SYNTAX)
            FAIL("body %zu: %s", i, multipart_status_name(st));
        coll_free(&c);
    }
}

TEST(value_caps)
{
    char hdr[12000];
    int n;

    n = snprintf(hdr, sizeof hdr,
                 "Content-Disposition: form-data; name=\"f\"; filename=\"%01100d\"\r\n",
                 0);
    CHECK(n > 0);
    EXPECT_FAIL(hdr, MP_ERR_HEADER_VALUE);
    snprintf(hdr, sizeof hdr, "Content-Disposition: form-data; name=\"%0300d\"\r\n", 0);
    EXPECT_FAIL(hdr, MP_ERR_HEADER_VALUE);
    snprintf(hdr, sizeof hdr,
             "Content-Disposition: form-data; name=a\r\nContent-Type: %0300d\r\n", 0);
    EXPECT_FAIL(hdr, MP_ERR_HEADER_VALUE);
    /* a filename* whose decoded form is over the cap */
    strcpy(hdr, "Content-Disposition: form-data; name=a; filename*=UTF-8''");
    for (int i = 0; i < 1100; i++)
        strcat(hdr, "%41");
    strcat(hdr, "\r\n");
    EXPECT_FAIL(hdr, MP_ERR_HEADER_VALUE);
    /* 1023 bytes fit; an unknown parameter of 5000 bytes is skipped */
    n = snprintf(hdr, sizeof hdr,
                 "Content-Disposition: form-data; other=\"%05000d\"; name=\"f\"; filename=\"%01023d\"\r\n",
                 0, 0);
    CHECK(n > 0);
    {
        struct coll c;
        struct multipart mp;
        coll_init(&c, 8192);
        CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_OK);
        CHECK_EQ_INT(c.begins, 1);
        coll_free(&c);
    }
}

TEST(header_line_limit)
{
    char hdr[2 * MP_HEADER_LINE_MAX];
    const char *prefix = "X-Long: ";
    size_t plen = strlen(prefix);
    struct coll c;
    struct multipart mp;

    /* exactly MP_HEADER_LINE_MAX bytes (CRLF excluded) is fine */
    memcpy(hdr, prefix, plen);
    memset(hdr + plen, 'v', MP_HEADER_LINE_MAX - plen);
    strcpy(hdr + MP_HEADER_LINE_MAX, "\r\nContent-Disposition: form-data; name=a\r\n");
    coll_init(&c, 8192);
    CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_OK);
    coll_free(&c);
    /* one more byte is refused */
    memset(hdr + plen, 'v', MP_HEADER_LINE_MAX + 1 - plen);
    strcpy(hdr + MP_HEADER_LINE_MAX + 1, "\r\nContent-Disposition: form-data; name=a\r\n");
    coll_init(&c, 8192);
    CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_ERR_HEADER_LINE);
    CHECK(strstr(multipart_error_message(&mp), "header line longer than 8192") != NULL);
    coll_free(&c);
    /* folding counts towards the same line */
    memcpy(hdr, prefix, plen);
    memset(hdr + plen, 'v', 5000);
    strcpy(hdr + plen + 5000, "\r\n ");
    memset(hdr + plen + 5003, 'w', 4000);
    strcpy(hdr + plen + 9003, "\r\nContent-Disposition: form-data; name=a\r\n");
    coll_init(&c, 8192);
    CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_ERR_HEADER_LINE);
    coll_free(&c);
}

TEST(header_block_limit)
{
    char hdr[MP_HEADERS_MAX + 4096];
    size_t w = 0;
    struct coll c;
    struct multipart mp;

    /* 4 lines of ~4.1 KB: each under the line cap, together over 16 KiB */
    for (int i = 0; i < 4; i++) {
        w += (size_t)sprintf(hdr + w, "X-H%d: ", i);
        memset(hdr + w, 'h', 4100);
        w += 4100;
        w += (size_t)sprintf(hdr + w, "\r\n");
    }
    strcpy(hdr + w, "Content-Disposition: form-data; name=a\r\n");
    coll_init(&c, 8192);
    CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_ERR_HEADERS_SIZE);
    CHECK(strstr(multipart_error_message(&mp), "headers longer than 16384") != NULL);
    CHECK_EQ_INT(c.begins, 0);
    coll_free(&c);
    /* 3 such lines fit */
    w = 0;
    for (int i = 0; i < 3; i++) {
        w += (size_t)sprintf(hdr + w, "X-H%d: ", i);
        memset(hdr + w, 'h', 4100);
        w += 4100;
        w += (size_t)sprintf(hdr + w, "\r\n");
    }
    strcpy(hdr + w, "Content-Disposition: form-data; name=a\r\n");
    coll_init(&c, 8192);
    CHECK_EQ_INT(one_part(hdr, &c, &mp), MP_OK);
    coll_free(&c);
}

/* Builds a body of n small parts into buf; returns its length. */
static size_t many_parts(char *buf, size_t cap, int n)
{
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        int k = snprintf(buf + w, cap - w,
                         "--" B "\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv%d\r\n",
                         i, i);
        if (k < 0 || (size_t)k >= cap - w)
            return 0;
        w += (size_t)k;
    }
    w += (size_t)snprintf(buf + w, cap - w, "--" B "--\r\n");
    return w;
}

TEST(part_count_limit)
{
    static char buf[32768];
    size_t len;
    struct coll c;
    struct multipart mp;

    len = many_parts(buf, sizeof buf, MP_PARTS_MAX);
    CHECK(len > 0);
    coll_init(&c, 32768);
    CHECK_EQ_INT(parse(B, buf, len, 0, &c, &mp), MP_OK);
    CHECK_EQ_INT(c.ends, MP_PARTS_MAX);
    CHECK_EQ_INT(multipart_part_count(&mp), MP_PARTS_MAX);
    coll_free(&c);
    len = many_parts(buf, sizeof buf, MP_PARTS_MAX + 1);
    CHECK(len > 0);
    coll_init(&c, 32768);
    CHECK_EQ_INT(parse(B, buf, len, 5, &c, &mp), MP_ERR_TOO_MANY_PARTS);
    CHECK_EQ_INT(c.ends, MP_PARTS_MAX);
    CHECK_EQ_INT(c.begins, MP_PARTS_MAX);
    CHECK(strstr(multipart_error_message(&mp), "more than 100 parts") != NULL);
    coll_free(&c);
}

TEST(callback_abort)
{
    struct coll c;
    struct multipart mp;

    coll_init(&c, 4096);
    c.abort_begin = 7;
    CHECK_EQ_INT(parse(B, BODY_OF(TWO_PARTS), 3, &c, &mp), MP_ERR_ABORTED);
    CHECK_EQ_INT(multipart_callback_rc(&mp), 7);
    CHECK_EQ_INT(c.begins, 1);
    CHECK_EQ_INT(c.datas, 0);
    CHECK_EQ_INT(multipart_feed(&mp, "x", 1), MP_ERR_ABORTED); /* sticky */
    CHECK_EQ_INT(multipart_finish(&mp), MP_ERR_ABORTED);
    coll_free(&c);

    coll_init(&c, 4096);
    c.abort_data = -1;
    CHECK_EQ_INT(parse(B, BODY_OF(TWO_PARTS), 0, &c, &mp), MP_ERR_ABORTED);
    CHECK_EQ_INT(multipart_callback_rc(&mp), -1);
    CHECK_EQ_INT(c.datas, 1);
    CHECK_EQ_INT(c.ends, 0);
    coll_free(&c);

    coll_init(&c, 4096);
    c.abort_end = 2;
    CHECK_EQ_INT(parse(B, BODY_OF(TWO_PARTS), 1, &c, &mp), MP_ERR_ABORTED);
    CHECK_EQ_INT(multipart_callback_rc(&mp), 2);
    CHECK_EQ_INT(c.ends, 1);
    CHECK_EQ_INT(c.begins, 1);
    coll_free(&c);

    /* a clean parse reports rc 0 and no message */
    coll_init(&c, 4096);
    CHECK_EQ_INT(parse(B, BODY_OF(TWO_PARTS), 0, &c, &mp), MP_OK);
    CHECK_EQ_INT(multipart_callback_rc(&mp), 0);
    CHECK_STR_EQ(multipart_error_message(&mp), "");
    coll_free(&c);
}

TEST(null_callbacks)
{
    struct multipart mp;

    CHECK_EQ_INT(multipart_init(&mp, B, NULL, NULL), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, BODY_OF(TRICKY)), MP_OK);
    CHECK_EQ_INT(multipart_finish(&mp), MP_OK);
    CHECK_EQ_INT(multipart_part_count(&mp), 3);
}

TEST(status_names)
{
    CHECK_STR_EQ(multipart_status_name(MP_OK), "ok");
    CHECK_STR_EQ(multipart_status_name(MP_ERR_TRUNCATED), "truncated");
    CHECK_STR_EQ(multipart_status_name(MP_ERR_TOO_MANY_PARTS), "too_many_parts");
    CHECK(strcmp(multipart_status_name(MP_ERR_HEADER_LINE),
                 multipart_status_name(MP_ERR_HEADERS_SIZE)) != 0);
    CHECK_STR_EQ(multipart_status_name((enum mp_status)99), "unknown");
}

/* --------------------------------------------------------- performance */

struct counter {
    uint64_t bytes;
    uint64_t calls;
    crypto_hash_sha256_state sha;
};

static int count_data(void *ud, const char *d, size_t n)
{
    struct counter *k = ud;
    k->bytes += n;
    k->calls++;
    crypto_hash_sha256_update(&k->sha, (const unsigned char *)d, n);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A part made of repeated "\r\n--" + (boundary minus its last byte): every
 * repetition is a 73-byte partial match.  A parser that rescans partial
 * matches, or re-searches buffered data on each feed, goes quadratic or
 * O(n * boundary) here; ours examines each byte once.  The data must come
 * out exactly, and data callbacks stay at a few per feed. */
TEST(linear_time_on_near_boundaries)
{
    /* 70-char boundary */
    static const char bnd[] =
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.'()+";
    char unit[4 + 70];
    const size_t reps = 60000; /* ~4.4 MB */
    struct mp_callbacks cb = {NULL, count_data, NULL};
    struct multipart mp;
    struct counter k;
    unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state sha;
    char head[256], chunk[4096];
    size_t fill = 0, feeds = 0, hl;
    double t0, t1, t_plain;

    CHECK(sodium_init() >= 0);
    CHECK_EQ_INT(strlen(bnd), 69);
    memcpy(unit, "\r\n--", 4);
    memcpy(unit + 4, bnd, 69); /* 73 bytes: the delimiter minus one byte */
    hl = (size_t)snprintf(head, sizeof head,
                          "--%s9\r\nContent-Disposition: form-data; name=x\r\n\r\n", bnd);

    /* Baseline: the same amount of plain data, same chunking. */
    memset(&k, 0, sizeof k);
    crypto_hash_sha256_init(&k.sha);
    char b70[71];
    snprintf(b70, sizeof b70, "%s9", bnd);
    CHECK_EQ_INT(multipart_init(&mp, b70, &cb, &k), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, head, hl), MP_OK);
    memset(chunk, 'z', sizeof chunk);
    t0 = now_s();
    for (size_t done = 0; done < reps * 73; done += 1000)
        CHECK_EQ_INT(multipart_feed(&mp, chunk, 1000), MP_OK);
    t_plain = now_s() - t0;

    memset(&k, 0, sizeof k);
    crypto_hash_sha256_init(&k.sha);
    crypto_hash_sha256_init(&sha);
    CHECK_EQ_INT(multipart_init(&mp, b70, &cb, &k), MP_OK);
    CHECK_EQ_INT(multipart_feed(&mp, head, hl), MP_OK);
    t0 = now_s();
    /* feed in odd-sized chunks (1000 bytes) so matches straddle feeds */
    for (size_t r = 0; r < reps; r++) {
        for (size_t j = 0; j < sizeof unit; j++) {
            chunk[fill++] = unit[j];
            if (fill == 1000) {
                CHECK_EQ_INT(multipart_feed(&mp, chunk, fill), MP_OK);
                feeds++;
                fill = 0;
            }
        }
        crypto_hash_sha256_update(&sha, (const unsigned char *)unit, sizeof unit);
    }
    CHECK_EQ_INT(multipart_feed(&mp, chunk, fill), MP_OK);
    feeds++;
    snprintf(chunk, sizeof chunk, "\r\n--%s--", b70);
    CHECK_EQ_INT(multipart_feed(&mp, chunk, strlen(chunk)), MP_OK);
    CHECK_EQ_INT(multipart_finish(&mp), MP_OK);
    t1 = now_s() - t0;
    crypto_hash_sha256_final(&sha, want);
    crypto_hash_sha256_final(&k.sha, got);
    CHECK_EQ_INT(k.bytes, reps * sizeof unit);
    CHECK(memcmp(want, got, sizeof want) == 0);
    /* at most one call for carried bytes and one for the chunk's run */
    CHECK(k.calls <= 2 * (feeds + 1));
    /* Linear: not much slower than plain data of the same size (the slack
     * covers the byte-by-byte walk versus memchr, and noisy machines). */
    if (t1 > 2.0 && t1 > 40 * t_plain)
        FAIL("adversarial data took %.3f s, plain %.3f s", t1, t_plain);
}

/* Deterministic pseudo-random generator (xorshift64*). */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Fills buf with generated data that also contains near-delimiters. */
static void gen_fill(uint64_t *s, unsigned char *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t r = rng_next(s);
        if ((r & 0xFFF) == 0 && n - i >= 12) {
            memcpy(buf + i, "\r\n--XyZ-boun", 12); /* a partial match */
            i += 12;
            continue;
        }
        for (int b = 0; b < 8 && i < n; b++, i++)
            buf[i] = (unsigned char)(r >> (8 * b));
    }
}

TEST(huge_part_streamed)
{
    const size_t total = 50u * 1000 * 1000, chunk = 64 * 1024;
    static unsigned char buf[64 * 1024];
    unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state sha;
    struct mp_callbacks cb = {NULL, count_data, NULL};
    struct multipart *mp = malloc(sizeof *mp);
    struct counter k;
    uint64_t seed;
    static const char head[] =
        "preamble\r\n--" B "\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    static const char tail[] = "\r\n--" B "--\r\n";

    CHECK(mp != NULL);
    CHECK(sodium_init() >= 0);
    /* expected digest, straight from the generator */
    crypto_hash_sha256_init(&sha);
    seed = 0x9E3779B97F4A7C15ULL;
    for (size_t done = 0; done < total; done += chunk) {
        size_t n = total - done < chunk ? total - done : chunk;
        gen_fill(&seed, buf, n);
        crypto_hash_sha256_update(&sha, buf, n);
    }
    crypto_hash_sha256_final(&sha, want);

    /* the body, fed in 64 KiB chunks through the parser */
    memset(&k, 0, sizeof k);
    crypto_hash_sha256_init(&k.sha);
    CHECK_EQ_INT(multipart_init(mp, B, &cb, &k), MP_OK);
    CHECK_EQ_INT(multipart_feed(mp, BODY_OF(head)), MP_OK);
    seed = 0x9E3779B97F4A7C15ULL;
    for (size_t done = 0; done < total; done += chunk) {
        size_t n = total - done < chunk ? total - done : chunk;
        gen_fill(&seed, buf, n);
        if (multipart_feed(mp, buf, n) != MP_OK)
            FAIL("feed at %zu: %s", done, multipart_error_message(mp));
    }
    CHECK_EQ_INT(multipart_feed(mp, BODY_OF(tail)), MP_OK);
    CHECK_EQ_INT(multipart_finish(mp), MP_OK);
    crypto_hash_sha256_final(&k.sha, got);
    CHECK_EQ_INT(k.bytes, total);
    CHECK(memcmp(want, got, sizeof want) == 0);
    free(mp);
}
