/* admin.c — user administration, everyone's jobs, statistics, and the
 * caller's own job list.  The work is in the services (service/auth.c,
 * service/stats.c); these handlers render it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/job.h"
#include "http/http.h"
#include "service/auth.h"
#include "service/stats.h"
#include "util/util.h"

void route_admin_users(http_req *r)
{
    user *users;
    size_t n;
    if (auth_user_list(r->app, &users, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(items, user_to_dto(&users[i]));
        user_clear(&users[i]);
    }
    free(users);
    http_reply_doc(r, 200, doc, NULL);
}

void route_admin_user_patch(http_req *r)
{
    int64_t id;
    user u;
    if (!http_id_or_reply(r, NULL, "user", &id))
        return;
    if (auth_admin_update(r->app, id, r->json, &u, &r->err) != BB_OK) {
        user_clear(&u);
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, 200, user_to_dto(&u), NULL);
    user_clear(&u);
}

void route_admin_jobs(http_req *r)
{
    /* everyone's jobs: same handler as /jobs, the caller being an admin */
    route_jobs_list(r);
}

void route_user_jobs(http_req *r)
{
    /* only the caller's own jobs, even for an admin */
    r->who.admin = false;
    route_jobs_list(r);
}

/* The GET /admin/stats document. */
static cJSON *stats_dto(const struct admin_stats *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *by = cJSON_AddObjectToObject(o, "jobsByState");
    for (int s = JOB_QUEUED; s < JOB_NSTATES; s++)
        cJSON_AddNumberToObject(by, job_state_name((enum job_state)s),
                                (double)st->jobs_by_state[s]);
    cJSON *ph = cJSON_AddArrayToObject(o, "jobsPerHour");
    for (int h = 0; h < 24; h++) {
        cJSON *e = cJSON_CreateObject();
        char t[32];
        bb_iso8601(st->hour_start_ms + (int64_t)h * 3600000, t);
        cJSON_AddStringToObject(e, "hour", t);
        cJSON_AddNumberToObject(e, "count", (double)st->jobs_per_hour[h]);
        cJSON_AddItemToArray(ph, e);
    }
    cJSON *dur = cJSON_AddArrayToObject(o, "durationByPreset");
    for (size_t i = 0; i < st->ndurations; i++) {
        const struct preset_durations *d = &st->durations[i];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "preset", d->preset);
        cJSON_AddNumberToObject(p, "count", (double)d->count);
        cJSON_AddNumberToObject(p, "p50Ms", (double)d->p50_ms);
        cJSON_AddNumberToObject(p, "p95Ms", (double)d->p95_ms);
        cJSON_AddItemToArray(dur, p);
    }
    cJSON_AddNumberToObject(o, "queueDepth", (double)st->jobs_by_state[JOB_QUEUED]);
    cJSON *w = cJSON_AddObjectToObject(o, "workers");
    cJSON_AddNumberToObject(w, "busy", st->workers_busy);
    cJSON_AddNumberToObject(w, "idle", st->workers_total - st->workers_busy);
    cJSON_AddNumberToObject(w, "total", st->workers_total);
    cJSON_AddNumberToObject(o, "eventSubscribers", (double)st->event_subscribers);
    cJSON_AddNumberToObject(o, "eventBusDrops", (double)st->event_bus_drops);
    cJSON_AddNumberToObject(o, "uptimeSec", (double)st->uptime_sec);
    cJSON_AddNumberToObject(o, "databaseBytes", (double)st->database_bytes);
    cJSON_AddNumberToObject(o, "artifactsBytes", (double)st->artifacts_bytes);
    cJSON_AddNumberToObject(o, "users", (double)st->users);
    cJSON *res = svc_pool_usage_json(st->pools, st->npools);
    if (!res || !cJSON_AddItemToObject(o, "resources", res))
        cJSON_Delete(res);
    return o;
}

void route_admin_stats(http_req *r)
{
    struct admin_stats st;
    if (svc_admin_stats(r->app, &st, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_doc(r, 200, http_integ_stats(r->app, stats_dto(&st)), NULL);
    admin_stats_clear(&st);
}
