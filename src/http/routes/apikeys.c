/* apikeys.c — API key routes: GET/POST /user/api-keys and DELETE
 * /user/api-keys/:id (docs/integrations.md, "API keys").  The service
 * (service/apikeys.c) validates and stores; these handlers render. */
#include <stdlib.h>

#include <sodium.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/apikeys.h"

void route_apikeys_list(http_req *r)
{
    apikey_rec *items;
    size_t n;
    if (svc_apikey_list(r->app, &r->who, &items, &n, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "items") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *k = arr ? svc_apikey_dto(&items[i]) : NULL;
        if (k)
            cJSON_AddItemToArray(arr, k);
        else
            arr = NULL;
        apikey_rec_clear(&items[i]);
    }
    free(items);
    if (!arr) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}

void route_apikeys_create(http_req *r)
{
    apikey_rec k;
    char key[APIKEY_MAX];
    if (svc_apikey_create(r->app, &r->who, r->json, &k, key, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    cJSON *doc = svc_apikey_dto(&k);
    apikey_rec_clear(&k);
    if (doc && !cJSON_AddStringToObject(doc, "key", key)) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    sodium_memzero(key, sizeof key);
    http_reply_doc(r, 201, doc, NULL);
}

void route_apikeys_revoke(http_req *r)
{
    int64_t id;
    if (!http_id_or_reply(r, "key_", "API key", &id))
        return;
    if (svc_apikey_revoke(r->app, &r->who, id, &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_bytes(r, 204, NULL, "", 0, NULL);
}
