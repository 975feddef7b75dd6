/* apikeys.h — API keys for scripts and the CLI (docs/integrations.md,
 * "API keys"): created by a signed-in user with a scope (read, submit,
 * admin), shown once, kept as a hash, listed with their last use,
 * revocable; accepted as `Authorization: Bearer bbk_...` (http/authn.c). */
#ifndef BB_APIKEYS_H
#define BB_APIKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "infra/db/repo_apikey.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

#define APIKEY_PREFIX "bbk_"
#define APIKEY_MAX 80               /* "bbk_" + 43 base64url characters + NUL, rounded up */
#define APIKEY_MAX_PER_USER 50      /* live keys per user */
#define APIKEY_TOUCH_MS 60000       /* lastUsedAt is written at most this often per key */

/* POST /user/api-keys {name, scope, expiresAt?}: a new key for who (not an
 * API-key caller: a signed-in session, or an admin-scope key).  BB_OK with
 * *out (caller clears) and the key itself in key[APIKEY_MAX] (shown once;
 * the caller wipes it), or a field error. */
int svc_apikey_create(bb_app *app, const struct principal *who, const struct cJSON *body,
                      apikey_rec *out, char key[APIKEY_MAX], bb_errctx *e);
/* GET /user/api-keys: who's keys, newest first (caller clears each and
 * frees the array). */
int svc_apikey_list(bb_app *app, const struct principal *who, apikey_rec **out, size_t *n,
                    bb_errctx *e);
/* DELETE /user/api-keys/:id: revokes one of who's keys; 404 otherwise. */
int svc_apikey_revoke(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e);
/* A key as the API shows it: {id, name, scope, prefix, createdAt,
 * expiresAt, lastUsedAt, revokedAt}.  Caller frees; NULL on OOM. */
struct cJSON *svc_apikey_dto(const apikey_rec *k);

/* Checks a presented key ("bbk_..."): BB_OK with *out for a live key of
 * an enabled user, BB_EAUTH otherwise.  Records the use (lastUsedAt) at
 * most once per APIKEY_TOUCH_MS per key.  Any thread. */
int svc_apikey_check(bb_app *app, const char *key, struct apikey_auth *out);

/* Whether a key of scope may call route pattern with method: read = GET
 * and HEAD; submit = read + submitting, uploading and acting on one's own
 * jobs; admin = everything the user may do.  When not, *need names the
 * scope that would do. */
bool svc_apikey_allows(const char *scope, const char *method, const char *pattern,
                       const char **need);

#endif
