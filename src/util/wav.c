/* wav.c — 16-bit PCM RIFF/WAVE reading, writing and joining (see wav.h).
 *
 * Headers are parsed byte by byte (little-endian whatever the host), so a
 * malformed file can only produce an error, never an out-of-bounds read.
 * Joining streams every input through three fixed buffers: raw bytes read
 * from the input, frames mixed to the output's channel count, and the
 * output block; a linear-interpolation resampler carries one frame of
 * history from block to block, so memory does not depend on file size. */
#include "util/wav.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FMT_PCM         0x0001u
#define FMT_FLOAT       0x0003u
#define FMT_ALAW        0x0006u
#define FMT_MULAW       0x0007u
#define FMT_EXTENSIBLE  0xFFFEu
#define STREAM_SIZE     0x7FFFF000u   /* data sizes from here up may be
                                         placeholders */
#define MAX_CHUNKS      4096          /* chunks scanned before "data" */
#define MAX_DATA_BYTES  (0xFFFFFFFFull - 36u)
#define BLOCK_FRAMES    4096u         /* input frames per read */
#define OUT_BYTES       (64u * 1024u) /* output block */
#define MAX_GAP_MS      600000        /* 10 minutes of silence at most */

/* The 14 bytes that follow the 2-byte format code in a KSDATAFORMAT
 * sub-format GUID (…-0000-0010-8000-00AA00389B71). */
static const unsigned char GUID_TAIL[14] = {
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
    0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
}

/* Reads exactly n bytes at off.  Returns 0, or -1 (errno set; EIO-like 0
 * errno means end of file came first). */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = 0;
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int pbb_write_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static const char *format_name(uint16_t tag)
{
    switch (tag) {
    case FMT_FLOAT: return "IEEE float";
    case FMT_ALAW: return "A-law";
    case FMT_MULAW: return "mu-law";
    case 0x0002: return "MS ADPCM";
    case 0x0011: return "IMA ADPCM";
    case 0x0055: return "MP3";
    default: return NULL;
    }
}

static bool fmt_valid(const wav_format *f)
{
    return f && f->bits == 16 && f->channels >= 1 &&
           f->channels <= WAV_MAX_CHANNELS && f->sample_rate >= 1 &&
           f->sample_rate <= WAV_MAX_RATE;
}

/* Parses the body of a "fmt " chunk (len bytes available, len >= 16). */
static int parse_fmt(const unsigned char *b, uint32_t len, const char *path,
                     wav_info *info, char *err, size_t errlen)
{
    uint16_t tag = le16(b), ch = le16(b + 2), align = le16(b + 12),
             bits = le16(b + 14);
    uint32_t rate = le32(b + 4);

    if (tag == FMT_EXTENSIBLE) {
        if (len < 40 || le16(b + 16) < 22) {
            set_err(err, errlen, "%s: WAVE_FORMAT_EXTENSIBLE header too "
                    "short", path);
            return -1;
        }
        uint16_t sub = le16(b + 24);
        if (memcmp(b + 26, GUID_TAIL, sizeof GUID_TAIL) != 0) {
            set_err(err, errlen, "%s: unknown WAVE_FORMAT_EXTENSIBLE "
                    "sub-format (want PCM)", path);
            return -1;
        }
        if (sub != FMT_PCM) {
            const char *nm = format_name(sub);
            set_err(err, errlen, "%s: %s%s audio is not supported (want "
                    "16-bit PCM)", path, nm ? nm : "non-PCM",
                    nm ? "" : " extensible");
            return -1;
        }
        uint16_t valid = le16(b + 18);
        if (valid > bits) {
            set_err(err, errlen, "%s: %u valid bits in %u-bit samples",
                    path, valid, bits);
            return -1;
        }
        info->extensible = true;
    } else if (tag != FMT_PCM) {
        const char *nm = format_name(tag);
        if (nm)
            set_err(err, errlen, "%s: %s audio is not supported (want "
                    "16-bit PCM)", path, nm);
        else
            set_err(err, errlen, "%s: audio format 0x%04x is not supported "
                    "(want 16-bit PCM)", path, tag);
        return -1;
    }
    if (bits != 16) {
        set_err(err, errlen, "%s: %u-bit PCM is not supported (want 16-bit)",
                path, bits);
        return -1;
    }
    if (ch < 1 || ch > WAV_MAX_CHANNELS) {
        set_err(err, errlen, "%s: %u channels (want 1 to %u)", path, ch,
                WAV_MAX_CHANNELS);
        return -1;
    }
    if (rate < 1 || rate > WAV_MAX_RATE) {
        set_err(err, errlen, "%s: sample rate %u Hz out of range", path,
                rate);
        return -1;
    }
    if (align != ch * 2u) {
        set_err(err, errlen, "%s: block align %u does not match %u "
                "channels of 16 bits", path, align, ch);
        return -1;
    }
    info->fmt.sample_rate = rate;
    info->fmt.channels = ch;
    info->fmt.bits = 16;
    return 0;
}

