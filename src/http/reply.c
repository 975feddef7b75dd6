/* reply.c — writing responses: the status line and common headers, JSON
 * documents, error replies from the error table (util/err.c, listed in
 * docs/errors.md) and streamed bodies.
 *
 * Every reply is written with one mg_write (status line, headers and body
 * in one buffer): civetweb's header API would cost a malloc per header
 * and a send() per line.  Runs on the request's civetweb thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "http/http_int.h"
#include "util/buf.h"
#include "util/util.h"

const char *const http_common_headers =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'\r\n";

/* Policies for stored objects (artifacts, uploads), sent besides the
 * common one (a browser enforces every policy it is given).  sandbox gives
 * the document an opaque origin and runs no script: a user's HTML or SVG
 * cannot act with the viewer's session.  The lesson page batchbox renders
 * (no inline script or style, docs/lesson-format.md) keeps its origin so
 * its audio loads with the session cookie, and may load only its own
 * script, stylesheet, images and audio. */
static const char SANDBOX_CSP[] =
    "Content-Security-Policy: sandbox; default-src 'none'; img-src 'self' data:; "
    "media-src 'self'; style-src 'self'; frame-ancestors 'none'\r\n";
static const char LESSON_CSP[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self'; connect-src 'none'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'\r\n";

void http_object_headers(const http_req *r, const char *filename, char *out, size_t cap)
{
    int policy = r->serve_policy;
    bool attach = policy == HTTP_SERVE_ATTACHMENT || policy == HTTP_SERVE_LESSON_ASSET;
    const char *csp = policy == HTTP_SERVE_LESSON_PAGE ? LESSON_CSP : SANDBOX_CSP;
    const char *kind = attach ? "attachment" : "inline";
    if (!filename || !*filename || strlen(filename) > 200) {
        snprintf(out, cap, "%sContent-Disposition: %s\r\n", csp, kind);
        return;
    }
    /* RFC 6266: an ASCII fallback plus the UTF-8 name, both escaped (the
     * escaped form needs at most 3 bytes per byte) */
    char ascii[201], pct[601];
    size_t a = 0;
    for (const unsigned char *c = (const unsigned char *)filename; *c; c++)
        if (a + 1 < sizeof ascii)
            ascii[a++] = (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') ? (char)*c : '_';
    ascii[a] = '\0';
    bb_url_escape(pct, sizeof pct, filename, false);
    snprintf(out, cap, "%sContent-Disposition: %s; filename=\"%s\"; filename*=UTF-8''%s\r\n",
             csp, kind, ascii, pct);
}

const char *http_reason_phrase(int status)
{
    const char *s = mg_get_response_code_text(NULL, status);
    return s ? s : "Unknown";
}

#define KEEP_ALIVE_HINT "Keep-Alive: timeout=" HTTP_STR(HTTP_KEEP_ALIVE_SEC) "\r\n"

/* The Connection header to send, mirroring civetweb's keep-alive choice;
 * a connection left open carries the idle timeout (see HTTP_KEEP_ALIVE_SEC). */
static const char *connection_header(http_req *r, bool must_close)
{
    if (must_close) {
        mg_disable_connection_keep_alive(r->conn);
        return "Connection: close\r\n";
    }
    const char *c = mg_get_header(r->conn, "Connection");
    if (c && strcasestr(c, "close"))
        return "Connection: close\r\n";
    if (c && strcasestr(c, "keep-alive"))
        return "Connection: keep-alive\r\n" KEEP_ALIVE_HINT;
    const struct mg_request_info *ri = mg_get_request_info(r->conn);
    if (ri && ri->http_version && strcmp(ri->http_version, "1.1") != 0)
        return ""; /* HTTP/1.0 without keep-alive: civetweb closes */
    return KEEP_ALIVE_HINT;
}

/* Writes the head of a response into b. */
static int put_head(http_req *r, buf *b, int status, const char *content_type, long long len,
                    const char *extra, bool must_close)
{
    int rc = buf_printf(b, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n%s", status,
                        http_reason_phrase(status), r->request_id, http_common_headers);
    if (content_type)
        rc |= buf_printf(b, "Content-Type: %s\r\n", content_type);
    if (len >= 0)
        rc |= buf_printf(b, "Content-Length: %lld\r\n", len);
    if (extra)
        rc |= buf_puts(b, extra);
    if (r->cors[0])
        rc |= buf_puts(b, r->cors);      /* docs/integrations.md, "CORS" */
    rc |= buf_puts(b, connection_header(r, must_close));
    rc |= buf_puts(b, "\r\n");
    return rc;
}

/* A body nobody read leaves the connection unusable: close it. */
static bool body_unread(http_req *r)
{
    return !r->ri || (r->ri->content_length > 0 && !r->body);
}

void http_reply_bytes(http_req *r, int status, const char *content_type, const void *data,
                      size_t len, const char *extra_headers)
{
    buf b;
    buf_init(&b, len + 8192);
    bool close = body_unread(r);
    if (put_head(r, &b, status, content_type, (long long)len, extra_headers, close) != 0 ||
        (strcmp(r->method, "HEAD") != 0 && buf_append(&b, data, len) != 0)) {
        buf_free(&b);
        mg_disable_connection_keep_alive(r->conn);
        r->status = 500;
        return;
    }
    mg_write(r->conn, b.data, b.len);
    buf_free(&b);
    r->status = status;
}

void http_reply_json(http_req *r, int status, const cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    if (!text) {
        static const char oom[] =
            "{\"error\":\"internal\",\"message\":\"out of memory\",\"details\":{}}";
        http_reply_bytes(r, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    http_reply_bytes(r, status, "application/json", text, strlen(text),
                     "Cache-Control: no-store\r\n");
    free(text);
}

void http_reply_doc(http_req *r, int status, cJSON *doc, const char *extra_headers)
{
    if (!extra_headers) {
        http_reply_json(r, status, doc);
        cJSON_Delete(doc);
        return;
    }
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        return;
    }
    http_reply_bytes(r, status, "application/json", text, strlen(text), extra_headers);
    free(text);
}

int http_status_for(enum bb_err code)
{
    return bb_err_info(code)->http_status;
}

char *http_error_text(const char *request_id, const bb_errctx *e, const char *message)
{
    const struct bb_err_info *info = bb_err_info(e->code);
    cJSON *doc = cJSON_CreateObject();
    cJSON *details = NULL;
    if (!doc || !cJSON_AddStringToObject(doc, "error", info->name) ||
        !cJSON_AddStringToObject(doc, "message", message) ||
        !(details = cJSON_AddObjectToObject(doc, "details"))) {
        cJSON_Delete(doc);
        return NULL;
    }
    if (e->fields)
        cJSON_AddItemToObject(details, "fields", cJSON_Duplicate(e->fields, 1));
    if (info->header && strcmp(info->header, "Retry-After") == 0 && e->header_value[0])
        cJSON_AddNumberToObject(details, "retryAfterSec", atof(e->header_value));
    if (request_id)
        cJSON_AddStringToObject(details, "requestId", request_id);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

void http_reply_err_status(http_req *r, int status, const bb_errctx *e, bool must_close)
{
    bb_errctx use = *e;
    if (use.code == BB_OK)
        use.code = BB_EINTERNAL;
    const struct bb_err_info *info = bb_err_info(use.code);
    const char *msg = use.message[0] ? use.message : info->name;
    char *text = http_error_text(r->request_id, &use, msg);
    if (!text) {
        mg_disable_connection_keep_alive(r->conn);
        r->status = 500;
        return;
    }
    char extra[256] = "Cache-Control: no-store\r\n";
    const char *value = use.header_value[0] ? use.header_value : info->header_value;
    if (info->header && value) {
        size_t n = strlen(extra);
        snprintf(extra + n, sizeof extra - n, "%s: %s\r\n", info->header, value);
    }
    if (must_close) {
        buf b;
        buf_init(&b, strlen(text) + 8192);
        if (put_head(r, &b, status, "application/json", (long long)strlen(text), extra, true) ==
                0 &&
            buf_puts(&b, text) == 0)
            mg_write(r->conn, b.data, b.len);
        buf_free(&b);
        r->status = status;
    } else {
        http_reply_bytes(r, status, "application/json", text, strlen(text), extra);
    }
    free(text);
}

void http_reply_err(http_req *r, const bb_errctx *e)
{
    http_reply_err_status(r, http_status_for(e->code == BB_OK ? BB_EINTERNAL : e->code), e,
                          false);
}

void http_reply_failed(http_req *r)
{
    if (r->body_timed_out)      /* whatever failed, the slow body was why */
        http_body_timeout_err(r);
    http_reply_err(r, &r->err);
}

void http_reply_error(http_req *r, enum bb_err code, const char *fmt, ...)
{
    bb_errctx e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    http_reply_err(r, &e);
}

int http_begin_stream(http_req *r, int status, const char *content_type,
                      const char *extra_headers)
{
    buf b;
    buf_init(&b, 8192);
    if (put_head(r, &b, status, content_type, -1, extra_headers, true) != 0) {
        buf_free(&b);
        return -1;
    }
    int n = mg_write(r->conn, b.data, b.len);
    buf_free(&b);
    r->status = status;
    return n > 0 ? 0 : -1;
}

int http_write(http_req *r, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    return mg_write(r->conn, data, len) == (int)len ? 0 : -1;
}
