/* token_cache.h — a per-thread cache of verified access tokens, so a
 * request on a keep-alive connection does not open an SQLite read
 * transaction just to learn who is calling (docs/architecture.md, "Request
 * cost").  repo_token_check is its only user; see token_cache.c for the
 * rules that keep revocation immediate. */
#ifndef BB_TOKEN_CACHE_H
#define BB_TOKEN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "infra/db/repo_user.h"

/* How long a positive answer may be reused at most, in milliseconds: the
 * bound on how late this process notices a change made by ANOTHER process
 * on the same database (the offline `batchbox user disable|role|passwd`).
 * Changes made through this process invalidate the cache at once. */
#define TOKEN_CACHE_TTL_MS 1000

/* The current generation.  Read it BEFORE the database lookup whose
 * answer is then stored with token_cache_put. */
uint64_t token_cache_generation(void);
/* Invalidates every cached answer in every thread.  Called after any
 * committed change to users, sessions or tokens that can take a token's
 * validity or role away. */
void token_cache_invalidate(void);

/* A cached answer for hash (TOKEN_HASH_BYTES) that is still valid at now
 * (ms since the epoch): fills *out and returns true. */
bool token_cache_get(const unsigned char *hash, int64_t now, struct token_info *out);
/* Remembers a positive answer looked up at generation gen; the entry dies
 * at min(expires_at, now + TOKEN_CACHE_TTL_MS) or at the next
 * invalidation, whichever comes first. */
void token_cache_put(const unsigned char *hash, uint64_t gen, int64_t now, int64_t expires_at,
                     const struct token_info *info);
#endif
