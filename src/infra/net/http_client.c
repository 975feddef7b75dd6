/* http_client.c — blocking HTTP requests over libcurl (see http_client.h):
 * buffered or streamed bodies, capped buffers, timeouts, a cancel flag
 * polled from the transfer-progress callback, redacted error strings. */
#include "infra/net/http_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/text.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BODY (1024u * 1024u)
#define MAX_HEADER_BYTES (64u * 1024u)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void global_init(void)
{
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_client_init(void)
{
    if (pthread_once(&init_once, global_init) != 0)
        return -1;
    return init_result == CURLE_OK ? 0 : -1;
}

/* State shared with the libcurl callbacks of one transfer. */
struct xfer {
    const struct http_request *req;
    long status;        /* from the latest status line */
    buf headers;        /* header block of the latest response */
    buf body;           /* buffered body (non-streamed or non-2xx) */
    bool too_large;     /* body over max_body */
    bool headers_overflow;
    bool cb_aborted;    /* on_chunk returned non-zero */
};

static bool is_2xx(long status) { return status >= 200 && status < 300; }

/* Parses "HTTP/1.1 200 OK" → 200; 0 if the line is not a status line. */
static long parse_status_line(const char *line, size_t len)
{
    if (len < 12 || strncmp(line, "HTTP/", 5) != 0)
        return 0;
    const char *sp = memchr(line, ' ', len);
    if (!sp || (size_t)(line + len - sp) < 4)
        return 0;
    long code = 0;
    for (int k = 1; k <= 3; k++) {
        if (!isdigit((unsigned char)sp[k]))
            return 0;
        code = code * 10 + (sp[k] - '0');
    }
    return code;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * nmemb;
    long status = parse_status_line(data, len);

    if (status) {
        /* A new response (after 1xx or a proxy CONNECT): start over. */
        x->status = status;
        buf_reset(&x->headers);
    }
    if (buf_append(&x->headers, data, len) != 0) {
        x->headers_overflow = true;
        return 0; /* aborts the transfer */
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * nmemb;

    if (len == 0)
        return 0;
    if (x->req->on_chunk && is_2xx(x->status)) {
        if (x->req->on_chunk(x->req->user, data, len) != 0) {
            x->cb_aborted = true;
            return 0;
        }
        return len;
    }
    if (buf_append(&x->body, data, len) != 0) {
        x->too_large = true;
        return 0;
    }
    return len;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = userp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (x->req->cancel_flag && atomic_load(x->req->cancel_flag))
        return 1;
    return x->req->cancel && atomic_load(x->req->cancel) ? 1 : 0;
}

/* Writes the URL without user info and query into out: safe to print. */
static void redact_url(const char *url, char *out, size_t outlen)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *path = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(path - host));
    const char *rest_end = path + strcspn(path, "?#");

    int scheme_len = scheme_end ? (int)(scheme_end + 3 - url) : 0;

    if (at)
        host = at + 1;
    snprintf(out, outlen, "%.*s%.*s%.*s", scheme_len, url,
             (int)(path - host), host, (int)(rest_end - path), path);
}

/* The request's method: its own, else POST when it has a body. */
static const char *method_of(const struct http_request *req)
{
    return req->method ? req->method : (req->body || req->nform ? "POST" : "GET");
}

static void set_err(char *err, size_t errlen, const struct http_request *req,
                    const char *what, const char *detail)
{
    char safe[512];

    if (!err || errlen == 0)
        return;
    redact_url(req->url ? req->url : "", safe, sizeof safe);
    if (detail && *detail && strstr(detail, what)) {
        /* curl's error buffer usually repeats the generic text. */
        what = detail;
        detail = NULL;
    }
    if (detail && *detail)
        snprintf(err, errlen, "%s %s: %s (%s)",
                 method_of(req),
                 safe, what, detail);
    else
        snprintf(err, errlen, "%s %s: %s",
                 method_of(req),
                 safe, what);
}

/* Maps a failed curl result to ours. */
static enum http_result classify(CURLcode rc, const struct xfer *x)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return HTTP_RES_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_RES_TIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK:
        return HTTP_RES_CANCELED;
    case CURLE_WRITE_ERROR:
        if (x->cb_aborted)
            return HTTP_RES_ABORTED;
        if (x->too_large)
            return HTTP_RES_TOO_LARGE;
        return HTTP_RES_FAILED;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
        return HTTP_RES_INVALID;
    default:
        return HTTP_RES_FAILED;
    }
}

