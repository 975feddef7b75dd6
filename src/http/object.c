/* object.c — serving a stored object over HTTP: ETag (the sha256),
 * If-None-Match (304), a single byte Range (206 / 416), HEAD, and the bytes
 * streamed from the storage driver in chunks (never the whole object in
 * memory).  Used for uploads (GET /files/:id) and artifacts. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "http/http.h"
#include "infra/storage/storage.h"
#include "util/log.h"
#include "util/util.h"

int http_parse_range(const char *h, int64_t size, int64_t *start, int64_t *len)
{
    if (!h)
        return 1;
    while (*h == ' ')
        h++;
    if (strncmp(h, "bytes=", 6) != 0)
        return 1;                       /* another unit: ignore */
    h += 6;
    if (strchr(h, ','))
        return 1;                       /* several ranges: send it all */
    char *end;
    int64_t a = -1, b = -1;
    if (*h == '-') {                    /* suffix: the last N bytes */
        long long n = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end || n < 0)
            return 1;
        if (n == 0 || size == 0)
            return -1;
        a = n >= size ? 0 : size - n;
        b = size - 1;
    } else {
        long long x = strtoll(h, &end, 10);
        if (end == h || *end != '-' || x < 0)
            return 1;
        a = x;
        const char *q = end + 1;
        if (*q) {
            long long y = strtoll(q, &end, 10);
            if (end == q || *end || y < x)
                return 1;
            b = y;
        } else {
            b = size - 1;
        }
        if (a >= size)
            return -1;
        if (b >= size)
            b = size - 1;
    }
    *start = a;
    *len = b - a + 1;
    return 0;
}

struct sink {
    http_req *r;
    bool failed;
};

static int to_client(void *ud, const void *data, size_t n)
{
    struct sink *s = ud;
    if (http_write(s->r, data, n) != 0) {
        s->failed = true;
        return 1;
    }
    return 0;
}

void http_serve_object(http_req *r, struct store *st, const char *key, int64_t size,
                       const char *sha256, const char *content_type, const char *filename)
{
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", sha256 ? sha256 : "");
    const char *inm = http_header(r, "If-None-Match");
    if (inm && sha256 && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        char extra[128];
        snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: private, no-cache\r\n", etag);
        http_reply_bytes(r, 304, NULL, "", 0, extra);
        return;
    }
    int64_t start = 0, len = size;
    int pr = http_parse_range(http_header(r, "Range"), size, &start, &len);
    if (pr < 0) {
        bb_errctx e = {.code = BB_ERANGE};
        snprintf(e.message, sizeof e.message,
                 "the requested range is outside the %" PRId64 " bytes", size);
        snprintf(e.header_value, sizeof e.header_value, "bytes */%" PRId64, size);
        http_reply_err(r, &e);
        return;
    }
    char disp[1400];
    http_object_headers(r, filename, disp, sizeof disp);
    char extra[1900];
    if (pr == 0)
        snprintf(extra, sizeof extra,
                 "Content-Length: %" PRId64 "\r\n"
                 "Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64
                 "\r\nAccept-Ranges: bytes\r\nETag: %s\r\n"
                 "Cache-Control: private, no-cache\r\n%s",
                 len, start, start + len - 1, size, etag, disp);
    else
        snprintf(extra, sizeof extra,
                 "Content-Length: %" PRId64 "\r\nAccept-Ranges: bytes\r\nETag: %s\r\n"
                 "Cache-Control: private, no-cache\r\n%s",
                 size, etag, disp);
    if (http_begin_stream(r, pr == 0 ? 206 : 200, content_type, extra) != 0)
        return;
    if (strcmp(r->method, "HEAD") == 0 || len == 0)
        return;
    struct sink s = {.r = r};
    struct store_err e = {0};
    if (store_get(st, key, start, len, to_client, &s, &e) != 0 && !s.failed)
        bb_warn("object read failed mid-response", "key", key, "error", e.message);
}
