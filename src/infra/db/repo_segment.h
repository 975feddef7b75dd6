/* repo_segment.h — SQL for the segments of translate jobs: the units a
 * reviewer reads and edits (docs/translate.md, "Review").  The translate
 * module stores all of a job's segments at once; the review API pages
 * them and edits one at a time with a version check; a rebuild loads them
 * all.  The translation memory is in repo_tm.h (included here).  Writes
 * run on the db writer thread; reads borrow a read connection. */
#ifndef BB_REPO_SEGMENT_H
#define BB_REPO_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"
#include "infra/db/repo_tm.h"

/* One segment.  Strings owned by the record (seg_rec_clear). */
typedef struct seg_rec {
    int64_t job_id;
    int64_t n;            /* 1, 2, ... in document order */
    char *source, *target;
    char *origin;         /* "mt" | "tm" | "edited" */
    char *state;          /* "translated" | "reviewed" */
    char *flags;          /* JSON array text ("[]" = none) */
    int64_t nflags;       /* number of flags (the flagged filter): counted from
                             flags by the repository, ignored on writes */
    int64_t version;      /* 1 when stored, +1 per patch */
    char *meta;           /* the writers' JSON, or NULL */
    int64_t updated_at;   /* ms since the epoch */
} seg_rec;

void seg_rec_clear(seg_rec *s);

/* Replaces every segment of job_id with segs[0..n) (borrowed; job_id,
 * version and updated_at of each are ignored: version becomes 1).  NULL
 * origin/state/flags take "mt"/"translated"/"[]".  One writer operation. */
int repo_segment_replace(db *d, int64_t job_id, const seg_rec *segs, size_t n);

/* A keyset page: segments of job_id with n > after, ascending, at most
 * limit (1..1000); only flagged ones (nflags > 0) when flagged; only those
 * in `state` when it is not NULL.  *out: caller clears each record and
 * frees the array; *more = a next page exists. */
struct seg_page_query {
    int64_t job_id;
    int64_t after;
    size_t limit;
    bool flagged;
    const char *state;
};
int repo_segment_page(db *d, const struct seg_page_query *q, seg_rec **out, size_t *n,
                      bool *more);

/* Counts of job_id's segments: all, reviewed, flagged (each may be NULL). */
int repo_segment_counts(db *d, int64_t job_id, int64_t *total, int64_t *reviewed,
                        int64_t *flagged);

/* One segment (caller clears *out); BB_ENOTFOUND. */
int repo_segment_get(db *d, int64_t job_id, int64_t n, seg_rec *out);

/* Writes target, origin, state and flags of s (borrowed; the segment is
 * s->job_id, s->n) if its stored version is expect_version (0 = any), and
 * bumps the version.  BB_OK: s->version, s->nflags and s->updated_at are
 * the new ones.  BB_ECONFLICT: the version moved on; *current (caller
 * clears) holds the stored segment.  BB_ENOTFOUND: no such segment.  One
 * writer operation, so two concurrent patches cannot both pass. */
int repo_segment_patch(db *d, seg_rec *s, int64_t expect_version, seg_rec *current);

/* Segment counts of one job (the gallery's QA counts). */
struct seg_counts {
    int64_t job_id, total, flagged, reviewed;
};

/* The counts of the jobs of a gallery that have segments, by job id: the
 * children of batch id, or job id alone (!is_batch).  *out: caller frees
 * (NULL when none). */
int repo_segment_gallery_counts(db *d, int64_t id, bool is_batch, struct seg_counts **out,
                                size_t *n);

/* Every segment of job_id in order (caller clears each and frees the
 * array); at most max (0 = no cap). */
int repo_segment_load_all(db *d, int64_t job_id, size_t max, seg_rec **out, size_t *n);

#endif
