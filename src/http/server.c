/* server.c — civetweb glue: start/stop, request dispatch through the route
 * table, the authentication hook, request ids, access logs and every
 * reply's common headers.
 *
 * Threads: civetweb runs one thread per open connection (idle keep-alive
 * sockets and SSE streams included) from a pool created at start.  Sizing
 * (see docs/architecture.md): num_threads = events.maxSubscribers + API
 * headroom; the SSE route refuses streams beyond maxSubscribers with 503,
 * so API requests always find a free thread.  Keep-alive sockets are
 * released after 2 s idle for the same reason.
 *
 * Every reply is written with one mg_write (status line, headers and body
 * in one buffer): civetweb's header API would cost a malloc per header
 * and a send() per line. */
#include "http/http.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "civetweb.h"
#include "cJSON.h"
#include "infra/metrics.h"
#include "service/auth.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#define API_THREADS 64

struct http_server {
    struct mg_context *ctx;
    bb_app *app;
    int port;
};

static atomic_uint_fast64_t request_seq;
static uint32_t boot_id;

/* ---- common headers --------------------------------------------------- */

static const char *const COMMON_HEADERS =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'\r\n";

static const char *reason_phrase(int status)
{
    const char *s = mg_get_response_code_text(NULL, status);
    return s ? s : "Unknown";
}

/* The Connection header to send, mirroring civetweb's keep-alive choice. */
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
        return "Connection: keep-alive\r\n";
    return "";
}

/* Writes the head of a response into b. */
static int put_head(http_req *r, buf *b, int status, const char *content_type, long long len,
                    const char *extra, bool must_close)
{
    int rc = buf_printf(b, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n%s", status,
                        reason_phrase(status), r->request_id, COMMON_HEADERS);
    if (content_type)
        rc |= buf_printf(b, "Content-Type: %s\r\n", content_type);
    if (len >= 0)
        rc |= buf_printf(b, "Content-Length: %lld\r\n", len);
    if (extra)
        rc |= buf_puts(b, extra);
    rc |= buf_puts(b, connection_header(r, must_close));
    rc |= buf_puts(b, "\r\n");
    return rc;
}

static bool body_unread(http_req *r)
{
    /* A body the handler did not read leaves the connection unusable. */
    return r->ri->content_length > 0 && !r->body;
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
    char *text = cJSON_PrintUnformatted(doc);
    if (!text) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\",\"details\":{}}";
        http_reply_bytes(r, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    http_reply_bytes(r, status, "application/json", text, strlen(text),
                     "Cache-Control: no-store\r\n");
    free(text);
}

int http_status_for(enum bb_err code)
{
    switch (code) {
    case BB_OK: return 200;
    case BB_EINVAL: return 400;
    case BB_EAUTH: return 401;
    case BB_EFORBIDDEN: return 403;
    case BB_ENOTFOUND: return 404;
    case BB_ECONFLICT: return 409;
    case BB_ETOOLARGE: return 413;
    case BB_EMEDIA: return 415;
    case BB_ESTATE: return 422;
    case BB_ERATE: return 429;
    case BB_EINTERNAL: return 500;
    case BB_ENOTIMPL: return 501;
    case BB_EUNAVAIL: return 503;
    case BB_EIO: return 500;
    }
    return 500;
}

static void reply_error_doc(http_req *r, int status, const char *code, const char *message,
                            const cJSON *fields, const char *extra_headers)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "error", code);
    cJSON_AddStringToObject(doc, "message", message);
    cJSON *details = cJSON_AddObjectToObject(doc, "details");
    if (fields)
        cJSON_AddItemToObject(details, "fields", cJSON_Duplicate(fields, 1));
    cJSON_AddStringToObject(details, "requestId", r->request_id);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text) {
        char extra[256];
        snprintf(extra, sizeof extra, "Cache-Control: no-store\r\n%s",
                 extra_headers ? extra_headers : "");
        http_reply_bytes(r, status, "application/json", text, strlen(text), extra);
        free(text);
    }
}

