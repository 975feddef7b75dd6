/* test_upload.c — unit tests for src/domain/upload.c: filename sanitizing
 * (path parts, control characters, invalid UTF-8, unsafe characters,
 * trimming, the 200-byte cap, device names) and content sniffing (each
 * allowed type, renamed binaries, the 64 KiB text window). */
#define UNIT_MAIN
#include "unit.h"

#include <stdint.h>

#include "domain/upload.h"
#include "util/util.h"

/* ------------------------------------------------------------ sanitize */

/* Sanitizes in with a full-size buffer and checks the result. */
#define SAN_EQ(in, want)                                                   \
    do {                                                                   \
        char out_[UPLOAD_FILENAME_MAX + 1];                                \
        int n_ = upload_sanitize_filename((in), out_, sizeof out_);        \
        if (n_ < 0 || (size_t)n_ != strlen(out_) ||                        \
            strcmp(out_, (want)) != 0)                                     \
            FAIL("sanitize(%s) = \"%s\" (%d), want \"%s\"", #in, out_, n_, \
                 (want));                                                  \
    } while (0)

TEST(sanitize_keeps_plain_names)
{
    SAN_EQ("notes.md", "notes.md");
    SAN_EQ("my lesson (v2).final.md", "my lesson (v2).final.md");
    SAN_EQ("archive.tar.gz", "archive.tar.gz");
    SAN_EQ("100%00.txt", "100%00.txt"); /* not percent-decoded */
    SAN_EQ("a_b-c'd,e+f=g;h[i]j{k}l@m#n$o&.txt",
           "a_b-c'd,e+f=g;h[i]j{k}l@m#n$o&.txt");
}

TEST(sanitize_strips_path_parts)
{
    SAN_EQ("../../etc/passwd", "passwd");
    SAN_EQ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe");
    SAN_EQ("C:\\Users\\me\\notes.md", "notes.md");
    SAN_EQ("/abs/path/file.txt", "file.txt");
    SAN_EQ("mixed/sep\\x.md", "x.md");
    SAN_EQ("dir/", "upload");
    SAN_EQ("dir\\", "upload");
    SAN_EQ("../", "upload");
    SAN_EQ("a/..", "upload");
}

TEST(sanitize_empty_results)
{
    SAN_EQ("", "upload");
    SAN_EQ(NULL, "upload");
    SAN_EQ(".", "upload");
    SAN_EQ("..", "upload");
    SAN_EQ("...", "upload");
    SAN_EQ("   ", "upload");
    SAN_EQ(" . . ", "upload");
    SAN_EQ("\x01\x02\x7f", "upload");
    SAN_EQ("\xff\xfe", "upload");
    SAN_EQ(". \x01 .", "upload");
}

TEST(sanitize_trims_and_drops_controls)
{
    SAN_EQ(".hidden", "hidden");
    SAN_EQ("  spaced name .md  ", "spaced name .md");
    SAN_EQ("trailing.dots...", "trailing.dots");
    SAN_EQ("a\x01" "b\x1f\x7f" "c.md", "abc.md");
    SAN_EQ("tab\there.txt", "tabhere.txt");
    SAN_EQ("new\nline\r.md", "newline.md");
    SAN_EQ("\x01 .name. \x02", "name");
    /* C1 controls and bidi overrides ("exe.txt" spoofing) */
    SAN_EQ("a\xc2\x85" "b\xc2\x9f.md", "ab.md");
    SAN_EQ("invoice\xe2\x80\xaetxt.exe", "invoicetxt.exe");
    SAN_EQ("x\xe2\x81\xa6y\xe2\x81\xa9z", "xyz");
}

TEST(sanitize_replaces_unsafe_characters)
{
    SAN_EQ("x:y*z?\"<>|.txt", "x_y_z_____.txt");
    SAN_EQ("C:report.md", "C_report.md");
    SAN_EQ("\"quoted\".md", "_quoted_.md");
}