static char id_buf_char(unsigned char c)
{
    return c >= 0x20 && c < 0x7F ? (char)c : '?';
}

/* The probe proper, on an open descriptor. */
static int probe_fd(int fd, const char *path, wav_info *info, char *err,
                    size_t errlen)
{
    struct stat st;
    unsigned char h[40];

    memset(info, 0, sizeof *info);
    if (fstat(fd, &st) != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < 12 || pread_full(fd, h, 12, 0) != 0) {
        set_err(err, errlen, "%s: too short to be a WAV file (%llu bytes)",
                path, (unsigned long long)size);
        return -1;
    }
    if (memcmp(h, "RIFX", 4) == 0) {
        set_err(err, errlen, "%s: big-endian RIFX files are not supported",
                path);
        return -1;
    }
    if (memcmp(h, "RF64", 4) == 0) {
        set_err(err, errlen, "%s: RF64 files are not supported", path);
        return -1;
    }
    if (memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0) {
        set_err(err, errlen, "%s: not a RIFF/WAVE file", path);
        return -1;
    }

    uint64_t off = 12;
    bool have_fmt = false;
    for (int k = 0; k < MAX_CHUNKS; k++) {
        if (off + 8 > size || pread_full(fd, h, 8, off) != 0) {
            set_err(err, errlen, "%s: truncated: no %s chunk before the end "
                    "of the file", path, have_fmt ? "data" : "fmt");
            return -1;
        }
        uint32_t csize = le32(h + 4);
        uint64_t body = off + 8;
        uint64_t remain = size - body;
        if (memcmp(h, "fmt ", 4) == 0) {
            if (csize < 16) {
                set_err(err, errlen, "%s: fmt chunk of %u bytes is too short",
                        path, csize);
                return -1;
            }
            if (csize > remain) {
                set_err(err, errlen, "%s: truncated inside the fmt chunk",
                        path);
                return -1;
            }
            uint32_t want = csize < sizeof h ? csize : (uint32_t)sizeof h;
            if (pread_full(fd, h, want, body) != 0) {
                set_err(err, errlen, "%s: cannot read the fmt chunk", path);
                return -1;
            }
            if (parse_fmt(h, want, path, info, err, errlen) != 0)
                return -1;
            have_fmt = true;
        } else if (memcmp(h, "data", 4) == 0) {
            if (!have_fmt) {
                set_err(err, errlen, "%s: data chunk before the fmt chunk",
                        path);
                return -1;
            }
            uint64_t bytes = csize;
            if (bytes > remain) {
                if (csize < STREAM_SIZE) {
                    set_err(err, errlen, "%s: truncated: the data chunk "
                            "declares %u bytes but the file holds %llu",
                            path, csize, (unsigned long long)remain);
                    return -1;
                }
                bytes = remain;
                info->size_from_file = true;
            }
            uint32_t align = info->fmt.channels * 2u;
            info->data_offset = body;
            info->data_bytes = bytes - bytes % align;
            info->frames = info->data_bytes / align;
            return 0;
        } else if (csize > remain) {
            set_err(err, errlen, "%s: truncated inside the \"%c%c%c%c\" chunk "
                    "(no data chunk)", path, id_buf_char(h[0]),
                    id_buf_char(h[1]), id_buf_char(h[2]), id_buf_char(h[3]));
            return -1;
        }
        off = body + csize + (csize & 1u);
    }
    set_err(err, errlen, "%s: more than %d chunks before the data chunk",
            path, MAX_CHUNKS);
    return -1;
}