void http_reply_err(http_req *r, const bb_errctx *e)
{
    enum bb_err code = e->code == BB_OK ? BB_EINTERNAL : e->code;
    const char *msg = e->message[0] ? e->message : bb_err_code(code);
    const char *extra = code == BB_EUNAVAIL ? "Retry-After: 5\r\n" : NULL;
    reply_error_doc(r, http_status_for(code), bb_err_code(code), msg, e->fields, extra);
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

/* ---- request helpers --------------------------------------------------- */

const char *http_param(http_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->param_values[i];
    return NULL;
}

const char *http_query(http_req *r, const char *name, char *dst, size_t cap)
{
    const char *qs = r->ri->query_string;
    if (!qs)
        return NULL;
    int n = mg_get_var(qs, strlen(qs), name, dst, cap);
    return n >= 0 ? dst : NULL;
}

const char *http_header(http_req *r, const char *name)
{
    return mg_get_header(r->conn, name);
}

bool http_read_body_or_reply(http_req *r, size_t max)
{
    long long cl = r->ri->content_length;
    if (cl > (long long)max) {
        /* Read (and drop) a bounded amount so the client sees the 413
         * instead of a reset connection, then close. */
        char sink[16384];
        long long left = cl < (long long)(16u << 20) ? cl : 0;
        while (left > 0) {
            int n = mg_read(r->conn, sink, left < (long long)sizeof sink ? (size_t)left : sizeof sink);
            if (n <= 0)
                break;
            left -= n;
        }
        http_reply_error(r, BB_ETOOLARGE, "the request body is larger than %zu bytes", max);
        return false;
    }
    buf b;
    buf_init(&b, max);
    char tmp[16384];
    for (;;) {
        int n = mg_read(r->conn, tmp, sizeof tmp);
        if (n < 0) {
            buf_free(&b);
            mg_disable_connection_keep_alive(r->conn);
            http_reply_error(r, BB_EINVAL, "could not read the request body");
            return false;
        }
        if (n == 0)
            break;
        if (buf_append(&b, tmp, (size_t)n) != 0) {
            buf_free(&b);
            mg_disable_connection_keep_alive(r->conn);
            http_reply_error(r, BB_ETOOLARGE, "the request body is larger than %zu bytes", max);
            return false;
        }
    }
    r->body_len = b.len;
    r->body = buf_take(&b);
    return true;
}

/* True if the JSON text has a \u0000 escape (cJSON would silently cut the
 * string there).  A backslash counts as an escape only after an even
 * number of backslashes. */
static bool json_has_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 5 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' && s[i + 4] == '0' &&
            s[i + 5] == '0')
            return true;
        i++;   /* skip the escaped character (handles \\) */
    }
    return false;
}

cJSON *http_json_body_or_reply(http_req *r)
{
    return http_json_body_limited_or_reply(r, (size_t)r->app->cfg->limits.max_body_bytes);
}

cJSON *http_json_body_limited_or_reply(http_req *r, size_t max)
{
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        /* still consume the body so keep-alive survives small requests */
        if (r->ri->content_length > 0 && r->ri->content_length <= (long long)max &&
            !http_read_body_or_reply(r, max))
            return NULL;
        http_reply_error(r, BB_EMEDIA, "send the body as application/json");
        return NULL;
    }
    if (!http_read_body_or_reply(r, max))
        return NULL;
    if (!bb_utf8_valid(r->body, r->body_len) || memchr(r->body, '\0', r->body_len)) {
        http_reply_error(r, BB_EINVAL, "the request body is not valid UTF-8 text");
        return NULL;
    }
    if (json_has_nul_escape(r->body, r->body_len)) {
        http_reply_error(r, BB_EINVAL, "the request body contains a NUL character (\\u0000)");
        return NULL;
    }
    const char *end = NULL;
    /* the length includes the terminating NUL: cJSON then checks that
     * nothing but whitespace follows the value */
    cJSON *doc = cJSON_ParseWithLengthOpts(r->body, r->body_len + 1, &end, 1);
    if (!doc) {
        size_t off = end && end >= r->body ? (size_t)(end - r->body) : 0;
        http_reply_error(r, BB_EINVAL, "the request body is not valid JSON (near byte %zu)", off);
        return NULL;
    }
    return doc;
}

bool http_job_id_or_reply(http_req *r, int64_t *id)
{
    const char *s = http_param(r, "id");
    if (!s || bb_parse_i64(s, id) != 0 || *id < 1) {
        http_reply_error(r, BB_ENOTFOUND, "no such job");
        return false;
    }
    r->job_id = *id;
    return true;
}

/* ---- authentication hook ------------------------------------------------ */

