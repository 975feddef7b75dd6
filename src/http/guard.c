/* guard.c — two checks the router runs on every request
 * (docs/integrations.md): CORS (http.corsOrigins: preflight OPTIONS
 * answered for allowed origins only; the allowed origin echoed on the
 * answer; no credentials mode, so cookies never cross origins — scripts
 * elsewhere authenticate with Authorization: Bearer) and the per-caller
 * request rate limit (http.rateLimit: 429 with Retry-After).  Runs on the
 * request's civetweb thread; the buckets are in service/ratelimit.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"
#include "civetweb.h"
#include "http/http.h"
#include "http/http_int.h"
#include "service/ratelimit.h"
#include "util/util.h"

#define CORS_METHODS "GET, HEAD, POST, PATCH, DELETE"
#define CORS_HEADERS "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
#define CORS_EXPOSE "Retry-After, X-Request-Id, ETag, Content-Disposition"

/* Whether origin is in the comma-joined allow-list (exact match). */
static bool origin_allowed(const char *list, const char *origin)
{
    size_t ol = strlen(origin);
    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n == ol && strncasecmp(list, origin, n) == 0)
            return true;
        list += n;
        if (*list == ',')
            list++;
    }
    return false;
}

bool http_cors_or_reply(http_req *r)
{
    r->cors[0] = '\0';
    const char *origin = mg_get_header(r->conn, "Origin");
    if (!origin || !*origin)
        return true;                 /* not a cross-origin browser request */
    const bb_config *cfg = r->app->cfg;
    bool allowed = strlen(origin) < 200 && origin_allowed(cfg->http.cors_origins, origin);
    bool preflight = strcmp(r->method, "OPTIONS") == 0 &&
                     mg_get_header(r->conn, "Access-Control-Request-Method") != NULL;
    if (allowed)
        snprintf(r->cors, sizeof r->cors,
                 "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
                 "Access-Control-Expose-Headers: " CORS_EXPOSE "\r\n",
                 origin);
    if (!preflight)
        return true;                 /* same-origin requests also carry Origin */
    if (!allowed) {
        bb_fail(&r->err, BB_EFORBIDDEN, "the origin %.200s may not call this API "
                                        "(http.corsOrigins)", origin);
        r->err.fields = cJSON_CreateObject();   /* a 403 that names the header */
        if (r->err.fields)
            cJSON_AddStringToObject(r->err.fields, "Origin", "not in http.corsOrigins");
        http_reply_failed(r);
        return false;
    }
    http_reply_bytes(r, 204, NULL, "", 0,
                     "Access-Control-Allow-Methods: " CORS_METHODS "\r\n"
                     "Access-Control-Allow-Headers: " CORS_HEADERS "\r\n"
                     "Access-Control-Max-Age: 600\r\n");
    return false;
}

bool http_rate_limit_or_reply(http_req *r, bool before_auth)
{
    const bb_config *cfg = r->app->cfg;
    if (cfg->http.rate_per_sec <= 0 || !r->app->ratelimit || strcmp(r->path, "/health") == 0)
        return true;
    /* requests without credentials count by address before authentication
     * (so 401s count too); the others by user or key after it */
    char cookie[160];
    bool creds = http_header(r, "Authorization") ||
                 http_cookie(r, "bb_access", cookie, sizeof cookie);
    if (before_auth == creds)
        return true;
    char key[96];
    if (r->api_key_id)
        snprintf(key, sizeof key, "k:%lld", (long long)r->api_key_id);
    else if (r->who.user_id)
        snprintf(key, sizeof key, "u:%lld", (long long)r->who.user_id);
    else {
        char addr[64];
        snprintf(key, sizeof key, "a:%s", http_client_addr(r, addr, sizeof addr));
    }
    double rate = cfg->http.rate_per_sec;
    double burst = cfg->http.rate_burst > 0 ? cfg->http.rate_burst : 2 * rate;
    int retry = 1;
    if (ratelimit_take(r->app->ratelimit, key, rate, burst, bb_mono_us() / 1000, &retry))
        return true;
    bb_fail(&r->err, BB_ERATE, "too many requests: at most %d a second (burst %.0f); "
                               "try again in %d s", cfg->http.rate_per_sec, burst, retry);
    snprintf(r->err.header_value, sizeof r->err.header_value, "%d", retry);
    http_reply_failed(r);
    return false;
}
