/* authn.c — who is calling and whether they may use the route: the
 * access token (Bearer header or bb_access cookie), the CSRF check for
 * cookie-authenticated changes (double-submit, and the value bound to the
 * session: auth_csrf_value), and the route's permission from
 * the route table.  The router calls it before any handler; handlers read
 * r->who.  Runs on the request's civetweb thread. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "cJSON.h"
#include "civetweb.h"
#include "http/http.h"
#include "http/http_int.h"
#include "service/apikeys.h"
#include "service/auth.h"
#include "util/util.h"

bool http_csrf_ok(http_req *r, int64_t session_id)
{
    char want[96], refresh[128];
    const char *got = mg_get_header(r->conn, "X-CSRF-Token");
    bool ok = http_cookie(r, "bb_csrf", want, sizeof want) && got && strlen(want) >= 16 &&
              strlen(got) == strlen(want) && sodium_memcmp(got, want, strlen(want)) == 0 &&
              http_cookie(r, "bb_refresh", refresh, sizeof refresh) &&
              auth_csrf_ok(r->app, session_id, refresh, got);
    sodium_memzero(refresh, sizeof refresh);
    return ok;
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

/* `Authorization: Bearer bbk_...`: an API key (docs/integrations.md).
 * Fills r->who and r->api_key_id and returns true when the key is valid
 * and its scope covers the route; else replies (401/403) and returns
 * false. */
static bool api_key_or_reply(http_req *r, const struct http_route *route, const char *key)
{
    struct apikey_auth k;
    if (svc_apikey_check(r->app, key, &k) != BB_OK) {
        if (route->perm == PERM_PUBLIC)
            return true;            /* like a bad token: go on as anonymous */
        http_reply_error(r, BB_EAUTH, "the API key is unknown, revoked or expired");
        return false;
    }
    const char *need = NULL;
    if (!svc_apikey_allows(k.scope, r->method, route->pattern, &need)) {
        bb_fail(&r->err, BB_EFORBIDDEN, "this API key has scope \"%s\": %s %s needs scope \"%s\"",
                k.scope, r->method, route->pattern, need);
        char why[96];
        snprintf(why, sizeof why, "\"%s\" does not allow this; needs \"%s\"", k.scope, need);
        r->err.fields = cJSON_CreateObject();   /* a 403 that names the field */
        if (r->err.fields)
            cJSON_AddStringToObject(r->err.fields, "scope", why);
        http_reply_failed(r);
        return false;
    }
    r->who.user_id = k.user_id;
    r->who.admin = k.user_admin && strcmp(k.scope, "admin") == 0;
    r->api_key_id = k.key_id;
    if (route->perm == PERM_ADMIN && !r->who.admin) {
        http_reply_error(r, BB_EFORBIDDEN, "this needs an admin account (and an admin-scope key)");
        return false;
    }
    return true;
}

/* `Authorization: Bearer <access token>` (API, CLI) or the bb_access cookie
 * (browser; unsafe methods must echo the bb_csrf cookie in X-CSRF-Token).
 * Public routes run with or without credentials; other routes answer 401
 * without valid ones, and admin routes 403 for non-admins. */
bool http_authenticate_or_reply(http_req *r, const struct http_route *route)
{
    memset(&r->who, 0, sizeof r->who);
    char token[128];
    const char *tok = NULL;
    const char *authz = mg_get_header(r->conn, "Authorization");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        const char *v = authz + 7;
        while (*v == ' ')
            v++;
        if (strncmp(v, APIKEY_PREFIX, 4) == 0)
            return api_key_or_reply(r, route, v);
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
        bool ok = http_csrf_ok(r, info.session_id);
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
        r->access_expires_ms = info.expires_at;
    }
    if (route->perm == PERM_PUBLIC)
        return true;
    if (!valid && signin_redirect(r, route))
        return false;
    if (!valid) {
        http_reply_error(r, BB_EAUTH, "%s",
                         tok ? "the access token is invalid or expired: refresh it or sign in again"
                             : "sign in first: send Authorization: Bearer <accessToken>");
        return false;
    }
    if (route->perm == PERM_ADMIN && !r->who.admin) {
        http_reply_error(r, BB_EFORBIDDEN, "this needs an admin account");
        return false;
    }
    return true;
}
