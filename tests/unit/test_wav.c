/* test_wav.c — unit tests for src/util/wav.c: header round trip, unusual
 * but valid layouts (odd-sized unknown chunks, WAVE_FORMAT_EXTENSIBLE,
 * streaming placeholders as espeak-ng --stdout writes them), refused
 * formats and truncated files, the streaming writer, and joining with
 * timings, rate and channel conversion, and flat memory on 100 MB. */
#define UNIT_MAIN
#include "unit.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/wav.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static char tmpdir_[512];

/* A fresh directory under $TMPDIR for this test; paths are built in it. */
static const char *tdir(void)
{
    if (!tmpdir_[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir_, sizeof tmpdir_, "%s/wav-XXXXXX", t ? t : "/tmp");
        if (!mkdtemp(tmpdir_))
            tmpdir_[0] = '\0';
    }
    return tmpdir_;
}

static const char *tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tdir(), name);
    return buf;
}

/* A byte builder for hand-made files. */
typedef struct bytes {
    unsigned char d[8192];
    size_t n;
} bytes;

static void b_raw(bytes *b, const void *p, size_t n)
{
    if (b->n + n <= sizeof b->d) {
        memcpy(b->d + b->n, p, n);
        b->n += n;
    }
}

static void b_u16(bytes *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v & 0xFF), (unsigned char)(v >> 8)};
    b_raw(b, x, 2);
}

static void b_u32(bytes *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    b_raw(b, x, 4);
}

/* "RIFF" <size> "WAVE" with a size that is ignored by readers anyway. */
static void b_riff(bytes *b)
{
    b_raw(b, "RIFF", 4);
    b_u32(b, 0);
    b_raw(b, "WAVE", 4);
}

static void b_fmt_pcm(bytes *b, unsigned tag, unsigned ch, uint32_t rate,
                      unsigned bits)
{
    b_raw(b, "fmt ", 4);
    b_u32(b, 16);
    b_u16(b, tag);
    b_u16(b, ch);
    b_u32(b, rate);
    b_u32(b, rate * ch * bits / 8);
    b_u16(b, ch * bits / 8);
    b_u16(b, bits);
}

static void b_fmt_ext(bytes *b, unsigned ch, uint32_t rate, unsigned sub)
{
    static const unsigned char tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10,
                                           0x00, 0x80, 0x00, 0x00, 0xAA,
                                           0x00, 0x38, 0x9B, 0x71};
    b_raw(b, "fmt ", 4);
    b_u32(b, 40);
    b_u16(b, 0xFFFE);
    b_u16(b, ch);
    b_u32(b, rate);
    b_u32(b, rate * ch * 2);
    b_u16(b, ch * 2);
    b_u16(b, 16);
    b_u16(b, 22);       /* cbSize */
    b_u16(b, 16);       /* valid bits */
    b_u32(b, ch == 2 ? 3 : 4);   /* channel mask */
    b_u16(b, sub);
    b_raw(b, tail, sizeof tail);
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, p, n);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* Reads all of a file (small ones only); caller frees. */
static unsigned char *slurp(const char *path, size_t *len)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    unsigned char *p = malloc((size_t)st.st_size + 1);
    int fd = open(path, O_RDONLY);
    if (!p || fd < 0) {
        free(p);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    ssize_t r = read(fd, p, (size_t)st.st_size);
    close(fd);
    if (r != st.st_size) {
        free(p);
        return NULL;
    }
    *len = (size_t)r;
    return p;
}

static int16_t sample_at(const unsigned char *file, const wav_info *in,
                         uint64_t frame, unsigned ch)
{
    const unsigned char *s = file + in->data_offset +
                             (frame * in->fmt.channels + ch) * 2;
    return (int16_t)(s[0] | (s[1] << 8));
}

