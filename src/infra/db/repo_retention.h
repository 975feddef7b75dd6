/* repo_retention.h — SQL for retention (docs/operations.md, "Retention"):
 * which finished jobs are past their time, what they hold, and deleting
 * them (a batch parent with its children) in bounded transactions. */
#ifndef BB_REPO_RETENTION_H
#define BB_REPO_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* A job due for deletion: top-level (a batch parent brings its children
 * along), finished, finished before its preset's cutoff, with every batch
 * child finished and no other job naming it as parent (a rerun child
 * goes first). */
struct retention_due {
    int64_t id;
    int64_t jobs;            /* rows it deletes: itself and its batch children */
    int64_t log_bytes;       /* their log lines */
    int64_t artifact_bytes;  /* their artifacts */
};

/* Up to limit due jobs with id > after_id, by id.  cutoffs_json: a JSON
 * object preset → cutoff (ms since the epoch; 0 = never due) for the
 * presets with their own setting; dflt_cutoff for the others (0 =
 * never).  *out: caller frees. */
int repo_retention_due(db *d, const char *cutoffs_json, int64_t dflt_cutoff, int64_t after_id,
                       int limit, struct retention_due **out, size_t *n);

/* One stored artifact of a job being deleted. */
struct retention_object {
    int64_t job_id;
    char *storage;          /* "fs" | "s3" (owned) */
    char *location;         /* key in that store (owned) */
};
/* The artifacts of jobs ids[0..n) and of their batch children (caller
 * frees each string and the array: retention_objects_free). */
int repo_retention_objects(db *d, const int64_t *ids, size_t n, struct retention_object **out,
                           size_t *nout);
void retention_objects_free(struct retention_object *v, size_t n);
/* The ids of the batch children of jobs ids[0..n) (caller frees). */
int repo_retention_children(db *d, const int64_t *ids, size_t n, int64_t **out, size_t *nout);

/* Deletes jobs ids[0..n), their batch children, their events, logs,
 * artifacts rows and webhook deliveries, in one transaction, checking
 * again that each is still due-shaped (finished).  *jobs_deleted and
 * *events_deleted are what it removed. */
int repo_retention_delete(db *d, const int64_t *ids, size_t n, int64_t *jobs_deleted,
                          int64_t *events_deleted);

#endif
