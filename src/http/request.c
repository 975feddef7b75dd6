/* request.c — the request: its life cycle (request id, what it owns and
 * frees at the end), path parameters, query, headers, cookies, and reading
 * the body (bounded, drained, parsed as JSON, under a deadline: see
 * docs/operations.md, "Slow clients and connection limits").  Runs on the
 * request's civetweb thread; nothing here is shared between requests
 * except the request-id counter (atomic). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/conn_guard.h"
#include "http/http.h"
#include "http/http_int.h"
#include "util/buf.h"
#include "util/util.h"

static atomic_uint_fast64_t request_seq;
static atomic_uint boot_id;   /* random, set once per process */

void http_req_begin(http_req *r, struct mg_connection *conn)
{
    memset(r, 0, sizeof *r);
    r->conn = conn;
    r->ri = mg_get_request_info(conn);
    r->app = r->ri ? r->ri->user_data : NULL;
    r->method = r->ri && r->ri->request_method ? r->ri->request_method : "GET";
    r->t0_us = bb_mono_us();
    unsigned id = atomic_load(&boot_id);
    if (id == 0) {
        unsigned fresh = randombytes_random() | 1u;
        if (atomic_compare_exchange_strong(&boot_id, &id, fresh))
            id = fresh;
    }
    snprintf(r->request_id, sizeof r->request_id, "%08x%08llx", id,
             (unsigned long long)atomic_fetch_add(&request_seq, 1));
    /* Every body has http.bodyTimeoutMs from the end of the headers, also
     * one no handler reads (civetweb discards it under the same deadline);
     * uploads switch to the minimum rate (read_some). */
    if (r->app)
        mg_set_read_deadline_ms(conn, r->app->cfg->http.body_timeout_ms);
}

void http_req_end(http_req *r)
{
    cJSON_Delete(r->json);
    r->json = NULL;
    free(r->body);
    r->body = NULL;
    bb_err_clear(&r->err);
}

const char *http_param(http_req *r, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < r->nparams; i++)
        if (r->params[i].name_len == len && strncmp(r->params[i].name, name, len) == 0)
            return r->params[i].value;
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

const char *http_cookie(http_req *r, const char *name, char *dst, size_t cap)
{
    const char *h = mg_get_header(r->conn, "Cookie");
    if (!h)
        return NULL;
    return mg_get_cookie(h, name, dst, cap) > 0 ? dst : NULL;
}

/* Every body reader goes through here.  civetweb's mg_read() answers 0 at
 * the end of the body, but also when the client stops sending (request
 * timeout, or the deadline below), closes early, or the server is
 * stopping: a 0 before Content-Length bytes arrived is a short body,
 * reported as -1 like a read error.  A chunked body without its last chunk
 * already reads as -1 (civetweb checks the framing).  See
 * docs/operations.md, "Request bodies".
 *
 * Deadlines (docs/operations.md, "Slow clients and connection limits"):
 * civetweb's own timeout starts again with every read, so the deadline is
 * civetweb's overall one (patch 0001, mg_set_read_deadline_ms).  A JSON
 * body must be complete http.bodyTimeoutMs after the headers (set in
 * http_req_begin).  An upload (upload = true) must instead average
 * http.uploadMinBytesPerSec over each http.uploadRateWindowMs window: the
 * deadline is the end of the current window, where the window's bytes are
 * checked and the next window starts.  A body that misses either is
 * marked body_timed_out (answered 408 by whoever replies). */
static int read_some(http_req *r, void *dst, size_t cap, bool upload)
{
    if (r->body_broken)
        return -1;
    const struct bb_config *c = r->app->cfg;
    int64_t rate = upload ? c->http.upload_min_bytes_per_sec : 0;
    int64_t window_us = (int64_t)c->http.upload_rate_window_ms * 1000;
    int n = 0;
    bool missed = false;
    if (upload && rate == 0)
        mg_set_read_deadline_ms(r->conn, -1);    /* no rate: civetweb's own timeout */
    /* Two rounds at most: a read cut off by the end of a window that had
     * enough bytes (they came in earlier reads) tries once more in the
     * next window, which then has to bring bytes of its own. */
    for (int round = 0; round < 2; round++) {
        int64_t now = bb_mono_us();
        if (rate > 0) {
            if (r->rate_window_us == 0) {
                r->rate_window_us = now;
                r->rate_window_bytes = r->body_read;
            }
            int64_t left_us = r->rate_window_us + window_us - now;
            mg_set_read_deadline_ms(r->conn, left_us > 0 ? left_us / 1000 + 1 : 0);
        }
        n = mg_read(r->conn, dst, cap);
        if (n > 0)
            r->body_read += n;
        bool short_body = n == 0 && r->ri->content_length > r->body_read;
        now = bb_mono_us();
        if (rate > 0 && now >= r->rate_window_us + window_us) {
            long long need = (long long)(rate * window_us / 1000000);
            /* complete: nothing left to be late with (a chunked body
             * ends with a 0; a broken one reads as -1) */
            bool complete = r->ri->content_length >= 0
                                ? r->body_read >= r->ri->content_length
                                : n == 0;
            if (r->body_read - r->rate_window_bytes < need) {
                missed = !complete;
                break;
            }
            r->rate_window_us = now;
            r->rate_window_bytes = r->body_read;
            if (short_body)
                continue;
        } else if (!upload && (short_body || n < 0)) {
            missed = now - r->t0_us >= (int64_t)c->http.body_timeout_ms * 1000;
        }
        break;
    }
    if (missed) {
        r->body_timed_out = true;
        n = -1;
        char addr[64];
        conn_guard_timed_out(http_client_addr(r, addr, sizeof addr), false);
    } else if (n == 0 && r->ri->content_length > r->body_read) {
        n = -1;
    }
    if (n < 0) {
        r->body_broken = true;
        mg_disable_connection_keep_alive(r->conn);
    }
    return n;
}

