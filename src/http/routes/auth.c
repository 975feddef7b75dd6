/* auth.c — sign-in routes and the caller's own profile.  Tokens appear in
 * the response body (API/CLI) and as HttpOnly SameSite=Strict cookies (the
 * browser); bb_csrf is readable by the page, which echoes it in
 * X-CSRF-Token; its value is derived from the refresh token, so it belongs
 * to the session (auth_csrf_value).  Nothing here logs a token or a password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "service/auth.h"
#include "util/buf.h"

/* Set-Cookie lines for a fresh pair (or clearing ones when t is NULL). */
static void cookie_headers(http_req *r, const struct auth_tokens *t, buf *b)
{
    const bb_config *cfg = r->app->cfg;
    if (!t) {
        buf_puts(b, "Set-Cookie: bb_access=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n"
                    "Set-Cookie: bb_refresh=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n"
                    "Set-Cookie: bb_csrf=; SameSite=Strict; Path=/; Max-Age=0\r\n");
        return;
    }
    char csrf[AUTH_CSRF_MAX];
    auth_csrf_value(t->refresh, csrf);       /* bound to this session's refresh token */
    buf_printf(b, "Set-Cookie: bb_access=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld\r\n",
               t->access, (long long)cfg->auth.access_ttl_sec);
    buf_printf(b, "Set-Cookie: bb_refresh=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld\r\n",
               t->refresh, (long long)cfg->auth.refresh_ttl_sec);
    buf_printf(b, "Set-Cookie: bb_csrf=%s; SameSite=Strict; Path=/; Max-Age=%lld\r\n", csrf,
               (long long)cfg->auth.refresh_ttl_sec);
}

static void reply_session(http_req *r, int status, const user *u, const struct auth_tokens *t)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "user", user_to_dto(u));
    cJSON_AddStringToObject(doc, "accessToken", t->access);
    cJSON_AddStringToObject(doc, "refreshToken", t->refresh);
    cJSON_AddNumberToObject(doc, "expiresIn", (double)t->expires_in);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    buf h;
    buf_init(&h, 4096);
    cookie_headers(r, t, &h);
    buf_puts(&h, "Cache-Control: no-store\r\n");
    if (text) {
        http_reply_bytes(r, status, "application/json", text, strlen(text), h.data);
        sodium_memzero(text, strlen(text));
        free(text);
    } else {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
    }
    sodium_memzero(h.data, h.len);
    buf_free(&h);
}

static void reply_user(http_req *r, const user *u)
{
    http_reply_doc(r, 200, user_to_dto(u), NULL);
}

void route_auth_register(http_req *r)
{
    user u;
    struct auth_tokens t;
    if (auth_register(r->app, r->json, &u, &t, &r->err) == BB_OK)
        reply_session(r, 201, &u, &t);
    else
        http_reply_failed(r);
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
}

void route_auth_login(http_req *r)
{
    user u;
    struct auth_tokens t;
    int retry = 0;
    char addr[64];
    http_client_addr(r, addr, sizeof addr);
    if (auth_login(r->app, r->json, addr, &u, &t, &retry, &r->err) == BB_OK) {
        reply_session(r, 200, &u, &t);
    } else {
        if (r->err.code == BB_ERATE)
            snprintf(r->err.header_value, sizeof r->err.header_value, "%d",
                     retry > 0 ? retry : 1);
        http_reply_failed(r);
    }
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
}

/* The refresh token from the body, else from the cookie (then the CSRF
 * header is required, as for any cookie-authenticated change). */
static bool refresh_token_or_reply(http_req *r, char *dst, size_t cap, bool required)
{
    const cJSON *v = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "refreshToken") : NULL;
    if (v && cJSON_IsString(v)) {
        snprintf(dst, cap, "%s", v->valuestring);
        return true;
    }
    dst[0] = '\0';
    if (v && !cJSON_IsNull(v)) {
        bb_fail_field(&r->err, "refreshToken", "must be a string");
    } else if (http_cookie(r, "bb_refresh", dst, cap)) {
        if (http_csrf_ok(r, 0))
            return true;
        bb_fail(&r->err, BB_EFORBIDDEN, "refreshing with the cookie needs the X-CSRF-Token header");
    } else if (required) {
        bb_fail_field(&r->err, "refreshToken", "is required (or the bb_refresh cookie)");
    } else {
        return true;
    }
    http_reply_failed(r);
    return false;
}

/* Checks the optional body of refresh/logout: none, or an object with
 * at most refreshToken. */
static bool optional_body_ok_or_reply(http_req *r)
{
    if (!r->json)
        return true;
    if (!cJSON_IsObject(r->json))
        bb_fail(&r->err, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = r->err.code ? NULL : r->json->child; it; it = it->next)
        if (!it->string || strcmp(it->string, "refreshToken") != 0) {
            bb_fail_field(&r->err, it->string ? it->string : "?", "unknown field");
            break;
        }
    if (r->err.code == BB_OK)
        return true;
    http_reply_failed(r);
    return false;
}

void route_auth_refresh(http_req *r)
{
    char token[128] = "";
    if (optional_body_ok_or_reply(r) && refresh_token_or_reply(r, token, sizeof token, true)) {
        user u;
        struct auth_tokens t;
        if (auth_refresh(r->app, token, &u, &t, &r->err) == BB_OK)
            reply_session(r, 200, &u, &t);
        else
            http_reply_failed(r);
        sodium_memzero(&t, sizeof t);
        user_clear(&u);
    }
    sodium_memzero(token, sizeof token);
}

void route_auth_logout(http_req *r)
{
    char token[128] = "";
    if (optional_body_ok_or_reply(r) && refresh_token_or_reply(r, token, sizeof token, false)) {
        auth_logout(r->app, r->session_id, token[0] ? token : NULL);
        buf h;
        buf_init(&h, 1024);
        cookie_headers(r, NULL, &h);
        http_reply_bytes(r, 204, NULL, "", 0, h.data);
        buf_free(&h);
    }
    sodium_memzero(token, sizeof token);
}

void route_auth_me(http_req *r)
{
    route_profile_get(r);
}

void route_profile_get(http_req *r)
{
    user u;
    if (auth_user_get(r->app, r->who.user_id, &u, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    reply_user(r, &u);
    user_clear(&u);
}

void route_profile_patch(http_req *r)
{
    user u;
    struct auth_tokens t;
    if (auth_update_profile(r->app, r->who.user_id, r->json, &u, &t, &r->err) != BB_OK)
        http_reply_failed(r);
    else if (t.access[0])
        reply_session(r, 200, &u, &t);   /* password changed: a new session */
    else
        reply_user(r, &u);
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
}
