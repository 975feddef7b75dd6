/* comfyui_track.c — following one ComfyUI prompt from its socket
 * messages (docs/comfyui.md, "Progress and the socket"): the node
 * timeline and the live sampler value kept in the prompt row's detail
 * (written at most twice a second), the attempt's progress (finished
 * nodes plus the current node's value/max, over the graph's nodes) and
 * the "comfyui" log lines.  Runs on the attempt's worker thread; the
 * state is the attempt's struct cf_run. */
#include "infra/exec/comfyui.h"

#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "infra/db/repo_comfy_prompt.h"
#include "util/log.h"
#include "util/util.h"

#define DETAIL_EVERY_US 500000
#define LOG_STREAM "comfyui"

const char *cf_node_class(const struct cf_run *r, const char *id)
{
    const cJSON *n = id ? cJSON_GetObjectItemCaseSensitive(r->graph, id) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, "class_type");
    return cJSON_IsString(c) ? c->valuestring : "?";
}

int cf_track_init(struct cf_run *r)
{
    r->nnodes = cJSON_GetArraySize(r->graph);
    r->done = 0;
    r->last_decile = -1;
    cJSON_Delete(r->detail);
    r->detail = cJSON_CreateObject();
    if (r->detail == NULL || cJSON_AddArrayToObject(r->detail, "nodes") == NULL ||
        cJSON_AddNullToObject(r->detail, "current") == NULL ||
        cJSON_AddNumberToObject(r->detail, "number", (double)r->number) == NULL)
        return -1;
    return 0;
}

/* The detail's entry of node id, added in state when absent (NULL: out of
 * memory). */
static cJSON *node_entry(struct cf_run *r, const char *id)
{
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(r->detail, "nodes");
    cJSON *n;
    cJSON_ArrayForEach(n, nodes) {
        const cJSON *nid = cJSON_GetObjectItemCaseSensitive(n, "id");
        if (cJSON_IsString(nid) && strcmp(nid->valuestring, id) == 0)
            return n;
    }
    n = cJSON_CreateObject();
    if (n == NULL)
        return NULL;
    if (cJSON_AddStringToObject(n, "id", id) == NULL ||
        cJSON_AddStringToObject(n, "class", cf_node_class(r, id)) == NULL ||
        cJSON_AddStringToObject(n, "state", "running") == NULL ||
        cJSON_AddNumberToObject(n, "startedAt", (double)bb_now_ms()) == NULL ||
        !cJSON_AddItemToArray(nodes, n)) {
        cJSON_Delete(n);
        return NULL;
    }
    return n;
}

/* Sets node n's state; a finished state adds endedAt and counts it. */
static void node_state(struct cf_run *r, cJSON *n, const char *state)
{
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(n, "state");
    bool was_open = cJSON_IsString(old) && strcmp(old->valuestring, "running") == 0;
    cJSON *s = cJSON_CreateString(state);
    if (s == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(n, "state", s))
        return;
    if (strcmp(state, "running") != 0 && was_open) {
        cJSON_DeleteItemFromObjectCaseSensitive(n, "endedAt");
        cJSON_AddNumberToObject(n, "endedAt", (double)bb_now_ms());
        if (strcmp(state, "error") != 0 && r->done < r->nnodes)
            r->done++;
    }
    r->detail_dirty = true;
}

/* Closes the node that was running (a new one started or the prompt
 * ended): done. */
static void close_running(struct cf_run *r)
{
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(r->detail, "nodes");
    cJSON *n;
    cJSON_ArrayForEach(n, nodes) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(n, "state");
        if (cJSON_IsString(s) && strcmp(s->valuestring, "running") == 0) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(n, "id");
            node_state(r, n, "done");
            if (cJSON_IsString(id) && r->ctx)
                exec_logf(r->ctx, LOG_STREAM, "node %s %s done", id->valuestring,
                          cf_node_class(r, id->valuestring));
        }
    }
    cJSON *cur = cJSON_CreateNull();
    if (cur && !cJSON_ReplaceItemInObjectCaseSensitive(r->detail, "current", cur))
        cJSON_Delete(cur);
}

static void report_progress(struct cf_run *r, double partial)
{
    if (r->ctx->progress == NULL || r->nnodes <= 0)
        return;
    double f = ((double)r->done + partial) / (double)r->nnodes;
    r->ctx->progress(r->ctx->ud, f < 0 ? 0 : f > 0.99 ? 0.99 : f);
}

void cf_track_store(struct cf_run *r, const char *state, const char *error, bool force)
{
    if (state != NULL)
        r->state = state;
    if (r->ctx->db == NULL || r->prompt_id[0] == '\0')
        return;
    int64_t now = bb_mono_us();
    bool write_detail = r->detail_dirty &&
                        (force || state || now - r->detail_written_us >= DETAIL_EVERY_US);
    if (!write_detail && state == NULL && error == NULL)
        return;
    char *text = write_detail ? cJSON_PrintUnformatted(r->detail) : NULL;
    int rc = repo_comfy_prompt_update(r->ctx->db, r->prompt_id, r->state, error, text);
    if (rc != 0)
        bb_warn("could not store a ComfyUI prompt's state", "prompt", r->prompt_id);
    if (text != NULL) {
        r->detail_written_us = now;
        r->detail_dirty = false;
    }
    cJSON_free(text);
}

