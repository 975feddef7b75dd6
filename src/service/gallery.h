/* gallery.h — the gallery of a batch (or of a plain job): each child's
 * params, state and artifacts; the user's picks; and the ZIP of the
 * outputs, written by libarchive and streamed to a sink while the
 * artifacts are read from storage in chunks, so memory stays flat
 * whatever the archive's size (docs/gallery.md).  Every call checks that
 * the caller may see the job (404 otherwise) and runs on the caller's
 * thread. */
#ifndef BB_SVC_GALLERY_H
#define BB_SVC_GALLERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/repo_gallery.h"
#include "infra/db/repo_segment.h"
#include "service/app.h"
#include "util/err.h"

struct store;

/* One item of a gallery: a job and its artifacts (both borrowed from the
 * gallery that holds the item). */
struct gallery_item {
    const struct gallery_job_rec *job;
    const struct artifact_rec *arts;
    size_t narts;
    const struct seg_counts *qa;   /* a translate job's segment counts, or NULL */
};

/* A gallery; owned by the caller (gallery_clear). */
struct gallery {
    int64_t job_id;              /* the job asked for */
    bool is_batch;               /* it is a batch parent */
    char *sweep;                 /* the parent's sweep (JSON text), NULL if none */
    struct gallery_job_rec *jobs;
    size_t njobs;
    struct artifact_rec *arts;   /* every listed artifact, by job id then name */
    size_t narts;
    struct seg_counts *qa;       /* jobs with segments, by job id */
    size_t nqa;
    struct gallery_item *items;  /* one per job; with picked_only, only the jobs
                                    that have a picked artifact */
    size_t nitems;
};

/* The gallery of job id: a batch parent's children, or the job itself.
 * With picked_only, only picked artifacts (and the jobs holding one). */
int svc_gallery_get(bb_app *app, const struct principal *who, int64_t id, bool picked_only,
                    struct gallery *out, bb_errctx *e);
void gallery_clear(struct gallery *g);

/* The names of the swept parameters in a sweep's JSON text (an object's
 * keys, in order) as a JSON array of strings; an empty array for NULL or
 * anything but an object.  Caller frees; NULL only on OOM. */
struct cJSON *gallery_swept_names(const char *sweep);

/* Marks artifact `name` of job id picked or not (idempotent).  The job
 * must be visible to who (its owner, or an admin); BB_ENOTFOUND for an
 * unknown job or artifact. */
int svc_artifact_pick(bb_app *app, const struct principal *who, int64_t id, const char *name,
                      bool picked, bb_errctx *e);

/* ---- the ZIP --------------------------------------------------------- */

/* One member of a ZIP: stored at `path`, its bytes read from `key` in
 * `st`, exactly `size` of them (all borrowed). */
struct zip_entry {
    const char *path;
    struct store *st;
    const char *key;
    int64_t size;
    const char *content_type;    /* decides store or deflate (gallery_zip_stored) */
    int64_t mtime_ms;            /* 0 = now */
};

/* Where a ZIP goes.  write gets the archive's bytes in order (at most
 * GALLERY_ZIP_BLOCK at a time) and returns 0, or -1 to stop (the client
 * left). */
struct zip_sink {
    int (*write)(void *ud, const void *data, size_t n);
    void *ud;
};
#define GALLERY_ZIP_BLOCK (64 * 1024)

/* Whether a type is stored as is rather than deflated: formats that are
 * compressed already (JPEG, PNG, GIF, WebP, most audio and video, ZIP,
 * gzip, PDF, WOFF2).  content_type may carry parameters or be NULL. */
bool gallery_zip_stored(const char *content_type);

/* Writes a ZIP of the n entries to sink, each entry's bytes streamed from
 * its store in chunks (nothing is held beyond libarchive's one block and
 * zlib's window).  0, or -1 with the reason in err (a store error, a size
 * that does not match the stored bytes, a sink that stopped). */
int gallery_zip_write(const struct zip_entry *ents, size_t n, const struct zip_sink *sink,
                      char *err, size_t errlen);

/* The ZIP of the gallery of job id (with picked_only, only the picked
 * artifacts), entries "job-<jobId>/<artifact name>".  Everything that
 * can fail with an answer fails before begin: 404 for an unknown job or
 * when there is nothing to put in the archive, 503 when an artifact's
 * store is not configured.  Then begin(ud, filename, &head_only) is
 * called once (the route sends the response head; a non-zero return
 * means the client is gone) and, unless head_only, the archive is
 * written to sink.  *started tells whether begin ran: after it, an error
 * can only be logged (the response is cut short). */
int svc_gallery_zip(bb_app *app, const struct principal *who, int64_t id, bool picked_only,
                    int (*begin)(void *ud, const char *filename, bool *head_only),
                    const struct zip_sink *sink, bool *started, bb_errctx *e);

#endif
