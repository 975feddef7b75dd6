/* app.c — wiring the appliance together (config → data directories →
 * database + recovery → bus → workers) and taking it apart again in the
 * reverse order.  Used by `serve` and by `run`. */
#include "service/app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infra/db/repo_job.h"
#include "infra/storage/storage.h"
#include "infra/workers/pool.h"
#include "service/appctl.h"
#include "service/attempt.h"
#include "service/comfy_pool.h"
#include "service/comfy_prompts.h"
#include "service/scheduler.h"
#include "service/ratelimit.h"
#include "service/reload.h"
#include "service/retention.h"
#include "service/webhooks.h"
#include "util/log.h"
#include "util/tz.h"
#include "util/util.h"

static void publish_after_commit(void *ud, bus_event **evs, size_t n)
{
    bb_app *app = ud;
    if (app->on_events)
        app->on_events(app->on_events_ud, evs, n);
    bus_publish(app->bus, evs, n);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

int app_open(bb_app *app, const struct app_options *o, char *err, size_t errlen)
{
    memset(app, 0, sizeof *app);
    tz_init();   /* before any thread: schedules' time zones (util/tz.h) */
    atomic_init(&app->sse_clients, 0);
    atomic_init(&app->stopping, false);
    app->started_ms = bb_now_ms();
    app->notion_token = getenv("NOTION_TOKEN");
    if (app->notion_token && !*app->notion_token)
        app->notion_token = NULL;
    app->elevenlabs_key = getenv("ELEVENLABS_API_KEY");
    if (app->elevenlabs_key && !*app->elevenlabs_key)
        app->elevenlabs_key = NULL;
    app->on_events = o->on_events;
    app->on_events_ud = o->on_events_ud;
    app->relative_urls = o->relative_urls;
    if (bb_mkdirs(o->data_dir, true) != 0) {
        snprintf(err, errlen, "cannot create data directory %s: %s", o->data_dir, strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (!realpath(o->data_dir, real)) {
        snprintf(err, errlen, "cannot resolve data directory %s: %s", o->data_dir, strerror(errno));
        return -1;
    }
    app->data_dir = strdup(real);
    app->artifacts_dir = join(real, "artifacts");
    app->work_dir = join(real, "work");
    if (!app->data_dir || !app->artifacts_dir || !app->work_dir) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (bb_mkdirs(app->artifacts_dir, false) != 0 || bb_mkdirs(app->work_dir, false) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", app->artifacts_dir, strerror(errno));
        goto fail;
    }

    /* configuration: --config FILE, else DATA/batchbox.json, else defaults */
    /* relative paths in the configuration (inputRoot) resolve against the
     * data directory (docs/configuration.md) */
    char *implicit = join(real, "batchbox.json");
    const char *cfg_path = o->config_path;
    if (!cfg_path && implicit && access(implicit, F_OK) == 0)
        cfg_path = implicit;
    app->cfg = calloc(1, sizeof *app->cfg);
    int crc = app->cfg ? config_load(cfg_path, real, app->cfg, err, errlen) : -1;
    /* what a reload reads again (docs/integrations.md) */
    if (crc == 0 &&
        svc_reload_init(app, cfg_path, o->listen, o->workers, o->input_root) != 0) {
        snprintf(err, errlen, "out of memory");
        crc = -1;
    }
    free(implicit);
    if (crc != 0)
        goto fail;
    if (o->listen) {
        free(app->cfg->listen);
        app->cfg->listen = strdup(o->listen);
    }
    if (o->workers > 0)
        app->cfg->workers = o->workers;
    if (o->input_root) {
        free(app->cfg->input_root);
        app->cfg->input_root = strdup(o->input_root);
    }
    if (bb_mkdirs(app->cfg->input_root, false) != 0)
        bb_warn("cannot create the input root", "path", app->cfg->input_root,
                "error", strerror(errno));
    struct store_err se = {0};
    app->fs_store = store_fs_open(real, &se);
    if (!app->fs_store) {
        snprintf(err, errlen, "storage: %s", se.message);
        goto fail;
    }
    if (strcmp(app->cfg->storage.driver, "s3") == 0) {
        const bb_config *c = app->cfg;
        struct store_s3_options so = {
            .endpoint = c->storage.s3.endpoint, .bucket = c->storage.s3.bucket,
            .region = c->storage.s3.region, .access_key = c->storage.s3.access_key,
            .secret_key = c->storage.s3.secret_key, .https = c->storage.s3.https,
            .path_style = c->storage.s3.path_style,
            .ca_bundle = c->storage.s3.ca_bundle,
            .insecure_skip_verify = c->storage.s3.insecure_skip_verify,
        };
        app->s3_store = store_s3_open(&so, &se);
        if (!app->s3_store) {
            snprintf(err, errlen, "storage.s3: %s", se.message);
            goto fail;
        }
    }
    app->upload_store = app->s3_store ? app->s3_store : app->fs_store;

    app->ratelimit = ratelimit_new(8192);   /* docs/integrations.md, "Rate limits" */
    app->bus = bus_new((size_t)app->cfg->events.ring_events);
    if (!app->bus) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    char *dbpath = join(real, "batchbox.db");
    struct db_options dopt = {.readers = 4};
    int drc = dbpath ? db_open(dbpath, &dopt, &app->db, err, errlen) : -1;
    free(dbpath);
    if (drc != 0)
        goto fail;
    db_set_commit_hook(app->db, publish_after_commit, app);
    /* SSE ids go on upwards from the clock, even on a restored backup
     * (docs/operations.md, "Event ids across restores") */
    int64_t floor = 0, last_event = 0;
    if (repo_events_new_epoch(app->db, bb_now_ms() * 1000, &floor) != 0) {
        snprintf(err, errlen, "cannot start the event id epoch (database error)");
        goto fail;
    }
    if (repo_events_max_id(app->db, &last_event) != 0) {
        snprintf(err, errlen, "cannot read the event log (database error)");
        goto fail;
    }
    bus_set_last_id(app->bus, last_event);

    /* the previous run's children first, so a requeued job never runs
     * beside its own orphan (docs/operations.md, "Crash recovery") */
    if (svc_attempt_end_orphans(app) != 0) {
        snprintf(err, errlen, "start-up recovery failed (database error)");
        goto fail;
    }
    int requeued = 0, failed = 0;
    if (repo_job_recover_running(app->db, &requeued, &failed) != 0) {
        snprintf(err, errlen, "start-up recovery failed (database error)");
        goto fail;
    }
    if (requeued || failed) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", requeued);
        snprintf(b, sizeof b, "%d", failed);
        bb_warn("recovered jobs interrupted by the previous run", "requeued", a, "failed", b);
    }
    if (o->workers >= 0) {
        /* the ComfyUI pool places jobs in the claim: before the workers
         * (docs/comfyui.md, "Servers") */
        if (comfy_pool_start(app->db, app->cfg, err, errlen) != 0)
            goto fail;
        app->comfy_started = true;
        svc_comfy_workflow_bind();
        app->pool = svc_workers_start(app, app->cfg->workers);
        if (!app->pool) {
            snprintf(err, errlen, "cannot start worker threads");
            goto fail;
        }
        comfy_pool_set_workers(app->pool);
        app->sched = sched_start(app);
        if (!app->sched) {
            snprintf(err, errlen, "cannot start the scheduler thread");
            goto fail;
        }
    }
    /* webhooks and retention (docs/integrations.md, docs/operations.md) */
    if (o->integrations && (svc_webhooks_start(app) != 0 || svc_retention_start(app) != 0)) {
        snprintf(err, errlen, "cannot start the webhook and retention threads");
        goto fail;
    }
    return 0;
fail:
    app_close(app, 0);
    return -1;
}

void app_close(bb_app *app, int grace_ms)
{
    atomic_store(&app->stopping, true);
    if (app->bus)
        bus_close(app->bus);
    sched_stop(app->sched);
    app->sched = NULL;
    if (app->pool)
        pool_stop(app->pool, grace_ms);
    app->pool = NULL;
    if (app->comfy_started)         /* after the workers: attempts hold leases */
        comfy_pool_stop();
    app->comfy_started = false;
    svc_webhooks_stop(app);
    svc_retention_stop(app);
    if (app->db)
        db_close(app->db);
    app->db = NULL;
    bus_free(app->bus);
    app->bus = NULL;
    ratelimit_free(app->ratelimit);
    app->ratelimit = NULL;
    if (app->s3_store)
        store_close(app->s3_store);
    if (app->fs_store)
        store_close(app->fs_store);
    app->s3_store = app->fs_store = app->upload_store = NULL;
    svc_reload_free(app);
    if (app->cfg) {
        config_free(app->cfg);
        free(app->cfg);
    }
    app->cfg = NULL;
    free(app->data_dir);
    free(app->artifacts_dir);
    free(app->work_dir);
    app->data_dir = app->artifacts_dir = app->work_dir = NULL;
}
