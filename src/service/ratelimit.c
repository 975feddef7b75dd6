/* ratelimit.c — token buckets by caller (ratelimit.h).  One mutex guards
 * an open-addressed table of buckets keyed by a keyed hash of the caller
 * key (libsodium crypto_shorthash, so a client cannot aim collisions);
 * a probe walks at most PROBE slots and reuses the least recently seen
 * one when all are taken, so the table never grows.  A request costs one
 * lock, a hash and a few compares. */
#include "service/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/util.h"

#define KEY_MAX 72
#define PROBE 8

struct bucket {
    char key[KEY_MAX];          /* "" = free */
    double tokens;
    int64_t last_ms;
};

struct ratelimit {
    pthread_mutex_t mu;
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    struct bucket *b;
    size_t n;
};

struct ratelimit *ratelimit_new(int slots)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->n = slots > PROBE ? (size_t)slots : PROBE;
    rl->b = calloc(rl->n, sizeof *rl->b);
    if (!rl->b) {
        free(rl);
        return NULL;
    }
    randombytes_buf(rl->hkey, sizeof rl->hkey);
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->b);
    free(rl);
}

bool ratelimit_take(struct ratelimit *rl, const char *key, double rate, double burst,
                    int64_t now_ms, int *retry_after_sec)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->hkey);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    pthread_mutex_lock(&rl->mu);
    struct bucket *found = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE && !found; i++) {
        struct bucket *b = &rl->b[(v + i) % rl->n];
        if (strncmp(b->key, key, KEY_MAX - 1) == 0 && b->key[0])
            found = b;
        else if (!oldest || !b->key[0] || (oldest->key[0] && b->last_ms < oldest->last_ms))
            oldest = b;
    }
    if (!found) {
        found = oldest;
        bb_strlcpy(found->key, key, sizeof found->key);
        found->tokens = burst;
        found->last_ms = now_ms;
    }
    double t = found->tokens + (double)(now_ms - found->last_ms) / 1000.0 * rate;
    found->tokens = t > burst ? burst : t;
    found->last_ms = now_ms;
    bool ok = found->tokens >= 1.0;
    if (ok)
        found->tokens -= 1.0;
    else
        *retry_after_sec = (int)ceil((1.0 - found->tokens) / rate);
    pthread_mutex_unlock(&rl->mu);
    if (!ok && *retry_after_sec < 1)
        *retry_after_sec = 1;
    return ok;
}