TEST(sanitize_unicode)
{
    SAN_EQ("Zo\xc3\xab.md", "Zo\xc3\xab.md");
    SAN_EQ("\xe5\x88\x98\xe6\xb4\x8b.md", "\xe5\x88\x98\xe6\xb4\x8b.md");
    SAN_EQ("../\xe5\x88\x98\xe6\xb4\x8b/Zo\xc3\xab \xf0\x9f\x8e\xa7.md",
           "Zo\xc3\xab \xf0\x9f\x8e\xa7.md");
    /* invalid UTF-8 is dropped byte by byte; valid neighbours stay */
    SAN_EQ("a\xff" "b\xc3.md", "ab.md");
    SAN_EQ("a\xc0\xaf" "b", "ab");             /* overlong '/' */
    SAN_EQ("a\xed\xa0\x80" "b", "ab");         /* surrogate */
    SAN_EQ("a\xf4\x90\x80\x80" "b", "ab");     /* above U+10FFFF */
    SAN_EQ("a\xe5\x88" "b", "ab");             /* cut sequence */
    SAN_EQ("Zo\xeb.txt", "Zo.txt");            /* Latin-1 byte */
}

TEST(sanitize_windows_device_names)
{
    SAN_EQ("CON", "_CON");
    SAN_EQ("con.txt", "_con.txt");
    SAN_EQ("Com1.md", "_Com1.md");
    SAN_EQ("lpt9.tar.gz", "_lpt9.tar.gz");
    SAN_EQ("aux .md", "_aux .md");
    SAN_EQ("nul ", "_nul");
    SAN_EQ("console.txt", "console.txt");
    SAN_EQ("LPT0.txt", "LPT0.txt");
    SAN_EQ("COM10.txt", "COM10.txt");
    SAN_EQ("xcon", "xcon");
}

TEST(sanitize_caps_length)
{
    char in[1200], out[UPLOAD_FILENAME_MAX + 1];
    size_t i;
    int n;

    /* ASCII stem with an extension: the extension survives */
    memset(in, 'a', 300);
    strcpy(in + 300, ".md");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, UPLOAD_FILENAME_MAX);
    CHECK_EQ_INT(strlen(out), UPLOAD_FILENAME_MAX);
    CHECK_STR_EQ(out + UPLOAD_FILENAME_MAX - 3, ".md");
    CHECK(out[0] == 'a' && out[196] == 'a');

    /* 3-byte characters: never cut inside one */
    in[0] = '\0';
    for (i = 0; i < 100; i++)
        strcat(in, "\xe5\x88\x98");
    strcat(in, ".md");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, 65 * 3 + 3);
    CHECK(bb_utf8_valid(out, (size_t)n));
    CHECK_STR_EQ(out + n - 3, ".md");

    /* no extension: plain cut on a character boundary */
    strcpy(in, "a");
    for (i = 0; i < 100; i++)
        strcat(in, "\xe5\x88\x98");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, 1 + 66 * 3);
    CHECK(bb_utf8_valid(out, (size_t)n));

    /* 2-byte characters fill it exactly */
    in[0] = '\0';
    for (i = 0; i < 250; i++)
        strcat(in, "\xc3\xa9");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, 200);
    CHECK(bb_utf8_valid(out, (size_t)n));

    /* an extension longer than 16 bytes is not kept */
    memset(in, 'b', 250);
    strcpy(in + 250, ".averyveryverylongextension");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, 200);
    CHECK(strchr(out, '.') == NULL);

    /* a cut that lands after a space or dot is trimmed again */
    memset(in, 'c', 199);
    strcpy(in + 199, " ddd");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_EQ_INT(n, 199);
    CHECK(out[198] == 'c');
    memset(in, 'c', 150);
    memset(in + 150, '.', 100);
    strcpy(in + 250, "x.md");
    n = upload_sanitize_filename(in, out, sizeof out);
    CHECK_STR_EQ(out + n - 3, ".md");
    CHECK(out[n - 4] == 'c');

    /* dropped characters do not count */
    in[0] = '\0';
    for (i = 0; i < 500; i++)
        strcat(in, "\x01");
    strcat(in, "short.md");
    SAN_EQ(in, "short.md");
}

