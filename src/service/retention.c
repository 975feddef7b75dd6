/* retention.c — the retention collector (retention.h, docs/operations.md
 * "Retention").
 *
 * Threads: one collector thread wakes every retention.intervalSec and runs
 * a pass; POST /admin/gc runs a pass on its request thread.  Passes are
 * serialized by `pass_mu`.  A pass reads the due jobs on a read connection
 * (bounded pages), deletes each page in one write transaction (so the
 * writer is never held for more than one batch), then removes the pages'
 * artifact files and S3 objects — after the commit, so a reader never
 * sees a row whose file is gone.  The counters are atomics read by stats
 * and metrics.  The configuration is read once per pass. */
#include "service/retention.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "infra/db/repo_retention.h"
#include "infra/storage/storage.h"
#include "util/files.h"
#include "util/log.h"
#include "util/util.h"

struct retention {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;          /* guards stop (with cv) */
    pthread_cond_t cv;
    bool stop;
    pthread_mutex_t pass_mu;     /* one pass at a time */
    atomic_uint_fast64_t runs, jobs, events, bytes;
    atomic_int_fast64_t last_run_ms;
};

/* The preset → cutoff map for the presets with their own retention, and
 * the default cutoff (0 = never).  Caller frees *json. */
static int cutoffs(const bb_config *cfg, int64_t now, char **json, int64_t *dflt)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < cfg->npresets; i++) {
        const bb_preset *p = &cfg->presets[i];
        if (p->retention_sec < 0)
            continue;
        double cut = p->retention_sec == 0 ? 0 : (double)(now - p->retention_sec * 1000);
        if (!cJSON_AddNumberToObject(o, p->id, cut)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    int64_t sec = config_retention_sec(cfg, "");
    *dflt = sec == 0 ? 0 : now - sec * 1000;
    return *json ? 0 : -1;
}

/* Removes the files and objects of one deleted page. */
static void remove_objects(bb_app *app, const int64_t *ids, size_t n,
                           struct retention_object *objs, size_t nobjs,
                           const int64_t *children, size_t nchildren, int64_t *failed)
{
    for (size_t i = 0; i < nobjs; i++) {
        if (strcmp(objs[i].storage, "s3") != 0)
            continue;           /* local files go with their job's folder below */
        struct store_err se = {0};
        if (!app->s3_store || store_delete(app->s3_store, objs[i].location, &se) != 0) {
            (*failed)++;
            bb_warn("retention: cannot delete an S3 object", "key", objs[i].location, "error",
                    app->s3_store ? se.message : "S3 is not configured");
        }
    }
    char dir[4096];
    for (size_t i = 0; i < n + nchildren; i++) {
        int64_t id = i < n ? ids[i] : children[i - n];
        snprintf(dir, sizeof dir, "%s/%lld", app->artifacts_dir, (long long)id);
        if (bb_rmtree(dir) != 0) {
            (*failed)++;
            bb_warn("retention: cannot remove an artifact folder", "path", dir);
        }
    }
}

/* Deletes one page of due jobs (rows, then files). */
static int delete_page(bb_app *app, const struct retention_due *due, size_t n,
                       struct retention_result *out)
{
    int64_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        return BB_EINTERNAL;
    for (size_t i = 0; i < n; i++)
        ids[i] = due[i].id;
    struct retention_object *objs = NULL;
    size_t nobjs = 0, nchildren = 0;
    int64_t *children = NULL, jobs = 0, events = 0;
    int rc = repo_retention_objects(app->db, ids, n, &objs, &nobjs);
    if (rc == BB_OK)
        rc = repo_retention_children(app->db, ids, n, &children, &nchildren);
    if (rc == BB_OK)
        rc = repo_retention_delete(app->db, ids, n, &jobs, &events);
    if (rc == BB_OK) {
        remove_objects(app, ids, n, objs, nobjs, children, nchildren, &out->objects_failed);
        out->jobs += jobs;
        out->events += events;
        for (size_t i = 0; i < n; i++) {
            out->log_bytes += due[i].log_bytes;
            out->artifact_bytes += due[i].artifact_bytes;
        }
    }
    retention_objects_free(objs, nobjs);
    free(children);
    free(ids);
    return rc;
}

static int run_pass(bb_app *app, bool dry_run, struct retention_result *out)
{
    const bb_config *cfg = app->cfg;
    int64_t now = bb_now_ms(), dflt;
    char *json;
    if (cutoffs(cfg, now, &json, &dflt) != 0)
        return BB_EINTERNAL;
    int limit = cfg->retention.batch_size > 0 ? cfg->retention.batch_size : 200;
    int64_t after = 0;
    int rc = BB_OK;
    /* bounded: each round moves `after` forward past at least one job */
    for (int round = 0; round < 1000000 && rc == BB_OK; round++) {
        struct retention_due *due = NULL;
        size_t n = 0;
        rc = repo_retention_due(app->db, json, dflt, after, limit, &due, &n);
        if (rc != BB_OK || n == 0) {
            free(due);
            break;
        }
        after = due[n - 1].id;
        if (dry_run) {
            for (size_t i = 0; i < n; i++) {
                out->jobs += due[i].jobs;
                out->log_bytes += due[i].log_bytes;
                out->artifact_bytes += due[i].artifact_bytes;
            }
        } else {
            rc = delete_page(app, due, n, out);
        }
        free(due);
        if (n < (size_t)limit)
            break;
    }
    free(json);
    return rc;
}

int svc_retention_run(bb_app *app, bool dry_run, struct retention_result *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    struct retention *st = app->retention;
    if (st)
        pthread_mutex_lock(&st->pass_mu);
    int rc = run_pass(app, dry_run, out);
    if (st) {
        pthread_mutex_unlock(&st->pass_mu);
        if (!dry_run) {
            atomic_fetch_add(&st->runs, 1);
            atomic_fetch_add(&st->jobs, (uint64_t)out->jobs);
            atomic_fetch_add(&st->events, (uint64_t)out->events);
            atomic_fetch_add(&st->bytes, (uint64_t)(out->log_bytes + out->artifact_bytes));
            atomic_store(&st->last_run_ms, bb_now_ms());
        }
    }
    if (!dry_run && out->jobs > 0) {
        char j[24], b[24];
        snprintf(j, sizeof j, "%lld", (long long)out->jobs);
        snprintf(b, sizeof b, "%lld", (long long)(out->log_bytes + out->artifact_bytes));
        bb_info("retention: deleted finished jobs", "jobs", j, "bytesFreed", b);
    }
    return rc == BB_OK ? BB_OK : bb_fail(e, rc, "the retention pass failed (database error)");
}

void svc_retention_totals(bb_app *app, struct retention_totals *out)
{
    memset(out, 0, sizeof *out);
    struct retention *st = app->retention;
    if (!st)
        return;
    out->runs = atomic_load(&st->runs);
    out->jobs = atomic_load(&st->jobs);
    out->events = atomic_load(&st->events);
    out->bytes = atomic_load(&st->bytes);
    out->last_run_ms = atomic_load(&st->last_run_ms);
}

static void *collector(void *arg)
{
    bb_app *app = arg;
    struct retention *st = app->retention;
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        int sec = app->cfg->retention.interval_sec;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += sec > 0 ? sec : 3600;
        pthread_cond_timedwait(&st->cv, &st->mu, &ts);
        if (st->stop)
            break;
        pthread_mutex_unlock(&st->mu);
        struct retention_result r;
        bb_errctx e = {0};
        if (svc_retention_run(app, false, &r, &e) != BB_OK)
            bb_warn("retention pass failed", "error", e.message);
        bb_err_clear(&e);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

int svc_retention_start(bb_app *app)
{
    struct retention *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->pass_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    app->retention = st;
    if (pthread_create(&st->thread, NULL, collector, app) != 0) {
        svc_retention_stop(app);
        return -1;
    }
    st->started = true;
    return 0;
}

void svc_retention_stop(bb_app *app)
{
    struct retention *st = app->retention;
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->stop = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (st->started)
        pthread_join(st->thread, NULL);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->pass_mu);
    free(st);
    app->retention = NULL;
}
