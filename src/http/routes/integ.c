/* integ.c — the integration and operations routes that are not API keys:
 * GET /jobs/:id/deliveries (webhook log), POST /admin/config/reload and
 * POST /admin/gc (docs/integrations.md, docs/operations.md "Retention").
 * Thin: the services do the work. */
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "infra/metrics.h"
#include "service/reload.h"
#include "service/retention.h"
#include "service/webhooks.h"
#include "util/buf.h"

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

cJSON *http_integ_stats(bb_app *app, cJSON *doc)
{
    struct retention_totals rt;
    struct webhook_totals wt;
    svc_retention_totals(app, &rt);
    svc_webhooks_totals(app, &wt);
    cJSON *ret = doc ? cJSON_AddObjectToObject(doc, "retention") : NULL;
    cJSON *wh = doc ? cJSON_AddObjectToObject(doc, "webhooks") : NULL;
    if (!ret || !wh || !cJSON_AddNumberToObject(ret, "runs", (double)rt.runs) ||
        !cJSON_AddNumberToObject(ret, "jobsDeleted", (double)rt.jobs) ||
        !cJSON_AddNumberToObject(ret, "eventsDeleted", (double)rt.events) ||
        !cJSON_AddNumberToObject(ret, "bytesFreed", (double)rt.bytes) ||
        !cJSON_AddNumberToObject(wh, "delivered", (double)wt.delivered) ||
        !cJSON_AddNumberToObject(wh, "failed", (double)wt.failed) ||
        !cJSON_AddNumberToObject(wh, "dropped", (double)wt.dropped) ||
        !cJSON_AddNumberToObject(wh, "retries", (double)wt.retries) ||
        !cJSON_AddNumberToObject(wh, "queued", (double)wt.queued)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int http_integ_metrics(bb_app *app, buf *b)
{
    struct retention_totals rt;
    struct webhook_totals wt;
    svc_retention_totals(app, &rt);
    svc_webhooks_totals(app, &wt);
    const struct {
        const char *name, *type, *help;
        double value;
    } rows[] = {
        {"batchbox_retention_jobs_deleted_total", "counter",
         "Finished jobs deleted by retention since start.", (double)rt.jobs},
        {"batchbox_retention_bytes_freed_total", "counter",
         "Log and artifact bytes freed by retention since start.", (double)rt.bytes},
        {"batchbox_retention_runs_total", "counter", "Retention passes since start.",
         (double)rt.runs},
        {"batchbox_webhook_deliveries_total{result=\"delivered\"}", NULL, NULL,
         (double)wt.delivered},
        {"batchbox_webhook_deliveries_total{result=\"failed\"}", NULL, NULL,
         (double)wt.failed},
        {"batchbox_webhook_deliveries_total{result=\"dropped\"}", NULL, NULL,
         (double)wt.dropped},
        {"batchbox_webhook_retries_total", "counter", "Webhook deliveries tried again.",
         (double)wt.retries},
        {"batchbox_webhook_queue", "gauge", "Webhook deliveries waiting to be sent.",
         (double)wt.queued},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].type)
            rc |= metrics_put_single(b, rows[i].name, rows[i].type, rows[i].help,
                                     rows[i].value);
        else if (i == 3)
            rc |= buf_printf(b, "# HELP batchbox_webhook_deliveries_total Webhook deliveries "
                                "by how they ended.\n"
                                "# TYPE batchbox_webhook_deliveries_total counter\n"
                                "%s %.0f\n", rows[i].name, rows[i].value);
        else
            rc |= buf_printf(b, "%s %.0f\n", rows[i].name, rows[i].value);
    }
    return rc ? -1 : 0;
}
