/* integ.c — the integration and operations routes that are not API keys:
 * GET /jobs/:id/deliveries (webhook log), POST /admin/config/reload and
 * POST /admin/gc (docs/integrations.md, docs/operations.md "Retention").
 * Thin: the services do the work. */
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/reload.h"
#include "service/retention.h"
#include "service/webhooks.h"

void route_job_deliveries(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    cJSON *doc;
    if (svc_webhook_deliveries(r->app, &r->who, id, &doc, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_doc(r, 200, doc, NULL);
}

void route_admin_config_reload(http_req *r)
{
    cJSON *doc;
    if (svc_reload(r->app, &doc, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_doc(r, 200, doc, NULL);
}

void route_admin_gc(http_req *r)
{
    bool dry = false;
    if (r->json) {
        if (!cJSON_IsObject(r->json)) {
            http_reply_error(r, BB_EINVAL, "the body must be a JSON object {dryRun?}");
            return;
        }
        for (const cJSON *ch = r->json->child; ch; ch = ch->next)
            if (strcmp(ch->string, "dryRun") != 0)
                bb_fail_field(&r->err, ch->string, "unknown field (dryRun)");
        dry = bb_json_opt_bool(r->json, "dryRun", false, &r->err);
        if (r->err.code != BB_OK) {
            http_reply_failed(r);
            return;
        }
    }
    struct retention_result res;
    if (svc_retention_run(r->app, dry, &res, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    if (doc && (!cJSON_AddBoolToObject(doc, "dryRun", dry) ||
                !cJSON_AddNumberToObject(doc, "jobs", (double)res.jobs) ||
                !cJSON_AddNumberToObject(doc, "events", (double)res.events) ||
                !cJSON_AddNumberToObject(doc, "logBytes", (double)res.log_bytes) ||
                !cJSON_AddNumberToObject(doc, "artifactBytes", (double)res.artifact_bytes) ||
                !cJSON_AddNumberToObject(doc, "bytesFreed",
                                         (double)(res.log_bytes + res.artifact_bytes)) ||
                !cJSON_AddNumberToObject(doc, "objectsFailed", (double)res.objects_failed))) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}
