/* job_reads.h — reading jobs for a caller: a page of the job list, a job's
 * artifacts (listed, or one opened with the store holding it), its log
 * lines, and the replay of the event log for a resuming event stream.
 * Every call checks that the caller may see the job (404 otherwise). */
#ifndef BB_SVC_JOB_READS_H
#define BB_SVC_JOB_READS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/bus/bus.h"
#include "infra/db/repo_job.h"
#include "service/app.h"
#include "util/err.h"

struct store;

/* One page of the job list, newest first. */
struct job_page {
    job *items;              /* owned (job_page_clear) */
    size_t n;
    char next_cursor[24];    /* "" on the last page */
};

/* Lists the jobs who may see, filtered by the query values (each may be
 * NULL; field errors for bad state/limit/cursor). */
int svc_job_list(bb_app *app, const struct principal *who, const char *state,
                 const char *preset, const char *q, const char *limit, const char *cursor,
                 struct job_page *out, bb_errctx *e);
void job_page_clear(struct job_page *p);

/* BB_OK when who may see job id, else BB_ENOTFOUND (or a database error)
 * in e. */
int svc_job_visible(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e);

/* The artifacts of a job who may see, in name order (caller frees with
 * repo_artifacts_free). */
int svc_job_artifacts(bb_app *app, const struct principal *who, int64_t id,
                      struct artifact_rec **out, size_t *n, bb_errctx *e);
/* One artifact by name, and the store holding its bytes (BB_ENOTFOUND;
 * BB_EUNAVAIL when that store is not configured now).  Caller clears *out
 * with repo_artifact_clear. */
int svc_job_artifact_open(bb_app *app, const struct principal *who, int64_t id,
                          const char *name, struct artifact_rec *out, struct store **st,
                          bb_errctx *e);

/* Calls fn for each log line of job id after log id `after`, up to limit
 * lines; *last receives the id of the last line given (or after).  The
 * caller has checked visibility (svc_job_get). */
int svc_job_logs(bb_app *app, int64_t id, int64_t after, int limit,
                 int (*fn)(void *ud, const char *stream, const char *line), void *ud,
                 int64_t *last, bb_errctx *e);

/* Replays the logged events (after, upto] that pass filter f, oldest
 * first, to fn (which returns non-zero to stop). */
int svc_events_replay(bb_app *app, int64_t after, int64_t upto, const struct bus_filter *f,
                      int (*fn)(void *ud, int64_t id, const char *type, const char *payload),
                      void *ud);

#endif
