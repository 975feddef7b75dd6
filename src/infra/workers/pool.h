/* pool.h — the worker pool and the maintenance thread.  See the DESIGN
 * comment in pool.c. */
#ifndef BB_POOL_H
#define BB_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "service/app.h"

typedef struct pool pool;

/* Starts n worker threads and the maintenance thread.  NULL on failure. */
pool *pool_start(bb_app *app, int n);
/* Wakes idle workers (new work may be claimable). */
void pool_wake(pool *p);
/* Asks the worker running job id (if any) to stop it. */
void pool_cancel(pool *p, int64_t job_id);
/* Stops claiming; waits up to grace_ms for running jobs to finish, then
 * stops the rest and requeues them; joins every thread and frees p. */
void pool_stop(pool *p, int grace_ms);
/* Busy workers / all workers. */
void pool_stats(pool *p, int *busy, int *total);

/* Lease length and renewal period. */
#define POOL_LEASE_MS 30000
#define POOL_RENEW_MS 10000

#endif