const char *http_cookie(http_req *r, const char *name, char *dst, size_t cap)
{
    const char *h = mg_get_header(r->conn, "Cookie");
    if (!h)
        return NULL;
    return mg_get_cookie(h, name, dst, cap) > 0 ? dst : NULL;
}

bool http_csrf_ok(http_req *r)
{
    char want[96];
    const char *got = mg_get_header(r->conn, "X-CSRF-Token");
    return http_cookie(r, "bb_csrf", want, sizeof want) && got && strlen(want) >= 16 &&
           strlen(got) == strlen(want) && sodium_memcmp(got, want, strlen(want)) == 0;
}

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/* A browser that navigates to an artifact (the lesson page a CLI printed)
 * without a valid session is sent to the web UI's sign-in, which returns
 * to the page afterwards: 303 to /#/signin?next=<the page>.  Only for GET
 * of an artifact with Accept: text/html (a navigation; API clients and the
 * UI's fetch() calls still get the JSON 401).  Returns true if it replied. */
static bool signin_redirect(http_req *r, const struct http_route *route)
{
    const char *accept = mg_get_header(r->conn, "Accept");
    if (strcmp(r->method, "GET") != 0 || strcmp(route->pattern, "/jobs/:id/artifacts/:name") != 0 ||
        !accept || !strstr(accept, "text/html"))
        return false;
    char page[sizeof r->path + 8], next[3 * sizeof page], hdr[sizeof next + 64];
    snprintf(page, sizeof page, "/api/v1%s", r->path);
    bb_url_escape(next, sizeof next, page, false);
    snprintf(hdr, sizeof hdr, "Location: /#/signin?next=%s\r\n", next);
    http_reply_bytes(r, 303, "text/plain; charset=utf-8", "sign in first\n", 14, hdr);
    return true;
}

/* Decides who is calling and whether they may use the route:
 * `Authorization: Bearer <access token>` (API, CLI) or the bb_access cookie
 * (browser; unsafe methods must echo the bb_csrf cookie in X-CSRF-Token).
 * Public routes run with or without credentials; other routes answer 401
 * without valid ones, and admin routes 403 for non-admins. */
static bool authenticate_or_reply(http_req *r, const struct http_route *route)
{
    memset(&r->who, 0, sizeof r->who);
    char token[128];
    const char *tok = NULL;
    const char *authz = mg_get_header(r->conn, "Authorization");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        const char *v = authz + 7;
        while (*v == ' ')
            v++;
        bb_strlcpy(token, v, sizeof token);
        tok = token;
    } else if (http_cookie(r, "bb_access", token, sizeof token)) {
        tok = token;
        r->cookie_auth = true;
    }
    struct token_info info;
    bool valid = tok && auth_check_access(r->app, tok, &info) == BB_OK;
    sodium_memzero(token, sizeof token);
    if (valid && r->cookie_auth && unsafe_method(r->method)) {
        bool ok = http_csrf_ok(r);
        if (!ok && route->perm == PERM_PUBLIC) {
            valid = false;          /* sign-in etc.: go on as anonymous */
        } else if (!ok) {
            http_reply_error(r, BB_EFORBIDDEN,
                             "cookie-authenticated requests that change state need the "
                             "X-CSRF-Token header (the value of the bb_csrf cookie)");
            return false;
        }
    }
    if (valid) {
        r->who.user_id = info.user_id;
        r->who.admin = info.admin;
        r->session_id = info.session_id;
    }
    if (route->perm == PERM_PUBLIC)
        return true;
    if (!valid && signin_redirect(r, route))
        return false;
    if (!valid) {
        bb_errctx e = {.code = BB_EAUTH};
        snprintf(e.message, sizeof e.message, "%s",
                 tok ? "the access token is invalid or expired: refresh it or sign in again"
                     : "sign in first: send Authorization: Bearer <accessToken>");
        reply_error_doc(r, 401, "unauthorized", e.message, NULL, "WWW-Authenticate: Bearer\r\n");
        return false;
    }
    if (route->perm == PERM_ADMIN && !r->who.admin) {
        http_reply_error(r, BB_EFORBIDDEN, "this needs an admin account");
        return false;
    }
    return true;
}

/* ---- routing ----------------------------------------------------------- */