TEST(sanitize_small_buffers)
{
    char out[16];

    CHECK_EQ_INT(upload_sanitize_filename("abcdefghij.md", out, 8), 7);
    CHECK_STR_EQ(out, "abcdefg");
    CHECK_EQ_INT(upload_sanitize_filename("abcdefghijkl.md", out, 12), 11);
    CHECK_STR_EQ(out, "abcdefgh.md");
    CHECK_EQ_INT(upload_sanitize_filename("", out, 8), 6);
    CHECK_STR_EQ(out, "upload");
    CHECK_EQ_INT(upload_sanitize_filename("con.md", out, 8), 7);
    CHECK_STR_EQ(out, "_con.md");
    strcpy(out, "junk");
    CHECK_EQ_INT(upload_sanitize_filename("a.md", out, 7), -1);
    CHECK_STR_EQ(out, "");
    CHECK_EQ_INT(upload_sanitize_filename("a.md", NULL, 100), -1);
}

/* -------------------------------------------------------------- sniff */

/* Expects head[0..n) named name to be allowed as want ("" = rejected). */
static int sniff_is(const void *head, size_t n, const char *name,
                    const char *want, char *got, size_t cap)
{
    bool ok = upload_sniff(head, n, name, got, cap);
    if (want[0] == '\0')
        return !ok && got[0] == '\0';
    return ok && strcmp(got, want) == 0;
}

#define SNIFF(...) SNIFF_(__VA_ARGS__) /* lets LIT() supply two arguments */
#define SNIFF_(head, n, name, want)                                        \
    do {                                                                   \
        char got_[UPLOAD_TYPE_MAX];                                        \
        if (!sniff_is((head), (n), (name), (want), got_, sizeof got_))     \
            FAIL("sniff(%s, %s) = \"%s\", want \"%s\"", #head,             \
                 (name) ? (name) : "NULL", got_, (want));                  \
    } while (0)

#define LIT(s) (s), (sizeof(s) - 1)

TEST(sniff_text_types)
{
    static const char md[] = "# Title\n\nSome *text* with Zo\xc3\xab and "
                             "\xe5\x88\x98\xe6\xb4\x8b.\n\n- item\r\n";
    SNIFF(LIT(md), "lesson.md", "text/markdown; charset=utf-8");
    SNIFF(LIT(md), "LESSON.MD", "text/markdown; charset=utf-8");
    SNIFF(LIT(md), "lesson.markdown", "text/markdown; charset=utf-8");
    SNIFF(LIT(md), "lesson.txt", "text/plain; charset=utf-8");
    SNIFF(LIT(md), "lesson.mdx", "text/plain; charset=utf-8");
    SNIFF(LIT(md), NULL, "text/plain; charset=utf-8");
    SNIFF(LIT("\xef\xbb\xbf# BOM first\n"), "a.md", "text/markdown; charset=utf-8");
    SNIFF(LIT("tabs\tand\fform feeds\v and \x1b[1mansi\x1b[0m\r\n"), "log.txt",
          "text/plain; charset=utf-8");
    SNIFF("", 0, "empty.md", "text/markdown; charset=utf-8");
    SNIFF(NULL, 0, "empty.txt", "text/plain; charset=utf-8");
}

TEST(sniff_json)
{
    SNIFF(LIT("{\"a\": 1}"), "data.json", "application/json");
    SNIFF(LIT(" \r\n\t{ \"a\": [1, 2] }\n"), NULL, "application/json");
    SNIFF(LIT("{}"), "x", "application/json");
    SNIFF(LIT("[1, 2, 3]"), "x.txt", "application/json");
    SNIFF(LIT("[\n  {\"k\": true}\n]"), "x.txt", "application/json");
    SNIFF(LIT("[]"), "x.txt", "application/json");
    SNIFF(LIT("\xef\xbb\xbf{\"bom\": 1}"), "x.json", "application/json");
    /* Markdown that opens with a bracket stays text */
    SNIFF(LIT("[link](http://example.com) text"), "x.txt", "text/plain; charset=utf-8");
    SNIFF(LIT("[link](x)"), "x.md", "text/markdown; charset=utf-8");
    SNIFF(LIT("{\"a\": 1}"), "x.md", "text/markdown; charset=utf-8");
    SNIFF(LIT("{"), "x.json", "text/plain; charset=utf-8");
    SNIFF(LIT("{ not json"), "x.json", "text/plain; charset=utf-8");
}

