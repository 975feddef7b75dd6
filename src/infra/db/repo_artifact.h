/* repo_artifact.h — SQL for a job's output files (the artifacts table).
 * The rows are written by the worker's result (repo_job_cycle, see
 * repo_claim.h) in the transaction that marks the job succeeded; these are
 * the reads, each borrowing a read connection, and the user's picks (a
 * write operation on the db writer thread). */
#ifndef BB_REPO_ARTIFACT_H
#define BB_REPO_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* A job's output file.  location is the storage key ("artifacts/17/x.mp3")
 * in the store named by storage ("fs" = under the data directory, "s3"). */
struct artifact_rec {
    char *name, *sha256, *content_type, *location, *storage;
    int64_t size;
    bool picked;               /* kept by the user (docs/gallery.md) */
    int64_t job_id;            /* the job it belongs to (set by the reads) */
};

/* For repo_*.c: the columns of an artifact row (table alias a), read into
 * a zeroed artifact_rec by repo_artifact_fill (a db_collect fill). */
#define ARTIFACT_SELECT                                                         \
    "SELECT a.name, a.size, a.sha256, a.content_type, a.location, a.storage, "  \
    "a.picked, a.job_id FROM artifacts a "
void repo_artifact_fill(db_q *q, void *rec);

/* Artifacts of a job, in name order (caller frees with repo_artifacts_free). */
int repo_artifacts_list(db *d, int64_t job_id, struct artifact_rec **out, size_t *n);
/* One artifact; BB_ENOTFOUND if missing.  Caller clears *out. */
int repo_artifact_get(db *d, int64_t job_id, const char *name, struct artifact_rec *out);
void repo_artifacts_free(struct artifact_rec *a, size_t n);
/* Frees the strings of one record (from repo_artifact_get) and zeroes it. */
void repo_artifact_clear(struct artifact_rec *a);

/* Marks artifact `name` of job_id picked or not (idempotent: setting the
 * value it has is BB_OK).  BB_ENOTFOUND when the job has no such artifact.
 * Runs on the writer thread; the caller has checked the job is theirs.
 * Logs no event: a pick changes no job. */
int repo_artifact_set_picked(db *d, int64_t job_id, const char *name, bool picked);

#endif
