/* segments.c — review routes: GET /jobs/:id/segments and PATCH
 * /jobs/:id/segments/:n (docs/api.md, "Review").  The segments service
 * (service/segments.c) scopes, validates and stores; these handlers feed
 * it the request and render its results.  A stale edit answers 409 with
 * the error document plus `current`, the stored segment, so a client can
 * show the conflict instead of losing an edit silently. */
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "http/http_int.h"
#include "service/segments.h"

void route_job_segments(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    static const char *const names[] = {"flagged", "state", "cursor", "limit"};
    enum { NQ = sizeof names / sizeof names[0] };
    char vals[NQ][32];
    const char *got[NQ];
    const char *qs = r->ri->query_string;
    for (size_t i = 0; i < NQ; i++) {
        got[i] = http_query(r, names[i], vals[i], sizeof vals[i]);
        char probe[2];
        if (!got[i] && qs && mg_get_var(qs, strlen(qs), names[i], probe, sizeof probe) == -2)
            bb_fail_field(&r->err, names[i], "value is too long");
    }
    struct segments_query q = {.flagged = got[0], .state = got[1], .cursor = got[2],
                               .limit = got[3]};
    cJSON *doc = NULL;
    r->job_id = id;
    if (r->err.code != BB_OK || svc_segments_page(r->app, &r->who, id, &q, &doc,
                                                  &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, 200, doc, NULL);
}

/* The 409 of a stale edit: the error document with `current` added. */
static void reply_conflict(http_req *r, cJSON *current)
{
    char *text = http_error_text(r->request_id, &r->err, r->err.message);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!doc || !cJSON_AddItemToObject(doc, "current", current)) {
        cJSON_Delete(current);
        cJSON_Delete(doc);
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, 409, doc, NULL);
}

void route_job_segment_patch(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    r->job_id = id;
    cJSON *seg = NULL;
    int rc = svc_segment_patch(r->app, &r->who, id, http_param(r, "n"), r->json, &seg, &r->err);
    if (rc == BB_ECONFLICT && seg) {
        reply_conflict(r, seg);
        return;
    }
    if (rc != BB_OK) {
        cJSON_Delete(seg);
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, 200, seg, NULL);
}
