/* gallery.c — gallery routes (docs/gallery.md): GET /jobs/:id/gallery,
 * POST/DELETE /jobs/:id/artifacts/:name/pick and GET
 * /jobs/:id/gallery.zip.  The gallery service (service/gallery.c) reads,
 * checks and writes the archive; these handlers parse the request, render
 * the JSON and carry the ZIP's bytes to the connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "cJSON.h"
#include "domain/artifact.h"
#include "domain/params.h"
#include "http/http.h"
#include "service/gallery.h"
#include "util/util.h"

/* ?picked=1|true|0|false (absent: false) into *out; replies 400 naming
 * the field and returns false for anything else. */
static bool picked_query_or_reply(http_req *r, bool *out)
{
    char v[8], probe[2];
    const char *q = http_query(r, "picked", v, sizeof v);
    const char *qs = r->ri->query_string;
    *out = false;
    if (!q && qs && mg_get_var(qs, strlen(qs), "picked", probe, sizeof probe) == -2)
        q = "?";   /* present but too long for v: not one of the values */
    if (!q || strcmp(q, "0") == 0 || strcmp(q, "false") == 0)
        return true;
    if (strcmp(q, "1") == 0 || strcmp(q, "true") == 0) {
        *out = true;
        return true;
    }
    bb_fail_field(&r->err, "picked", "must be 1 or 0 (true or false)");
    http_reply_failed(r);
    return false;
}

static cJSON *artifact_json(const struct artifact_rec *a)
{
    cJSON *o = cJSON_CreateObject();
    char url[1024];
    artifact_local_url(url, sizeof url, a->job_id, a->name);
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "contentType", a->content_type);
    cJSON_AddNumberToObject(o, "size", (double)a->size);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddBoolToObject(o, "picked", a->picked);
    return o;
}

static cJSON *item_json(const struct gallery_item *it)
{
    const struct gallery_job_rec *j = it->job;
    cJSON *o = cJSON_CreateObject();
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "state", j->state ? j->state : "");
    cJSON *params = j->params ? cJSON_Parse(j->params) : NULL;
    /* seeds up to 2^53 printed exactly, not as 3.16143023789178e+15 */
    if (params != NULL && !params_exact_numbers(params)) {
        cJSON_Delete(params); /* out of memory */
        params = NULL;
    }
    cJSON_AddItemToObject(o, "params", params ? params : cJSON_CreateObject());
    if (j->md)
        cJSON_AddStringToObject(o, "md", j->md);
    else
        cJSON_AddNullToObject(o, "md");
    if (j->error)
        cJSON_AddStringToObject(o, "error", j->error);
    else
        cJSON_AddNullToObject(o, "error");
    /* why a run that has not started waits (a busy ComfyUI pool, a paused
     * queue, ...), only while it has not started */
    bool held = j->state && (strcmp(j->state, "queued") == 0 || strcmp(j->state, "waiting") == 0 ||
                             strcmp(j->state, "scheduled") == 0);
    if (j->waiting_for && held)
        cJSON_AddStringToObject(o, "waitingFor", j->waiting_for);
    else
        cJSON_AddNullToObject(o, "waitingFor");
    cJSON *arts = cJSON_AddArrayToObject(o, "artifacts");
    for (size_t i = 0; i < it->narts; i++)
        cJSON_AddItemToArray(arts, artifact_json(&it->arts[i]));
    if (it->qa) {
        /* a translate job: its segments' QA and review counts (absent for
         * jobs without segments) */
        cJSON *qa = cJSON_AddObjectToObject(o, "qa");
        cJSON_AddNumberToObject(qa, "segments", (double)it->qa->total);
        cJSON_AddNumberToObject(qa, "flagged", (double)it->qa->flagged);
        cJSON_AddNumberToObject(qa, "reviewed", (double)it->qa->reviewed);
    }
    return o;
}

void route_job_gallery(http_req *r)
{
    int64_t id;
    bool picked;
    if (!http_job_id_or_reply(r, &id) || !picked_query_or_reply(r, &picked))
        return;
    struct gallery g;
    if (svc_gallery_get(r->app, &r->who, id, picked, &g, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    cJSON_AddStringToObject(doc, "jobId", idtext);
    cJSON_AddStringToObject(doc, "kind", g.is_batch ? "batch" : "job");
    cJSON_AddItemToObject(doc, "swept", gallery_swept_names(g.sweep));
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < g.nitems; i++)
        cJSON_AddItemToArray(items, item_json(&g.items[i]));
    gallery_clear(&g);
    http_reply_doc(r, 200, doc, NULL);
}

/* POST (picked = true) or DELETE (false) /jobs/:id/artifacts/:name/pick. */
static void set_pick(http_req *r, bool picked)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    const char *name = http_param(r, "name");
    if (svc_artifact_pick(r->app, &r->who, id, name, picked, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "name", name);
    cJSON_AddBoolToObject(doc, "picked", picked);
    http_reply_doc(r, 200, doc, NULL);
}

void route_artifact_pick(http_req *r)
{
    set_pick(r, true);
}

void route_artifact_unpick(http_req *r)
{
    set_pick(r, false);
}

/* The response head of the ZIP: streamed (no Content-Length; the
 * connection closes after the last byte), saved as `filename`. */
static int zip_begin(void *ud, const char *filename, bool *head_only)
{
    http_req *r = ud;
    char extra[256];
    snprintf(extra, sizeof extra,
             "Content-Disposition: attachment; filename=\"%s\"\r\n"
             "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n",
             filename);
    *head_only = strcmp(r->method, "HEAD") == 0;
    return http_begin_stream(r, 200, "application/zip", extra);
}

static int zip_write(void *ud, const void *data, size_t n)
{
    return http_write(ud, data, n);
}

void route_job_gallery_zip(http_req *r)
{
    int64_t id;
    bool picked, started;
    if (!http_job_id_or_reply(r, &id) || !picked_query_or_reply(r, &picked))
        return;
    const struct zip_sink sink = {.write = zip_write, .ud = r};
    if (svc_gallery_zip(r->app, &r->who, id, picked, zip_begin, &sink, &started, &r->err) !=
            BB_OK &&
        !started)
        http_reply_failed(r);
    /* after the head an error was logged by the service: the connection
     * closes with the archive cut short */
}
