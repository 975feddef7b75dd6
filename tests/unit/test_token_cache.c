/* test_token_cache.c — unit tests for src/infra/db/token_cache.c: a hit
 * returns what was stored, an invalidation (or a lookup that raced with
 * one) is never answered from the cache, entries die at the token's expiry
 * and at the TTL, other threads keep their own tables, and a full table
 * evicts instead of growing. */
#define UNIT_MAIN
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "infra/db/token_cache.h"

static void hash_of(unsigned char h[TOKEN_HASH_BYTES], int n)
{
    memset(h, 0, TOKEN_HASH_BYTES);
    h[0] = (unsigned char)n;
    h[TOKEN_HASH_BYTES - 1] = (unsigned char)(n * 7 + 1);
}

static const int64_t NOW = 1700000000000LL;

TEST(hit_returns_the_stored_answer)
{
    unsigned char h[TOKEN_HASH_BYTES];
    hash_of(h, 1);
    struct token_info in = {.session_id = 11, .user_id = 22, .admin = true}, out = {0};
    CHECK(!token_cache_get(h, NOW, &out));
    token_cache_put(h, token_cache_generation(), NOW, NOW + 60000, &in);
    CHECK(token_cache_get(h, NOW + 10, &out));
    CHECK_EQ_INT(out.session_id, 11);
    CHECK_EQ_INT(out.user_id, 22);
    CHECK(out.admin);
    unsigned char other[TOKEN_HASH_BYTES];
    hash_of(other, 2);
    CHECK(!token_cache_get(other, NOW + 10, &out));
}

TEST(invalidation_drops_every_entry)
{
    unsigned char h[TOKEN_HASH_BYTES];
    hash_of(h, 3);
    struct token_info in = {.session_id = 1, .user_id = 2}, out;
    token_cache_put(h, token_cache_generation(), NOW, NOW + 60000, &in);
    CHECK(token_cache_get(h, NOW, &out));
    token_cache_invalidate();
    CHECK(!token_cache_get(h, NOW, &out));
    /* and it stays gone: the miss emptied the slot */
    CHECK(!token_cache_get(h, NOW, &out));
}

TEST(a_lookup_that_raced_with_an_invalidation_is_not_stored)
{
    unsigned char h[TOKEN_HASH_BYTES];
    hash_of(h, 4);
    struct token_info in = {.session_id = 1, .user_id = 2}, out;
    uint64_t gen = token_cache_generation();   /* read before the "database lookup" */
    token_cache_invalidate();                   /* a revocation commits meanwhile */
    token_cache_put(h, gen, NOW, NOW + 60000, &in);
    CHECK(!token_cache_get(h, NOW, &out));
}

TEST(entries_die_at_expiry_and_at_the_ttl)
{
    unsigned char h[TOKEN_HASH_BYTES], g[TOKEN_HASH_BYTES];
    hash_of(h, 5);
    hash_of(g, 6);
    struct token_info in = {.session_id = 1, .user_id = 2}, out;
    /* the token expires before the TTL */
    token_cache_put(h, token_cache_generation(), NOW, NOW + 100, &in);
    CHECK(token_cache_get(h, NOW + 99, &out));
    CHECK(!token_cache_get(h, NOW + 100, &out));
    /* the TTL ends before the token's expiry */
    token_cache_put(g, token_cache_generation(), NOW, NOW + 3600000, &in);
    CHECK(token_cache_get(g, NOW + TOKEN_CACHE_TTL_MS - 1, &out));
    CHECK(!token_cache_get(g, NOW + TOKEN_CACHE_TTL_MS, &out));
    /* an already expired token is not stored */
    token_cache_put(h, token_cache_generation(), NOW, NOW, &in);
    CHECK(!token_cache_get(h, NOW - 1, &out));
}

TEST(a_full_table_evicts_and_keeps_the_newest)
{
    struct token_info in = {.session_id = 1, .user_id = 2}, out;
    unsigned char h[TOKEN_HASH_BYTES];
    for (int i = 0; i < 100; i++) {
        hash_of(h, 10 + i);
        in.user_id = 10 + i;
        token_cache_put(h, token_cache_generation(), NOW, NOW + 60000, &in);
        CHECK(token_cache_get(h, NOW, &out));
        CHECK_EQ_INT(out.user_id, 10 + i);
    }
    int hits = 0;
    for (int i = 0; i < 100; i++) {
        hash_of(h, 10 + i);
        hits += token_cache_get(h, NOW, &out) ? 1 : 0;
    }
    CHECK(hits > 0 && hits <= 16);
}

static unsigned char shared_hash[TOKEN_HASH_BYTES];

static void *other_thread(void *arg)
{
    struct token_info out;
    *(bool *)arg = token_cache_get(shared_hash, NOW, &out);
    return NULL;
}

TEST(each_thread_has_its_own_table)
{
    hash_of(shared_hash, 7);
    struct token_info in = {.session_id = 1, .user_id = 2};
    token_cache_put(shared_hash, token_cache_generation(), NOW, NOW + 60000, &in);
    bool hit = true;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, other_thread, &hit) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(!hit);
}
