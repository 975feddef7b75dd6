/* pool.h — the worker pool and the maintenance thread: threads, claiming,
 * wake-up, cancel, leases, housekeeping and shutdown.  The pool knows no
 * workflow: what a claimed job's attempt does is the `run` hook it is
 * given (src/service/attempt.c).  See the DESIGN comment in pool.c. */
#ifndef BB_POOL_H
#define BB_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/config.h"
#include "infra/db/db.h"
#include "infra/db/repo_job.h"

typedef struct pool pool;

/* A finished attempt waiting to be recorded by the worker's next claim
 * cycle.  f's pointers (error, artifacts, recorded values) point into
 * `owned`, which the pool hands back to hooks.result_free once recorded. */
struct pool_result {
    struct job_finish f;
    void *owned;
};

struct pool_hooks {
    /* The execute phase: runs one attempt of the claimed job j (running,
     * attempt counted) on the calling worker thread and describes its end
     * in *out (zeroed on entry).  *cancel becomes true when the job is to
     * stop (HTTP cancel or shutdown); *shutdown tells the two apart (a
     * stopped attempt is requeued, not canceled). */
    void (*run)(void *ud, const job *j, atomic_bool *cancel, const atomic_bool *shutdown,
                struct pool_result *out);
    /* Frees a pool_result's owned memory (NULL is fine). */
    void (*result_free)(void *owned);
    void *ud;
};

struct pool_opts {
    db *db;                   /* borrowed; outlives the pool */
    const bb_config *cfg;     /* borrowed: presets' concurrency, events.retainEvents */
    int workers;              /* < 1 means 1 */
    /* ",p1,p2,": presets whose jobs are claimed up to 32 at a time (cheap
     * attempts, no concurrency limit), or NULL.  Copied. */
    const char *batchable;
    struct pool_hooks hooks;
    /* Placement (infra/db/repo_claim.h, claim_place_fn): the jobs of the
     * ComfyUI presets of cfg are claimed only where this callback places
     * them (docs/comfyui.md, "Placement"); NULL: no placement. */
    claim_place_fn place;
    void *place_ud;
};

/* Starts the worker threads and the maintenance thread.  NULL on failure
 * (every started thread is stopped again).  Free with pool_stop. */
pool *pool_start(const struct pool_opts *o);
/* Wakes idle workers (new work may be claimable). */
void pool_wake(pool *p);
/* Asks the worker running job id (if any) to stop it. */
void pool_cancel(pool *p, int64_t job_id);
/* Stops claiming; waits up to grace_ms for running jobs to finish, then
 * stops the rest and requeues them; joins every thread and frees p. */
void pool_stop(pool *p, int grace_ms);
/* Reads the paused queues again (docs/scheduling.md, "Queue control")
 * after a pause or resume and wakes the workers.  BB_OK or a db error. */
int pool_queue_reload(pool *p);
/* Busy workers / all workers. */
void pool_stats(pool *p, int *busy, int *total);

/* Lease length and renewal period. */
#define POOL_LEASE_MS 30000
#define POOL_RENEW_MS 10000

#endif
