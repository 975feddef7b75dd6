/* test_util.c — unit tests for src/util/util.c and src/util/buf.c: UTF-8
 * validation and sanitizing, the capped buffer (a failed append leaves it
 * unchanged), JSON string escaping, ISO-8601 times, integer parsing,
 * content types by extension, and mkdir -p / rm -rf on real trees with
 * symlinks (rmtree must never follow one). */
#define UNIT_MAIN
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cJSON.h"
#include "util/buf.h"
#include "util/util.h"

/* ---- UTF-8 --------------------------------------------------------------- */

#define VALID(lit) bb_utf8_valid(lit, sizeof lit - 1)

TEST(utf8_valid_sequences)
{
    CHECK(bb_utf8_valid("", 0));
    CHECK(VALID("plain ascii ~\x7f"));
    CHECK(VALID("\xc3\xa9"));                  /* é, 2 bytes */
    CHECK(VALID("\xc2\x80"));                  /* U+0080, smallest 2-byte */
    CHECK(VALID("\xdf\xbf"));                  /* U+07FF */
    CHECK(VALID("\xe0\xa0\x80"));              /* U+0800, smallest 3-byte */
    CHECK(VALID("\xe2\x82\xac"));              /* € */
    CHECK(VALID("\xed\x9f\xbf"));              /* U+D7FF, just below surrogates */
    CHECK(VALID("\xee\x80\x80"));              /* U+E000, just above */
    CHECK(VALID("\xef\xbf\xbf"));              /* U+FFFF */
    CHECK(VALID("\xf0\x90\x80\x80"));          /* U+10000, smallest 4-byte */
    CHECK(VALID("\xf0\x9f\x98\x80"));          /* 😀 */
    CHECK(VALID("\xf4\x8f\xbf\xbf"));          /* U+10FFFF, the last code point */
    CHECK(VALID("a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80!"));
    CHECK(VALID("nul\0inside"));               /* NUL is a valid code point */
}