int wav_probe(const char *path, wav_info *info, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        memset(info, 0, sizeof *info);
        return -1;
    }
    int rc = probe_fd(fd, path, info, err, errlen);
    close(fd);
    return rc;
}

int64_t wav_frames_to_ms(uint64_t frames, uint32_t rate)
{
    if (rate == 0)
        return 0;
    return (int64_t)((frames * 1000u + rate / 2u) / rate);
}

int wav_header(unsigned char out[WAV_HEADER_BYTES], const wav_format *fmt,
               uint64_t data_bytes)
{
    if (!fmt_valid(fmt) || data_bytes > MAX_DATA_BYTES)
        return -1;
    uint16_t align = (uint16_t)(fmt->channels * 2u);
    memcpy(out, "RIFF", 4);
    put32(out + 4, (uint32_t)(36u + data_bytes));
    memcpy(out + 8, "WAVEfmt ", 8);
    put32(out + 16, 16);
    put16(out + 20, FMT_PCM);
    put16(out + 22, fmt->channels);
    put32(out + 24, fmt->sample_rate);
    put32(out + 28, fmt->sample_rate * align);
    put16(out + 32, align);
    put16(out + 34, 16);
    memcpy(out + 36, "data", 4);
    put32(out + 40, (uint32_t)data_bytes);
    return 0;
}

/* Placeholder header of a file still being written: readers take the
 * samples to the end of the file. */
static void placeholder_header(unsigned char out[WAV_HEADER_BYTES],
                               const wav_format *fmt)
{
    (void)wav_header(out, fmt, 0);
    put32(out + 4, STREAM_SIZE + 36u);
    put32(out + 40, STREAM_SIZE);
}

