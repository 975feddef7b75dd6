/* repo_batch.h — SQL for batch parents (docs/batches.md).  A parent is a
 * job row of kind 'batch' that workers never claim; its children are
 * ordinary jobs with batch_id = the parent.  The parent's state, progress
 * and counts are derived from its children and written in the same
 * transaction as every change of a child (repo_batch_refresh, private to
 * src/infra/db), so they are right under any concurrency: there is one
 * writer.  Its events are coalesced: a state change is published at once,
 * a change of counts at most once per BATCH_COALESCE_MS; the maintenance
 * thread calls repo_batch_flush so the last change is published too.
 * Creating a batch is repo_batch_create (repo_job.h). */
#ifndef BB_REPO_BATCH_H
#define BB_REPO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

#define BATCH_COALESCE_MS 250

/* Publishes a job_progress of each open parent whose counts changed after
 * its last published update and that has been quiet for BATCH_COALESCE_MS;
 * *n (may be NULL) receives how many. */
int repo_batch_flush(db *d, int64_t now, int *n);

/* Cancels batch id (visible to owner_scope, 0 = any): its queued children
 * end canceled, its running children get cancel_requested (the caller
 * stops their workers: *running, *nrunning, caller frees), and the parent
 * ends canceled once they all ended.  *canceled receives the number of
 * children canceled at once.  BB_ENOTFOUND if it is no visible batch,
 * BB_ESTATE if it has ended. */
int repo_batch_cancel(db *d, int64_t id, int64_t owner_scope, const char *reason,
                      int *canceled, int64_t **running, size_t *nrunning);

/* Queues the failed and canceled children of batch id again, each with a
 * fresh budget of extra_attempts attempts; *requeued receives how many.
 * BB_ESTATE unless the batch is failed or canceled. */
int repo_batch_retry(db *d, int64_t id, int64_t owner_scope, int extra_attempts, int *requeued);

#endif