/* Matches path against pattern, capturing :params.  0 on match. */
static int match(http_req *r, const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    int np = 0;
    const char *names[HTTP_MAX_PARAMS];
    const char *vals[HTTP_MAX_PARAMS];
    size_t lens[HTTP_MAX_PARAMS];
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return -1;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (*p == ':') {
            if (sl == 0 || np == HTTP_MAX_PARAMS)
                return -1;
            names[np] = p + 1;
            vals[np] = s;
            lens[np] = sl;
            np++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return -1;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s)
        return -1;
    if (!r)
        return 0;
    for (int i = 0; i < np; i++) {
        /* names point into the pattern: copy up to '/' */
        static const char *const known[] = {"id", "name"};
        r->param_names[i] = NULL;
        for (size_t k = 0; k < 2; k++)
            if (strncmp(names[i], known[k], strlen(known[k])) == 0 &&
                (names[i][strlen(known[k])] == '/' || !names[i][strlen(known[k])]))
                r->param_names[i] = known[k];
        r->param_values[i] = strndup(vals[i], lens[i]);
        if (!r->param_names[i] || !r->param_values[i])
            return -1;
        r->nparams = i + 1;
    }
    return 0;
}

static void access_log(http_req *r)
{
    char status[8], dur[32], job[24], uid[24];
    metrics_http_observe(r->route, r->method, r->status, bb_mono_us() - r->t0_us);
    snprintf(uid, sizeof uid, "%lld", (long long)r->who.user_id);
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(dur, sizeof dur, "%.3f", (double)(bb_mono_us() - r->t0_us) / 1000.0);
    snprintf(job, sizeof job, "%lld", (long long)r->job_id);
    if (r->job_id)
        bb_log(BB_LOG_INFO, "request", "requestId", r->request_id, "method", r->method,
               "route", r->route ? r->route : "-", "status", status, "durationMs", dur,
               "userId", uid, "jobId", job, (char *)0);
    else
        bb_log(BB_LOG_INFO, "request", "requestId", r->request_id, "method", r->method,
               "route", r->route ? r->route : "-", "status", status, "durationMs", dur,
               "userId", uid, (char *)0);
}

