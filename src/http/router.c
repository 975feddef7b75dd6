/* router.c — from a request to its handler, driven by the route table
 * (routes.c): decode and check the path, find the route (405 with Allow
 * when only the method is wrong; the fallback route for the web UI's
 * assets), capture :word parameters, authenticate (authn.c), read the
 * body the route declares (kind and limit from the table), run the
 * handler, and write the access log and request metrics.  Runs on the
 * request's civetweb thread. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "civetweb.h"
#include "http/http.h"
#include "http/http_int.h"
#include "infra/metrics.h"
#include "util/log.h"
#include "util/util.h"

int http_route_match(const char *pattern, const char *path, struct http_param *params,
                     int *nparams, char *buf, size_t cap)
{
    const char *p = pattern, *s = path;
    int np = 0;
    size_t used = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return -1;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (*p == ':') {
            if (sl == 0 || pl < 2 || np == HTTP_MAX_PARAMS)
                return -1;
            if (params) {
                if (!buf || used + sl + 1 > cap)
                    return -1;
                memcpy(buf + used, s, sl);
                buf[used + sl] = '\0';
                params[np] = (struct http_param){.name = p + 1, .name_len = pl - 1,
                                                 .value = buf + used};
                used += sl + 1;
            }
            np++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return -1;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s)
        return -1;
    if (nparams)
        *nparams = np;
    return 0;
}

const struct http_route *http_route_find(const char *method, const char *path, bool api,
                                         char *allow, size_t cap)
{
    const struct http_route *fallback = NULL;
    if (cap)
        allow[0] = '\0';
    for (size_t i = 0; i < http_nroutes; i++) {
        const struct http_route *rt = &http_routes[i];
        bool same = strcmp(rt->method, method) == 0 ||
                    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
        if (rt->fallback) {
            if (same && !api && !fallback)
                fallback = rt;
            continue;
        }
        if (http_route_match(rt->pattern, path, NULL, NULL, NULL, 0) != 0)
            continue;
        if (same)
            return rt;
        size_t al = strlen(allow);
        if (al + 1 < cap)
            snprintf(allow + al, cap - al, "%s%s", al ? ", " : "", rt->method);
    }
    return cap && allow[0] ? NULL : fallback;
}

/* Reads the body as the route declares it.  False after replying. */
static bool read_body_or_reply(http_req *r, const struct http_route *rt)
{
    const bb_config *cfg = r->app->cfg;
    bool empty = r->ri->content_length <= 0 && !http_header(r, "Transfer-Encoding");
    switch (rt->body) {
    case HTTP_BODY_NONE:
        return rt->body_max == 0 || r->ri->content_length <= 0 ||
               http_read_body_or_reply(r, rt->body_max);
    case HTTP_BODY_JSON_OPTIONAL:
        if (empty)
            return true;
        /* fall through */
    case HTTP_BODY_JSON:
        return http_parse_json_or_reply(
                   r, rt->body_max ? rt->body_max : (size_t)cfg->limits.max_body_bytes) != NULL;
    case HTTP_BODY_UPLOAD:
        return true;    /* the handler streams it */
    }
    return true;
}

/* Decimal text of v into out (cap >= 24); returns out. */
static char *i64_text(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return out;
}

/* The access line: one per request, handed to the log's batching writer
 * (bb_log_deferred), numbers formatted without printf; see "Request cost"
 * in docs/architecture.md. */
