/* auth.c — sign-in routes and the caller's own profile.  Tokens appear in
 * the response body (API/CLI) and as HttpOnly SameSite=Strict cookies (the
 * browser); bb_csrf is readable by the page, which echoes it in
 * X-CSRF-Token.  Nothing here logs a token or a password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "service/auth.h"
#include "util/buf.h"

#define AUTH_BODY_MAX 16384

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
    unsigned char raw[24];
    char csrf[48];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(csrf, sizeof csrf, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
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
    cJSON *doc = user_to_dto(u);
    http_reply_json(r, 200, doc);
    cJSON_Delete(doc);
}

static void reply_auth_error(http_req *r, const bb_errctx *e, int retry_after)
{
    if (e->code == BB_ERATE) {
        char extra[64];
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry_after > 0 ? retry_after : 1);
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "error", "rate_limited");
        cJSON_AddStringToObject(doc, "message", e->message);
        cJSON *d = cJSON_AddObjectToObject(doc, "details");
        cJSON_AddNumberToObject(d, "retryAfterSec", retry_after);
        cJSON_AddStringToObject(d, "requestId", r->request_id);
        char *text = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (text)
            http_reply_bytes(r, 429, "application/json", text, strlen(text), extra);
        free(text);
        return;
    }
    http_reply_err(r, e);
}

void route_auth_register(http_req *r)
{
    cJSON *body = http_json_body_limited_or_reply(r, AUTH_BODY_MAX);
    if (!body)
        return;
    bb_errctx e = {0};
    user u;
    struct auth_tokens t;
    if (auth_register(r->app, body, &u, &t, &e) == BB_OK)
        reply_session(r, 201, &u, &t);
    else
        http_reply_err(r, &e);
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
    bb_err_clear(&e);
    cJSON_Delete(body);
}

void route_auth_login(http_req *r)
{
    cJSON *body = http_json_body_limited_or_reply(r, AUTH_BODY_MAX);
    if (!body)
        return;
    bb_errctx e = {0};
    user u;
    struct auth_tokens t;
    int retry = 0;
    if (auth_login(r->app, body, r->ri->remote_addr, &u, &t, &retry, &e) == BB_OK)
        reply_session(r, 200, &u, &t);
    else
        reply_auth_error(r, &e, retry);
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
    bb_err_clear(&e);
    cJSON_Delete(body);
}

/* The refresh token from the body, else from the cookie (then the CSRF
 * header is required, as for any cookie-authenticated change). */
static bool refresh_token_or_reply(http_req *r, const cJSON *body, char *dst, size_t cap,
                                   bool required)
{
    const cJSON *v = body ? cJSON_GetObjectItemCaseSensitive(body, "refreshToken") : NULL;
    if (v && cJSON_IsString(v)) {
        snprintf(dst, cap, "%s", v->valuestring);
        return true;
    }
    if (v && !cJSON_IsNull(v)) {
        bb_errctx e = {0};
        bb_fail_field(&e, "refreshToken", "must be a string");
        http_reply_err(r, &e);
        bb_err_clear(&e);
        return false;
    }
    if (http_cookie(r, "bb_refresh", dst, cap)) {
        if (!http_csrf_ok(r)) {
            http_reply_error(r, BB_EFORBIDDEN,
                             "refreshing with the cookie needs the X-CSRF-Token header");
            return false;
        }
        return true;
    }
    dst[0] = '\0';
    if (required) {
        bb_errctx e = {0};
        bb_fail_field(&e, "refreshToken", "is required (or the bb_refresh cookie)");
        http_reply_err(r, &e);
        bb_err_clear(&e);
        return false;
    }
    return true;
}

/* Reads an optional JSON body for refresh/logout: empty is fine. */
static bool optional_body_or_reply(http_req *r, cJSON **out)
{
    *out = NULL;
    /* no body at all (no Content-Length, not chunked) or an empty one */
    if (r->ri->content_length <= 0 && !http_header(r, "Transfer-Encoding"))
        return true;
    *out = http_json_body_limited_or_reply(r, AUTH_BODY_MAX);
    if (!*out)
        return false;
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        http_reply_error(r, BB_EINVAL, "the request body must be a JSON object");
        return false;
    }
    for (const cJSON *it = (*out)->child; it; it = it->next) {
        if (!it->string || strcmp(it->string, "refreshToken") != 0) {
            bb_errctx e = {0};
            bb_fail_field(&e, it->string ? it->string : "?", "unknown field");
            http_reply_err(r, &e);
            bb_err_clear(&e);
            cJSON_Delete(*out);
            *out = NULL;
            return false;
        }
    }
    return true;
}

void route_auth_refresh(http_req *r)
{
    cJSON *body;
    if (!optional_body_or_reply(r, &body))
        return;
    char token[128];
    if (refresh_token_or_reply(r, body, token, sizeof token, true)) {
        bb_errctx e = {0};
        user u;
        struct auth_tokens t;
        if (auth_refresh(r->app, token, &u, &t, &e) == BB_OK)
            reply_session(r, 200, &u, &t);
        else
            http_reply_err(r, &e);
        sodium_memzero(&t, sizeof t);
        user_clear(&u);
        bb_err_clear(&e);
    }
    sodium_memzero(token, sizeof token);
    cJSON_Delete(body);
}

void route_auth_logout(http_req *r)
{
    cJSON *body;
    if (!optional_body_or_reply(r, &body))
        return;
    char token[128];
    if (refresh_token_or_reply(r, body, token, sizeof token, false)) {
        auth_logout(r->app, r->session_id, token[0] ? token : NULL);
        buf h;
        buf_init(&h, 1024);
        cookie_headers(r, NULL, &h);
        http_reply_bytes(r, 204, NULL, "", 0, h.data);
        buf_free(&h);
    }
    sodium_memzero(token, sizeof token);
    cJSON_Delete(body);
}

void route_auth_me(http_req *r)
{
    route_profile_get(r);
}

void route_profile_get(http_req *r)
{
    user u;
    if (repo_user_get(r->app->db, r->who.user_id, &u) != BB_OK) {
        http_reply_error(r, BB_ENOTFOUND, "no such user");
        return;
    }
    reply_user(r, &u);
    user_clear(&u);
}

void route_profile_patch(http_req *r)
{
    cJSON *body = http_json_body_limited_or_reply(r, AUTH_BODY_MAX);
    if (!body)
        return;
    bb_errctx e = {0};
    user u;
    struct auth_tokens t;
    if (auth_update_profile(r->app, r->who.user_id, body, &u, &t, &e) != BB_OK)
        http_reply_err(r, &e);
    else if (t.access[0])
        reply_session(r, 200, &u, &t);   /* password changed: a new session */
    else
        reply_user(r, &u);
    sodium_memzero(&t, sizeof t);
    user_clear(&u);
    bb_err_clear(&e);
    cJSON_Delete(body);
}
