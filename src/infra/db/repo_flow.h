/* repo_flow.h — SQL for flow control (docs/scheduling.md): the paused
 * queues, the waitingFor texts of queued jobs held by a paused queue or a
 * rate limit, bulk actions by filter in bounded batches, the units the
 * resource pools have in use.  Writes are operations on the db writer
 * thread that log the jobs they change; reads borrow a read connection. */
#ifndef BB_REPO_FLOW_H
#define BB_REPO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"
#include "infra/db/db.h"
#include "infra/db/repo_job.h"

/* ---- paused queues ------------------------------------------------------- */

struct queue_pause {
    char preset[72];        /* "" = every preset */
    int64_t paused_at;      /* ms */
    int64_t paused_by;      /* user id, 0 = unknown */
};
/* Every paused queue, preset order (caller frees *out). */
int repo_queue_pauses(db *d, struct queue_pause **out, size_t *n);
/* Pauses preset ("" = all); pausing a paused queue keeps its first time. */
int repo_queue_pause(db *d, const char *preset, int64_t by, int64_t now);
/* Resumes preset ("" = the global pause only); *removed: whether it was. */
int repo_queue_resume(db *d, const char *preset, bool *removed);

/* The texts flow control gives held queued jobs. */
#define WAIT_PAUSED "queue paused"
#define WAIT_RATE_PREFIX "rate limit: "

/* Sets waitingFor = text on up to max queued jobs of preset (NULL = every
 * preset) that have another text, logging each; *n: how many. */
int repo_wait_mark(db *d, const char *preset, const char *text, int max, int *n);
/* Clears the flow-control texts (queue paused, rate limit) of up to max
 * queued jobs whose preset is not in held (",p1,p2,"; NULL = none held);
 * *n: how many. */
int repo_wait_unmark(db *d, const char *held, int max, int *n);

/* ---- bulk actions ---------------------------------------------------------- */

/* Up to max ids (newest first, below before_id when non-zero) of the jobs f
 * selects whose state is in states (f's own state, if any, must also
 * match), batch children included.  Caller frees *ids. */
int repo_job_ids(db *d, const struct job_filter *f, job_state_set states, int64_t before_id,
                 int max, int64_t **ids, size_t *n);
/* How many jobs f selects with a state in states. */
int repo_job_count(db *d, const struct job_filter *f, job_state_set states, int64_t *n);
/* Cancels the listed jobs in one operation: queued ones (and any other
 * not-running state in cancelable) become canceled with reason, running
 * ones get cancel_requested (their ids go to *running, caller frees); a
 * job in another state by now is skipped.  *done counts both. */
int repo_jobs_cancel_many(db *d, const int64_t *ids, size_t n, job_state_set cancelable,
                          const char *reason, int *done, int64_t **running, size_t *nrunning);
/* Queues the listed failed/canceled jobs again with extra more attempts
 * each (extra[i]); *done counts them. */
int repo_jobs_retry_many(db *d, const int64_t *ids, const int *extra, size_t n, int *done);

/* ---- queue edits ------------------------------------------------------------- */

/* Changes a queued job's priority (when set), params (JSON text, when not
 * NULL) and needs (when set_needs; NULL clears).  BB_ESTATE unless queued. */
int repo_job_edit_queued(db *d, int64_t id, int64_t owner_scope, bool set_priority,
                         int priority, const char *params, bool set_needs, const char *needs);
/* Moves a queued job to the front: priority above every other queued job
 * (at most 1000).  *priority receives the new value.  BB_ESTATE unless
 * queued. */
int repo_job_move_to_front(db *d, int64_t id, int64_t owner_scope, int *priority);

/* ---- resource pools ------------------------------------------------------------ */

/* The units of each pool running jobs hold now: used[i] for pools[i]
 * (in repo_claim_res.c, which reads held units for the claim too). */
int repo_pool_usage(db *d, const bb_pool *pools, size_t npools, int64_t *used);

#endif