/* Applies every option of req to h; returns CURLE_OK or the first error. */
/* The multipart body of req->form on handle h into *out (caller frees
 * with curl_mime_free after the transfer). */
static CURLcode build_form(CURL *h, const struct http_request *req, curl_mime **out)
{
    curl_mime *mime = curl_mime_init(h);
    CURLcode rc = mime ? CURLE_OK : CURLE_OUT_OF_MEMORY;

    for (size_t k = 0; rc == CURLE_OK && k < req->nform; k++) {
        const struct http_form_part *fp = &req->form[k];
        curl_mimepart *part = curl_mime_addpart(mime);
        if (part == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            break;
        }
        rc = curl_mime_name(part, fp->name);
        if (rc == CURLE_OK && fp->value != NULL)
            rc = curl_mime_data(part, fp->value, CURL_ZERO_TERMINATED);
        else if (rc == CURLE_OK)
            rc = curl_mime_filedata(part, fp->file_path);
        if (rc == CURLE_OK && fp->value == NULL && fp->file_name != NULL)
            rc = curl_mime_filename(part, fp->file_name);
    }
    if (rc != CURLE_OK) {
        curl_mime_free(mime);
        mime = NULL;
    }
    *out = mime;
    return rc;
}

static CURLcode configure(CURL *h, const struct http_request *req,
                          struct xfer *x, struct curl_slist *hdrs,
                          curl_mime *form, char *errbuf)
{
    const char *method = method_of(req);
    long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                  : DEFAULT_CONNECT_TIMEOUT_MS;
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                      \
    do {                                                                   \
        if (rc == CURLE_OK)                                                \
            rc = curl_easy_setopt(h, opt, val);                            \
    } while (0)

    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (req->timeout_ms > 0)
        SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
    if (req->idle_timeout_sec > 0) {
        SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
        SET(CURLOPT_LOW_SPEED_TIME, req->idle_timeout_sec);
    }
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);

    if (form != NULL) {
        SET(CURLOPT_MIMEPOST, form);
    } else if (strcmp(method, "GET") == 0 && !req->body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
        if (req->body || strcmp(method, "POST") == 0) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
        }
    }
#undef SET
    return rc;
}

enum http_result http_client_perform(const struct http_request *req,
                                     struct http_response *resp,
                                     char *err, size_t errlen)
{
    /* "Expect:" turns off 100-continue, which only adds a round trip. */
    static const char *const expect_off[] = {"Expect:", NULL};
    char errbuf[CURL_ERROR_SIZE];
    struct xfer x;
    struct curl_slist *hdrs = NULL;
    enum http_result res = HTTP_RES_OK;
    CURL *h = NULL;
    curl_mime *form = NULL;
    CURLcode rc;
    long code = 0;

    memset(resp, 0, sizeof *resp);
    memset(&x, 0, sizeof x);
    x.req = req;
    buf_init(&x.headers, MAX_HEADER_BYTES);
    buf_init(&x.body, req->max_body ? req->max_body : DEFAULT_MAX_BODY);
    errbuf[0] = '\0';
    if (err && errlen)
        err[0] = '\0';

    if (!req->url || !*req->url) {
        set_err(err, errlen, req, "no URL", NULL);
        res = HTTP_RES_INVALID;
        goto out;
    }
    if (http_client_init() != 0) {
        set_err(err, errlen, req, "libcurl initialisation failed", NULL);
        res = HTTP_RES_INVALID;
        goto out;
    }
    h = curl_easy_init();
    if (!h) {
        set_err(err, errlen, req, "cannot create a libcurl handle", NULL);
        res = HTTP_RES_INVALID;
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass == 0 ? expect_off : req->headers;
        for (size_t k = 0; list && list[k]; k++) {
            struct curl_slist *n = curl_slist_append(hdrs, list[k]);
            if (!n) {
                set_err(err, errlen, req, "out of memory", NULL);
                res = HTTP_RES_INVALID;
                goto out;
            }
            hdrs = n;
        }
    }

    if (req->nform > 0) {
        rc = build_form(h, req, &form);
        if (rc != CURLE_OK) {
            set_err(err, errlen, req, curl_easy_strerror(rc), NULL);
            res = HTTP_RES_INVALID;
            goto out;
        }
    }
    rc = configure(h, req, &x, hdrs, form, errbuf);
    if (rc != CURLE_OK) {
        set_err(err, errlen, req, curl_easy_strerror(rc), errbuf);
        res = HTTP_RES_INVALID;
        goto out;
    }
    rc = curl_easy_perform(h);
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
        code > 0)
        x.status = code;
    if (rc != CURLE_OK) {
        res = classify(rc, &x);
        if (res == HTTP_RES_TOO_LARGE) {
            char what[96];
            snprintf(what, sizeof what, "response body larger than %zu bytes",
                     x.body.cap);
            set_err(err, errlen, req, what, NULL);
        } else if (res == HTTP_RES_ABORTED) {
            set_err(err, errlen, req, "stopped by the receiver", NULL);
        } else if (res == HTTP_RES_CANCELED) {
            set_err(err, errlen, req, "canceled", NULL);
        } else if (x.headers_overflow) {
            set_err(err, errlen, req, "response headers too large", NULL);
        } else {
            set_err(err, errlen, req, curl_easy_strerror(rc), errbuf);
        }
    }

