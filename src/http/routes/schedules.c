/* schedules.c — schedule routes: POST/GET /schedules, GET/PATCH/DELETE
 * /schedules/:id (docs/api.md, "Schedules"), and GET /jobs/:id/dependents.
 * The services (service/schedules.c, service/job_reads.c) validate, scope
 * and store; these handlers feed them the request and render the result. */
#include <stdlib.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/scheduler.h"
#include "service/schedules.h"

/* Replies with the DTO of s (and clears it). */
static void reply_schedule(http_req *r, int status, schedule_rec *s)
{
    cJSON *doc = svc_schedule_dto(s);
    schedule_rec_clear(s);
    http_reply_doc(r, status, doc, NULL);
}

void route_schedules_create(http_req *r)
{
    schedule_rec s;
    if (svc_schedule_create(r->app, &r->who, r->json, &s, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        reply_schedule(r, 201, &s);
}

void route_schedules_list(http_req *r)
{
    schedule_rec *items;
    size_t n;
    if (svc_schedule_list(r->app, &r->who, &items, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "schedules") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = arr ? svc_schedule_dto(&items[i]) : NULL;
        if (o)
            cJSON_AddItemToArray(arr, o);
        else
            arr = NULL;
        schedule_rec_clear(&items[i]);
    }
    free(items);
    if (!arr) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}

void route_schedule_get(http_req *r)
{
    int64_t id;
    schedule_rec s;
    if (!http_id_or_reply(r, NULL, "schedule", &id))
        return;
    if (svc_schedule_get(r->app, &r->who, id, &s, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        reply_schedule(r, 200, &s);
}

void route_schedule_patch(http_req *r)
{
    int64_t id;
    schedule_rec s;
    if (!http_id_or_reply(r, NULL, "schedule", &id))
        return;
    if (svc_schedule_patch(r->app, &r->who, id, r->json, &s, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        reply_schedule(r, 200, &s);
}

void route_schedule_delete(http_req *r)
{
    int64_t id;
    if (!http_id_or_reply(r, NULL, "schedule", &id))
        return;
    if (svc_schedule_delete(r->app, &r->who, id, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_bytes(r, 204, NULL, "", 0, NULL);
}

void route_job_dependents(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    job *items;
    size_t n;
    if (svc_job_dependents(r->app, &r->who, id, &items, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "items") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = arr ? job_to_dto(&items[i]) : NULL;
        if (o)
            cJSON_AddItemToArray(arr, o);
        else
            arr = NULL;
        job_clear(&items[i]);
    }
    free(items);
    if (!arr) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}
