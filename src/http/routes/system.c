/* system.c — health, job options and the embedded web assets. */
#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/jobs.h"
#include "util/assets.h"

void route_health(http_req *r)
{
    bool ok = r->app->db && db_ping(r->app->db) == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "db", ok ? "ok" : "error");
    cJSON_AddStringToObject(o, "version", BB_VERSION);
    /* the web UI shows first-run setup instead of sign-in while this holds */
    cJSON_AddBoolToObject(o, "setupRequired", atomic_load(&r->app->setup_open));
    http_reply_json(r, ok ? 200 : 503, o);
    cJSON_Delete(o);
}

void route_job_options(http_req *r)
{
    cJSON *o = svc_job_options(r->app);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        return;
    }
    http_reply_bytes(r, 200, "application/json", text, strlen(text),
                     "Cache-Control: private, max-age=60\r\n");
    cJSON_free(text);
}

void route_static(http_req *r)
{
    const char *path = strcmp(r->path, "/") == 0 ? "/index.html" : r->path;
    /* only assets under web/ (leading '/'); never schema.sql */
    const struct bb_asset *a = path[0] == '/' ? bb_asset_find(path) : NULL;
    if (!a) {
        http_reply_error(r, BB_ENOTFOUND, "no such page: %.200s", r->path);
        return;
    }
    const char *cache = strstr(a->content_type, "text/html")
                            ? "Cache-Control: no-cache\r\n"
                            : "Cache-Control: public, max-age=300\r\n";
    http_reply_bytes(r, 200, a->content_type, a->data, a->len, cache);
}
