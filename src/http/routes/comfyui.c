/* comfyui.c — the ComfyUI server pool's routes (docs/api.md "ComfyUI",
 * docs/comfyui.md "Servers"): GET/POST /comfyui/servers, PATCH/DELETE
 * /comfyui/servers/:id, POST /comfyui/servers/:id/refresh and GET
 * /comfyui/models.  Any signed-in user reads the servers (their URLs only
 * admins) and the models; only admins change them (the route table says
 * so).  The pool (service/comfy_pool.c) holds the state; these handlers
 * check the body and render. */
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "http/http.h"
#include "infra/config.h"
#include "service/comfy_pool.h"

#define MAX_LABELS 32

/* The labels of body (absent: *has false) into out[MAX_LABELS] (borrowed
 * from body); false with a field error in r->err. */
static bool labels_of(http_req *r, const cJSON *body, const char **out, size_t *n, bool *has)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "labels");
    *n = 0;
    *has = v != NULL;
    if (!v)
        return true;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_LABELS) {
        bb_fail_field(&r->err, "labels", "must be an array of at most %d labels", MAX_LABELS);
        return false;
    }
    for (const cJSON *e = v->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !config_comfy_label_ok(e->valuestring)) {
            bb_fail_field(&r->err, "labels",
                          "each label is 1 to 64 characters from A-Z a-z 0-9 . _ -");
            return false;
        }
        out[(*n)++] = e->valuestring;
    }
    return true;
}

/* slots and enabled of body into in; false with a field error. */
static bool slots_enabled(http_req *r, const cJSON *body, struct comfy_server_in *in)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "slots");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    if (s) {
        /* the range first: casting 1e10 to int is undefined */
        if (!cJSON_IsNumber(s) || !(s->valuedouble >= 1 && s->valuedouble <= 64) ||
            s->valuedouble != (double)(int)s->valuedouble) {
            bb_fail_field(&r->err, "slots", "must be an integer from 1 to 64");
            return false;
        }
        in->has_slots = true;
        in->slots = (int)s->valuedouble;
    }
    if (en) {
        if (!cJSON_IsBool(en)) {
            bb_fail_field(&r->err, "enabled", "must be true or false");
            return false;
        }
        in->has_enabled = true;
        in->enabled = cJSON_IsTrue(en);
    }
    return true;
}

/* Whether every member of body is one of keys; else a field error. */
static bool known_keys(http_req *r, const cJSON *body, const char *const *keys)
{
    for (const cJSON *m = body->child; m; m = m->next) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], m->string ? m->string : "") != 0)
            i++;
        if (!keys[i]) {
            bb_fail_field(&r->err, m->string ? m->string : "", "unknown field");
            return false;
        }
    }
    return true;
}

static void reply_server(http_req *r, const char *id, int status)
{
    cJSON *doc = comfy_pool_server_json(id, r->who.admin);
    if (!doc) {
        bb_fail(&r->err, BB_ENOTFOUND, "no ComfyUI server \"%s\"", id);
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, status, doc, NULL);
}

void route_comfyui_servers(http_req *r)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = comfy_pool_servers_json(r->who.admin);
    if (!doc || !arr || !cJSON_AddItemToObject(doc, "servers", arr)) {
        cJSON_Delete(arr);
        cJSON_Delete(doc);
        doc = NULL;
    }
    http_reply_doc(r, 200, doc, NULL);
}

void route_comfyui_server_add(http_req *r)
{
    static const char *const KEYS[] = {"id", "url", "slots", "labels", "enabled", NULL};
    const cJSON *b = r->json;
    if (!cJSON_IsObject(b)) {
        bb_fail_field(&r->err, "body", "must be a JSON object {id, url, slots, labels}");
        http_reply_failed(r);
        return;
    }
    struct comfy_server_in in = {0};
    const char *labels[MAX_LABELS];
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "id");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(b, "url");
    if (!known_keys(r, b, KEYS)) {
        http_reply_failed(r);
        return;
    }
    if (!cJSON_IsString(id) || !config_comfy_id_ok(id->valuestring))
        bb_fail_field(&r->err, "id", "is required: 1 to 64 characters from A-Z a-z 0-9 . _ -");
    else if (!cJSON_IsString(url) || !config_comfy_url_ok(url->valuestring))
        bb_fail_field(&r->err, "url", "is required: an http:// or https:// URL without a "
                      "trailing '/' (\"http://127.0.0.1:8188\")");
    else if (slots_enabled(r, b, &in) && labels_of(r, b, labels, &in.nlabels, &in.has_labels)) {
        in.id = id->valuestring;
        in.url = url->valuestring;
        in.labels = labels;
        if (comfy_pool_add(&in, &r->err) == BB_OK) {
            comfy_pool_refresh(in.id);
            reply_server(r, in.id, 201);
            return;
        }
    }
    http_reply_failed(r);
}

void route_comfyui_server_patch(http_req *r)
{
    static const char *const KEYS[] = {"slots", "labels", "enabled", NULL};
    const cJSON *b = r->json;
    const char *id = http_param(r, "id");
    struct comfy_server_in in = {0};
    const char *labels[MAX_LABELS];
    if (!cJSON_IsObject(b))
        bb_fail_field(&r->err, "body", "must be a JSON object {enabled, slots, labels}");
    else if (known_keys(r, b, KEYS) && slots_enabled(r, b, &in) &&
             labels_of(r, b, labels, &in.nlabels, &in.has_labels)) {
        in.labels = labels;
        if (comfy_pool_update(id, &in, &r->err) == BB_OK) {
            reply_server(r, id, 200);
            return;
        }
    }
    http_reply_failed(r);
}

void route_comfyui_server_delete(http_req *r)
{
    if (comfy_pool_remove(http_param(r, "id"), &r->err) != BB_OK)
        http_reply_failed(r);
    else
        http_reply_bytes(r, 204, NULL, "", 0, NULL);
}

void route_comfyui_server_refresh(http_req *r)
{
    const char *id = http_param(r, "id");
    if (comfy_pool_refresh(id) != BB_OK) {
        bb_fail(&r->err, BB_ENOTFOUND, "no ComfyUI server \"%s\"", id);
        http_reply_failed(r);
        return;
    }
    reply_server(r, id, 200);
}

void route_comfyui_models(http_req *r)
{
    http_reply_doc(r, 200, comfy_pool_models_json(), NULL);
}
