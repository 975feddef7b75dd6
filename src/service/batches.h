/* batches.h — batch use cases (docs/batches.md): a submit with `sweep`
 * fans out into a parent job and one ordinary child job per combination
 * of the swept values; listing jobs with or without children; the
 * parent's cancel and retry.  Transport-independent: HTTP routes and the
 * CLI call these; SQL stays in infra/db (repo_batch.h, repo_job.h). */
#ifndef BB_SVC_BATCHES_H
#define BB_SVC_BATCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;
struct job_page;

/* Submits body, which has a `sweep` (svc_job_submit sends it here): the
 * sweep is checked (400 naming sweep.NAME, sweep.md, or sweep when the
 * product exceeds limits.maxBatchSize), every child is validated as a
 * submit body of its own (its errors name sweep.NAME for swept values),
 * and the parent and all children are created in one transaction.
 * idem_hash: hex SHA-256 of the raw body when idem_key is given.  *id
 * receives the parent's id; *existed says an idempotent repeat matched. */
int svc_batch_submit(bb_app *app, const struct principal *who, const struct cJSON *body,
                     const char *idem_key, const char *idem_hash, int64_t *id, bool *existed,
                     bb_errctx *e);

/* The query values of a job list (each may be NULL). */
struct job_query {
    const char *state, *preset, *q, *limit, *cursor;
    const char *children;   /* "1"/"true": batch children too */
    const char *batch;      /* a batch id: only its children */
    /* flow control's filters (docs/api.md, "Listing"; service/flow.c) */
    const char *created_after, *created_before, *owner, *out_of_attempts;
};

/* Lists the jobs who may see: top-level ones, or with children, or one
 * batch's children (field errors for bad values; a batch who may not see
 * is a 404).  batch_of, when non-zero, is the batch whose children are
 * listed (GET /jobs/:id/children; 422 when it is no batch). */
int svc_jobs_page(bb_app *app, const struct principal *who, const struct job_query *q,
                  int64_t batch_of, struct job_page *out, bb_errctx *e);

/* A batch parent's cancel: queued children canceled, running ones stopped.
 * message (cap bytes) receives the reply's sentence. */
int svc_batch_cancel(bb_app *app, const struct principal *who, int64_t id, const char *reason,
                     char *message, size_t cap, bb_errctx *e);
/* A batch parent's retry: its failed and canceled children queued again. */
int svc_batch_retry(bb_app *app, const struct principal *who, const job *parent,
                    char *message, size_t cap, bb_errctx *e);

#endif
