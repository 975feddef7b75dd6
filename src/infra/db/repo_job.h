/* repo_job.h — SQL for the job record: submit, read, list, and the user's
 * actions on it (cancel, retry, edit) and its progress.  Write functions
 * run as operations on the db writer thread (blocking the caller until
 * committed) and append the events they cause to the event log in the same
 * transaction; the events reach the bus after the commit.  Read functions
 * borrow a read connection.
 *
 * The other concepts have their own headers, included here so that one
 * include still brings every job statement: repo_claim.h (the workers'
 * claim/result cycle, leases, recovery), repo_event.h (event log, replay,
 * retention, log lines), repo_artifact.h (output files) and repo_stats.h
 * (counts and statistics). */
#ifndef BB_REPO_JOB_H
#define BB_REPO_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"
#include "infra/db/repo_artifact.h"
#include "infra/db/repo_batch.h"
#include "infra/db/repo_claim.h"
#include "infra/db/repo_event.h"
#include "infra/db/repo_stats.h"

/* ---- writes ---------------------------------------------------------- */

/* Inserts a queued job (j->id and timestamps are filled in) and logs
 * job_created.  With idem_key: if a job with the same owner and key exists
 * and idem_hash matches, returns BB_OK with *existed = true and j->id set
 * to it; a different hash returns BB_ECONFLICT. */
int repo_job_submit(db *d, job *j, const char *idem_key, const char *idem_hash,
                    bool *existed);

/* Inserts batch parent `parent` (kind "batch", batch_total = n) and its n
 * children (batch_id set to the parent) in one transaction: all of them
 * or none.  Ids and times are filled in; job_created is logged for each.
 * The idempotency key names the parent, as in repo_job_submit. */
int repo_batch_create(db *d, job *parent, job *children, size_t n, const char *idem_key,
                      const char *idem_hash, bool *existed);

enum cancel_outcome { CANCEL_DONE, CANCEL_REQUESTED };
/* queued → canceled at once (CANCEL_DONE); running → cancel_requested
 * (CANCEL_REQUESTED; the worker ends it).  Terminal → BB_ESTATE; missing
 * or not visible to owner_scope (0 = any) → BB_ENOTFOUND. */
int repo_job_cancel(db *d, int64_t id, int64_t owner_scope, const char *reason,
                    enum cancel_outcome *outcome);

/* failed|canceled → queued with a fresh budget of extra_attempts more
 * attempts.  BB_ESTATE otherwise. */
int repo_job_retry(db *d, int64_t id, int64_t owner_scope, int extra_attempts);

/* Changes preset (and its max_attempts) and/or notion database of a
 * queued or terminal job; NULL leaves a field; notion "" clears it.
 * BB_ESTATE while running. */
int repo_job_edit(db *d, int64_t id, int64_t owner_scope, const char *preset,
                  int max_attempts, const char *notion_db);

int repo_job_set_progress(db *d, int64_t id, double progress);

/* ---- reads ----------------------------------------------------------- */

/* Loads a job (caller clears it).  BB_ENOTFOUND if missing or owner_scope
 * (0 = any) differs. */
int repo_job_get(db *d, int64_t id, int64_t owner_scope, job *out);

struct job_filter {
    int64_t owner_scope;   /* 0 = every owner */
    bool has_state;
    enum job_state state;
    const char *preset;    /* NULL = any */
    const char *q;         /* substring of md, NULL = any */
    int64_t before_id;     /* keyset cursor: ids < before_id; 0 = newest */
    bool children;         /* batch children too (default: top-level jobs only) */
    int64_t batch_id;      /* only the children of this batch; 0 = no such filter */
    int limit;             /* 1..200 */
    int64_t created_after;  /* created at or after (ms); 0 = any */
    int64_t created_before; /* created before (ms); 0 = any */
    bool out_of_attempts;   /* failed with no attempts left (the dead letters) */
};
/* Lists jobs newest first.  *out is a malloc'd array of *n records
 * (caller frees each with job_clear and the array with free). */
int repo_job_list(db *d, const struct job_filter *f, job **out, size_t *n);

#endif