/* Writes a mono/stereo file whose frame f, channel c holds gen(f, c). */
static int write_gen(const char *path, uint32_t rate, unsigned ch,
                     size_t frames, int16_t (*gen)(size_t, unsigned))
{
    int16_t *pcm = malloc(frames * ch * sizeof *pcm + 2);
    if (!pcm)
        return -1;
    for (size_t f = 0; f < frames; f++)
        for (unsigned c = 0; c < ch; c++)
            pcm[f * ch + c] = gen(f, c);
    wav_format fmt = {.sample_rate = rate, .channels = (uint16_t)ch,
                      .bits = 16};
    char err[256];
    int rc = wav_write_file(path, &fmt, pcm, frames * ch * 2, err,
                            sizeof err);
    free(pcm);
    return rc;
}

static int16_t gen_ramp(size_t f, unsigned c)
{
    (void)c;
    return (int16_t)((f * 10) % 30000);
}

static int16_t gen_one(size_t f, unsigned c)
{
    (void)f;
    (void)c;
    return 1000;
}

static int16_t gen_lr(size_t f, unsigned c)
{
    (void)f;
    return c == 0 ? 1000 : 3000;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* A file of `frames` silent frames made sparse (no I/O for the samples). */
static int write_sparse(const char *path, uint32_t rate, unsigned ch,
                        uint64_t frames)
{
    unsigned char h[WAV_HEADER_BYTES];
    wav_format fmt = {.sample_rate = rate, .channels = (uint16_t)ch,
                      .bits = 16};
    uint64_t nbytes = frames * ch * 2;
    if (wav_header(h, &fmt, nbytes) != 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int rc = write(fd, h, sizeof h) == (ssize_t)sizeof h &&
             ftruncate(fd, (off_t)(sizeof h + nbytes)) == 0 ? 0 : -1;
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------------
 * Reading and writing
 * ------------------------------------------------------------------- */

TEST(header_round_trip)
{
    char p[600], err[256];
    int16_t pcm[6] = {1, -2, 300, -400, 32767, -32768};
    wav_format fmt = {.sample_rate = 44100, .channels = 2, .bits = 16};
    CHECK(tdir()[0]);
    CHECK_EQ_INT(wav_write_file(tpath(p, sizeof p, "a.wav"), &fmt, pcm,
                                sizeof pcm, err, sizeof err), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.fmt.sample_rate, 44100);
    CHECK_EQ_INT(in.fmt.channels, 2);
    CHECK_EQ_INT(in.fmt.bits, 16);
    CHECK_EQ_INT(in.data_offset, 44);
    CHECK_EQ_INT(in.data_bytes, 12);
    CHECK_EQ_INT(in.frames, 3);
    CHECK(!in.size_from_file);
    CHECK(!in.extensible);

    size_t len = 0;
    unsigned char *f = slurp(p, &len);
    CHECK(f != NULL);
    CHECK_EQ_INT(len, 56);
    int ok = memcmp(f, "RIFF", 4) == 0 && f[4] == 48 && f[5] == 0 &&
             memcmp(f + 8, "WAVEfmt ", 8) == 0 && f[20] == 1 &&
             f[22] == 2 && memcmp(f + 36, "data", 4) == 0 && f[40] == 12 &&
             sample_at(f, &in, 2, 0) == 32767 &&
             sample_at(f, &in, 2, 1) == -32768 &&
             sample_at(f, &in, 0, 1) == -2;
    /* byte rate and block align */
    ok = ok && f[28] == 0x10 && f[29] == 0xB1 && f[30] == 0x02 && f[32] == 4;
    free(f);
    CHECK(ok);
    CHECK_EQ_INT(wav_frames_to_ms(in.frames, 44100), 0);
    CHECK_EQ_INT(wav_frames_to_ms(22050, 22050), 1000);
    CHECK_EQ_INT(wav_frames_to_ms(11025, 22050), 500);
}

TEST(header_rejects_bad_formats)
{
    unsigned char h[WAV_HEADER_BYTES];
    wav_format ok = {.sample_rate = 8000, .channels = 1, .bits = 16};
    wav_format b8 = {.sample_rate = 8000, .channels = 1, .bits = 8};
    wav_format c0 = {.sample_rate = 8000, .channels = 0, .bits = 16};
    wav_format r0 = {.sample_rate = 0, .channels = 1, .bits = 16};
    CHECK_EQ_INT(wav_header(h, &ok, 100), 0);
    CHECK_EQ_INT(wav_header(h, &b8, 100), -1);
    CHECK_EQ_INT(wav_header(h, &c0, 100), -1);
    CHECK_EQ_INT(wav_header(h, &r0, 100), -1);
    CHECK_EQ_INT(wav_header(h, &ok, 0x100000000ull), -1);
    char p[600], err[256];
    int16_t three[3] = {0};
    wav_format st = {.sample_rate = 8000, .channels = 2, .bits = 16};
    /* 6 bytes is not a whole number of stereo frames */
    CHECK_EQ_INT(wav_write_file(tpath(p, sizeof p, "x.wav"), &st, three, 6,
                                err, sizeof err), -1);
}

TEST(skips_odd_sized_unknown_chunks)
{
    bytes b = {.n = 0};
    char p[600], err[256];
    b_riff(&b);
    b_raw(&b, "LIST", 4);
    b_u32(&b, 5);
    b_raw(&b, "INFOx", 5);
    b_raw(&b, "\0", 1);                 /* pad byte */
    b_fmt_pcm(&b, 1, 1, 16000, 16);
    b_raw(&b, "junk", 4);
    b_u32(&b, 3);
    b_raw(&b, "abc\0", 4);              /* 3 + pad */
    b_raw(&b, "data", 4);
    b_u32(&b, 6);
    b_u16(&b, 7);
    b_u16(&b, 8);
    b_u16(&b, 9);
    b_raw(&b, "LIST", 4);               /* trailing chunk after data */
    b_u32(&b, 2);
    b_raw(&b, "zz", 2);
    CHECK_EQ_INT(write_bytes(tpath(p, sizeof p, "odd.wav"), b.d, b.n), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.fmt.sample_rate, 16000);
    CHECK_EQ_INT(in.frames, 3);
    CHECK_EQ_INT(in.data_offset, 12 + 8 + 6 + 24 + 8 + 4 + 8);

    /* joined alone, the samples come out unchanged behind a clean header */
    char o[600];
    const char *ins[1] = {p};
    CHECK_EQ_INT(wav_concat(ins, 1, tpath(o, sizeof o, "odd-out.wav"), NULL,
                            0, NULL, err, sizeof err), 0);
    size_t len = 0;
    unsigned char *f = slurp(o, &len);
    CHECK(f != NULL);
    int good = len == 50 && f[44] == 7 && f[46] == 8 && f[48] == 9;
    free(f);
    CHECK(good);
}

TEST(odd_data_size_drops_partial_frame)
{
    bytes b = {.n = 0};
    char p[600], err[256];
    b_riff(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 16);
    b_raw(&b, "data", 4);
    b_u32(&b, 5);
    b_raw(&b, "\1\0\2\0\3\0", 6);       /* 5 bytes + pad */
    CHECK_EQ_INT(write_bytes(tpath(p, sizeof p, "odd5.wav"), b.d, b.n), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.data_bytes, 4);
    CHECK_EQ_INT(in.frames, 2);
}

TEST(accepts_extensible_pcm)
{
    bytes b = {.n = 0};
    char p[600], err[256];
    b_riff(&b);
    b_fmt_ext(&b, 2, 48000, 1);
    b_raw(&b, "data", 4);
    b_u32(&b, 8);
    b_raw(&b, "\1\0\2\0\3\0\4\0", 8);
    CHECK_EQ_INT(write_bytes(tpath(p, sizeof p, "ext.wav"), b.d, b.n), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK(in.extensible);
    CHECK_EQ_INT(in.fmt.channels, 2);
    CHECK_EQ_INT(in.fmt.sample_rate, 48000);
    CHECK_EQ_INT(in.frames, 2);
    CHECK_EQ_INT(in.data_offset, 12 + 48 + 8);
}

/* Builds a file from one fmt variant and expects wav_probe to refuse it
 * with a message containing want. */
static void expect_refused(const char *name, const bytes *b, const char *want)
{
    char p[600], err[256] = "";
    wav_info in;
    CHECK_EQ_INT(write_bytes(tpath(p, sizeof p, name), b->d, b->n), 0);
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), -1);
    if (!strstr(err, want))
        FAIL("%s: message \"%s\" lacks \"%s\"", name, err, want);
    if (!strstr(err, name))
        FAIL("%s: message \"%s\" does not name the file", name, err);
}

static void add_data(bytes *b)
{
    b_raw(b, "data", 4);
    b_u32(b, 4);
    b_raw(b, "\0\0\0\0", 4);
}

TEST(refuses_other_formats_clearly)
{
    bytes b;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 3, 1, 8000, 32);
    add_data(&b);
    expect_refused("float.wav", &b, "IEEE float");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 24);
    add_data(&b);
    expect_refused("pcm24.wav", &b, "24-bit PCM is not supported");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 8);
    add_data(&b);
    expect_refused("pcm8.wav", &b, "8-bit PCM");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_fmt_ext(&b, 1, 8000, 3);
    add_data(&b);
    expect_refused("extfloat.wav", &b, "IEEE float");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 0x55, 1, 8000, 16);
    add_data(&b);
    expect_refused("mp3.wav", &b, "MP3");
    if (unit_failed_)
        return;

    b.n = 0;
    b_raw(&b, "RIFX", 4);
    b_u32(&b, 0);
    b_raw(&b, "WAVE", 4);
    expect_refused("rifx.wav", &b, "RIFX");
    if (unit_failed_)
        return;

    b.n = 0;
    b_raw(&b, "ID3\3\0\0\0\0\0\0\0\0\0\0", 14);
    expect_refused("notwav.wav", &b, "not a RIFF/WAVE file");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    add_data(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 16);
    expect_refused("datafirst.wav", &b, "data chunk before the fmt chunk");
}

