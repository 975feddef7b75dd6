/* templates.c — template routes: GET/POST /presets/:id/templates and
 * DELETE /templates/:id (docs/api.md, "Templates").  The templates service
 * (service/templates.c) validates, scopes and stores; these handlers feed
 * it the request and render its results. */
#include <stdlib.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/templates.h"

void route_templates_list(http_req *r)
{
    template_rec *items;
    size_t n;
    if (svc_template_list(r->app, &r->who, http_param(r, "id"), &items, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "templates") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *t = arr ? svc_template_dto(&items[i]) : NULL;
        if (t)
            cJSON_AddItemToArray(arr, t);
        else
            arr = NULL;
        template_rec_clear(&items[i]);
    }
    free(items);
    if (!arr) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}

void route_templates_save(http_req *r)
{
    template_rec t;
    bool replaced; /* answered 201 either way (docs/api.md) */
    if (svc_template_save(r->app, &r->who, http_param(r, "id"), r->json, &t, &replaced,
                          &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = svc_template_dto(&t);
    template_rec_clear(&t);
    http_reply_doc(r, 201, doc, NULL);
}

void route_template_delete(http_req *r)
{
    int64_t id;
    if (!http_id_or_reply(r, "tpl_", "template", &id))
        return;
    if (svc_template_delete(r->app, &r->who, id, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_bytes(r, 204, NULL, "", 0, NULL);
}
