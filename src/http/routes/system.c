/* system.c — job options and the embedded web assets (the route table's
 * fallback entry).  GET /health is in ops.c. */
#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/jobs.h"
#include "service/stats.h"
#include "util/assets.h"

void route_job_options(http_req *r)
{
    http_reply_doc(r, 200, svc_job_options(r->app), "Cache-Control: private, max-age=60\r\n");
}

/* The route table's fallback: any GET outside /api/ that no route matches. */
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
