/* job_reads.c — reading jobs for a caller (see job_reads.h).  Runs on the
 * caller's thread with the database's read connections. */
#include "service/job_reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/jobs.h"
#include "service/uploads.h"

int svc_job_list(bb_app *app, const struct principal *who, const char *state,
                 const char *preset, const char *q, const char *limit, const char *cursor,
                 struct job_page *out, bb_errctx *e)
{
    struct job_filter f;
    memset(out, 0, sizeof *out);
    if (svc_job_filter(app, who, state, preset, q, limit, cursor, &f, e) != BB_OK)
        return e->code;
    if (repo_job_list(app->db, &f, &out->items, &out->n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    if (out->n == (size_t)f.limit && out->n > 0)
        snprintf(out->next_cursor, sizeof out->next_cursor, "%lld",
                 (long long)out->items[out->n - 1].id);
    return BB_OK;
}

void job_page_clear(struct job_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        job_clear(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

int svc_job_visible(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e)
{
    job j;
    if (svc_job_get(app, who, id, &j, e) != BB_OK)
        return e->code;
    job_clear(&j);
    return BB_OK;
}

int svc_job_artifacts(bb_app *app, const struct principal *who, int64_t id,
                      struct artifact_rec **out, size_t *n, bb_errctx *e)
{
    *out = NULL;
    *n = 0;
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    if (repo_artifacts_list(app->db, id, out, n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

int svc_job_artifact_open(bb_app *app, const struct principal *who, int64_t id,
                          const char *name, struct artifact_rec *out, struct store **st,
                          bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return bb_fail(e, BB_ENOTFOUND, "no such artifact");
    int rc = repo_artifact_get(app->db, id, name, out);
    if (rc != BB_OK)
        return bb_fail(e, rc == BB_ENOTFOUND ? BB_ENOTFOUND : BB_EIO, "%s",
                       rc == BB_ENOTFOUND ? "no such artifact" : "database error");
    *st = svc_store_for(app, out->storage);
    if (!*st) {
        repo_artifact_clear(out);
        return bb_fail(e, BB_EUNAVAIL,
                       "the artifact is in S3 storage, which is not configured now");
    }
    return BB_OK;
}

int svc_job_logs(bb_app *app, int64_t id, int64_t after, int limit,
                 int (*fn)(void *ud, const char *stream, const char *line), void *ud,
                 int64_t *last, bb_errctx *e)
{
    if (repo_job_logs(app->db, id, after, limit, fn, ud, last) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

int svc_events_replay(bb_app *app, int64_t after, int64_t upto, const struct bus_filter *f,
                      int (*fn)(void *ud, int64_t id, const char *type, const char *payload),
                      void *ud)
{
    return repo_events_replay(app->db, after, upto, f->owner_id, f->job_id, f->logs, fn, ud);
}
