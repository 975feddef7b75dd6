/* flow.h — flow-control use cases (docs/scheduling.md): a job's resource
 * needs at submit, the usage of the resource pools, pausing and resuming
 * queues, and bulk actions by filter (service/bulk.c).  Transport-free:
 * the HTTP routes and the CLI call these. */
#ifndef BB_SVC_FLOW_H
#define BB_SVC_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/repo_job.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* The needs of a job of preset p submitted with body: the body's "needs"
 * when the preset allows them (allowJobNeeds; else a 400 on "needs"),
 * checked against the pools (400 naming needs.POOL: unknown pool, more
 * than the pool, negative), or the preset's own.  *out: canonical JSON
 * text (caller frees) or NULL when it needs nothing. */
int svc_job_needs(const bb_config *cfg, const bb_preset *p, const struct cJSON *needs,
                  char **out, bb_errctx *e);

/* One resource pool's use now. */
struct pool_use {
    const char *name;        /* borrowed from the configuration */
    int64_t total, used;
    bool counted;
};
/* The use of every configured pool into out (BB_MAX_POOLS entries); *n
 * receives how many.  BB_OK or a database error in e. */
int svc_pool_usage(bb_app *app, struct pool_use *out, size_t *n, bb_errctx *e);
/* {"gpu": {"total", "used", "free", "counted"}, ...} (caller frees). */
struct cJSON *svc_pool_usage_json(const struct pool_use *u, size_t n);

/* POST /admin/queue/pause and /resume: body {preset?} (NULL body = every
 * preset).  Durable; running jobs finish; queued ones wait (waitingFor
 * "queue paused").  400 naming preset when unknown. */
int svc_queue_pause(bb_app *app, const struct principal *who, const struct cJSON *body,
                    bool pause, bb_errctx *e);
/* GET /admin/queue: {paused, pausedAt, presets: [{preset, paused, pausedAt}]}
 * (caller frees), or NULL with e set. */
struct cJSON *svc_queue_status(bb_app *app, bb_errctx *e);

/* Moves src's errors into e, each field renamed PREFIX.FIELD; src is
 * cleared.  Returns e->code. */
int svc_err_prefixed(bb_errctx *e, bb_errctx *src, const char *prefix);

/* POST /jobs/bulk {action, filter, dryRun} (docs/scheduling.md, "Bulk
 * actions"): *reply {matched} on a dry run, else {matched, done, skipped}
 * (caller frees).  Admins act on every job, users on their own. */
int svc_jobs_bulk(bb_app *app, const struct principal *who, const struct cJSON *body,
                  struct cJSON **reply, bb_errctx *e);

/* Parses the list filters flow adds (createdAfter, createdBefore: ISO-8601
 * or ms; owner: a user id, admins only; outOfAttempts: 1/0) into f; field
 * errors name the query key (prefix "filter." in a bulk body: prefix). */
int svc_filter_more(const struct principal *who, const char *after, const char *before,
                    const char *owner, const char *ooa, const char *prefix,
                    struct job_filter *f, bb_errctx *e);

#endif
