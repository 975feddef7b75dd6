/* bulk.c — bulk actions by filter (docs/scheduling.md, "Bulk actions"):
 * POST /jobs/bulk {action: cancel|retry, filter, dryRun}.  The filter is
 * the job list's (state, preset, q, owner, createdAfter, createdBefore,
 * outOfAttempts); the states an action applies to come from the actions
 * table (svc_job_action_states), so new states that accept cancel are
 * covered without a list here.  The work runs in batches of BULK_BATCH
 * jobs, one writer operation each, so the writer is never held long. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "infra/db/repo_flow.h"
#include "infra/workers/pool.h"
#include "service/flow.h"
#include "service/jobs.h"
#include "util/util.h"

#define BULK_BATCH 500
#define BULK_MAX_JOBS 1000000     /* bounds the loop: 2,000 batches */

/* A filter member as a string (a number is printed), NULL when absent;
 * a wrong type is a field error.  buf holds printed numbers. */
static const char *filter_str(const cJSON *filter, const char *key, char *buf, size_t cap,
                              bb_errctx *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(filter, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "1" : "0";
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) {
        snprintf(buf, cap, "%lld", (long long)v->valuedouble);
        return buf;
    }
    char field[64];
    snprintf(field, sizeof field, "filter.%s", key);
    bb_fail_field(e, field, "must be a string");
    return NULL;
}

/* Builds the job filter of a bulk body's `filter` object. */
static int bulk_filter(bb_app *app, const struct principal *who, const cJSON *filter,
                       struct job_filter *f, bb_errctx *e)
{
    static const char *const keys[] = {"state", "preset", "q", "owner", "createdAfter",
                                       "createdBefore", "outOfAttempts"};
    enum { NK = sizeof keys / sizeof keys[0] };
    const char *v[NK] = {0};
    char bufs[NK][24];
    if (filter && !cJSON_IsNull(filter) && !cJSON_IsObject(filter))
        return bb_fail_field(e, "filter", "must be an object");
    for (const cJSON *it = cJSON_IsObject(filter) ? filter->child : NULL; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; i < NK && !known; i++)
            known = it->string && strcmp(it->string, keys[i]) == 0;
        char field[96];
        snprintf(field, sizeof field, "filter.%.80s", it->string ? it->string : "?");
        if (!known)
            bb_fail_field(e, field, "unknown filter");
    }
    for (size_t i = 0; cJSON_IsObject(filter) && i < NK; i++)
        v[i] = filter_str(filter, keys[i], bufs[i], sizeof bufs[i], e);
    struct job_filter base;
    bb_errctx fe = {0};
    svc_job_filter(app, who, v[0], v[1], v[2], NULL, NULL, &base, &fe);
    svc_err_prefixed(e, &fe, "filter");   /* the list's messages, under filter.KEY */
    *f = base;
    svc_filter_more(who, v[4], v[5], v[3], v[6], "filter.", f, e);
    return e->code;
}

/* Runs action over every matching job, batch by batch (newest first). */
static int bulk_run(bb_app *app, const struct principal *who, bool cancel,
                    const struct job_filter *f, job_state_set states, const char *reason,
                    int64_t *done, int64_t *seen, bb_errctx *e)
{
    int64_t before = 0;
    for (int64_t total = 0; total < BULK_MAX_JOBS;) {
        int64_t *ids = NULL;
        size_t n = 0;
        if (repo_job_ids(app->db, f, states, before, BULK_BATCH, &ids, &n) != BB_OK)
            return bb_fail(e, BB_EIO, "database error");
        if (n == 0) {
            free(ids);
            break;
        }
        before = ids[n - 1];
        int ok = 0, rc;
        if (cancel) {
            int64_t *running = NULL;
            size_t nrun = 0;
            rc = repo_jobs_cancel_many(app->db, ids, n, states, reason, &ok, &running, &nrun);
            for (size_t i = 0; app->pool && i < nrun; i++)
                pool_cancel(app->pool, running[i]);
            free(running);
        } else {
            int *extra = malloc(n * sizeof *extra);
            rc = extra ? BB_OK : BB_EINTERNAL;
            for (size_t i = 0; extra && i < n; i++) {
                job j;
                const bb_preset *p = NULL;
                if (repo_job_get(app->db, ids[i], principal_scope(who), &j) == BB_OK) {
                    p = config_preset(app->cfg, j.preset);
                    job_clear(&j);
                }
                extra[i] = p ? p->max_attempts : 1;
            }
            if (rc == BB_OK)
                rc = repo_jobs_retry_many(app->db, ids, extra, n, &ok);
            free(extra);
        }
        free(ids);
        if (rc != BB_OK)
            return svc_store_error(e, rc);
        *done += ok;
        *seen += (int64_t)n;
        total += (int64_t)n;
        if (n < BULK_BATCH)
            break;
    }
    if (!cancel && *done > 0 && app->pool)
        pool_wake(app->pool);
    return BB_OK;
}

int svc_jobs_bulk(bb_app *app, const struct principal *who, const cJSON *body, cJSON **reply,
                  bb_errctx *e)
{
    *reply = NULL;
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    for (const cJSON *it = body->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "action") != 0 &&
                            strcmp(it->string, "filter") != 0 &&
                            strcmp(it->string, "dryRun") != 0 &&
                            strcmp(it->string, "reason") != 0))
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
    const char *action = bb_json_opt_string(body, "action", e);
    const char *reason = bb_json_opt_string(body, "reason", e);
    bool dry = bb_json_opt_bool(body, "dryRun", false, e);
    bool cancel = action && strcmp(action, "cancel") == 0;
    if (!cJSON_GetObjectItemCaseSensitive(body, "action"))
        bb_fail_field(e, "action", "is required: cancel or retry");
    else if (action && !cancel && strcmp(action, "retry") != 0)
        bb_fail_field(e, "action", "unknown action \"%.40s\": cancel or retry", action);
    if (reason && strlen(reason) > 200)
        bb_fail_field(e, "reason", "at most 200 characters");
    struct job_filter f;
    memset(&f, 0, sizeof f);
    bulk_filter(app, who, cJSON_GetObjectItemCaseSensitive(body, "filter"), &f, e);
    if (e->code != BB_OK)
        return e->code;
    job_state_set states = svc_job_action_states(cancel ? "cancel" : "retry");
    int64_t matched = 0;
    if (repo_job_count(app->db, &f, states, &matched) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    int64_t done = 0, seen = 0;
    if (!dry && bulk_run(app, who, cancel, &f, states, reason, &done, &seen, e) != BB_OK)
        return e->code;
    cJSON *r = cJSON_CreateObject();
    if (!r)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    cJSON_AddStringToObject(r, "action", cancel ? "cancel" : "retry");
    cJSON_AddBoolToObject(r, "dryRun", dry);
    cJSON_AddNumberToObject(r, "matched", (double)(dry ? matched : seen));
    if (!dry) {
        cJSON_AddNumberToObject(r, "done", (double)done);
        cJSON_AddNumberToObject(r, "skipped", (double)(seen - done));
    }
    *reply = r;
    return BB_OK;
}