int wav_write_file(const char *path, const wav_format *fmt, const void *pcm,
                   size_t len, char *err, size_t errlen)
{
    unsigned char h[WAV_HEADER_BYTES];
    if (!fmt_valid(fmt) || len % (fmt->channels * 2u) != 0 ||
        wav_header(h, fmt, len) != 0) {
        set_err(err, errlen, "%s: bad format or length for a WAV file", path);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = bb_write_all(fd, h, sizeof h);
    if (rc == 0 && len > 0)
        rc = bb_write_all(fd, pcm, len);
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        set_err(err, errlen, "%s: write failed: %s", path, strerror(e));
        (void)unlink(path);
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * Streaming writer
 * ------------------------------------------------------------------- */

int wav_writer_open(wav_writer *w, const char *path, const wav_format *fmt,
                    char *err, size_t errlen)
{
    unsigned char h[WAV_HEADER_BYTES];
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (!fmt_valid(fmt)) {
        set_err(err, errlen, "%s: unsupported output format", path);
        return -1;
    }
    w->path = strdup(path);
    if (!w->path) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    w->fmt = *fmt;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        free(w->path);
        w->path = NULL;
        return -1;
    }
    placeholder_header(h, fmt);
    if (bb_write_all(w->fd, h, sizeof h) != 0) {
        set_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
        wav_writer_abort(w);
        return -1;
    }
    return 0;
}

int wav_writer_write(wav_writer *w, const void *data, size_t len, char *err,
                     size_t errlen)
{
    if (w->fd < 0) {
        set_err(err, errlen, "WAV writer is closed");
        return -1;
    }
    if (len > MAX_DATA_BYTES - w->bytes) {
        set_err(err, errlen, "%s: audio larger than the 4 GiB WAV limit",
                w->path);
        return -1;
    }
    if (bb_write_all(w->fd, data, len) != 0) {
        set_err(err, errlen, "%s: write failed: %s", w->path,
                strerror(errno));
        return -1;
    }
    w->bytes += len;
    return 0;
}

int wav_writer_reset(wav_writer *w, char *err, size_t errlen)
{
    if (w->fd < 0) {
        set_err(err, errlen, "WAV writer is closed");
        return -1;
    }
    if (ftruncate(w->fd, WAV_HEADER_BYTES) != 0 ||
        lseek(w->fd, WAV_HEADER_BYTES, SEEK_SET) < 0) {
        set_err(err, errlen, "%s: %s", w->path, strerror(errno));
        return -1;
    }
    w->bytes = 0;
    return 0;
}

int wav_writer_finish(wav_writer *w, uint64_t *frames_out, char *err,
                      size_t errlen)
{
    unsigned char h[WAV_HEADER_BYTES];
    if (w->fd < 0) {
        set_err(err, errlen, "WAV writer is closed");
        return -1;
    }
    uint32_t align = w->fmt.channels * 2u;
    uint64_t whole = w->bytes - w->bytes % align;
    if (whole == 0) {
        set_err(err, errlen, "%s: no audio data", w->path);
        wav_writer_abort(w);
        return -1;
    }
    if ((whole != w->bytes &&
         ftruncate(w->fd, (off_t)(WAV_HEADER_BYTES + whole)) != 0) ||
        wav_header(h, &w->fmt, whole) != 0 ||
        pbb_write_all(w->fd, h, sizeof h, 0) != 0) {
        set_err(err, errlen, "%s: cannot finish the header: %s", w->path,
                strerror(errno));
        wav_writer_abort(w);
        return -1;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        set_err(err, errlen, "%s: close failed: %s", w->path,
                strerror(errno));
        (void)unlink(w->path);
        free(w->path);
        w->path = NULL;
        return -1;
    }
    if (frames_out)
        *frames_out = whole / align;
    free(w->path);
    w->path = NULL;
    return 0;
}

void wav_writer_abort(wav_writer *w)
{
    if (w->fd >= 0) {
        (void)close(w->fd);
        w->fd = -1;
    }
    if (w->path) {
        (void)unlink(w->path);
        free(w->path);
        w->path = NULL;
    }
}

/* ---------------------------------------------------------------------
 * Joining
 * ------------------------------------------------------------------- */

/* Output side of a join: a block buffer in front of the file. */
typedef struct sink {
    int fd;
    const char *path;
    unsigned char buf[OUT_BYTES];
    size_t len;
    uint64_t bytes;        /* sample bytes accepted so far */
    uint64_t max_bytes;
} sink;

static int sink_flush(sink *s, char *err, size_t errlen)
{
    if (s->len == 0)
        return 0;
    if (bb_write_all(s->fd, s->buf, s->len) != 0) {
        set_err(err, errlen, "%s: write failed: %s", s->path,
                strerror(errno));
        return -1;
    }
    s->len = 0;
    return 0;
}

static int sink_put(sink *s, const void *data, size_t n, char *err,
                    size_t errlen)
{
    const unsigned char *p = data;
    if (n > s->max_bytes - s->bytes) {
        set_err(err, errlen, "%s: joined audio would exceed the 4 GiB WAV "
                "limit", s->path);
        return -1;
    }
    s->bytes += n;
    while (n > 0) {
        size_t room = sizeof s->buf - s->len;
        size_t k = n < room ? n : room;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        if (s->len == sizeof s->buf && sink_flush(s, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int sink_silence(sink *s, uint64_t bytes, char *err, size_t errlen)
{
    static const unsigned char zeros[4096];
    while (bytes > 0) {
        size_t k = bytes < sizeof zeros ? (size_t)bytes : sizeof zeros;
        if (sink_put(s, zeros, k, err, errlen) != 0)
            return -1;
        bytes -= k;
    }
    return 0;
}

static int16_t clamp16(int64_t v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* Decodes nf frames of raw input (in_ch channels) into mix (out_ch
 * channels), per the mixing rule in wav.h. */
static void mix_block(const unsigned char *raw, size_t nf, unsigned in_ch,
                      unsigned out_ch, int16_t *mix)
{
    for (size_t f = 0; f < nf; f++) {
        const unsigned char *fr = raw + f * in_ch * 2u;
        int16_t *o = mix + f * out_ch;
        if (out_ch == 1 && in_ch > 1) {
            int64_t sum = 0;
            for (unsigned c = 0; c < in_ch; c++)
                sum += (int16_t)le16(fr + 2u * c);
            o[0] = clamp16(sum / (int64_t)in_ch);
            continue;
        }
        for (unsigned c = 0; c < out_ch; c++) {
            unsigned src = c < in_ch ? c : c % in_ch;
            o[c] = (int16_t)le16(fr + 2u * src);
        }
    }
}

/* Linear-interpolation rate converter for one input. */
typedef struct resampler {
    uint32_t in_rate, out_rate;
    unsigned ch;
    uint64_t base;          /* input index of the current block's frame 0 */
    uint64_t next;          /* next output frame */
    uint64_t out_total;     /* output frames this input yields */
    int16_t prev[WAV_MAX_CHANNELS];   /* input frame base - 1 */
} resampler;

static const int16_t *rs_frame(const resampler *r, const int16_t *blk,
                               uint64_t k)
{
    return k + 1 == r->base ? r->prev : blk + (k - r->base) * r->ch;
}

/* Emits every output frame computable from blk[0..nb) (nb may be 0 at
 * the end).  final: no more input follows, so the last frame repeats. */
static int rs_run(resampler *r, const int16_t *blk, size_t nb, bool final,
                  sink *s, char *err, size_t errlen)
{
    uint64_t avail_end = r->base + nb;   /* one past the last input frame */
    unsigned char out[WAV_MAX_CHANNELS * 2];
    while (r->next < r->out_total) {
        uint64_t t = r->next * r->in_rate;
        uint64_t i = t / r->out_rate, rem = t % r->out_rate;
        uint64_t need = rem ? i + 1 : i;
        if (need >= avail_end) {
            if (!final)
                break;
            if (i >= avail_end)
                i = avail_end - 1;
            need = i;
        }
        const int16_t *a = rs_frame(r, blk, i), *b = rs_frame(r, blk, need);
        for (unsigned c = 0; c < r->ch; c++) {
            int64_t v = ((int64_t)a[c] * (int64_t)(r->out_rate - rem) +
                         (int64_t)b[c] * (int64_t)rem);
            /* round half away from zero */
            int64_t d = r->out_rate;
            v = v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d);
            put16(out + 2u * c, (uint16_t)clamp16(v));
        }
        if (sink_put(s, out, r->ch * 2u, err, errlen) != 0)
            return -1;
        r->next++;
    }
    if (nb > 0) {
        memcpy(r->prev, blk + (nb - 1) * r->ch, r->ch * sizeof(int16_t));
        r->base += nb;
    }
    return 0;
}

/* Scratch buffers of a join, allocated once. */
typedef struct scratch {
    unsigned char raw[BLOCK_FRAMES * WAV_MAX_CHANNELS * 2];
    int16_t mix[BLOCK_FRAMES * WAV_MAX_CHANNELS];
    sink out;
} scratch;

/* Appends one input (open fd, probed) to the sink; *frames gets the
 * number of output frames it produced. */
static int append_input(int fd, const char *path, const wav_info *in,
                        const wav_format *of, scratch *sc, uint64_t *frames,
                        char *err, size_t errlen)
{
    unsigned in_ch = in->fmt.channels, out_ch = of->channels;
    uint64_t in_align = in_ch * 2u;
    bool same = in->fmt.sample_rate == of->sample_rate && in_ch == out_ch;
    resampler rs = {
        .in_rate = in->fmt.sample_rate, .out_rate = of->sample_rate,
        .ch = out_ch,
        .out_total = (in->frames * of->sample_rate + in->fmt.sample_rate / 2) /
                     in->fmt.sample_rate,
    };
    bool rate_same = in->fmt.sample_rate == of->sample_rate;
    uint64_t done = 0;

    while (done < in->frames) {
        uint64_t nf = in->frames - done;
        if (nf > BLOCK_FRAMES)
            nf = BLOCK_FRAMES;
        size_t nbytes = (size_t)(nf * in_align);
        if (pread_full(fd, sc->raw, nbytes,
                       in->data_offset + done * in_align) != 0) {
            set_err(err, errlen, "%s: %s", path, errno ?
                    strerror(errno) : "file shrank while being read");
            return -1;
        }
        if (same) {
            if (sink_put(&sc->out, sc->raw, nbytes, err, errlen) != 0)
                return -1;
        } else {
            mix_block(sc->raw, (size_t)nf, in_ch, out_ch, sc->mix);
            if (rate_same) {
                unsigned char *o = sc->raw;   /* raw is consumed */
                size_t ns = (size_t)nf * out_ch;   /* fits: see scratch */
                for (size_t k = 0; k < ns; k++)
                    put16(o + 2u * k, (uint16_t)sc->mix[k]);
                if (sink_put(&sc->out, o, ns * 2u, err, errlen) != 0)
                    return -1;
            } else if (rs_run(&rs, sc->mix, (size_t)nf, false, &sc->out, err,
                              errlen) != 0) {
                return -1;
            }
        }
        done += nf;
    }
    if (!same && !rate_same && in->frames > 0 &&
        rs_run(&rs, sc->mix, 0, true, &sc->out, err, errlen) != 0)
        return -1;
    *frames = (same || rate_same) ? in->frames : rs.out_total;
    return 0;
}

int wav_concat(const char *const *inputs, size_t n, const char *out_path,
               const wav_format *fmt, int gap_ms, wav_span *spans,
               char *err, size_t errlen)
{
    wav_info info;
    wav_format of;

    if (!inputs || n == 0 || !out_path) {
        set_err(err, errlen, "wav_concat: no inputs");
        return -1;
    }
    if (gap_ms < 0 || gap_ms > MAX_GAP_MS) {
        set_err(err, errlen, "wav_concat: gap of %d ms out of range (0 to "
                "%d)", gap_ms, MAX_GAP_MS);
        return -1;
    }
    if (fmt) {
        if (!fmt_valid(fmt)) {
            set_err(err, errlen, "wav_concat: unsupported output format");
            return -1;
        }
        of = *fmt;
    } else {
        if (wav_probe(inputs[0], &info, err, errlen) != 0)
            return -1;
        of = info.fmt;
    }

    scratch *sc = malloc(sizeof *sc);
    if (!sc) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    sc->out.len = 0;
    sc->out.bytes = 0;
    sc->out.path = out_path;
    uint32_t out_align = of.channels * 2u;
    sc->out.max_bytes = MAX_DATA_BYTES - MAX_DATA_BYTES % out_align;
    sc->out.fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0644);
    if (sc->out.fd < 0) {
        set_err(err, errlen, "%s: %s", out_path, strerror(errno));
        free(sc);
        return -1;
    }

    unsigned char h[WAV_HEADER_BYTES];
    placeholder_header(h, &of);
    int rc = sink_put(&sc->out, h, sizeof h, err, errlen);
    sc->out.bytes = 0;          /* the header is not sample data */
    uint64_t total = 0;         /* output frames so far */
    uint64_t gap_frames = (uint64_t)gap_ms * of.sample_rate / 1000u;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0 && gap_frames > 0) {
            rc = sink_silence(&sc->out, gap_frames * out_align, err, errlen);
            total += gap_frames;
            if (rc != 0)
                break;
        }
        int fd = inputs[i] ? open(inputs[i], O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
            set_err(err, errlen, "input %zu: %s: %s", i,
                    inputs[i] ? inputs[i] : "(null)",
                    inputs[i] ? strerror(errno) : "no path");
            rc = -1;
            break;
        }
        uint64_t frames = 0;
        rc = probe_fd(fd, inputs[i], &info, err, errlen);
        if (rc == 0)
            rc = append_input(fd, inputs[i], &info, &of, sc, &frames, err,
                              errlen);
        close(fd);
        if (rc != 0)
            break;
        if (spans) {
            spans[i].start_ms = wav_frames_to_ms(total, of.sample_rate);
            spans[i].end_ms = wav_frames_to_ms(total + frames, of.sample_rate);
        }
        total += frames;
    }
    if (rc == 0)
        rc = sink_flush(&sc->out, err, errlen);
    if (rc == 0 && (wav_header(h, &of, sc->out.bytes) != 0 ||
                    pbb_write_all(sc->out.fd, h, sizeof h, 0) != 0)) {
        set_err(err, errlen, "%s: cannot write the header: %s", out_path,
                strerror(errno));
        rc = -1;
    }
    if (close(sc->out.fd) != 0 && rc == 0) {
        set_err(err, errlen, "%s: close failed: %s", out_path,
                strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        (void)unlink(out_path);
    free(sc);
    return rc;
}
