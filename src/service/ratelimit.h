/* ratelimit.h — per-caller request rate limits (docs/integrations.md,
 * "Rate limits"): a token bucket per signed-in user, per API key and per
 * client address for anonymous requests.  Thread-safe. */
#ifndef BB_RATELIMIT_H
#define BB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* A table of at most `slots` buckets (the least recently used one is
 * reused when full).  NULL on OOM. */
struct ratelimit *ratelimit_new(int slots);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token from key's bucket (rate per second, burst = its size,
 * both > 0).  true when the request may go on; else false with
 * *retry_after_sec, the whole seconds until a token is back (>= 1). */
bool ratelimit_take(struct ratelimit *rl, const char *key, double rate, double burst,
                    int64_t now_ms, int *retry_after_sec);

#endif
