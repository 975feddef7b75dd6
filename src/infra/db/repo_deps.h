/* repo_deps.h — SQL for scheduled jobs and dependencies (docs/scheduling.md):
 * the job_deps rows of a job, the decision for a `waiting` job when a job
 * it depends on ends, the promotion of due `scheduled` jobs, and the reads
 * the submit check and GET /jobs/:id/dependents need.  The functions
 * taking a db_conn run inside an operation on the writer thread; the
 * others are whole operations (writes) or borrow a reader (reads). */
#ifndef BB_REPO_DEPS_H
#define BB_REPO_DEPS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"

/* The most jobs one job may depend on. */
#define DEPS_MAX 64

/* Inside an operation: stores the job_deps rows of job_id from ids
 * ("12,14"; each an existing job). */
int repo_deps_insert(db_conn *c, int64_t job_id, const char *ids);
/* Inside an operation: decides for job_id if it is `waiting`: queued (or
 * scheduled while its run_at is ahead) once its dependencies ended as its
 * run_when asks, canceled with the reason in error once that can no
 * longer happen, else its waiting_for names the jobs still running
 * (written only when the text changes).  Logs job_state_changed. */
int repo_deps_evaluate(db_conn *c, db_outbox *out, int64_t job_id);
/* Inside an operation: job dep_id ended; decides for each job waiting for
 * it (repo_job.c calls this where a terminal state is logged). */
int repo_deps_job_ended(db_conn *c, db_outbox *out, int64_t dep_id);

/* Called on the writer thread, inside the operation, whenever a job became
 * queued through its dependencies (so a worker can be woken; a rollback
 * makes the wake-up spurious, which is harmless).  One hook per process:
 * set by the scheduler when it starts, NULL to clear. */
struct repo_deps_hook {
    void (*ready)(void *ud);
    void *ud;
};
void repo_deps_set_hook(const struct repo_deps_hook *h);
/* Clears the hook and returns once no writer operation can still be
 * calling the old one (a barrier operation on d's writer). */
void repo_deps_clear_hook(db *d);

/* One operation: scheduled jobs whose run_at <= now become queued (at most
 * 256 per call; *n says how many). */
int repo_jobs_promote_due(db *d, int64_t now, int *n);
/* The earliest run_at of a scheduled job into *at (0 = none). */
int repo_jobs_next_due(db *d, int64_t *at);

/* Whether job id exists and owner_scope (0 = any) may see it: BB_OK or
 * BB_ENOTFOUND. */
int repo_job_visible(db *d, int64_t id, int64_t owner_scope);
/* The jobs that depend on job id (oldest first, at most 200) visible to
 * owner_scope.  *out: caller frees each with job_clear and the array. */
int repo_deps_dependents(db *d, int64_t id, int64_t owner_scope, job **out, size_t *n);

#endif