TEST(sniff_binary_types)
{
    SNIFF(LIT("RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00"), "a.wav", "audio/wav");
    SNIFF(LIT("RIFF\x24\x08\x00\x00WEBPVP8 "), "a.webp", "image/webp");
    SNIFF(LIT("ID3\x04\x00\x00\x00\x00\x01\x7f" "TIT2"), "a.mp3", "audio/mpeg");
    SNIFF(LIT("ID3\x03\x00\x80\x00\x00\x00\x0a"), "a.mp3", "audio/mpeg");
    SNIFF(LIT("fLaC\x00\x00\x00\x22\x10\x00"), "a.flac", "audio/flac");
    SNIFF(LIT("OggS\x00\x02\x00\x00"), "a.ogg", "audio/ogg");
    SNIFF(LIT("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "a.png", "image/png");
    SNIFF(LIT("\xff\xd8\xff\xe0\x00\x10JFIF"), "a.jpg", "image/jpeg");
    SNIFF(LIT("\xff\xd8\xff\xe1\x00\x10" "Exif"), "a.jpeg", "image/jpeg");
    SNIFF(LIT("GIF89a\x01\x00\x01\x00"), "a.gif", "image/gif");
    SNIFF(LIT("GIF87a\x01\x00\x01\x00"), "a.gif", "image/gif");
    SNIFF(LIT("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "a.pdf", "application/pdf");
    SNIFF(LIT("PK\x03\x04\x14\x00\x00\x00"), "a.zip", "application/zip");
    SNIFF(LIT("PK\x05\x06\x00\x00\x00\x00"), "empty.zip", "application/zip");
    /* the bytes decide, not the name */
    SNIFF(LIT("\x89PNG\r\n\x1a\n\x00\x00"), "notes.md", "image/png");
    SNIFF(LIT("RIFF\x24\x08\x00\x00WAVEfmt "), NULL, "audio/wav");
}

/* An ftyp box of `size` bytes with the major brand `major` and the
 * compatible brands `compat` (4 bytes each) into buf; returns size. */
static size_t ftyp(unsigned char *buf, size_t size, const char *major, const char *compat)
{
    memset(buf, 0, size + 16);
    buf[3] = (unsigned char)size;
    memcpy(buf + 4, "ftyp", 4);
    memcpy(buf + 8, major, 4);
    memcpy(buf + 16, compat, strlen(compat));
    memcpy(buf + size + 4, "free", 4);
    return size + 16;
}

TEST(sniff_video_and_more_audio)
{
    static unsigned char buf[256];
    size_t n;

    n = ftyp(buf, 32, "isom", "isomiso2avc1mp41");
    SNIFF(buf, n, "a.mp4", "video/mp4");
    SNIFF(buf, n, "a.md", "video/mp4");              /* the bytes decide */
    n = ftyp(buf, 20, "qt  ", "qt  ");
    SNIFF(buf, n, "a.mov", "video/quicktime");
    n = ftyp(buf, 28, "M4A ", "M4A mp42isom");
    SNIFF(buf, n, "a.m4a", "audio/mp4");
    n = ftyp(buf, 24, "3gp4", "isom3gp4");
    SNIFF(buf, n, "a.3gp", "video/3gpp");
    /* an unknown major brand with a known compatible one */
    n = ftyp(buf, 24, "XYZ1", "mp42");
    SNIFF(buf, n, "a.mp4", "video/mp4");
    /* HEIC/AVIF images and nonsense are not video */
    n = ftyp(buf, 24, "heic", "mif1heic");
    SNIFF(buf, n, "a.heic", "");
    n = ftyp(buf, 24, "avif", "mif1miaf");
    SNIFF(buf, n, "a.avif", "");
    n = ftyp(buf, 24, "isom", "");
    buf[3] = 7;                                       /* box shorter than its fields */
    SNIFF(buf, n, "a.mp4", "");
    SNIFF(LIT("\x00\x00\x00\x20" "ftyp"), "a.mp4", "");  /* cut short */

    /* EBML: WebM and Matroska by DocType */
    SNIFF(LIT("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01"
              "\x42\x82\x84webm\x42\x87\x81\x04"), "a.webm", "video/webm");
    SNIFF(LIT("\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska"),
          "a.mkv", "video/x-matroska");
    SNIFF(LIT("\x1a\x45\xdf\xa3\xa3\x42\x82\x84xxxx"), "a.mkv", "");
    SNIFF(LIT("\x1a\x45\xdf\xa3\x80\x00"), "a.mkv", "");

    /* AVI */
    SNIFF(LIT("RIFF\x24\x08\x00\x00" "AVI LIST"), "a.avi", "video/x-msvideo");

    /* Ogg by codec */
    static const char page[] = "OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13";
    memcpy(buf, page, 28);
    memcpy(buf + 28, "OpusHead\x01\x02", 10);
    SNIFF(buf, 38, "a.opus", "audio/ogg; codecs=opus");
    memcpy(buf + 28, "\x80theora\x03\x02", 9);
    SNIFF(buf, 37, "a.ogv", "video/ogg");
    memcpy(buf + 28, "\x01vorbis\x00\x00", 9);
    SNIFF(buf, 37, "a.ogg", "audio/ogg");

    /* AAC in ADTS frames: two headers one frame apart, or exactly one frame */
    static const unsigned char adts[] = {0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc};
    memset(buf, 0x11, 64);
    memcpy(buf, adts, 7);          /* frame length 16 */
    memcpy(buf + 16, adts, 7);
    SNIFF(buf, 23, "a.aac", "audio/aac");
    SNIFF(buf, 16, "a.aac", "audio/aac");
    SNIFF(buf, 20, "a.aac", "");   /* a second header cut short */
    buf[16] = 0x00;
    SNIFF(buf, 23, "a.aac", "");   /* nothing where the next frame should be */
    memcpy(buf + 16, adts, 7);
    buf[2] = 0x7C;                 /* sampling-rate index 15: reserved */
    SNIFF(buf, 23, "a.aac", "");
}

/* Writes two MPEG audio frames with header hdr, the first `len` bytes
 * long, into buf; returns the bytes used (len + 4). */
static size_t two_frames(unsigned char *buf, const char *hdr, size_t len)
{
    memset(buf, 0x55, len + 4);
    memcpy(buf, hdr, 4);
    memcpy(buf + len, hdr, 4);
    return len + 4;
}

TEST(sniff_mp3_frames)
{
    static unsigned char buf[4096];
    size_t n;

    /* MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 144 * 128000 / 44100 = 417 */
    n = two_frames(buf, "\xff\xfb\x90\x64", 417);
    SNIFF(buf, n, "a.mp3", "audio/mpeg");
    SNIFF(buf, n + 100, "a.mp3", "audio/mpeg");
    /* with the padding bit: 418 */
    n = two_frames(buf, "\xff\xfb\x92\x64", 418);
    SNIFF(buf, n, "a.mp3", "audio/mpeg");
    /* MPEG-2 Layer III, 64 kbit/s, 22.05 kHz: 72 * 64000 / 22050 = 208 */
    n = two_frames(buf, "\xff\xf3\x80\xc4", 208);
    SNIFF(buf, n, "a.mp3", "audio/mpeg");
    /* MPEG-2.5 Layer III, 8 kbit/s, 8 kHz: 72 * 8000 / 8000 = 72 */
    n = two_frames(buf, "\xff\xe3\x18\xc4", 72);
    SNIFF(buf, n, "a.mp3", "audio/mpeg");
    /* MPEG-1 Layer II, 192 kbit/s, 48 kHz: 144 * 192000 / 48000 = 576 */
    n = two_frames(buf, "\xff\xfd\xa4\x00", 576);
    SNIFF(buf, n, "a.mp2", "audio/mpeg");
    /* MPEG-1 Layer I, 32 kbit/s, 32 kHz: (12 * 32000 / 32000) * 4 = 48 */
    n = two_frames(buf, "\xff\xff\x18\x00", 48);
    SNIFF(buf, n, "a.mp1", "audio/mpeg");
    /* a second header at the wrong place, or none, is not enough */
    n = two_frames(buf, "\xff\xfb\x90\x64", 416);
    SNIFF(buf, n, "a.mp3", "");
    SNIFF(buf, 400, "a.mp3", "");
    SNIFF(LIT("\xff\xfb\x90\x64\x00\x00"), "a.mp3", "");
}

TEST(sniff_rejects_binaries)
{
    static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0,
                                        0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0};
    static unsigned char rnd[8192];
    uint64_t s = 0x1234567887654321ULL;
    size_t i;

    SNIFF(elf, sizeof elf, "notes.md", "");
    SNIFF(LIT("MZ\x90\x00\x03\x00\x00\x00"), "notes.md", "");       /* PE */
    SNIFF(LIT("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), "notes.md", ""); /* Mach-O */
    SNIFF(LIT("RIFF\x24\x08\x00\x00" "AVX LIST"), "a.wav", "");     /* not WAVE */
    SNIFF(LIT("RIFF"), "a.wav", "text/plain; charset=utf-8");      /* just text */
    SNIFF(LIT("\xff\xf1\x50\x80\x02\x1f\xfc"), "a.mp3", "");        /* AAC ADTS */
    SNIFF(LIT("\xff\xff\xff\xff"), "a.mp3", "");                    /* bad bitrate */
    SNIFF(LIT("\xff\xfb\x9c\x64"), "a.mp3", "");                    /* bad rate */
    SNIFF(LIT("\xff\xeb\x90\x64"), "a.mp3", "");                    /* bad version */
    SNIFF(LIT("ID3\x09\x00\x00\x00\x00\x00\x00"), "a.mp3", "");     /* bad ID3 */
    SNIFF(LIT("ID3\x04\x00\x00\x80\x00\x00\x00"), "a.mp3", "");     /* not syncsafe */
    SNIFF(LIT("h\0e\0l\0l\0o\0"), "notes.md", "");                  /* UTF-16LE */
    SNIFF(LIT("\xff\xfeh\0i\0"), "notes.md", "");
    SNIFF(LIT("text with a NUL\0 inside"), "notes.md", "");
    SNIFF(LIT("bell\x07"), "notes.md", "");
    SNIFF(LIT("Zo\xeb (Latin-1)"), "notes.md", "");
    SNIFF(LIT("overlong \xc0\xaf"), "notes.md", "");
    SNIFF(LIT("surrogate \xed\xa0\x80"), "notes.md", "");
    SNIFF(LIT("cut at the end \xe5\x88"), "notes.md", ""); /* whole file */
    for (i = 0; i < sizeof rnd; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        rnd[i] = (unsigned char)s;
    }
    SNIFF(rnd, sizeof rnd, "notes.md", "");
    SNIFF(rnd, sizeof rnd, "x.json", "");
}

TEST(sniff_text_window)
{
    const size_t max = UPLOAD_SNIFF_MAX;
    unsigned char *buf = malloc(max + 4096);

    CHECK(buf != NULL);
    memset(buf, 'a', max + 4096);
    /* a 3-byte sequence cut by the window's end, more data after it */
    memcpy(buf + max - 1, "\xe5\x88\x98", 3);
    SNIFF(buf, max + 4096, "w.md", "text/markdown; charset=utf-8");
    /* the window is exactly the head */
    SNIFF(buf, max, "w.md", "text/markdown; charset=utf-8");
    memcpy(buf + max - 2, "\xe5\x88\x98", 3);
    SNIFF(buf, max, "w.md", "text/markdown; charset=utf-8");
    /* a short head is the whole file: a cut sequence is invalid */
    SNIFF(buf, max - 1, "w.md", "");
    /* bad bytes inside the window are seen, beyond it they are not */
    memset(buf, 'a', max + 4096);
    buf[max - 1] = 0xff;
    SNIFF(buf, max + 4096, "w.md", "");
    buf[max - 1] = 0;
    SNIFF(buf, max + 4096, "w.md", "");
    buf[max - 1] = 'a';
    buf[max] = 0;
    buf[max + 100] = 0xff;
    SNIFF(buf, max + 4096, "w.md", "text/markdown; charset=utf-8");
    free(buf);
}

TEST(sniff_output_buffer)
{
    char small[5] = "junk";

    CHECK(!upload_sniff((const unsigned char *)"%PDF-1.4", 8, "a.pdf", small,
                        sizeof small));
    CHECK_STR_EQ(small, "");
    CHECK(!upload_sniff((const unsigned char *)"hi", 2, "a.md", NULL, 0));
    {
        char exact[sizeof "text/markdown; charset=utf-8"];
        CHECK(upload_sniff((const unsigned char *)"hi", 2, "a.md", exact,
                           sizeof exact));
        CHECK_STR_EQ(exact, "text/markdown; charset=utf-8");
    }
    CHECK(strlen("text/markdown; charset=utf-8") + 1 <= UPLOAD_TYPE_MAX);
}
