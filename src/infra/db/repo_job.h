/* repo_job.h — every SQL statement about jobs, their event log, log lines
 * and artifacts.  Write functions run as operations on the db writer
 * thread (blocking the caller until committed) and append the events they
 * cause to the event log in the same transaction; the events reach the
 * bus after the commit.  Read functions borrow a read connection. */
#ifndef BB_REPO_JOB_H
#define BB_REPO_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"

/* ---- writes ---------------------------------------------------------- */

/* Inserts a queued job (j->id and timestamps are filled in) and logs
 * job_created.  With idem_key: if a job with the same owner and key exists
 * and idem_hash matches, returns BB_OK with *existed = true and j->id set
 * to it; a different hash returns BB_ECONFLICT. */
int repo_job_submit(db *d, job *j, const char *idem_key, const char *idem_hash,
                    bool *existed);

/* Claims the next runnable job: queued, run_after <= now, preset not in
 * `blocked` (",p1,p2," or NULL), by priority desc then id.  Marks it
 * running with a lease until now+lease_ms, counts the attempt, logs
 * job_state_changed.  *found false when none; then *next_due is the
 * earliest future run_after of a queued job (0 if none). */
int repo_job_claim(db *d, int64_t now, int64_t lease_ms, const char *blocked,
                   job *out, bool *found, int64_t *next_due);

/* A job's output file.  location is the storage key ("artifacts/17/x.mp3")
 * in the store named by storage ("fs" = under the data directory, "s3"). */
struct artifact_rec {
    char *name, *sha256, *content_type, *location, *storage;
    int64_t size;
};

enum finish_kind {
    FINISH_SUCCEEDED,
    FINISH_FAILED,       /* terminal failure */
    FINISH_RETRY,        /* back to queued until run_after */
    FINISH_CANCELED,
    FINISH_REQUEUE,      /* shutdown: back to queued, attempt not counted */
};

struct job_finish {
    int64_t job_id;
    enum finish_kind kind;
    const char *error;             /* failed/retry/canceled */
    int64_t run_after;             /* retry */
    const struct artifact_rec *artifacts;   /* succeeded */
    size_t nartifacts;
    int64_t at;                    /* when the attempt ended (ms); 0 = now */
    /* succeeded: the lesson workflow's outputs (NULL = none); borrowed */
    const char *page_url, *manifest_path, *notion_url;
};

/* Ends a running attempt; logs job_state_changed.  BB_ESTATE if the job
 * is no longer running (e.g. recovered elsewhere). */
int repo_job_finish(db *d, const struct job_finish *f);

/* One worker round trip to the writer: records the results of finished
 * attempts (a finish whose job is no longer running is skipped), then
 * claims up to `max` jobs like repo_job_claim.  After the first claimed
 * job, further ones are taken only if the first one's preset is listed in
 * `batchable` (",noop," — presets cheap enough to run back to back) and
 * only from those presets.  out must hold max records; *nout receives how
 * many were claimed (caller clears each). */
struct claim_req {
    int64_t now, lease_ms;
    const char *blocked;      /* ",p1,p2," or NULL */
    const char *batchable;    /* ",p1," or NULL */
    size_t max;               /* >= 1 */
};
int repo_job_cycle(db *d, const struct job_finish *fin, size_t nfin,
                   const struct claim_req *req, job *out, size_t *nout,
                   int64_t *next_due);

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

struct log_line {
    const char *stream;
    const char *text;
    int64_t ts;
};
/* Appends log lines of one attempt and logs a job_log event per line. */
int repo_job_append_logs(db *d, int64_t id, int attempt,
                         const struct log_line *lines, size_t n);

/* Start-up recovery: every job left running by a previous process is
 * requeued (its attempt stays counted) or, out of attempts, failed. */
int repo_job_recover_running(db *d, int *requeued, int *failed);
/* Jobs whose lease ran out (worker lost): same treatment. */
int repo_job_expire_leases(db *d, int64_t now, int *n);
/* Extends the leases of the given running jobs. */
int repo_job_renew_leases(db *d, const int64_t *ids, size_t n, int64_t until);
/* Deletes events older than the newest `retain`. */
int repo_events_trim(db *d, int64_t retain, int64_t *deleted);

/* ---- reads ----------------------------------------------------------- */

/* Loads a job.  BB_ENOTFOUND if missing or owner_scope (0 = any) differs. */
int repo_job_get(db *d, int64_t id, int64_t owner_scope, job *out);

struct job_filter {
    int64_t owner_scope;   /* 0 = every owner */
    bool has_state;
    enum job_state state;
    const char *preset;    /* NULL = any */
    const char *q;         /* substring of md, NULL = any */
    int64_t before_id;     /* keyset cursor: ids < before_id; 0 = newest */
    int limit;             /* 1..200 */
};
/* Lists jobs newest first.  *out is a malloc'd array of *n records
 * (caller frees each with job_clear and the array with free). */
int repo_job_list(db *d, const struct job_filter *f, job **out, size_t *n);

/* Calls fn for each logged event with after_id < id <= upto_id that
 * matches (owner_scope 0 = all; job_id 0 = all; logs = include job_log),
 * in id order.  fn returns non-zero to stop. */
int repo_events_replay(db *d, int64_t after_id, int64_t upto_id,
                       int64_t owner_scope, int64_t job_id, bool logs,
                       int (*fn)(void *ud, int64_t id, const char *type,
                                 const char *payload),
                       void *ud);

/* Calls fn for each log line of job id with log id > after, up to limit
 * lines; *last receives the id of the last line given (or after). */
int repo_job_logs(db *d, int64_t id, int64_t after, int limit,
                  int (*fn)(void *ud, const char *stream, const char *line),
                  void *ud, int64_t *last);

/* Artifacts of a job, in name order (caller frees with repo_artifacts_free). */
int repo_artifacts_list(db *d, int64_t job_id, struct artifact_rec **out, size_t *n);
/* One artifact; BB_ENOTFOUND if missing. */
int repo_artifact_get(db *d, int64_t job_id, const char *name, struct artifact_rec *out);
void repo_artifacts_free(struct artifact_rec *a, size_t n);
/* Frees the strings of one record (from repo_artifact_get) and zeroes it. */
void repo_artifact_clear(struct artifact_rec *a);

/* Id of the newest event in the log (0 when empty). */
int repo_events_max_id(db *d, int64_t *id);

/* Queue depth (queued jobs) and running count. */
int repo_job_counts(db *d, int64_t counts[5]);

#endif

#ifndef BB_REPO_JOB_STATS
#define BB_REPO_JOB_STATS
/* ---- statistics (admin) ------------------------------------------------ */

/* Jobs created in each of the 24 hours before `now` (index 23 = the hour
 * containing now); uses jobs_created. */
int repo_stats_jobs_per_hour(db *d, int64_t now, int64_t counts[24]);
/* Durations (ms) of jobs that succeeded since `since`, grouped by preset in
 * ascending duration order: fn is called once per preset with its sorted
 * durations.  Uses jobs_finished. */
int repo_stats_durations(db *d, int64_t since,
                         void (*fn)(void *ud, const char *preset, const int64_t *ms, size_t n),
                         void *ud);
/* Bytes of the database file(s) and the sum of artifact sizes. */
int repo_stats_sizes(db *d, int64_t *db_bytes, int64_t *artifact_bytes);
#endif
