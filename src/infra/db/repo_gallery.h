/* repo_gallery.h — the gallery's reads (docs/gallery.md): what a batch
 * parent is (its kind and the sweep it was created from), its children
 * (or a plain job itself) with the fields a gallery shows, and all their
 * artifacts in one query.  Each call borrows a read connection; the
 * caller has checked who may see the job (service/gallery.c). */
#ifndef BB_REPO_GALLERY_H
#define BB_REPO_GALLERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"
#include "infra/db/repo_artifact.h"

/* One job of a gallery: a child of the batch, or the plain job itself.
 * Strings are owned by the record (NULL for SQL NULL). */
struct gallery_job_rec {
    int64_t id;
    char *state;               /* "queued", "running", ... as stored */
    char *params;              /* JSON object text */
    char *md;
    char *error;
    int64_t finished_at;       /* ms since the epoch, 0 = not finished */
    char *waiting_for;         /* why it has not started (NULL: nothing said) */
    char *preset;              /* the job's preset id */
};

/* Whether job id is a batch parent (jobs.kind = 'batch') and its sweep
 * JSON text (caller frees; NULL when none).  BB_ENOTFOUND if missing. */
int repo_gallery_head(db *d, int64_t id, bool *is_batch, char **sweep);

/* The jobs of the gallery of id in id order: the children of batch id,
 * or, when !is_batch, job id alone.  *out: caller frees with
 * repo_gallery_jobs_free. */
int repo_gallery_jobs(db *d, int64_t id, bool is_batch, struct gallery_job_rec **out,
                      size_t *n);
void repo_gallery_jobs_free(struct gallery_job_rec *j, size_t n);

/* Their artifacts (job_id filled), ordered by job id then name; only the
 * picked ones with picked_only.  *out: caller frees with
 * repo_artifacts_free. */
int repo_gallery_artifacts(db *d, int64_t id, bool is_batch, bool picked_only,
                           struct artifact_rec **out, size_t *n);

#endif
