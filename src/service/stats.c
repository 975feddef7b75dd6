/* stats.c — admin statistics: jobs by state, jobs per hour over 24 h,
 * duration p50/p95 per preset (jobs that succeeded in the last 24 h),
 * workers, event-bus subscribers and drops, uptime, sizes; the metrics
 * gauges; the health check.
 * Every query walks an index (repo_job.c); see docs/benchmarks.md for the
 * cost on 100,000 jobs. */
#include "service/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infra/db/db.h"
#include "infra/db/repo_job.h"
#include "infra/db/repo_user.h"
#include "infra/workers/pool.h"
#include "util/util.h"

static int64_t percentile(const int64_t *sorted, size_t n, double p)
{
    size_t idx = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[idx < n ? idx : n - 1];
}

static void add_durations(void *ud, const char *preset, const int64_t *ms, size_t n)
{
    struct admin_stats *st = ud;
    struct preset_durations *grown =
        realloc(st->durations, (st->ndurations + 1) * sizeof *st->durations);
    if (!grown)
        return;
    st->durations = grown;
    char *name = strdup(preset);
    if (!name)
        return;
    st->durations[st->ndurations++] = (struct preset_durations){
        .preset = name, .count = n, .p50_ms = percentile(ms, n, 0.50),
        .p95_ms = percentile(ms, n, 0.95)};
}

void admin_stats_clear(struct admin_stats *s)
{
    for (size_t i = 0; i < s->ndurations; i++)
        free(s->durations[i].preset);
    free(s->durations);
    memset(s, 0, sizeof *s);
}

static void worker_counts(bb_app *app, int *busy, int *total)
{
    *busy = *total = 0;
    if (app->pool)
        pool_stats(app->pool, busy, total);
}

/* Event-bus subscribers that are live-event streams: the webhook reader's
 * own in-process subscription (service/webhooks.c) is not one. */
static size_t stream_subscribers(bb_app *app)
{
    size_t n = bus_subscribers(app->bus), own = app->webhooks ? 1 : 0;
    return n > own ? n - own : 0;
}

int svc_admin_stats(bb_app *app, struct admin_stats *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    int64_t now = bb_now_ms();
    if (repo_job_counts(app->db, out->jobs_by_state) != 0 ||
        repo_stats_jobs_per_hour(app->db, now, out->jobs_per_hour) != 0 ||
        repo_stats_sizes(app->db, &out->database_bytes, &out->artifacts_bytes) != 0 ||
        repo_user_count(app->db, &out->users) != 0 ||
        repo_stats_durations(app->db, now - 24 * 3600000LL, add_durations, out) != 0)
        return bb_fail(e, BB_EIO, "database error");
    out->hour_start_ms = (now / 3600000 - 23) * 3600000;
    worker_counts(app, &out->workers_busy, &out->workers_total);
    out->event_subscribers = stream_subscribers(app);
    out->event_bus_drops = bus_drops(app->bus);
    out->uptime_sec = (now - app->started_ms) / 1000;
    return svc_pool_usage(app, out->pools, &out->npools, e);
}

int svc_ops_gauges(bb_app *app, struct ops_gauges *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (repo_job_counts(app->db, out->jobs_by_state) != 0)
        return bb_fail(e, BB_EIO, "could not collect the metrics");
    worker_counts(app, &out->workers_busy, &out->workers_total);
    out->event_subscribers = stream_subscribers(app);
    out->event_bus_drops = bus_drops(app->bus);
    out->events_published = bus_published(app->bus);
    struct db_stats ds;
    db_stats(app->db, &ds);
    out->wal_bytes = ds.wal_bytes;
    out->checkpoints = ds.checkpoints;
    out->checkpoint_errors = ds.checkpoint_errors;
    return svc_pool_usage(app, out->pools, &out->npools, e);
}

bool svc_health(bb_app *app)
{
    return app->db && db_ping(app->db) == 0;
}

void svc_health_report(bb_app *app, bool probe, struct health_report *out)
{
    memset(out, 0, sizeof *out);
    out->disk_free_bytes = -1;
    out->db_ok = svc_health(app);
    if (!app->db) {
        snprintf(out->reason, sizeof out->reason, "the database is not open");
        return;
    }
    struct db_health h;
    db_health(app->db, probe, &h);
    out->writable = h.probe_rc == BB_OK;
    out->disk_full = h.probe_rc == BB_EFULL;
    snprintf(out->last_write_error, sizeof out->last_write_error, "%s", h.last_error);
    out->last_write_error_ms = h.last_error_ms;
    out->last_write_ok_ms = h.last_ok_ms;
    out->write_errors = h.write_errors;
    out->disk_free_bytes = h.disk_free_bytes;
    if (!out->db_ok)
        snprintf(out->reason, sizeof out->reason, "the database does not answer reads");
    else if (out->disk_full)
        snprintf(out->reason, sizeof out->reason,
                 "the disk is full: the database cannot be written (%s)",
                 h.last_error[0] ? h.last_error : "database or disk is full");
    else if (!out->writable)
        snprintf(out->reason, sizeof out->reason, "the database cannot be written: %s",
                 h.last_error[0] ? h.last_error : bb_err_code((enum bb_err)h.probe_rc));
}
