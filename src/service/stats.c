/* stats.c — admin statistics: jobs by state, jobs per hour over 24 h,
 * duration p50/p95 per preset (jobs that succeeded in the last 24 h),
 * queue depth, workers, event-bus subscribers and drops, uptime, sizes.
 * Every query walks an index (repo_job.c); see docs/benchmarks.md for the
 * cost on 100,000 jobs. */
#include "service/stats.h"

#include <stdio.h>
#include <string.h>

#include "cJSON.h"
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
    cJSON *arr = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "preset", preset);
    cJSON_AddNumberToObject(o, "count", (double)n);
    cJSON_AddNumberToObject(o, "p50Ms", (double)percentile(ms, n, 0.50));
    cJSON_AddNumberToObject(o, "p95Ms", (double)percentile(ms, n, 0.95));
    cJSON_AddItemToArray(arr, o);
}

cJSON *svc_admin_stats(bb_app *app)
{
    int64_t counts[5], per_hour[24], db_bytes, art_bytes, users = 0;
    int64_t now = bb_now_ms();
    if (repo_job_counts(app->db, counts) != 0 ||
        repo_stats_jobs_per_hour(app->db, now, per_hour) != 0 ||
        repo_stats_sizes(app->db, &db_bytes, &art_bytes) != 0 ||
        repo_user_count(app->db, &users) != 0)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *by = cJSON_AddObjectToObject(o, "jobsByState");
    for (int s = JOB_QUEUED; s <= JOB_CANCELED; s++)
        cJSON_AddNumberToObject(by, job_state_name((enum job_state)s), (double)counts[s]);
    cJSON *ph = cJSON_AddArrayToObject(o, "jobsPerHour");
    int64_t start = (now / 3600000 - 23) * 3600000;
    for (int h = 0; h < 24; h++) {
        cJSON *e = cJSON_CreateObject();
        char t[32];
        bb_iso8601(start + (int64_t)h * 3600000, t);
        cJSON_AddStringToObject(e, "hour", t);
        cJSON_AddNumberToObject(e, "count", (double)per_hour[h]);
        cJSON_AddItemToArray(ph, e);
    }
    cJSON *dur = cJSON_AddArrayToObject(o, "durationByPreset");
    if (repo_stats_durations(app->db, now - 24 * 3600000LL, add_durations, dur) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "queueDepth", (double)counts[JOB_QUEUED]);
    int busy = 0, total = 0;
    if (app->pool)
        pool_stats(app->pool, &busy, &total);
    cJSON *w = cJSON_AddObjectToObject(o, "workers");
    cJSON_AddNumberToObject(w, "busy", busy);
    cJSON_AddNumberToObject(w, "idle", total - busy);
    cJSON_AddNumberToObject(w, "total", total);
    cJSON_AddNumberToObject(o, "eventSubscribers", (double)bus_subscribers(app->bus));
    cJSON_AddNumberToObject(o, "eventBusDrops", (double)bus_drops(app->bus));
    cJSON_AddNumberToObject(o, "uptimeSec", (double)((now - app->started_ms) / 1000));
    cJSON_AddNumberToObject(o, "databaseBytes", (double)db_bytes);
    cJSON_AddNumberToObject(o, "artifactsBytes", (double)art_bytes);
    cJSON_AddNumberToObject(o, "users", (double)users);
    return o;
}