void cf_track_finish(struct cf_run *r)
{
    close_running(r);
    r->done = r->nnodes;
    if (r->ctx->progress)
        r->ctx->progress(r->ctx->ud, 1.0);
}

/* "progress": {value, max, node}. */
static void on_progress(struct cf_run *r, const cJSON *data)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "value");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(data, "max");
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(data, "node");
    if (!cJSON_IsNumber(v) || !cJSON_IsNumber(m) || m->valuedouble <= 0)
        return;
    const char *id = cJSON_IsString(node) ? node->valuestring : "?";
    cJSON *cur = cJSON_CreateObject();
    if (cur == NULL)
        return;
    cJSON_AddStringToObject(cur, "node", id);
    cJSON_AddStringToObject(cur, "class", cf_node_class(r, id));
    cJSON_AddNumberToObject(cur, "value", v->valuedouble);
    cJSON_AddNumberToObject(cur, "max", m->valuedouble);
    if (!cJSON_ReplaceItemInObjectCaseSensitive(r->detail, "current", cur))
        cJSON_Delete(cur);
    r->detail_dirty = true;
    double part = v->valuedouble / m->valuedouble;
    int decile = (int)(part * 10.0);
    if (decile > r->last_decile) {
        r->last_decile = decile;
        exec_logf(r->ctx, LOG_STREAM, "node %s %s: %.0f/%.0f", id, cf_node_class(r, id),
                  v->valuedouble, m->valuedouble);
    }
    report_progress(r, part > 1 ? 1 : part);
}

/* "executing": {node} — a node starts; node null: the prompt ended. */
static enum cf_event on_executing(struct cf_run *r, const cJSON *data)
{
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(data, "node");
    close_running(r);
    if (!cJSON_IsString(node))
        return CF_FINISHED;
    if (strcmp(r->state, "queued") == 0) {
        exec_logf(r->ctx, LOG_STREAM, "prompt %s on %s: running", r->prompt_id, r->lease.id);
        cf_track_store(r, "running", NULL, true);
    }
    r->last_decile = -1;
    if (node_entry(r, node->valuestring) == NULL)
        return CF_NOTHING;
    r->detail_dirty = true;
    report_progress(r, 0);
    return CF_NOTHING;
}

/* "execution_cached": {nodes: [...]} — nodes whose outputs were kept. */
static void on_cached(struct cf_run *r, const cJSON *data)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(data, "nodes");
    const cJSON *id;
    cJSON_ArrayForEach(id, ids) {
        if (!cJSON_IsString(id))
            continue;
        cJSON *n = node_entry(r, id->valuestring);
        if (n != NULL)
            node_state(r, n, "cached");
    }
    report_progress(r, 0);
}

/* "execution_error": {node_id, node_type, exception_type, exception_message}. */
static void on_error(struct cf_run *r, const cJSON *data, char *err, size_t errlen)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "node_id");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(data, "node_type");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(data, "exception_type");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(data, "exception_message");
    const char *nid = cJSON_IsString(id) ? id->valuestring : "?";
    snprintf(err, errlen, "node %s (%s) failed: %s: %s", nid,
             cJSON_IsString(type) ? type->valuestring : cf_node_class(r, nid),
             cJSON_IsString(ex) ? ex->valuestring : "error",
             cJSON_IsString(msg) ? msg->valuestring : "(no message)");
    cJSON *n = node_entry(r, nid);
    if (n != NULL)
        node_state(r, n, "error");
    exec_logf(r->ctx, LOG_STREAM, "%s", err);
}

enum cf_event cf_track_message(struct cf_run *r, const cJSON *msg, char *err, size_t errlen)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
    if (!cJSON_IsString(type) || !cJSON_IsObject(data))
        return CF_NOTHING;
    const char *t = type->valuestring;
    enum cf_event ev = CF_NOTHING;
    if (strcmp(t, "progress") == 0) {
        on_progress(r, data);
    } else if (strcmp(t, "executing") == 0) {
        ev = on_executing(r, data);
    } else if (strcmp(t, "execution_cached") == 0) {
        on_cached(r, data);
    } else if (strcmp(t, "execution_success") == 0) {
        ev = CF_FINISHED;
    } else if (strcmp(t, "execution_error") == 0) {
        on_error(r, data, err, errlen);
        ev = CF_EXEC_ERROR;
    } else if (strcmp(t, "execution_interrupted") == 0) {
        ev = CF_INTERRUPTED;
    }
    cf_track_store(r, NULL, NULL, false);
    return ev;
}