static int begin_request(struct mg_connection *conn)
{
    http_req r;
    memset(&r, 0, sizeof r);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    r.app = r.ri->user_data;
    r.method = r.ri->request_method;
    r.t0_us = bb_mono_us();
    snprintf(r.request_id, sizeof r.request_id, "%08x%08llx", boot_id,
             (unsigned long long)atomic_fetch_add(&request_seq, 1));

    /* civetweb runs with decode_url=no: the path is decoded here, where a
     * %00 (which would cut the C string short) can be refused. */
    const char *raw = r.ri->local_uri_raw ? r.ri->local_uri_raw : r.ri->local_uri;
    const char *qs = r.ri->query_string;
    char uri[sizeof r.path];
    if (!raw || strlen(raw) >= sizeof uri) {
        http_reply_error(&r, BB_EINVAL, "the request path is too long");
        access_log(&r);
        return r.status;
    }
    if (strcasestr(raw, "%00")) {
        /* no resource has a NUL in its name */
        http_reply_error(&r, BB_ENOTFOUND, "no such resource (the path contains %%00)");
        access_log(&r);
        return r.status;
    }
    if (qs && strcasestr(qs, "%00")) {
        http_reply_error(&r, BB_EINVAL, "the query string contains an encoded NUL byte");
        access_log(&r);
        return r.status;
    }
    if (mg_url_decode(raw, (int)strlen(raw), uri, (int)sizeof uri, 0) < 0 ||
        !bb_utf8_valid(uri, strlen(uri))) {
        http_reply_error(&r, BB_EINVAL, "the request path is not valid UTF-8");
        access_log(&r);
        return r.status;
    }
    const char *path = uri;
    if (strncmp(uri, "/api/v1", 7) == 0 && (uri[7] == '/' || uri[7] == '\0'))
        path = uri[7] ? uri + 7 : "/";
    bb_strlcpy(r.path, path, sizeof r.path);

    const struct http_route *found = NULL;
    bool path_known = false;
    char allow[128] = "";
    for (size_t i = 0; i < http_nroutes; i++) {
        const struct http_route *rt = &http_routes[i];
        if (match(NULL, rt->pattern, r.path) != 0)
            continue;
        path_known = true;
        if (strcmp(rt->method, r.method) == 0 ||
            (strcmp(r.method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            found = rt;
            break;
        }
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", rt->method);
    }
    if (!found && path_known) {
        char extra[192];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        bb_errctx e = {.code = BB_EINVAL};
        snprintf(e.message, sizeof e.message, "%s is not allowed on this path (allowed: %s)",
                 r.method, allow);
        reply_error_doc(&r, 405, "method_not_allowed", e.message, NULL, extra);
    } else if (!found) {
        if ((strcmp(r.method, "GET") == 0 || strcmp(r.method, "HEAD") == 0) &&
            strncmp(uri, "/api/", 5) != 0) {
            r.route = "/*";
            route_static(&r);
        } else {
            http_reply_error(&r, BB_ENOTFOUND, "no route for %s %.200s", r.method, uri);
        }
    } else {
        r.route = found->pattern;
        if (match(&r, found->pattern, r.path) != 0)
            http_reply_error(&r, BB_EINTERNAL, "out of memory");
        else if (authenticate_or_reply(&r, found))
            found->handler(&r);
    }
    if (r.status == 0) {
        /* A handler must always answer; this is a bug, not a client error. */
        http_reply_error(&r, BB_EINTERNAL, "no response was produced");
    }
    access_log(&r);
    for (int i = 0; i < r.nparams; i++)
        free(r.param_values[i]);
    free(r.body);
    return r.status;
}

/* civetweb's own errors (bad request line, headers too large, ...) get the
 * same JSON error shape as ours. */
static int http_error_cb(struct mg_connection *conn, int status, const char *msg)
{
    http_req r;
    memset(&r, 0, sizeof r);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    r.method = r.ri && r.ri->request_method ? r.ri->request_method : "GET";
    snprintf(r.request_id, sizeof r.request_id, "%08x%08llx", boot_id,
             (unsigned long long)atomic_fetch_add(&request_seq, 1));
    const char *code = status == 413 || status == 431 ? "too_large"
                       : status == 404              ? "not_found"
                       : status >= 500              ? "internal"
                                                    : "invalid";
    char message[256];
    snprintf(message, sizeof message, "%s", msg && *msg ? msg : reason_phrase(status));
    message[strcspn(message, "\r\n")] = '\0';
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "error", code);
    cJSON_AddStringToObject(doc, "message", message);
    cJSON *details = cJSON_AddObjectToObject(doc, "details");
    cJSON_AddStringToObject(details, "requestId", r.request_id);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return 1;
    mg_disable_connection_keep_alive(conn);
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n%sContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
              status, reason_phrase(status), r.request_id, COMMON_HEADERS, strlen(text), text);
    free(text);
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    bb_log(BB_LOG_INFO, "request rejected by the HTTP parser", "requestId", r.request_id,
           "status", st, "reason", message, (char *)0);
    return 0;
}

static int log_message_cb(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    bb_log(BB_LOG_WARN, "civetweb", "detail", message, (char *)0);
    return 1;
}

http_server *http_start(bb_app *app, const char *listen, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->app = app;
    randombytes_buf(&boot_id, sizeof boot_id);
    char threads[16];
    snprintf(threads, sizeof threads, "%d", app->cfg->events.max_subscribers + API_THREADS);
    const char *options[] = {
        "listening_ports", listen,
        "num_threads", threads,
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "2000",
        "request_timeout_ms", "30000",
        "max_request_size", "16384",
        "connection_queue", "512",
        "listen_backlog", "1024",
        "tcp_nodelay", "1",
        "decode_url", "no",
        NULL, NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.begin_request = begin_request;
    cb.http_error = http_error_cb;
    cb.log_message = log_message_cb;
    struct mg_init_data init = {.callbacks = &cb, .user_data = app, .configuration_options = options};
    struct mg_error_data ed;
    char ebuf[256] = "";
    memset(&ed, 0, sizeof ed);
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    s->ctx = mg_start2(&init, &ed);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, ebuf[0] ? ebuf : "unknown error");
        free(s);
        return NULL;
    }
    struct mg_server_port ports[4];
    memset(ports, 0, sizeof ports);
    int n = mg_get_server_ports(s->ctx, 4, ports);
    s->port = n > 0 ? ports[0].port : 0;
    return s;
}

int http_port(http_server *s) { return s->port; }

void http_stop(http_server *s)
{
    if (!s)
        return;
    mg_stop(s->ctx);
    free(s);
}