TEST(truncated_files_are_errors)
{
    bytes b;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 16);
    b_raw(&b, "data", 4);
    b_u32(&b, 10000);
    b_raw(&b, "\1\0\2\0", 4);
    expect_refused("short-data.wav", &b, "truncated");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_raw(&b, "fmt ", 4);
    b_u32(&b, 16);
    b_u16(&b, 1);
    expect_refused("short-fmt.wav", &b, "truncated");
    if (unit_failed_)
        return;

    b.n = 0;
    b_riff(&b);
    b_fmt_pcm(&b, 1, 1, 8000, 16);
    expect_refused("no-data.wav", &b, "no data chunk");
    if (unit_failed_)
        return;

    b.n = 0;
    b_raw(&b, "RIFF", 4);
    expect_refused("tiny.wav", &b, "too short");
}

TEST(streaming_placeholder_size_uses_file_size)
{
    bytes b = {.n = 0};
    char p[600], err[256];
    b_raw(&b, "RIFF", 4);
    b_u32(&b, 0x7FFFF024u);
    b_raw(&b, "WAVE", 4);
    b_fmt_pcm(&b, 1, 1, 22050, 16);
    b_raw(&b, "data", 4);
    b_u32(&b, 0x7FFFF000u);
    for (int i = 0; i < 501; i++)       /* 1002 bytes of samples + 1 odd */
        b_u16(&b, (unsigned)i);
    b_raw(&b, "\1", 1);
    CHECK_EQ_INT(write_bytes(tpath(p, sizeof p, "stream.wav"), b.d, b.n), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK(in.size_from_file);
    CHECK_EQ_INT(in.frames, 501);
    CHECK_EQ_INT(in.data_bytes, 1002);
}

/* What `espeak-ng --stdout` really writes (a placeholder header, checked
 * by hand: data size 0x7ffff000) reads to the end of the file. */
TEST(reads_espeak_stdout_stream)
{
    char p[600], err[256];
    tpath(p, sizeof p, "espeak-stdout.wav");
    posix_spawn_file_actions_t fa;
    CHECK_EQ_INT(posix_spawn_file_actions_init(&fa), 0);
    CHECK_EQ_INT(posix_spawn_file_actions_addopen(&fa, 1, p, O_WRONLY |
                                                  O_CREAT | O_TRUNC, 0644), 0);
    char *argv[] = {"espeak-ng", "--stdout", "-v", "en", "--",
                    "Streaming header test.", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "espeak-ng", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    CHECK_EQ_INT(rc, 0);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    wav_info in;
    if (wav_probe(p, &in, err, sizeof err) != 0)
        FAIL("probe: %s", err);
    struct stat sb;
    CHECK_EQ_INT(stat(p, &sb), 0);
    CHECK(in.size_from_file);
    CHECK_EQ_INT(in.fmt.sample_rate, 22050);
    CHECK_EQ_INT(in.fmt.channels, 1);
    CHECK_EQ_INT(in.data_bytes, ((uint64_t)sb.st_size - in.data_offset) & ~1ull);
    CHECK(in.frames > 2205);            /* more than 0.1 s of speech */
}

TEST(writer_streams_and_fixes_header)
{
    char p[600], err[256];
    wav_writer w;
    wav_format fmt = {.sample_rate = 22050, .channels = 1, .bits = 16};
    CHECK_EQ_INT(wav_writer_open(&w, tpath(p, sizeof p, "w.wav"), &fmt, err,
                                 sizeof err), 0);
    /* before finishing, a reader already sees a placeholder */
    CHECK_EQ_INT(wav_writer_write(&w, "\x10\x00\x20", 3, err, sizeof err), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK(in.size_from_file);
    CHECK_EQ_INT(in.frames, 1);
    /* reset throws it away */
    CHECK_EQ_INT(wav_writer_reset(&w, err, sizeof err), 0);
    CHECK_EQ_INT(wav_writer_write(&w, "\x01", 1, err, sizeof err), 0);
    CHECK_EQ_INT(wav_writer_write(&w, "\x00\x02\x00\x03", 4, err, sizeof err),
                 0);
    uint64_t frames = 0;
    CHECK_EQ_INT(wav_writer_finish(&w, &frames, err, sizeof err), 0);
    CHECK_EQ_INT(frames, 2);
    CHECK_EQ_INT(w.fd, -1);
    CHECK_EQ_INT(wav_probe(p, &in, err, sizeof err), 0);
    CHECK(!in.size_from_file);
    CHECK_EQ_INT(in.data_bytes, 4);
    struct stat sb;
    CHECK_EQ_INT(stat(p, &sb), 0);
    CHECK_EQ_INT(sb.st_size, 48);

    /* nothing written: an error, and no file left */
    char q[600];
    CHECK_EQ_INT(wav_writer_open(&w, tpath(q, sizeof q, "empty.wav"), &fmt,
                                 err, sizeof err), 0);
    CHECK_EQ_INT(wav_writer_write(&w, "\x01", 1, err, sizeof err), 0);
    CHECK_EQ_INT(wav_writer_finish(&w, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "no audio") != NULL);
    CHECK(access(q, F_OK) != 0);
    wav_writer_abort(&w);   /* safe on a closed writer */
}

/* ---------------------------------------------------------------------
 * Joining
 * ------------------------------------------------------------------- */

TEST(concat_with_gap_and_timings)
{
    char a[600], b[600], c[600], o[600], err[256];
    CHECK_EQ_INT(write_gen(tpath(a, sizeof a, "ca.wav"), 22050, 1, 11025,
                           gen_ramp), 0);
    CHECK_EQ_INT(write_gen(tpath(b, sizeof b, "cb.wav"), 22050, 1, 22050,
                           gen_one), 0);
    CHECK_EQ_INT(write_gen(tpath(c, sizeof c, "cc.wav"), 22050, 1, 5513,
                           gen_ramp), 0);
    const char *ins[3] = {a, b, c};
    wav_span sp[3];
    CHECK_EQ_INT(wav_concat(ins, 3, tpath(o, sizeof o, "cat.wav"), NULL, 200,
                            sp, err, sizeof err), 0);
    CHECK_EQ_INT(sp[0].start_ms, 0);
    CHECK_EQ_INT(sp[0].end_ms, 500);
    CHECK_EQ_INT(sp[1].start_ms, 700);
    CHECK_EQ_INT(sp[1].end_ms, 1700);
    CHECK_EQ_INT(sp[2].start_ms, 1900);
    CHECK_EQ_INT(sp[2].end_ms, 2150);

    wav_info in;
    CHECK_EQ_INT(wav_probe(o, &in, err, sizeof err), 0);
    uint64_t gap = 4410;
    CHECK_EQ_INT(in.frames, 11025 + gap + 22050 + gap + 5513);
    CHECK_EQ_INT(in.data_offset, 44);
    size_t len = 0;
    unsigned char *f = slurp(o, &len);
    CHECK(f != NULL);
    int ok = 1;
    for (uint64_t k = 0; ok && k < 11025; k++)
        ok = sample_at(f, &in, k, 0) == gen_ramp((size_t)k, 0);
    for (uint64_t k = 11025; ok && k < 11025 + gap; k++)
        ok = sample_at(f, &in, k, 0) == 0;
    for (uint64_t k = 11025 + gap; ok && k < 11025 + gap + 22050; k++)
        ok = sample_at(f, &in, k, 0) == 1000;
    ok = ok && sample_at(f, &in, in.frames - 1, 0) == gen_ramp(5512, 0);
    free(f);
    CHECK(ok);
}

TEST(concat_converts_rate_and_channels)
{
    char a[600], b[600], o[600], err[256];
    /* mono 22050 ramp, then stereo 44100 with L=1000 R=3000 */
    CHECK_EQ_INT(write_gen(tpath(a, sizeof a, "ra.wav"), 22050, 1, 1000,
                           gen_ramp), 0);
    CHECK_EQ_INT(write_gen(tpath(b, sizeof b, "rb.wav"), 44100, 2, 4410,
                           gen_lr), 0);
    const char *ins[2] = {a, b};
    wav_span sp[2];

    /* into the first input's format: b is mixed down and halved */
    CHECK_EQ_INT(wav_concat(ins, 2, tpath(o, sizeof o, "r1.wav"), NULL, 0, sp,
                            err, sizeof err), 0);
    wav_info in;
    CHECK_EQ_INT(wav_probe(o, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.fmt.sample_rate, 22050);
    CHECK_EQ_INT(in.fmt.channels, 1);
    CHECK_EQ_INT(in.frames, 1000 + 2205);
    CHECK_EQ_INT(sp[1].end_ms - sp[1].start_ms, 100);
    size_t len = 0;
    unsigned char *f = slurp(o, &len);
    CHECK(f != NULL);
    int ok = 1;
    for (uint64_t k = 1000; ok && k < in.frames; k++)
        ok = sample_at(f, &in, k, 0) == 2000;
    free(f);
    CHECK(ok);

    /* into 44100 stereo: a is upsampled by linear interpolation and copied
     * to both channels; b passes unchanged */
    wav_format st = {.sample_rate = 44100, .channels = 2, .bits = 16};
    CHECK_EQ_INT(wav_concat(ins, 2, tpath(o, sizeof o, "r2.wav"), &st, 0, sp,
                            err, sizeof err), 0);
    CHECK_EQ_INT(wav_probe(o, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.fmt.sample_rate, 44100);
    CHECK_EQ_INT(in.fmt.channels, 2);
    CHECK_EQ_INT(in.frames, 2000 + 4410);
    f = slurp(o, &len);
    CHECK(f != NULL);
    for (uint64_t k = 0; ok && k < 2000; k++) {
        int16_t want = k % 2 == 0 ? gen_ramp(k / 2, 0)
                       : k == 1999 ? gen_ramp(999, 0)
                       : (int16_t)((gen_ramp(k / 2, 0) +
                                    gen_ramp(k / 2 + 1, 0)) / 2);
        ok = sample_at(f, &in, k, 0) == want && sample_at(f, &in, k, 1) == want;
        if (!ok)
            unit_fail_(__FILE__, __LINE__, "frame %llu: %d != %d",
                       (unsigned long long)k, sample_at(f, &in, k, 0), want);
    }
    for (uint64_t k = 2000; ok && k < in.frames; k++)
        ok = sample_at(f, &in, k, 0) == 1000 && sample_at(f, &in, k, 1) == 3000;
    free(f);
    CHECK(ok);

    /* 22050 -> 16000: frame count scales, rounded */
    wav_format m16 = {.sample_rate = 16000, .channels = 1, .bits = 16};
    CHECK_EQ_INT(wav_concat(ins, 1, tpath(o, sizeof o, "r3.wav"), &m16, 0, sp,
                            err, sizeof err), 0);
    CHECK_EQ_INT(wav_probe(o, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.frames, (1000 * 16000 + 11025) / 22050);
    CHECK_EQ_INT(sp[0].end_ms, 45);
}

TEST(concat_errors_name_the_input_and_leave_nothing)
{
    char a[600], bad[600], o[600], err[256] = "";
    CHECK_EQ_INT(write_gen(tpath(a, sizeof a, "ea.wav"), 8000, 1, 100,
                           gen_one), 0);
    bytes b = {.n = 0};
    b_riff(&b);
    b_fmt_pcm(&b, 3, 1, 8000, 32);
    add_data(&b);
    CHECK_EQ_INT(write_bytes(tpath(bad, sizeof bad, "efloat.wav"), b.d, b.n),
                 0);
    const char *ins[2] = {a, bad};
    CHECK_EQ_INT(wav_concat(ins, 2, tpath(o, sizeof o, "eo.wav"), NULL, 0,
                            NULL, err, sizeof err), -1);
    CHECK(strstr(err, "efloat.wav") != NULL);
    CHECK(access(o, F_OK) != 0);

    char missing[600];
    const char *ins2[2] = {a, tpath(missing, sizeof missing, "nope.wav")};
    CHECK_EQ_INT(wav_concat(ins2, 2, o, NULL, 0, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "input 1") != NULL);
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(wav_concat(ins, 1, o, NULL, -5, NULL, err, sizeof err), -1);
    CHECK_EQ_INT(wav_concat(ins, 0, o, NULL, 0, NULL, err, sizeof err), -1);
}

/* 100 MB of audio through a join: the peak RSS of this (fresh, forked)
 * process must not grow by more than a few MB. */
TEST(concat_100mb_in_flat_memory)
{
    char a[600], b[600], o[600], err[256];
    uint64_t frames = 25u * 1024u * 1024u;     /* 50 MiB each, mono */
    CHECK_EQ_INT(write_sparse(tpath(a, sizeof a, "big1.wav"), 22050, 1,
                              frames), 0);
    CHECK_EQ_INT(write_sparse(tpath(b, sizeof b, "big2.wav"), 22050, 1,
                              frames), 0);
    const char *ins[2] = {a, b};
    wav_span sp[2];
    long before = maxrss_kb();
    CHECK(before > 0);
    if (wav_concat(ins, 2, tpath(o, sizeof o, "big.wav"), NULL, 100, sp, err,
                   sizeof err) != 0)
        FAIL("concat: %s", err);
    long after = maxrss_kb();
    struct stat sb;
    CHECK_EQ_INT(stat(o, &sb), 0);
    CHECK_EQ_INT(sb.st_size, 44 + 4 * (int64_t)frames + 2 * 2205);
    CHECK_EQ_INT(sp[1].end_ms, wav_frames_to_ms(2 * frames + 2205, 22050));
    if (after - before > 8 * 1024)
        FAIL("peak RSS grew by %ld KiB", after - before);
    (void)unlink(o);

    /* converting path too: 22050 mono -> 44100 stereo, 50 MiB in,
     * 200 MiB out */
    wav_format st = {.sample_rate = 44100, .channels = 2, .bits = 16};
    before = maxrss_kb();
    if (wav_concat(ins, 1, o, &st, 0, sp, err, sizeof err) != 0)
        FAIL("concat: %s", err);
    after = maxrss_kb();
    CHECK_EQ_INT(stat(o, &sb), 0);
    CHECK_EQ_INT(sb.st_size, 44 + 8 * (int64_t)frames);
    if (after - before > 8 * 1024)
        FAIL("peak RSS grew by %ld KiB (converting)", after - before);
    (void)unlink(o);
    (void)unlink(a);
    (void)unlink(b);
}