static void access_log(http_req *r)
{
    char status[24], dur[32], job[24], uid[24];
    int64_t us = bb_mono_us() - r->t0_us;
    if (us < 0)
        us = 0;
    metrics_http_observe(r->route, r->method, r->status, us);
    i64_text(uid, r->who.user_id);
    i64_text(status, r->status);
    /* milliseconds with three decimals */
    i64_text(dur, us / 1000);
    size_t dl = strlen(dur);
    dur[dl] = '.';
    dur[dl + 1] = (char)('0' + us % 1000 / 100);
    dur[dl + 2] = (char)('0' + us % 100 / 10);
    dur[dl + 3] = (char)('0' + us % 10);
    dur[dl + 4] = '\0';
    const char *route = r->route ? r->route : "-";
    if (r->job_id)
        bb_log_deferred(BB_LOG_INFO, "request", "requestId", r->request_id, "method", r->method,
                        "route", route, "status", status, "durationMs", dur, "userId", uid,
                        "jobId", i64_text(job, r->job_id), (char *)0);
    else
        bb_log_deferred(BB_LOG_INFO, "request", "requestId", r->request_id, "method", r->method,
                        "route", route, "status", status, "durationMs", dur, "userId", uid,
                        (char *)0);
}

/* civetweb runs with decode_url=no: the path is decoded here, where a %00
 * (which would cut the C string short) can be refused.  Fills uri (cap
 * bytes) and r->path; false after replying. */
static bool decode_path_or_reply(http_req *r, char *uri, size_t cap)
{
    const char *raw = r->ri->local_uri_raw ? r->ri->local_uri_raw : r->ri->local_uri;
    const char *qs = r->ri->query_string;
    if (!raw || strlen(raw) >= cap) {
        http_reply_error(r, BB_EINVAL, "the request path is too long");
        return false;
    }
    if (strcasestr(raw, "%00")) {
        /* no resource has a NUL in its name */
        http_reply_error(r, BB_ENOTFOUND, "no such resource (the path contains %%00)");
        return false;
    }
    if (qs && strcasestr(qs, "%00")) {
        http_reply_error(r, BB_EINVAL, "the query string contains an encoded NUL byte");
        return false;
    }
    if (mg_url_decode(raw, (int)strlen(raw), uri, (int)cap, 0) < 0 ||
        !bb_utf8_valid(uri, strlen(uri))) {
        http_reply_error(r, BB_EINVAL, "the request path is not valid UTF-8");
        return false;
    }
    const char *path = uri;
    if (strncmp(uri, "/api/v1", 7) == 0 && (uri[7] == '/' || uri[7] == '\0'))
        path = uri[7] ? uri + 7 : "/";
    bb_strlcpy(r->path, path, sizeof r->path);
    return true;
}

static void route_request(http_req *r)
{
    char uri[sizeof r->path];
    if (!decode_path_or_reply(r, uri, sizeof uri) || !http_cors_or_reply(r))
        return;
    char allow[128];
    bool api = strncmp(uri, "/api/", 5) == 0;
    const struct http_route *rt = http_route_find(r->method, r->path, api, allow, sizeof allow);
    if (!rt && allow[0]) {
        bb_errctx e = {.code = BB_EMETHOD};
        snprintf(e.message, sizeof e.message, "%s is not allowed on this path (allowed: %s)",
                 r->method, allow);
        bb_strlcpy(e.header_value, allow, sizeof e.header_value);
        http_reply_err(r, &e);
        return;
    }
    if (!rt) {
        http_reply_error(r, BB_ENOTFOUND, "no route for %s %.200s", r->method, uri);
        return;
    }
    r->rt = rt;
    r->route = rt->pattern;
    if (!rt->fallback &&
        http_route_match(rt->pattern, r->path, r->params, &r->nparams, r->param_buf,
                         sizeof r->param_buf) != 0) {
        /* the values are never longer than the path, so they always fit */
        http_reply_error(r, BB_EINTERNAL, "path parameters do not fit");
        return;
    }
    if (!http_rate_limit_or_reply(r, true) ||
        (!rt->fallback && !http_authenticate_or_reply(r, rt)) ||
        !http_rate_limit_or_reply(r, false))
        return;
    if (!read_body_or_reply(r, rt))
        return;
    rt->handler(r);
}

void http_dispatch(http_req *r)
{
    route_request(r);
    if (r->status == 0) {
        /* A handler must always answer; this is a bug, not a client error. */
        http_reply_error(r, BB_EINTERNAL, "no response was produced");
    }
    access_log(r);
}