out:
    resp->status = x.status;
    resp->body_len = x.body.len;
    resp->body = buf_take(&x.body);
    resp->headers_len = x.headers.len;
    resp->headers = buf_take(&x.headers);
    if (!resp->body || !resp->headers) {
        free(resp->body);
        free(resp->headers);
        resp->body = resp->headers = NULL;
        resp->body_len = resp->headers_len = 0;
        if (res == HTTP_RES_OK) {
            set_err(err, errlen, req, "out of memory", NULL);
            res = HTTP_RES_INVALID;
        }
    }
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    curl_mime_free(form);     /* after the handle that used it */
    return res;
}

void http_response_free(struct http_response *resp)
{
    free(resp->body);
    free(resp->headers);
    memset(resp, 0, sizeof *resp);
}

bool http_response_header(const struct http_response *resp, const char *name,
                          char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = resp->headers, *end;

    if (outlen)
        out[0] = '\0';
    if (!p)
        return false;
    end = p + resp->headers_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        size_t llen = (size_t)(line_end - p);
        if (llen > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            while (v < line_end && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = line_end;
            while (ve > v &&
                   (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (outlen)
                snprintf(out, outlen, "%.*s", (int)(ve - v), v);
            return true;
        }
        p = line_end + 1;
    }
    return false;
}

const char *http_result_name(enum http_result r)
{
    switch (r) {
    case HTTP_RES_OK: return "ok";
    case HTTP_RES_CONNECT: return "connect";
    case HTTP_RES_TIMEOUT: return "timeout";
    case HTTP_RES_CANCELED: return "canceled";
    case HTTP_RES_ABORTED: return "aborted";
    case HTTP_RES_TOO_LARGE: return "too_large";
    case HTTP_RES_FAILED: return "failed";
    case HTTP_RES_INVALID: return "invalid";
    }
    return "unknown";
}

char *http_client_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out, *o;

    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

long http_response_retry_after_ms(const struct http_response *resp)
{
    char v[64];
    if (!http_response_header(resp, "Retry-After", v, sizeof v) || !v[0])
        return -1;
    long ms = 0, scale = 1000;
    bool frac = false, digit = false;
    for (const char *c = v; *c; c++) {
        if (*c == '.' && !frac) {
            frac = true;
        } else if (*c >= '0' && *c <= '9') {
            digit = true;
            if (!frac) {
                if (ms > 86400000L)
                    return -1;
                ms = ms * 10 + (*c - '0') * 1000;
            } else if (scale > 1) {
                scale /= 10;
                ms += (*c - '0') * scale;
            }
        } else {
            return -1;
        }
    }
    return digit ? ms : -1;
}

void http_response_error_line(const struct http_response *resp,
                              const char *text, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    if (text)
        bb_one_line(out, outlen, text, strlen(text));
    else if (!resp->body || resp->body_len == 0)
        snprintf(out, outlen, "empty answer");
    else
        bb_one_line(out, outlen, resp->body,
                    resp->body_len < 160 ? resp->body_len : 160);
}
