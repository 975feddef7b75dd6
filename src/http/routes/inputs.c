/* inputs.c — GET /inputs?path=REL: one directory of the input root
 * (docs/api.md, "Inputs").  The inputs service (service/inputs.c) opens
 * and lists it without leaving the root; this handler renders the JSON. */
#include <stdio.h>
#include <string.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "service/inputs.h"
#include "util/util.h"

/* One entry's JSON.  Caller owns the result. */
static cJSON *entry_dto(const struct input_entry *it)
{
    char t[32];
    bb_iso8601(it->modified_ms, t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", it->name);
    cJSON_AddStringToObject(o, "type", it->dir ? "dir" : "file");
    if (it->dir)
        cJSON_AddNullToObject(o, "size");
    else
        cJSON_AddNumberToObject(o, "size", (double)it->size);
    cJSON_AddStringToObject(o, "modifiedAt", t);
    if (it->type[0])
        cJSON_AddStringToObject(o, "contentType", it->type);
    else
        cJSON_AddNullToObject(o, "contentType");
    return o;
}

void route_inputs_list(http_req *r)
{
    char path[4200];
    const char *qs = r->ri->query_string;
    int got = qs ? mg_get_var(qs, strlen(qs), "path", path, sizeof path) : -1;
    if (got == -2) {
        bb_fail_field(&r->err, "path", "is longer than 4095 bytes");
        http_reply_failed(r);
        return;
    }
    const char *rel = got >= 0 ? path : "";
    struct input_listing l;
    if (svc_inputs_list(r->app, rel, &l, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "path", l.path);
    cJSON *arr = cJSON_AddArrayToObject(doc, "entries");
    for (size_t i = 0; i < l.n; i++)
        cJSON_AddItemToArray(arr, entry_dto(&l.items[i]));
    cJSON_AddBoolToObject(doc, "truncated", l.truncated);
    inputs_listing_clear(&l);
    http_reply_doc(r, 200, doc, NULL);
}
