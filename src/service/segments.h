/* segments.h — review of translate jobs (docs/translate.md, "Review"):
 * page a job's segments, edit one (QA runs again on the new target, a
 * stale version is refused), and the `rebuild` action's checks and child
 * job.  Owner-scoped like every job read: another user's job is "no such
 * job" (404).  Transport-independent: http/routes/segments.c and the
 * action table (service/jobs.c) call these. */
#ifndef BB_SVC_SEGMENTS_H
#define BB_SVC_SEGMENTS_H

#include <stdint.h>

#include "domain/job.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

#define SEGMENTS_PAGE_DEFAULT 50
#define SEGMENTS_PAGE_MAX 200
#define SEGMENT_TARGET_MAX 65536   /* bytes of an edited target */

/* The query of GET /jobs/:id/segments, each NULL when absent. */
struct segments_query {
    const char *flagged;   /* "1"/"true" or "0"/"false" */
    const char *state;     /* "translated" | "reviewed" */
    const char *cursor;    /* nextCursor of the previous page */
    const char *limit;     /* 1..SEGMENTS_PAGE_MAX */
};

/* A page of the segments of job id as seen by who: *out = {items: [...],
 * nextCursor, total, reviewed, flagged} (caller frees).  BB_ENOTFOUND (no
 * such job for who), BB_ESTATE (not a translate job), BB_EINVAL naming
 * the bad query field. */
int svc_segments_page(bb_app *app, const struct principal *who, int64_t id,
                      const struct segments_query *q, struct cJSON **out, bb_errctx *e);

/* PATCH /jobs/:id/segments/:n with body {target?, state?, version?}: a new
 * target makes the origin "edited" and runs QA again (the preset's
 * glossary); without version the edit applies to whatever is stored.
 * BB_OK: *out = the segment (caller frees).  BB_ECONFLICT: version is not
 * the stored one; *out = the stored segment (caller frees).  BB_ENOTFOUND,
 * BB_ESTATE, BB_EINVAL naming n or the body field. */
int svc_segment_patch(bb_app *app, const struct principal *who, int64_t id, const char *n,
                      const struct cJSON *body, struct cJSON **out, bb_errctx *e);

/* The rebuild action's check for job j (loaded for the caller): j must be
 * a translate job (BB_ESTATE) that finished (BB_ECONFLICT while it is
 * queued or running; other unfinished states answer the state step) and
 * its reviewed job must hold segments (BB_ESTATE). */
int svc_segments_rebuild_check(bb_app *app, const job *j, bb_errctx *e);

/* Queues the rebuild child of j: mode "rebuild", parentJobId = the job
 * whose segments it writes from (j, or j's parent when j is a rebuild
 * itself), same owner, preset, input and params.  *new_id = the child. */
int svc_segments_rebuild(bb_app *app, const job *j, int64_t *new_id, bb_errctx *e);

#endif
