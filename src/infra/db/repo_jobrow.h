/* repo_jobrow.h — private to src/infra/db: what the job repositories
 * (repo_job.c, repo_claim.c, repo_event.c, repo_artifact.c) share inside
 * one writer operation: reading a job row, logging an event with it, and
 * writing a succeeded job's artifacts.  All take the connection of the
 * operation (or read) that is running. */
#ifndef BB_REPO_JOBROW_H
#define BB_REPO_JOBROW_H

#include <stddef.h>
#include <stdint.h>

#include "domain/event.h"
#include "domain/job.h"
#include "infra/db/db.h"
#include "infra/db/repo_artifact.h"

/* The columns repo_row_to_job reads, in its order. */
#define JOB_COLS                                                            \
    "id, owner_id, state, preset, md, input_path, with_tts, upload, "       \
    "voice_accent, force_tts, notion_database, mode, priority, params, "    \
    "progress, attempts, max_attempts, parent_job_id, manifest_path, "      \
    "notion_url, page_url, error, cancel_requested, run_after, created_at, " \
    "updated_at, started_at, finished_at, ifnull(file_id, 0), voice_id, kind, "   \
    "ifnull(batch_id, 0), sweep, batch_total, batch_queued, batch_running, "  \
    "batch_succeeded, batch_failed, batch_canceled, waiting_for, ifnull(run_at, 0), "  \
    "ifnull(schedule_id, 0), (SELECT group_concat(dep_id, ',') FROM (SELECT dep_id "      \
    "FROM job_deps WHERE job_deps.job_id = jobs.id ORDER BY dep_id)), run_when, needs, resources"

/* q with its LIKE wildcards escaped (ESCAPE '\\'), so it matches
 * literally; caller frees; NULL when out of memory. */
char *repo_like_literal(const char *q);
/* Fills j (zeroed first; caller clears) from a row of JOB_COLS. */
void repo_row_to_job(db_q *q, job *j);
/* Loads job id on connection c (caller clears *out); BB_ENOTFOUND. */
int repo_load_job(db_conn *c, int64_t id, job *out);

/* Appends an event with payload data (copied) to the event log and queues
 * it in out for publishing after the commit.  Writer thread only. */
int repo_log_event(db_conn *c, db_outbox *out, enum ev_type type, int64_t job_id,
                   int64_t owner_id, const char *data);
/* Logs an event whose payload is the job's current DTO.  A child's
 * job_state_changed also refreshes its batch parent (repo_batch_refresh). */
int repo_emit_job(db_conn *c, db_outbox *out, enum ev_type type, int64_t id);
/* repo_emit_job without the parent refresh: for operations that change
 * many children of one batch and refresh the parent once at the end. */
int repo_emit_job_only(db_conn *c, db_outbox *out, enum ev_type type, int64_t id);

/* The batch parents an operation touched, refreshed once at its end
 * (repo_batch_touched_refresh) instead of after every child: a worker
 * cycle claims and finishes many children of one batch at a time. */
struct batch_touched {
    int64_t ids[32];
    size_t n;
};
/* repo_emit_job that, for a child's state change, adds its parent to t
 * (refreshing at once only when t is full). */
int repo_emit_job_touch(db_conn *c, db_outbox *out, enum ev_type type, int64_t id,
                        struct batch_touched *t);
/* Refreshes every parent in t and empties it. */
int repo_batch_touched_refresh(db_conn *c, db_outbox *out, struct batch_touched *t);

/* Recounts the children of batch parent_id by state and derives the
 * parent's state and progress from them (docs/batches.md), in the
 * operation that changed a child.  A parent whose state changed logs
 * job_state_changed; one whose counts changed logs job_progress unless it
 * published one less than BATCH_COALESCE_MS ago (repo_batch_flush sends
 * the last one later).  Writer thread only. */
int repo_batch_refresh(db_conn *c, db_outbox *out, int64_t parent_id);

/* Replaces the artifacts of job_id with the n records of a (stored at
 * `now`; a record without storage is "fs").  Writer thread only. */
int repo_artifacts_replace(db_conn *c, int64_t job_id, const struct artifact_rec *a,
                           size_t n, int64_t now);

#endif