int http_read(http_req *r, void *dst, size_t cap)
{
    return read_some(r, dst, cap, true);
}

void http_body_timeout_err(http_req *r)
{
    const struct bb_config *c = r->app->cfg;
    bb_err_clear(&r->err);
    r->err.code = BB_ETIMEOUT;
    if (r->rate_window_us != 0)
        snprintf(r->err.message, sizeof r->err.message,
                 "the upload arrived slower than %d bytes/s over %d ms "
                 "(http.uploadMinBytesPerSec); %lld bytes arrived",
                 c->http.upload_min_bytes_per_sec, c->http.upload_rate_window_ms, r->body_read);
    else
        snprintf(r->err.message, sizeof r->err.message,
                 "the request body did not arrive within %d ms (http.bodyTimeoutMs); "
                 "%lld bytes arrived", c->http.body_timeout_ms, r->body_read);
}

void http_drain(http_req *r, long long budget)
{
    char sink[16384];
    while (budget > 0 && !r->body_broken) {
        int n = http_read(r, sink, budget < (long long)sizeof sink ? (size_t)budget
                                                                   : sizeof sink);
        if (n <= 0)
            break;
        budget -= n;
    }
    mg_disable_connection_keep_alive(r->conn);
}

bool http_read_body_or_reply(http_req *r, size_t max)
{
    long long cl = r->ri->content_length;
    if (cl > (long long)max) {
        /* Read (and drop) a bounded amount so the client sees the 413
         * instead of a reset connection, then close. */
        http_drain(r, cl < (long long)(16u << 20) ? cl : 0);
        http_reply_error(r, BB_ETOOLARGE, "the request body is larger than %zu bytes", max);
        return false;
    }
    buf b;
    buf_init(&b, max);
    char tmp[16384];
    for (;;) {
        int n = read_some(r, tmp, sizeof tmp, false);
        if (n < 0 || (n > 0 && buf_append(&b, tmp, (size_t)n) != 0)) {
            buf_free(&b);
            mg_disable_connection_keep_alive(r->conn);
            if (r->body_timed_out)
                http_reply_failed(r);
            else if (n < 0 && r->ri->content_length >= 0)
                http_reply_error(r, BB_EINVAL,
                                 "the request body ended early: %lld of %lld bytes arrived "
                                 "(connection closed or timed out)",
                                 r->body_read, r->ri->content_length);
            else if (n < 0)
                http_reply_error(r, BB_EINVAL, "the chunked request body is malformed or "
                                               "ended without its last chunk");
            else
                http_reply_error(r, BB_ETOOLARGE, "the request body is larger than %zu bytes",
                                 max);
            return false;
        }
        if (n == 0)
            break;
    }
    free(r->body);
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

cJSON *http_parse_json_or_reply(http_req *r, size_t max)
{
    if (r->json)
        return r->json;
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
    r->json = cJSON_ParseWithLengthOpts(r->body, r->body_len + 1, &end, 1);
    if (!r->json) {
        size_t off = end && end >= r->body ? (size_t)(end - r->body) : 0;
        http_reply_error(r, BB_EINVAL, "the request body is not valid JSON (near byte %zu)", off);
        return NULL;
    }
    return r->json;
}

cJSON *http_json_body_limited_or_reply(http_req *r, size_t max)
{
    if (!r->json && !http_parse_json_or_reply(r, max))
        return NULL;
    cJSON *doc = r->json;
    r->json = NULL;   /* the caller frees it now */
    return doc;
}

cJSON *http_json_body_or_reply(http_req *r)
{
    return http_json_body_limited_or_reply(r, (size_t)r->app->cfg->limits.max_body_bytes);
}

bool http_id_or_reply(http_req *r, const char *prefix, const char *what, int64_t *id)
{
    const char *s = http_param(r, "id");
    size_t pl = prefix ? strlen(prefix) : 0;
    if (s && pl && strncmp(s, prefix, pl) == 0)
        s += pl;
    if (!s || bb_parse_i64(s, id) != 0 || *id < 1) {
        http_reply_error(r, BB_ENOTFOUND, "no such %s", what);
        return false;
    }
    return true;
}

bool http_job_id_or_reply(http_req *r, int64_t *id)
{
    if (!http_id_or_reply(r, NULL, "job", id))
        return false;
    r->job_id = *id;
    return true;
}
