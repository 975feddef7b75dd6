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

struct job_filter;
/* Fills out with one page of the jobs f selects (svc_job_filter built it)
 * and the next page's cursor; callers: svc_jobs_page (service/batches.c). */
int svc_job_page_fill(bb_app *app, const struct job_filter *f, struct job_page *out,
                      bb_errctx *e);
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

/* How an artifact may be shown in a browser (docs/api.md, "Serving files
 * and artifacts"). */
enum artifact_trust {
    ARTIFACT_PASSIVE,        /* its content is a passive type: inline, sandboxed */
    ARTIFACT_ACTIVE,         /* named as a type a browser runs (HTML, SVG, XML, JS,
                                ...) and not rendered by batchbox: a download */
    ARTIFACT_LESSON_PAGE,    /* lesson.html of a lesson-workflow job */
    ARTIFACT_LESSON_ASSET,   /* its lesson.js / lesson.css */
};

/* What serving an artifact needs besides its record. */
struct artifact_serving {
    char content_type[64];   /* from the content (upload_sniff), never a script
                                type but for a lesson page's own lesson.js */
    enum artifact_trust trust;
};

/* svc_job_artifact_open, and how to serve the artifact: its type taken
 * from its first bytes (read from the store), and whether batchbox
 * rendered it.  Same errors; caller clears *out. */
int svc_job_artifact_open_serving(bb_app *app, const struct principal *who, int64_t id,
                                  const char *name, struct artifact_rec *out,
                                  struct store **st, struct artifact_serving *how,
                                  bb_errctx *e);

/* Calls fn for each log line of job id after log id `after`, up to limit
 * lines; *last receives the id of the last line given (or after).  The
 * caller has checked visibility (svc_job_get). */
int svc_job_logs(bb_app *app, int64_t id, int64_t after, int limit,
                 int (*fn)(void *ud, const char *stream, const char *line), void *ud,
                 int64_t *last, bb_errctx *e);

/* Replays the logged events (after, upto] that pass filter f, oldest
 * first, to fn (which returns non-zero to stop). */
/* Whether a client's Last-Event-ID belongs to a timeline this database
 * does not have (newer than the newest event, or handed out before a
 * backup was restored): such a client must reload from scratch. */
bool svc_events_id_lost(bb_app *app, int64_t id, int64_t newest);
int svc_events_replay(bb_app *app, int64_t after, int64_t upto, const struct bus_filter *f,
                      int (*fn)(void *ud, int64_t id, const char *type, const char *payload),
                      void *ud);

#endif
