/* repo_user.h — SQL for users, sessions and tokens.  Tokens are stored only
 * as SHA-256 hashes; a session is one sign-in (one refresh-token family). */
#ifndef BB_REPO_USER_H
#define BB_REPO_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/user.h"
#include "infra/db/db.h"

#define TOKEN_HASH_BYTES 32

/* Inserts a user (email lower-cased by the caller).  Fills u->id and the
 * times.  BB_ECONFLICT if the email is taken.  With first_only, succeeds
 * only while no user exists (BB_ECONFLICT otherwise): the first-run admin. */
int repo_user_create(db *d, user *u, bool first_only);
int repo_user_get(db *d, int64_t id, user *out);              /* BB_ENOTFOUND */
int repo_user_by_email(db *d, const char *email, user *out);  /* BB_ENOTFOUND */
/* All users, newest first (caller frees each with user_clear, then the array). */
int repo_user_list(db *d, user **out, size_t *n);
int repo_user_count(db *d, int64_t *n);

/* Changes a user.  NULL / -1 leave a field.  Demoting or disabling the last
 * enabled admin → BB_ECONFLICT.  revoke_sessions ends every session of the
 * user except keep_session (0 = none kept). */
struct user_change {
    const char *name;          /* "" clears */
    const char *password_hash;
    const char *role;
    int disabled;              /* -1 keep, 0, 1 */
    bool revoke_sessions;
    int64_t keep_session;
};
int repo_user_update(db *d, int64_t id, const struct user_change *c, user *out);

/* Creates a session with its first access and refresh tokens. */
int repo_session_create(db *d, int64_t user_id, const unsigned char *access_hash,
                        int64_t access_exp, const unsigned char *refresh_hash,
                        int64_t refresh_exp, int64_t *session_id);

/* What a valid token says about its bearer. */
struct token_info {
    int64_t session_id;
    int64_t user_id;
    bool admin;
    int64_t expires_at;      /* the access token's expiry (ms since the epoch) */
};
/* Looks up an unexpired, unspent token of kind "access" in a live session of
 * an enabled user.  BB_EAUTH when there is none. */
int repo_token_check(db *d, const unsigned char *hash, int64_t now, struct token_info *out);

/* Spends refresh token old_hash and issues a new pair in the same session.
 * A refresh token that was already spent revokes the whole session
 * (reuse detection) and returns BB_EAUTH with *reused = true.  Unknown or
 * expired → BB_EAUTH. */
int repo_session_rotate(db *d, const unsigned char *old_hash, int64_t now,
                        const unsigned char *access_hash, int64_t access_exp,
                        const unsigned char *refresh_hash, int64_t refresh_exp,
                        struct token_info *out, bool *reused);

/* Ends a session (all its tokens).  Idempotent. */
int repo_session_revoke(db *d, int64_t session_id);
/* The session a refresh token belongs to (0 if none). */
int repo_session_of_refresh(db *d, const unsigned char *hash, int64_t *session_id);
/* Deletes expired tokens and dead sessions (maintenance). */
int repo_tokens_prune(db *d, int64_t now);

#endif
