/* auth.h — accounts and sessions: password hashing (argon2id), random
 * tokens, sign-in with rate limiting, refresh rotation, the first-run admin.
 * Transport-independent: HTTP routes and the CLI's `user` verbs call it. */
#ifndef BB_AUTH_H
#define BB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/user.h"
#include "infra/db/repo_user.h"
#include "service/app.h"
#include "util/err.h"

/* argon2id via crypto_pwhash_str, INTERACTIVE limits (64 MiB, ~60 ms here).
 * At most 2 hashes run at once (memory); others wait.  out must hold
 * AUTH_HASH_MAX bytes.  0 or -1 (out of memory). */
#define AUTH_HASH_MAX 128
int auth_hash_password(const char *password, char out[AUTH_HASH_MAX]);
/* Constant-time verification; false for a malformed hash. */
bool auth_verify_password(const char *hash, const char *password);

/* Field checks; record a field error in e and return false when bad.
 * auth_normalize_email lower-cases into out (cap 256). */
bool auth_check_password(const char *password, const char *field, bb_errctx *e);
bool auth_normalize_email(const char *email, char out[256], const char *field, bb_errctx *e);

/* Creates a user from the CLI or at first run (hashes the password). */
int auth_create_user(db *d, const char *email, const char *name, const char *role,
                     const char *password, bool first_only, user *out, bb_errctx *e);

struct cJSON;

/* A freshly issued token pair (the only time the tokens exist in clear). */
struct auth_tokens {
    char access[64];
    char refresh[64];
    int64_t expires_in;      /* seconds */
    int64_t session_id;
};

/* First run: with BATCHBOX_ADMIN_EMAIL/BATCHBOX_ADMIN_PASSWORD set and no
 * user yet, creates that admin; else, while no user exists, makes a
 * one-time setup token and writes it to *setup_token (cap 64) — the caller
 * prints it.  *setup_token is "" when none is needed.  0 or -1. */
int auth_first_run(bb_app *app, char *setup_token, char *err, size_t errlen);

/* POST /auth/register.  Fills *u and *t. */
int auth_register(bb_app *app, const struct cJSON *body, user *u, struct auth_tokens *t,
                  bb_errctx *e);
/* POST /auth/login.  addr is the client address (http_client_addr): past
 * its failure budget sign-ins from it are slowed down, never refused; the
 * per-account limits refuse with BB_ERATE and *retry_after in seconds. */
int auth_login(bb_app *app, const struct cJSON *body, const char *addr, user *u,
               struct auth_tokens *t, int *retry_after, bb_errctx *e);
/* POST /auth/refresh with a refresh token. */
int auth_refresh(bb_app *app, const char *refresh_token, user *u, struct auth_tokens *t,
                 bb_errctx *e);
/* Ends the session of an access token's bearer (session_id) and/or of a
 * refresh token; either may be 0/NULL. */
void auth_logout(bb_app *app, int64_t session_id, const char *refresh_token);
/* The CSRF value of a session (docs/api.md, "Cookies and CSRF"): derived
 * from its refresh token, so it changes with each refresh and belongs to
 * one session.  out holds AUTH_CSRF_MAX bytes. */
#define AUTH_CSRF_MAX 48
void auth_csrf_value(const char *refresh_token, char out[AUTH_CSRF_MAX]);
/* Whether given is the CSRF value of refresh_token and, when session_id is
 * not 0 (a request signed in by the access cookie), that refresh token is
 * of that session.  Constant-time comparison. */
bool auth_csrf_ok(bb_app *app, int64_t session_id, const char *refresh_token,
                  const char *given);
/* Checks an access token.  BB_OK and *out, or BB_EAUTH. */
int auth_check_access(bb_app *app, const char *token, struct token_info *out);
/* PATCH /user/profile: name and/or password (needs currentPassword).  A
 * password change ends every session and issues a new pair in *t
 * (t->access[0] == 0 when no new pair was needed). */
int auth_update_profile(bb_app *app, int64_t user_id, const struct cJSON *body, user *u,
                        struct auth_tokens *t, bb_errctx *e);
/* One user (BB_ENOTFOUND "no such user"); caller clears *out. */
int auth_user_get(bb_app *app, int64_t user_id, user *out, bb_errctx *e);
/* Every user, by id (caller clears each with user_clear and frees the array). */
int auth_user_list(bb_app *app, user **out, size_t *n, bb_errctx *e);
/* PATCH /admin/users/:id {role?, disabled?}. */
int auth_admin_update(bb_app *app, int64_t user_id, const struct cJSON *body, user *u,
                      bb_errctx *e);
#endif
