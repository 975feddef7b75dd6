/* fuzz_multipart.c — libFuzzer target for the multipart parser
 * (src/http/multipart.c) and the upload checks (src/domain/upload.c).
 *
 * Build and run (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *       -Isrc tests/fuzz/fuzz_multipart.c src/http/multipart.c \
 *       src/domain/upload.c src/util/util.c -o build/fuzz_multipart
 *   mkdir -p /tmp/mp-corpus
 *   build/fuzz_multipart -max_total_time=60 -max_len=4096 \
 *       /tmp/mp-corpus tests/fuzz/corpus/multipart
 *
 * (the first corpus directory receives new inputs; keep the checked-in
 * seeds read-only by listing them second).  It needs nothing else: no
 * cJSON, no civetweb, no libsodium.
 *
 * Input layout:
 *   byte 0        P = (byte 0 % 8) + 1, the length of the chunk pattern
 *   bytes 1..P    chunk sizes (each byte % 64 + 1), used in a cycle
 *   then          the Content-Type line, up to the first '\n' (if it
 *                 yields no boundary, "xYz" is used), then the body.
 *
 * Besides the sanitizers, it checks: the same body fed at once and in the
 * chunk pattern gives the same status and the same callback stream (hashed);
 * callbacks come in a valid order (begin, data..., end), never with an
 * empty data piece, never more than MP_PARTS_MAX parts; every filename
 * seen sanitizes to a valid UTF-8 name of at most UPLOAD_FILENAME_MAX
 * bytes without path separators, control characters or edge dots/spaces;
 * and each part's first bytes go through upload_sniff(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/upload.h"
#include "http/multipart.h"
#include "util/util.h"

#define HEAD_MAX 2048 /* bytes of each part kept for sniffing */

struct run {
    uint64_t hash;      /* FNV-1a over the callback stream */
    int in_part;
    unsigned parts;
    char filename[MP_FILENAME_MAX];
    bool has_filename;
    unsigned char head[HEAD_MAX];
    size_t head_len;
};

static void mix(struct run *r, const void *d, size_t n)
{
    const unsigned char *p = d;
    for (size_t i = 0; i < n; i++) {
        r->hash ^= p[i];
        r->hash *= 1099511628211ULL;
    }
}

static void check_sanitized(const char *in)
{
    char out[UPLOAD_FILENAME_MAX + 1];
    int n = upload_sanitize_filename(in, out, sizeof out);

    if (n <= 0 || (size_t)n != strlen(out) || n > UPLOAD_FILENAME_MAX)
        abort();
    if (!bb_utf8_valid(out, (size_t)n))
        abort();
    if (out[0] == ' ' || out[0] == '.' || out[n - 1] == ' ' ||
        out[n - 1] == '.')
        abort();
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' ||
            strchr(":*?\"<>|", c) != NULL)
            abort();
    }
    /* a small buffer must stay in bounds too */
    char small[9];
    n = upload_sanitize_filename(in, small, sizeof small);
    if (n <= 0 || n > 8 || (size_t)n != strlen(small))
        abort();
}

static int on_begin(void *ud, const struct mp_part_headers *h)
{
    struct run *r = ud;

    if (r->in_part || h->name == NULL || h->index != r->parts)
        abort();
    r->in_part = 1;
    r->parts++;
    if (r->parts > MP_PARTS_MAX)
        abort();
    mix(r, "B", 1);
    mix(r, h->name, strlen(h->name) + 1);
    r->has_filename = h->filename != NULL;
    r->filename[0] = '\0';
    if (h->filename) {
        mix(r, h->filename, strlen(h->filename) + 1);
        if (strlen(h->filename) >= sizeof r->filename)
            abort();
        memcpy(r->filename, h->filename, strlen(h->filename) + 1);
        check_sanitized(h->filename);
    }
    if (h->content_type)
        mix(r, h->content_type, strlen(h->content_type) + 1);
    r->head_len = 0;
    return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
    struct run *r = ud;
    size_t take;

    if (!r->in_part || n == 0)
        abort();
    /* hash the bytes, not the split: the split differs between runs */
    mix(r, d, n);
    take = HEAD_MAX - r->head_len < n ? HEAD_MAX - r->head_len : n;
    memcpy(r->head + r->head_len, d, take);
    r->head_len += take;
    return 0;
}

static int on_end(void *ud)
{
    struct run *r = ud;
    char type[UPLOAD_TYPE_MAX];

    if (!r->in_part)
        abort();
    r->in_part = 0;
    mix(r, "E", 1);
    if (upload_sniff(r->head, r->head_len,
                     r->has_filename ? r->filename : NULL, type,
                     sizeof type)) {
        if (type[0] == '\0')
            abort();
    } else if (type[0] != '\0') {
        abort();
    }
    return 0;
}

static const struct mp_callbacks CB = {on_begin, on_data, on_end};

static enum mp_status run_once(const char *boundary, const uint8_t *body,
                               size_t len, const uint8_t *pat, size_t plen,
                               struct run *r)
{
    static struct multipart mp;
    enum mp_status st;
    size_t off = 0, k = 0;

    memset(r, 0, sizeof *r);
    r->hash = 14695981039346656037ULL;
    if (multipart_init(&mp, boundary, &CB, r) != MP_OK)
        abort(); /* boundaries here are always valid */
    while (off < len) {
        size_t n = plen ? (size_t)(pat[k++ % plen] % 64) + 1 : len - off;
        if (n > len - off)
            n = len - off;
        st = multipart_feed(&mp, body + off, n);
        if (st != MP_OK)
            goto out;
        off += n;
    }
    st = multipart_finish(&mp);
out:
    if (st != MP_OK && multipart_error_message(&mp)[0] == '\0')
        abort();
    if (st == MP_OK && r->in_part)
        abort();
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char ct[256], boundary[MP_BOUNDARY_MAX + 1];
    const uint8_t *pat, *body, *nl;
    size_t plen, ctlen, len;
    struct run a, b;
    enum mp_status sa, sb;

    if (size < 1)
        return 0;
    plen = (size_t)(data[0] % 8) + 1;
    if (size < 1 + plen)
        return 0;
    pat = data + 1;
    body = data + 1 + plen;
    len = size - 1 - plen;

    /* The Content-Type line (NULs end it early: it is a C string). */
    nl = memchr(body, '\n', len < sizeof ct - 1 ? len : sizeof ct - 1);
    ctlen = nl ? (size_t)(nl - body) : 0;
    memcpy(ct, body, ctlen);
    ct[ctlen] = '\0';
    if (multipart_boundary_from_content_type(ct, boundary, sizeof boundary) !=
        MP_OK) {
        if (boundary[0] != '\0')
            abort();
        strcpy(boundary, "xYz");
    } else if (boundary[0] == '\0' || strlen(boundary) > MP_BOUNDARY_MAX) {
        abort();
    }
    if (nl) {
        body = nl + 1;
        len -= ctlen + 1;
    }

    sa = run_once(boundary, body, len, NULL, 0, &a);
    sb = run_once(boundary, body, len, pat, plen, &b);
    if (sa != sb || a.hash != b.hash || a.parts != b.parts)
        abort();

    /* The sanitizer and the sniffer on the raw input as well. */
    {
        char name[1024];
        size_t n = len < sizeof name - 1 ? len : sizeof name - 1;
        memcpy(name, body, n);
        name[n] = '\0';
        check_sanitized(name);
        char type[UPLOAD_TYPE_MAX];
        (void)upload_sniff(body, len, name, type, sizeof type);
    }
    return 0;
}
