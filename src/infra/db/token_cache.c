/* token_cache.c — per-thread cache of verified access tokens (see
 * token_cache.h).
 *
 * DESIGN
 * - Each thread (a civetweb worker serves one keep-alive connection at a
 *   time) owns a tiny table in thread-local storage: no lock, no sharing,
 *   nothing to free.  A hit costs one SHA-256 of the token (done by the
 *   caller) and a few comparisons instead of an SQLite read transaction.
 * - Only positive answers are cached: an invalid token always goes to the
 *   database, so a token becomes valid no later than it does today.
 * - Revocation is immediate in this process: every committed change that
 *   can end a token's validity or change its role (repo_user.c: user
 *   update, session revoke, refresh reuse) calls token_cache_invalidate
 *   AFTER its commit, which bumps one global atomic generation.  An entry
 *   is used only while its generation is still the current one.  The
 *   caller reads the generation BEFORE its lookup, so a lookup that raced
 *   with a revocation is stored under the old generation and never used.
 * - An entry also dies at the token's own expiry and TOKEN_CACHE_TTL_MS
 *   after the lookup (the bound for changes made by another process).
 * - Entries hold the token's hash, never the token. */
#include "infra/db/token_cache.h"

#include <stdatomic.h>
#include <string.h>

#define SLOTS 4         /* a keep-alive connection uses one token; TLS is paid per thread */

struct entry {
    unsigned char hash[TOKEN_HASH_BYTES];
    uint64_t gen;
    int64_t dies_at;          /* ms since the epoch; 0 = empty */
    struct token_info info;
};

static atomic_uint_fast64_t generation = 1;
static _Thread_local struct entry table[SLOTS];
static _Thread_local unsigned next_victim;

uint64_t token_cache_generation(void)
{
    return (uint64_t)atomic_load_explicit(&generation, memory_order_acquire);
}

void token_cache_invalidate(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

bool token_cache_get(const unsigned char *hash, int64_t now, struct token_info *out)
{
    uint64_t gen = token_cache_generation();
    for (int i = 0; i < SLOTS; i++) {
        struct entry *e = &table[i];
        if (e->dies_at == 0 || memcmp(e->hash, hash, TOKEN_HASH_BYTES) != 0)
            continue;
        if (e->gen != gen || now >= e->dies_at) {
            e->dies_at = 0;
            return false;
        }
        *out = e->info;
        return true;
    }
    return false;
}

void token_cache_put(const unsigned char *hash, uint64_t gen, int64_t now, int64_t expires_at,
                     const struct token_info *info)
{
    int64_t dies_at = now + TOKEN_CACHE_TTL_MS;
    if (expires_at < dies_at)
        dies_at = expires_at;
    if (dies_at <= now || gen != token_cache_generation())
        return;
    struct entry *slot = NULL;
    for (int i = 0; i < SLOTS && !slot; i++)
        if (table[i].dies_at == 0 || memcmp(table[i].hash, hash, TOKEN_HASH_BYTES) == 0)
            slot = &table[i];
    if (!slot)
        slot = &table[next_victim++ % SLOTS];
    memcpy(slot->hash, hash, TOKEN_HASH_BYTES);
    slot->gen = gen;
    slot->dies_at = dies_at;
    slot->info = *info;
}
