/* upload.c — filename sanitizing and content sniffing for uploads (see
 * upload.h for the rules).  Pure functions. */
#include "domain/upload.h"

#include <string.h>

/* --------------------------------------------------------------- UTF-8 */

enum { SEQ_INVALID = 0, SEQ_INCOMPLETE = -1 };

/* Examines the UTF-8 sequence at s[0..avail), avail >= 1.  Returns its
 * length (1..4) with the code point in *cp when valid (no overlongs, no
 * surrogates, nothing above U+10FFFF), SEQ_INCOMPLETE when the available
 * bytes are a valid but unfinished prefix, SEQ_INVALID otherwise. */
static int utf8_seq(const unsigned char *s, size_t avail, unsigned *cp)
{
    unsigned b = s[0], lo = 0x80, hi = 0xBF, c;
    int len, i;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (b == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return SEQ_INVALID;
    }
    for (i = 1; i < len; i++) {
        if ((size_t)i >= avail)
            return SEQ_INCOMPLETE;
        if (s[i] < lo || s[i] > hi)
            return SEQ_INVALID;
        c = (c << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return len;
}

/* ------------------------------------------------------------ filenames */

/* The next character of s[i..n): how many input bytes it spans (*step)
 * and what it becomes in the output (out[0..*olen), *olen 0 = dropped). */
static void next_char(const unsigned char *s, size_t n, size_t i,
                      size_t *step, unsigned char out[4], size_t *olen)
{
    unsigned cp = 0;
    int len = utf8_seq(s + i, n - i, &cp);

    *olen = 0;
    if (len <= 0) { /* invalid or cut short: drop this byte */
        *step = 1;
        return;
    }
    *step = (size_t)len;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
        (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
        return;
    if (cp < 0x80 && strchr(":*?\"<>|", (int)cp) != NULL) {
        out[0] = '_';
        *olen = 1;
        return;
    }
    memcpy(out, s + i, (size_t)len);
    *olen = (size_t)len;
}

static bool is_trim(const unsigned char *c, size_t olen)
{
    return olen == 1 && (c[0] == ' ' || c[0] == '.');
}

/* Appends the output characters of input bytes s[from..to) to out[*w..)
 * while they fit in `limit` bytes in total. */
static void emit_range(const unsigned char *s, size_t n, size_t from,
                       size_t to, char *out, size_t *w, size_t limit)
{
    size_t i = from, step, olen;
    unsigned char c[4];

    while (i < to) {
        next_char(s, n, i, &step, c, &olen);
        if (*w + olen > limit)
            return;
        memcpy(out + *w, c, olen);
        *w += olen;
        i += step;
    }
}

static void trim_tail(char *out, size_t *w)
{
    while (*w > 0 && (out[*w - 1] == ' ' || out[*w - 1] == '.'))
        (*w)--;
}

/* Sanitizes s[0..n) (one path component) into out, at most `limit` bytes
 * (limit >= 7); returns the length, 0 when nothing is left. */
static size_t clean_component(const unsigned char *s, size_t n, char *out,
                              size_t limit)
{
    size_t i = 0, step, olen, first = n, last_end = 0, dot = n;
    size_t total = 0, ext = 0, w = 0;
    unsigned char c[4];

    /* Pass 1: the trimmed range [first, last_end) of the input, its output
     * size, and where its last '.' is. */
    while (i < n) {
        next_char(s, n, i, &step, c, &olen);
        if (olen > 0 && !is_trim(c, olen)) {
            if (first == n)
                first = i;
            last_end = i + step;
        }
        i += step;
    }
    if (first == n)
        return 0;
    for (i = first; i < last_end; i += step) {
        next_char(s, n, i, &step, c, &olen);
        total += olen;
        if (olen == 1 && c[0] == '.') {
            dot = i;
            ext = 0;
        }
        if (dot != n)
            ext += olen;
    }
    if (total <= limit) {
        emit_range(s, n, first, last_end, out, &w, limit);
        return w;
    }
    /* Too long: shorten the stem and keep a short extension. */
    if (dot != n && ext <= 16 && ext < limit / 2) {
        emit_range(s, n, first, dot, out, &w, limit - ext);
        trim_tail(out, &w);
        emit_range(s, n, dot, last_end, out, &w, limit);
        return w;
    }
    emit_range(s, n, first, last_end, out, &w, limit);
    trim_tail(out, &w);
    return w;
}

/* True when name (up to its first '.', trailing spaces ignored) is a
 * Windows device name. */
static bool windows_reserved(const char *name, size_t len)
{
    static const char *const dev[] = {"con", "prn", "aux", "nul"};
    size_t stem = 0, i;
    char low[5];

    while (stem < len && name[stem] != '.')
        stem++;
    while (stem > 0 && name[stem - 1] == ' ')
        stem--;
    if (stem != 3 && stem != 4)
        return false;
    for (i = 0; i < stem; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32
                                                         : name[i]);
    low[stem] = '\0';
    if (stem == 3) {
        for (i = 0; i < sizeof dev / sizeof dev[0]; i++)
            if (strcmp(low, dev[i]) == 0)
                return true;
        return false;
    }
    return (memcmp(low, "com", 3) == 0 || memcmp(low, "lpt", 3) == 0) &&
           low[3] >= '1' && low[3] <= '9';
}

int upload_sanitize_filename(const char *in, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t n, start, limit, w;

    if (out == NULL || cap < 8) {
        if (out != NULL && cap > 0)
            out[0] = '\0';
        return -1;
    }
    n = strlen((const char *)s);
    start = n;
    while (start > 0 && s[start - 1] != '/' && s[start - 1] != '\\')
        start--;
    limit = cap - 1 < UPLOAD_FILENAME_MAX ? cap - 1 : UPLOAD_FILENAME_MAX;
    w = clean_component(s + start, n - start, out, limit);
    if (w == 0) {
        memcpy(out, "upload", sizeof "upload");
        return (int)(sizeof "upload" - 1);
    }
    if (windows_reserved(out, w)) {
        w = clean_component(s + start, n - start, out + 1, limit - 1);
        out[0] = '_';
        w++;
    }
    out[w] = '\0';
    return (int)w;
}

/* ------------------------------------------------------------- sniffing */

static bool has_prefix(const unsigned char *h, size_t n, const void *magic,
                       size_t mlen, size_t at)
{
    return n >= at + mlen && memcmp(h + at, magic, mlen) == 0;
}

/* Length in bytes of the MPEG audio frame whose header is h[0..4), or 0
 * when h is not a frame header (no sync; reserved version, layer, bitrate
 * or sampling rate; free-format bitrate, whose length cannot be known). */
static size_t mpeg_frame_len(const unsigned char *h)
{
    static const unsigned short kbps[5][16] = {
        {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
        {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
        {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
    };
    static const unsigned rates[3] = {44100, 48000, 32000};
    unsigned version, layer, br, rate, pad, row;

    if (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0)
        return 0;
    version = (h[1] >> 3) & 3; /* 0: 2.5, 1: reserved, 2: 2, 3: 1 */
    layer = 4 - ((h[1] >> 1) & 3); /* 4 means reserved */
    if (version == 1 || layer == 4 || (h[2] >> 2 & 3) == 3)
        return 0;
    row = version == 3 ? layer - 1 : layer == 1 ? 3 : 4;
    br = kbps[row][h[2] >> 4] * 1000u;
    if (br == 0)
        return 0;
    rate = rates[h[2] >> 2 & 3] >> (version == 3 ? 0 : version == 2 ? 1 : 2);
    pad = (h[2] >> 1) & 1;
    if (layer == 1)
        return (12 * br / rate + pad) * 4;
    if (layer == 3 && version != 3)
        return 72 * br / rate + pad;
    return 144 * br / rate + pad;
}

/* MP3 without an ID3 tag: like the WHATWG MIME sniffing algorithm, a
 * valid frame header followed by another one where the first frame ends
 * (one header alone matches too much, e.g. a UTF-16LE byte-order mark). */
static bool mpeg_frames(const unsigned char *h, size_t n)
{
    size_t len;

    if (n < 4 || (len = mpeg_frame_len(h)) == 0)
        return false;
    return n >= len + 4 && mpeg_frame_len(h + len) != 0;
}

/* AAC in ADTS frames: like MP3, a frame header (12 sync bits, layer 0, a
 * valid sampling-rate index, a frame length covering at least the
 * header) followed by another one where the first frame ends, or a file
 * that is exactly one frame. */
static size_t adts_frame_len(const unsigned char *h)
{
    if (h[0] != 0xFF || (h[1] & 0xF6) != 0xF0 || ((h[2] >> 2) & 0x0F) > 12)
        return 0;
    size_t len = ((size_t)(h[3] & 0x03) << 11) | ((size_t)h[4] << 3) | (h[5] >> 5);
    return len >= 7 ? len : 0;
}

static bool adts_frames(const unsigned char *h, size_t n)
{
    size_t len;

    if (n < 7 || (len = adts_frame_len(h)) == 0)
        return false;
    if (n == len)
        return true;
    return n >= len + 7 && adts_frame_len(h + len) != 0;
}

/* A brand of the ISO base media file format (ftyp box) and its type. */
static const struct {
    char brand[5];
    const char *type;
} BRANDS[] = {
    {"M4A ", "audio/mp4"}, {"M4B ", "audio/mp4"}, {"M4P ", "audio/mp4"},
    {"F4A ", "audio/mp4"}, {"qt  ", "video/quicktime"}, {"3gp4", "video/3gpp"},
    {"3gp5", "video/3gpp"}, {"3gp6", "video/3gpp"}, {"3g2a", "video/3gpp2"},
    {"isom", "video/mp4"}, {"iso2", "video/mp4"}, {"iso3", "video/mp4"},
    {"iso4", "video/mp4"}, {"iso5", "video/mp4"}, {"iso6", "video/mp4"},
    {"mp41", "video/mp4"}, {"mp42", "video/mp4"}, {"avc1", "video/mp4"},
    {"M4V ", "video/mp4"}, {"M4VH", "video/mp4"}, {"M4VP", "video/mp4"},
    {"dash", "video/mp4"}, {"mmp4", "video/mp4"}, {"MSNV", "video/mp4"},
    {"NDAS", "video/mp4"}, {"f4v ", "video/mp4"}, {"F4V ", "video/mp4"},
};

static const char *brand_type(const unsigned char *b)
{
    for (size_t i = 0; i < sizeof BRANDS / sizeof BRANDS[0]; i++)
        if (memcmp(b, BRANDS[i].brand, 4) == 0)
            return BRANDS[i].type;
    return NULL;
}

/* MP4, MOV, M4A, 3GP: an "ftyp" box first (size, "ftyp", major brand,
 * minor version, compatible brands); the major brand decides, else the
 * first known compatible one.  Other ISO files (HEIC, AVIF) are not
 * accepted. */
static const char *sniff_isobmff(const unsigned char *h, size_t n)
{
    if (!has_prefix(h, n, "ftyp", 4, 4) || n < 16)
        return NULL;
    size_t box = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    if (box < 16 || box > 4096 || box % 4 != 0)
        return NULL;
    const char *t = brand_type(h + 8);
    for (size_t at = 16; !t && at + 4 <= box && at + 4 <= n; at += 4)
        t = brand_type(h + at);
    return t;
}

/* WebM and Matroska: the EBML magic, then the DocType element (ID 0x4282)
 * within the header, its size as a one-byte variable-length integer. */
static const char *sniff_ebml(const unsigned char *h, size_t n)
{
    if (!has_prefix(h, n, "\x1a\x45\xdf\xa3", 4, 0))
        return NULL;
    size_t end = n < 64 ? n : 64;
    for (size_t i = 4; i + 3 <= end; i++) {
        if (h[i] != 0x42 || h[i + 1] != 0x82 || (h[i + 2] & 0x80) == 0)
            continue;
        size_t len = h[i + 2] & 0x7F;
        if (len == 4 && has_prefix(h, n, "webm", 4, i + 3))
            return "video/webm";
        if (len == 8 && has_prefix(h, n, "matroska", 8, i + 3))
            return "video/x-matroska";
        return NULL;
    }
    return NULL;
}

/* Ogg: the codec's identification header in the first page (27 bytes of
 * page header and a one-segment table) names what it carries. */
static const char *sniff_ogg(const unsigned char *h, size_t n)
{
    if (has_prefix(h, n, "OpusHead", 8, 28))
        return "audio/ogg; codecs=opus";
    if (has_prefix(h, n, "\x80theora", 7, 28))
        return "video/ogg";
    return "audio/ogg";
}

/* The type given by a magic number, or NULL. */
static const char *sniff_magic(const unsigned char *h, size_t n)
{
    const char *t;

    if (has_prefix(h, n, "RIFF", 4, 0) && has_prefix(h, n, "WAVE", 4, 8))
        return "audio/wav";
    if (has_prefix(h, n, "RIFF", 4, 0) && has_prefix(h, n, "WEBP", 4, 8))
        return "image/webp";
    if (has_prefix(h, n, "RIFF", 4, 0) && has_prefix(h, n, "AVI ", 4, 8))
        return "video/x-msvideo";
    if (has_prefix(h, n, "fLaC", 4, 0))
        return "audio/flac";
    if (has_prefix(h, n, "OggS", 4, 0))
        return sniff_ogg(h, n);
    if ((t = sniff_isobmff(h, n)) != NULL || (t = sniff_ebml(h, n)) != NULL)
        return t;
    if (has_prefix(h, n, "\x89PNG\r\n\x1a\n", 8, 0))
        return "image/png";
    if (has_prefix(h, n, "\xFF\xD8\xFF", 3, 0))
        return "image/jpeg";
    if (has_prefix(h, n, "GIF87a", 6, 0) || has_prefix(h, n, "GIF89a", 6, 0))
        return "image/gif";
    if (has_prefix(h, n, "%PDF-", 5, 0))
        return "application/pdf";
    if (has_prefix(h, n, "PK\x03\x04", 4, 0) ||
        has_prefix(h, n, "PK\x05\x06", 4, 0) ||
        has_prefix(h, n, "PK\x07\x08", 4, 0))
        return "application/zip";
    /* ID3v2: "ID3", version 2..4, revision, flags, 4 syncsafe size bytes */
    if (has_prefix(h, n, "ID3", 3, 0) && n >= 10 && h[3] >= 2 && h[3] <= 4 &&
        h[4] != 0xFF && (h[6] | h[7] | h[8] | h[9]) < 0x80)
        return "audio/mpeg";
    if (mpeg_frames(h, n))
        return "audio/mpeg";
    if (adts_frames(h, n))
        return "audio/aac";
    return NULL;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix), i;

    if (n < m)
        return false;
    for (i = 0; i < m; i++) {
        char c = s[n - m + i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != suffix[i])
            return false;
    }
    return true;
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* True when the text (BOM already skipped) opens like a JSON object or
 * array. */
static bool looks_like_json(const unsigned char *h, size_t n)
{
    size_t i = 0;
    unsigned char open;

    while (i < n && is_blank(h[i]))
        i++;
    if (i == n || (h[i] != '{' && h[i] != '['))
        return false;
    open = h[i++];
    while (i < n && is_blank(h[i]))
        i++;
    if (i == n)
        return false;
    if (open == '{')
        return h[i] == '"' || h[i] == '}';
    return strchr("\"{[]-0123456789tfn", h[i]) != NULL;
}

/* The text type for h[0..n), or NULL when it is not text. */
static const char *sniff_text(const unsigned char *h, size_t n,
                              const char *filename)
{
    size_t win = n < UPLOAD_SNIFF_MAX ? n : UPLOAD_SNIFF_MAX, i = 0;
    bool cut = n >= UPLOAD_SNIFF_MAX;

    while (i < win) {
        unsigned char b = h[i];
        unsigned cp;
        int len;

        if (b < 0x80) {
            /* NUL and the C0 controls text does not use */
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\v' &&
                b != '\f' && b != '\r' && b != 0x1B)
                return NULL;
            i++;
            continue;
        }
        len = utf8_seq(h + i, win - i, &cp);
        if (len == SEQ_INCOMPLETE && cut)
            break; /* a sequence split by the window's end */
        if (len <= 0)
            return NULL;
        i += (size_t)len;
    }
    if (filename != NULL &&
        (ends_with_ci(filename, ".md") || ends_with_ci(filename, ".markdown")))
        return "text/markdown; charset=utf-8";
    if (has_prefix(h, win, "\xEF\xBB\xBF", 3, 0)
            ? looks_like_json(h + 3, win - 3)
            : looks_like_json(h, win))
        return "application/json";
    return "text/plain; charset=utf-8";
}

bool upload_sniff(const unsigned char *head, size_t n, const char *filename,
                  char *type_out, size_t cap)
{
    const char *t = NULL;
    size_t len;

    if (head == NULL)
        n = 0;
    t = sniff_magic(head, n);
    if (t == NULL)
        t = sniff_text(head, n, filename);
    len = t ? strlen(t) : 0;
    if (t == NULL || type_out == NULL || len + 1 > cap) {
        if (type_out != NULL && cap > 0)
            type_out[0] = '\0';
        return false;
    }
    memcpy(type_out, t, len + 1);
    return true;
}
