/* files.c — upload routes: POST /uploads (multipart/form-data field
 * "file", or a raw body with ?filename=), GET/DELETE /files/:id, GET
 * /user/files.  The uploads service (service/uploads.c) does the work;
 * these handlers feed it the body and render its results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "service/uploads.h"
#include "util/util.h"

static int read_body(void *ud, void *dst, size_t cap)
{
    return http_read(ud, dst, cap);
}

/* The JSON of an upload: what POST /uploads answers, and with `listing`
 * also where it is stored, when, and its URL (GET /user/files). */
static cJSON *file_dto(const file_rec *f, bool listing)
{
    cJSON *o = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "upl_%lld", (long long)f->id);
    cJSON_AddStringToObject(o, "fileId", id);
    cJSON_AddStringToObject(o, "filename", f->filename);
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    cJSON_AddStringToObject(o, "sha256", f->sha256);
    cJSON_AddStringToObject(o, "contentType", f->content_type);
    if (listing) {
        char t[32], url[64];
        bb_iso8601(f->created_at, t);
        snprintf(url, sizeof url, "/api/v1/files/%s", id);
        cJSON_AddStringToObject(o, "storage", f->storage);
        cJSON_AddStringToObject(o, "createdAt", t);
        cJSON_AddStringToObject(o, "url", url);
    }
    return o;
}

void route_upload(http_req *r)
{
    char fname[1024];
    struct upload_source src = {
        .read = read_body,
        .ud = r,
        .content_type = http_header(r, "Content-Type"),
        .filename = http_query(r, "filename", fname, sizeof fname),
        .content_length = r->ri->content_length,
    };
    file_rec f;
    enum upload_stop stop;
    if (svc_upload(r->app, &r->who, &src, &f, &stop, &r->err) != BB_OK) {
        if (stop == UPLOAD_STOP_MIDWAY)
            http_drain(r, 16 << 20);
        http_reply_failed(r);
        if (stop == UPLOAD_STOP_EARLY)
            http_drain(r, 1 << 20);
        return;
    }
    cJSON *doc = file_dto(&f, false);
    file_rec_clear(&f);
    http_reply_doc(r, 201, doc, NULL);
}

void route_file_get(http_req *r)
{
    int64_t id;
    file_rec f;
    struct store *st;
    if (!http_id_or_reply(r, "upl_", "file", &id))
        return;
    if (svc_file_open(r->app, &r->who, id, &f, &st, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    http_serve_object(r, st, f.key, f.size, f.sha256, f.content_type, f.filename);
    file_rec_clear(&f);
}

void route_file_delete(http_req *r)
{
    int64_t id;
    if (!http_id_or_reply(r, "upl_", "file", &id))
        return;
    if (svc_file_delete(r->app, &r->who, id, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_bytes(r, 204, NULL, "", 0, NULL);
}

void route_user_files(http_req *r)
{
    file_rec *items;
    size_t n;
    int64_t used;
    if (svc_file_list(r->app, &r->who, &items, &n, &used, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, file_dto(&items[i], true));
        file_rec_clear(&items[i]);
    }
    free(items);
    cJSON_AddNumberToObject(doc, "usedBytes", (double)used);
    cJSON_AddNumberToObject(doc, "quotaBytes", (double)r->app->cfg->limits.user_quota_bytes);
    http_reply_doc(r, 200, doc, NULL);
}