TEST(utf8_invalid_sequences)
{
    static const struct { const char *s; size_t n; const char *what; } bad[] = {
        {"\xc0\x80", 2, "overlong NUL"},
        {"\xc1\xbf", 2, "overlong 2-byte"},
        {"\xe0\x80\x80", 3, "overlong 3-byte"},
        {"\xe0\x9f\xbf", 3, "overlong U+07FF"},
        {"\xf0\x80\x80\x80", 4, "overlong 4-byte"},
        {"\xf0\x8f\xbf\xbf", 4, "overlong U+FFFF"},
        {"\xed\xa0\x80", 3, "surrogate U+D800"},
        {"\xed\xbf\xbf", 3, "surrogate U+DFFF"},
        {"\xed\xb0\x80", 3, "low surrogate"},
        {"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\xf5\x80\x80\x80", 4, "lead F5"},
        {"\xf7\xbf\xbf\xbf", 4, "lead F7"},
        {"\xf8\x88\x80\x80\x80", 5, "5-byte form"},
        {"\xfc\x84\x80\x80\x80\x80", 6, "6-byte form"},
        {"\xfe", 1, "FE"},
        {"\xff", 1, "FF"},
        {"\x80", 1, "lone continuation"},
        {"a\xbf", 2, "continuation after ascii"},
        {"\xc3", 1, "truncated 2-byte"},
        {"\xe2\x82", 2, "truncated 3-byte"},
        {"\xf0\x9f\x98", 3, "truncated 4-byte"},
        {"abc\xf0\x9f", 5, "truncated at the end"},
        {"\xc3\x28", 2, "bad continuation"},
        {"\xe2\x28\xa1", 3, "bad 2nd byte"},
        {"\xe2\x82\x28", 3, "bad 3rd byte"},
        {"\xf0\x9f\x98\x28", 4, "bad 4th byte"},
        {"\xc3\xa9\xc3", 3, "valid then truncated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (bb_utf8_valid(bad[i].s, bad[i].n))
            FAIL("accepted %s", bad[i].what);
}

TEST(utf8_valid_respects_len)
{
    const char *s = "\xe2\x82\xac";
    CHECK(bb_utf8_valid(s, 3));
    CHECK(!bb_utf8_valid(s, 2));
    CHECK(!bb_utf8_valid(s, 1));
    CHECK(bb_utf8_valid(s, 0));
    /* a valid string followed by garbage beyond len */
    CHECK(bb_utf8_valid("ok\xff", 2));
}

static void expect_sanitized_(const char *file, int line, const char *in, size_t n,
                              const char *want)
{
    char *got = bb_utf8_sanitize(in, n);
    if (!got)
        unit_fail_(file, line, "NULL");
    else if (strcmp(got, want) != 0)
        unit_fail_(file, line, "got \"%s\", want \"%s\"", got, want);
    free(got);
}
#define EXPECT_SANITIZED(lit, want) expect_sanitized_(__FILE__, __LINE__, lit, sizeof lit - 1, want)

#define FFFD "\xef\xbf\xbd"

TEST(utf8_sanitize_replaces_invalid_and_drops_nul)
{
    EXPECT_SANITIZED("", "");
    EXPECT_SANITIZED("hello", "hello");
    EXPECT_SANITIZED("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_SANITIZED("a\xff" "b", "a" FFFD "b");
    EXPECT_SANITIZED("a\0b\0", "ab");
    EXPECT_SANITIZED("\x80", FFFD);
    EXPECT_SANITIZED("x\xed\xa0\x80y", "x" FFFD FFFD FFFD "y");   /* surrogate */
    EXPECT_SANITIZED("\xc0\x80", FFFD FFFD);                     /* overlong */
    EXPECT_SANITIZED("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);   /* > U+10FFFF */
}

TEST(utf8_sanitize_truncated_tail)
{
    char *got = bb_utf8_sanitize("ab\xe2\x82", 4);
    CHECK(got != NULL);
    bool ok = strncmp(got, "ab" FFFD, 5) == 0 && bb_utf8_valid(got, strlen(got)) &&
              strchr(got, '\x82') == NULL;
    free(got);
    CHECK(ok);
    /* the input is not read past len */
    got = bb_utf8_sanitize("\xc3\xa9", 1);
    CHECK(got != NULL);
    ok = strcmp(got, FFFD) == 0;
    free(got);
    CHECK(ok);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

TEST(utf8_sanitize_output_is_always_valid)
{
    uint32_t seed = 12345;
    unsigned char in[64];
    for (int round = 0; round < 20000; round++) {
        size_t n = xorshift(&seed) % sizeof in;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = xorshift(&seed);
            /* bias towards bytes that start or continue sequences */
            in[i] = (unsigned char)(r % 3 == 0 ? 0x80 + (r >> 8) % 0x80 : r >> 8);
        }
        char *out = bb_utf8_sanitize((const char *)in, n);
        if (!out)
            FAIL("NULL");
        size_t len = strlen(out);
        bool valid = bb_utf8_valid(out, len) && len <= n * 3;
        /* already-valid input without NULs comes back unchanged */
        bool same_if_valid = true;
        if (bb_utf8_valid((const char *)in, n) && memchr(in, 0, n) == NULL)
            same_if_valid = len == n && memcmp(out, in, n) == 0;
        /* sanitizing twice changes nothing */
        char *again = bb_utf8_sanitize(out, len);
        bool idem = again && strcmp(again, out) == 0;
        free(again);
        free(out);
        if (!valid || !same_if_valid || !idem)
            FAIL("round %d: valid %d, unchanged %d, idempotent %d", round, valid,
                 same_if_valid, idem);
    }
}

/* ---- buf ------------------------------------------------------------------ */

TEST(buf_append_past_cap_fails_and_leaves_buffer_unchanged)
{
    buf b;
    buf_init(&b, 10);
    CHECK_EQ_INT(buf_append(&b, "hello", 5), 0);
    CHECK_EQ_INT(buf_append(&b, "world!", 6), -1);
    CHECK_EQ_INT(b.len, 5);
    CHECK_STR_EQ(b.data, "hello");
    CHECK_EQ_INT(buf_puts(&b, "123456"), -1);
    CHECK_EQ_INT(buf_printf(&b, "%s", "abcdef"), -1);
    CHECK_EQ_INT(b.len, 5);
    CHECK_STR_EQ(b.data, "hello");
    CHECK_EQ_INT(buf_append(&b, "world", 5), 0);         /* exactly the cap */
    CHECK_EQ_INT(b.len, 10);
    CHECK_STR_EQ(b.data, "helloworld");
    CHECK_EQ_INT(buf_append(&b, "x", 1), -1);
    CHECK_EQ_INT(buf_printf(&b, "%d", 1), -1);
    CHECK_EQ_INT(buf_append(&b, "", 0), 0);
    CHECK_EQ_INT(b.len, 10);
    CHECK_STR_EQ(b.data, "helloworld");
    CHECK(b.alloc <= 11);                                 /* never beyond cap + NUL */
    /* a huge length must not wrap around */
    CHECK_EQ_INT(buf_append(&b, "y", SIZE_MAX), -1);
    CHECK_EQ_INT(buf_append(&b, "y", SIZE_MAX - 5), -1);
    CHECK_STR_EQ(b.data, "helloworld");
    buf_free(&b);
    CHECK(b.data == NULL);
    CHECK_EQ_INT(b.len, 0);
}

TEST(buf_printf_long_output_and_cap)
{
    buf b;
    buf_init(&b, 2000);
    char big[1201];
    memset(big, 'z', 1200);
    big[1200] = '\0';
    CHECK_EQ_INT(buf_printf(&b, "<%s>", big), 0);          /* > the 512-byte fast path */
    CHECK_EQ_INT(b.len, 1202);
    CHECK(b.data[0] == '<' && b.data[1201] == '>' && b.data[1202] == '\0');
    CHECK_EQ_INT(buf_printf(&b, "%s", big), -1);           /* 2402 > 2000 */
    CHECK_EQ_INT(b.len, 1202);
    CHECK(b.data[1202] == '\0');
    CHECK_EQ_INT(buf_printf(&b, "%d-%s", 42, "x"), 0);
    CHECK_STR_EQ(b.data + 1202, "42-x");
    buf_free(&b);
}

TEST(buf_zero_cap_take_and_reset)
{
    buf b;
    buf_init(&b, 0);
    CHECK_EQ_INT(buf_append(&b, "a", 1), -1);
    char *t = buf_take(&b);                 /* never NULL: "" when empty */
    CHECK(t != NULL);
    bool empty = t[0] == '\0';
    free(t);
    CHECK(empty);

    buf_init(&b, 1 << 20);
    CHECK_EQ_INT(buf_puts(&b, "abc"), 0);
    buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_STR_EQ(b.data, "");
    CHECK_EQ_INT(buf_puts(&b, "de"), 0);
    t = buf_take(&b);
    CHECK(b.data == NULL && b.len == 0);
    bool ok = strcmp(t, "de") == 0;
    free(t);
    CHECK(ok);
    buf_free(&b);                          /* after take: harmless */
}

TEST(buf_grows_to_exactly_the_cap)
{
    buf b;
    const size_t cap = 1000000;
    buf_init(&b, cap);
    size_t n = 0;
    for (int i = 0; i < 200000 && buf_append(&b, "0123456789", 10) == 0; i++)
        n += 10;
    CHECK_EQ_INT(n, cap);
    CHECK_EQ_INT(b.len, cap);
    CHECK(b.data[cap] == '\0');
    bool ok = true;
    for (size_t i = 0; i < cap; i++)
        if (b.data[i] != (char)('0' + i % 10))
            ok = false;
    buf_free(&b);
    CHECK(ok);
}

static void expect_json_(const char *file, int line, const char *in, const char *want)
{
    buf b;
    buf_init(&b, 4096);
    if (buf_json_str(&b, in) != 0) {
        unit_fail_(file, line, "buf_json_str failed");
    } else if (strcmp(b.data, want) != 0) {
        unit_fail_(file, line, "got %s, want %s", b.data, want);
    } else {
        cJSON *v = cJSON_Parse(b.data);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, in) != 0)
            unit_fail_(file, line, "%s does not parse back to the input", b.data);
        cJSON_Delete(v);
    }
    buf_free(&b);
}
#define EXPECT_JSON(in, want) expect_json_(__FILE__, __LINE__, in, want)

TEST(buf_json_str_escapes)
{
    EXPECT_JSON("", "\"\"");
    EXPECT_JSON("plain", "\"plain\"");
    EXPECT_JSON("a\"b", "\"a\\\"b\"");
    EXPECT_JSON("back\\slash", "\"back\\\\slash\"");
    EXPECT_JSON("l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\"");
    EXPECT_JSON("\x01\x1f", "\"\\u0001\\u001f\"");
    EXPECT_JSON("\b\f", "\"\\u0008\\u000c\"");
    EXPECT_JSON("caf\xc3\xa9 \xf0\x9f\x98\x80 /", "\"caf\xc3\xa9 \xf0\x9f\x98\x80 /\"");
    EXPECT_JSON("\"\"\\\\", "\"\\\"\\\"\\\\\\\\\"");
    EXPECT_JSON("end\"", "\"end\\\"\"");
}

TEST(buf_json_str_every_control_character_round_trips)
{
    char in[40];
    size_t k = 0;
    for (int c = 1; c < 0x20; c++)
        in[k++] = (char)c;
    in[k++] = 0x7f;
    in[k++] = '"';
    in[k++] = '\\';
    in[k] = '\0';
    buf b;
    buf_init(&b, 4096);
    CHECK_EQ_INT(buf_json_str(&b, in), 0);
    for (size_t i = 1; i + 1 < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20)
            FAIL("raw control byte 0x%02x in output", (unsigned char)b.data[i]);
    cJSON *v = cJSON_Parse(b.data);
    bool ok = cJSON_IsString(v) && strcmp(v->valuestring, in) == 0;
    cJSON_Delete(v);
    buf_free(&b);
    CHECK(ok);
}

TEST(buf_json_str_respects_the_cap)
{
    buf b;
    buf_init(&b, 8);
    CHECK_EQ_INT(buf_json_str(&b, "abcdef"), 0);          /* 8 bytes with quotes */
    CHECK_STR_EQ(b.data, "\"abcdef\"");
    buf_reset(&b);
    CHECK_EQ_INT(buf_json_str(&b, "abcdefg"), -1);
    CHECK(b.len <= 8);
    buf_reset(&b);
    CHECK_EQ_INT(buf_json_str(&b, "\n\n\n\n"), -1);       /* 10 bytes escaped */
    CHECK(b.len <= 8);
    buf_free(&b);
}

/* ---- times and numbers -------------------------------------------------- */

static void expect_iso_(const char *file, int line, int64_t ms, const char *want)
{
    char out[32];
    memset(out, 'X', sizeof out);
    bb_iso8601(ms, out);
    if (strcmp(out, want) != 0)
        unit_fail_(file, line, "%lld: got %s, want %s", (long long)ms, out, want);
}
#define EXPECT_ISO(ms, want) expect_iso_(__FILE__, __LINE__, ms, want)

TEST(iso8601_formats_utc_with_milliseconds)
{
    EXPECT_ISO(0, "1970-01-01T00:00:00.000Z");
    EXPECT_ISO(1, "1970-01-01T00:00:00.001Z");
    EXPECT_ISO(999, "1970-01-01T00:00:00.999Z");
    EXPECT_ISO(1000, "1970-01-01T00:00:01.000Z");
    EXPECT_ISO(1795323600123LL, "2026-11-22T05:00:00.123Z");
    EXPECT_ISO(951868799007LL, "2000-02-29T23:59:59.007Z");
    EXPECT_ISO(951868800000LL, "2000-03-01T00:00:00.000Z");
    EXPECT_ISO(4102444799999LL, "2099-12-31T23:59:59.999Z");
    EXPECT_ISO(253402300799999LL, "9999-12-31T23:59:59.999Z");
    /* independent of TZ */
    setenv("TZ", "America/New_York", 1);
    EXPECT_ISO(1795323600123LL, "2026-11-22T05:00:00.123Z");
    unsetenv("TZ");
}

static void expect_i64_(const char *file, int line, const char *s, int64_t want)
{
    int64_t v = 777;
    if (bb_parse_i64(s, &v) != 0)
        unit_fail_(file, line, "rejected \"%s\"", s);
    else if (v != want)
        unit_fail_(file, line, "\"%s\" -> %lld, want %lld", s, (long long)v, (long long)want);
}
#define EXPECT_I64(s, want) expect_i64_(__FILE__, __LINE__, s, want)

static void expect_i64_bad_(const char *file, int line, const char *s)
{
    int64_t v = 777;
    if (bb_parse_i64(s, &v) == 0)
        unit_fail_(file, line, "accepted \"%s\" as %lld", s ? s : "(null)", (long long)v);
    else if (v != 777)
        unit_fail_(file, line, "\"%s\" rejected but *out changed", s ? s : "(null)");
}
#define EXPECT_I64_BAD(s) expect_i64_bad_(__FILE__, __LINE__, s)

TEST(parse_i64_edge_cases)
{
    EXPECT_I64("0", 0);
    EXPECT_I64("-0", 0);
    EXPECT_I64("7", 7);
    EXPECT_I64("-7", -7);
    EXPECT_I64("0042", 42);
    EXPECT_I64("999999999999999999", 999999999999999999LL);     /* 18 digits */
    EXPECT_I64("-999999999999999999", -999999999999999999LL);
    EXPECT_I64("000000000000000001", 1);
    EXPECT_I64_BAD(NULL);
    EXPECT_I64_BAD("");
    EXPECT_I64_BAD("-");
    EXPECT_I64_BAD("--1");
    EXPECT_I64_BAD("+1");
    EXPECT_I64_BAD(" 1");
    EXPECT_I64_BAD("1 ");
    EXPECT_I64_BAD("1-");
    EXPECT_I64_BAD("12a");
    EXPECT_I64_BAD("0x10");
    EXPECT_I64_BAD("1.0");
    EXPECT_I64_BAD("1e3");
    EXPECT_I64_BAD("9223372036854775808");      /* INT64_MAX + 1 */
    EXPECT_I64_BAD("-9223372036854775809");
    EXPECT_I64_BAD("99999999999999999999");     /* 20 digits */
    EXPECT_I64_BAD("18446744073709551617");     /* wraps uint64 */
}

TEST(strlcpy_truncates_and_terminates)
{
    char d[5];
    CHECK_EQ_INT(bb_strlcpy(d, "abc", sizeof d), 3);
    CHECK_STR_EQ(d, "abc");
    CHECK_EQ_INT(bb_strlcpy(d, "abcdefgh", sizeof d), 8);
    CHECK_STR_EQ(d, "abcd");
    CHECK_EQ_INT(bb_strlcpy(d, "", sizeof d), 0);
    CHECK_STR_EQ(d, "");
    d[0] = 'q';
    CHECK_EQ_INT(bb_strlcpy(d, "xyz", 0), 3);   /* cap 0 writes nothing */
    CHECK(d[0] == 'q');
    char *s = bb_strdup_or_null("hi");
    CHECK(s != NULL);
    bool ok = strcmp(s, "hi") == 0;
    free(s);
    CHECK(ok);
    CHECK(bb_strdup_or_null(NULL) == NULL);
}

TEST(one_line_blanks_control_characters_and_cuts)
{
    char o[8];
    bb_one_line(o, sizeof o, "a\tb\nc\0d\x7f", 8);
    CHECK_STR_EQ(o, "a b c d");
    bb_one_line(o, sizeof o, "0123456789", 10);
    CHECK_STR_EQ(o, "0123456");                /* outlen - 1 bytes */
    bb_one_line(o, sizeof o, "xyz", 0);
    CHECK_STR_EQ(o, "");
    o[0] = 'q';
    bb_one_line(o, 0, "xyz", 3);               /* outlen 0 writes nothing */
    CHECK(o[0] == 'q');
}

TEST(content_type_by_extension)
{
    static const struct { const char *name, *type; } cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a.htm", "text/html; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"DATA.JSON", "application/json"},
        {"notes.txt", "text/plain; charset=utf-8"},
        {"run.log", "text/plain; charset=utf-8"},
        {"lesson.md", "text/markdown; charset=utf-8"},
        {"t.csv", "text/csv; charset=utf-8"},
        {"p.PNG", "image/png"},
        {"p.jpeg", "image/jpeg"},
        {"p.jpg", "image/jpeg"},
        {"i.svg", "image/svg+xml"},
        {"doc.pdf", "application/pdf"},
        {"voice.wav", "audio/wav"},
        {"voice.mp3", "audio/mpeg"},
        {"voice.ogg", "audio/ogg"},
        {"a.tar.gz", "application/gzip"},
        {"a.zip", "application/zip"},
        {"noext", "application/octet-stream"},
        {"", "application/octet-stream"},
        {"file.", "application/octet-stream"},
        {"weird.exe", "application/octet-stream"},
        {"dir.json/file", "application/octet-stream"},
        {"a.jsonx", "application/octet-stream"},
        {"a.htmlx", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = bb_content_type_for(cases[i].name);
        if (!got || strcmp(got, cases[i].type) != 0)
            FAIL("\"%s\": got %s, want %s", cases[i].name, got ? got : "(null)", cases[i].type);
    }
}

/* ---- files -------------------------------------------------------------- */

static char tdir[PATH_MAX];

static bool make_tdir(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tdir, sizeof tdir, "%s/bbutil.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(tdir) != NULL;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static bool write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

#define P(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

TEST(mkdirs_creates_nested_directories_and_is_idempotent)
{
    CHECK(make_tdir());
    umask(022);
    char p[PATH_MAX * 2], q[PATH_MAX * 2];
    P(p, "%s/a/b/c/d", tdir);
    CHECK_EQ_INT(bb_mkdirs(p, false), 0);
    CHECK(is_dir(p));
    CHECK_EQ_INT(bb_mkdirs(p, false), 0);
    P(q, "%s/x/y/", tdir);                       /* trailing slash */
    CHECK_EQ_INT(bb_mkdirs(q, false), 0);
    P(q, "%s/x/y", tdir);
    CHECK(is_dir(q));
    P(q, "%s/priv/leaf", tdir);
    CHECK_EQ_INT(bb_mkdirs(q, true), 0);
    struct stat st;
    CHECK_EQ_INT(stat(q, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0700);
    P(q, "%s/priv", tdir);
    CHECK_EQ_INT(stat(q, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0755);
    /* a component that is a file */
    P(q, "%s/file", tdir);
    CHECK(write_file(q, "x"));
    P(q, "%s/file/sub", tdir);
    errno = 0;
    CHECK_EQ_INT(bb_mkdirs(q, false), -1);
    CHECK(errno == ENOTDIR);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
    CHECK(!exists(tdir));
}

TEST(mkdirs_fails_when_the_leaf_is_a_file)
{
    /* like mkdir -p: success means the path is a directory afterwards */
    CHECK(make_tdir());
    char p[PATH_MAX * 2];
    P(p, "%s/plain", tdir);
    CHECK(write_file(p, "x"));
    int rc = bb_mkdirs(p, false);
    bool dir = is_dir(p);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
    if (rc == 0 && !dir)
        FAIL("bb_mkdirs returned 0 but %s is a regular file, not a directory", "plain");
    CHECK_EQ_INT(rc, -1);
}

TEST(rmtree_removes_nested_tree_without_following_symlinks)
{
    CHECK(make_tdir());
    char p[PATH_MAX * 2], keep_dir[PATH_MAX * 2], keep_file[PATH_MAX * 2], keep_in[PATH_MAX * 2];
    /* targets outside the tree that must survive */
    P(keep_dir, "%s/keep", tdir);
    CHECK_EQ_INT(mkdir(keep_dir, 0755), 0);
    P(keep_in, "%s/keep/inner.txt", tdir);
    CHECK(write_file(keep_in, "inner"));
    P(keep_file, "%s/keep.txt", tdir);
    CHECK(write_file(keep_file, "file"));
    /* the tree */
    P(p, "%s/t/d1/d2/d3", tdir);
    CHECK_EQ_INT(bb_mkdirs(p, false), 0);
    P(p, "%s/t/f0", tdir);
    CHECK(write_file(p, "0"));
    P(p, "%s/t/d1/f1", tdir);
    CHECK(write_file(p, "1"));
    P(p, "%s/t/d1/d2/d3/f3", tdir);
    CHECK(write_file(p, "3"));
    P(p, "%s/t/.hidden", tdir);
    CHECK(write_file(p, "h"));
    P(p, "%s/t/d1/dirlink", tdir);
    CHECK_EQ_INT(symlink(keep_dir, p), 0);
    P(p, "%s/t/d1/d2/filelink", tdir);
    CHECK_EQ_INT(symlink(keep_file, p), 0);
    P(p, "%s/t/rel_up", tdir);
    CHECK_EQ_INT(symlink("..", p), 0);
    P(p, "%s/t/dangling", tdir);
    CHECK_EQ_INT(symlink("nowhere", p), 0);

    P(p, "%s/t", tdir);
    CHECK_EQ_INT(bb_rmtree(p), 0);
    CHECK(!exists(p));
    CHECK(is_dir(keep_dir));
    CHECK(exists(keep_in));
    CHECK(exists(keep_file));
    CHECK(is_dir(tdir));

    /* a symlink given as the root is removed, its target kept */
    P(p, "%s/rootlink", tdir);
    CHECK_EQ_INT(symlink(keep_dir, p), 0);
    CHECK_EQ_INT(bb_rmtree(p), 0);
    CHECK(!exists(p));
    CHECK(exists(keep_in));
    /* a plain file; a missing path */
    CHECK_EQ_INT(bb_rmtree(keep_file), 0);
    CHECK(!exists(keep_file));
    CHECK_EQ_INT(bb_rmtree(keep_file), 0);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
    CHECK(!exists(tdir));
}

TEST(read_file_whole_and_over_max)
{
    CHECK(make_tdir());
    char p[PATH_MAX * 2];
    P(p, "%s/f.txt", tdir);
    CHECK(write_file(p, "hello\nworld"));
    size_t len = 0;
    char *d = bb_read_file(p, 100, &len);
    bool ok = d && len == 11 && strcmp(d, "hello\nworld") == 0;
    free(d);
    CHECK(ok);
    d = bb_read_file(p, 11, &len);                   /* exactly max */
    ok = d != NULL;
    free(d);
    CHECK(ok);
    errno = 0;
    d = bb_read_file(p, 10, &len);
    ok = d == NULL && errno == EFBIG;
    free(d);
    CHECK(ok);
    P(p, "%s/missing", tdir);
    CHECK(bb_read_file(p, 100, &len) == NULL);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
}

TEST(clocks_move_forward)
{
    int64_t w = bb_now_ms(), m = bb_mono_us();
    CHECK(w > 1600000000000LL);                       /* after 2020 */
    int64_t m2 = bb_mono_us();
    CHECK(m2 >= m);
}

TEST(url_escape)
{
    char out[64];
    CHECK_EQ_INT(bb_url_escape(out, sizeof out, "a b/ü~.-_", false), 18);
    CHECK_STR_EQ(out, "a%20b%2F%C3%BC~.-_");
    bb_url_escape(out, sizeof out, "/api/v1/x y", true);
    CHECK_STR_EQ(out, "/api/v1/x%20y");
    /* never cuts an escape in half */
    char small[5];
    CHECK_EQ_INT(bb_url_escape(small, sizeof small, "ab c", false), 2);
    CHECK_STR_EQ(small, "ab");
    CHECK_EQ_INT(bb_url_escape(small, 0, "x", false), 0);
    CHECK_EQ_INT(bb_url_escaped_len("a b/ü~.-_", false), 18);
    CHECK_EQ_INT(bb_url_escaped_len("a b/ü", true), 12);
    CHECK_EQ_INT(bb_url_escaped_len("", true), 0);
}

TEST(dir_names_sorted_hidden_and_capped)
{
    CHECK(make_tdir());
    static const char *const files[] = {"b.wav", "a.md", ".hidden", "C.txt"};
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", tdir, files[i]);
        int fd = open(p, O_WRONLY | O_CREAT, 0600);
        CHECK(fd >= 0);
        close(fd);
    }
    char **v = NULL;
    size_t n = 0;
    CHECK_EQ_INT(bb_dir_names(tdir, true, 100, &v, &n), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_STR_EQ(v[0], "C.txt");
    CHECK_STR_EQ(v[1], "a.md");
    CHECK_STR_EQ(v[2], "b.wav");
    bb_strv_free(v, n);
    CHECK_EQ_INT(bb_dir_names(tdir, false, 100, &v, &n), 0);
    CHECK_EQ_INT(n, 4);
    CHECK_STR_EQ(v[0], ".hidden");
    bb_strv_free(v, n);
    CHECK_EQ_INT(bb_dir_names(tdir, false, 3, &v, &n), -1);
    CHECK_EQ_INT(errno, E2BIG);
    CHECK(v == NULL && n == 0);
    snprintf(p, sizeof p, "%s/missing", tdir);
    CHECK_EQ_INT(bb_dir_names(p, true, 100, &v, &n), -1);
    CHECK_EQ_INT(errno, ENOENT);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
}

TEST(write_all_writes_everything_or_fails)
{
    CHECK(make_tdir());
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/w", tdir);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    static char big[300000];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(bb_write_all(fd, big, sizeof big), 0);
    close(fd);
    size_t len = 0;
    char *back = bb_read_file(p, sizeof big + 1, &len);
    CHECK(back != NULL && len == sizeof big && memcmp(back, big, len) == 0);
    free(back);
    errno = 0;
    CHECK_EQ_INT(bb_write_all(-1, "x", 1), -1);
    CHECK_EQ_INT(errno, EBADF);
    CHECK_EQ_INT(bb_rmtree(tdir), 0);
}
