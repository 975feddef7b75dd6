/* repo_apikey.h — SQL for API keys (docs/integrations.md, "API keys"):
 * a user's named keys with a scope, kept as the SHA-256 of the key. */
#ifndef BB_REPO_APIKEY_H
#define BB_REPO_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

#define APIKEY_HASH_BYTES 32

/* One key (never the key itself).  Strings owned (apikey_rec_clear). */
typedef struct apikey_rec {
    int64_t id, user_id;
    char *name, *scope, *prefix;  /* scope: "read" | "submit" | "admin" */
    int64_t created_at;
    int64_t expires_at;           /* ms; 0 = never */
    int64_t last_used_at;         /* ms; 0 = never used */
    int64_t revoked_at;           /* ms; 0 = live */
} apikey_rec;

void apikey_rec_clear(apikey_rec *k);

/* Inserts k (id and created_at are filled in) with hash, unless the user
 * already has `cap` live keys (BB_ECONFLICT). */
int repo_apikey_insert(db *d, apikey_rec *k, const unsigned char *hash, int64_t cap);

/* The user's keys, newest first, revoked ones too (caller clears each and
 * frees the array); at most max. */
int repo_apikey_list(db *d, int64_t user_id, size_t max, apikey_rec **out, size_t *n);

/* Revokes key id of user_id (now); BB_ENOTFOUND when no such live key. */
int repo_apikey_revoke(db *d, int64_t id, int64_t user_id, int64_t now);

/* What a presented key says about its bearer: a live, unexpired key of an
 * enabled user. */
struct apikey_auth {
    int64_t key_id, user_id;
    bool user_admin;
    char scope[8];
    int64_t last_used_at;
};
/* BB_OK and *out, BB_EAUTH when no such live key, or an error. */
int repo_apikey_check(db *d, const unsigned char *hash, int64_t now, struct apikey_auth *out);

/* Sets last_used_at = now for key id (one small write). */
int repo_apikey_touch(db *d, int64_t id, int64_t now);

#endif
