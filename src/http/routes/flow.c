/* flow.c — the flow-control routes (docs/scheduling.md): the queue's
 * pause, resume and status (admins), and bulk actions by filter.  Thin:
 * the work is in service/flow.c and service/bulk.c. */
#include <stdbool.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/flow.h"

void route_admin_queue(http_req *r)
{
    cJSON *doc = svc_queue_status(r->app, &r->err);
    if (!doc)
        http_reply_failed(r);
    else
        http_reply_doc(r, 200, doc, NULL);
}

/* Pause or resume, then the queue's status. */
static void pause_or_resume(http_req *r, bool pause)
{
    if (svc_queue_pause(r->app, &r->who, r->json, pause, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    route_admin_queue(r);
}

void route_admin_queue_pause(http_req *r)
{
    pause_or_resume(r, true);
}

void route_admin_queue_resume(http_req *r)
{
    pause_or_resume(r, false);
}

void route_jobs_bulk(http_req *r)
{
    cJSON *doc = NULL;
    if (svc_jobs_bulk(r->app, &r->who, r->json, &doc, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_doc(r, 200, doc, NULL);
}
