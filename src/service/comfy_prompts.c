/* comfy_prompts.c — the ComfyUI prompts of a job as a document (see
 * comfy_prompts.h).  Reads only; no state of its own. */
#include "service/comfy_prompts.h"

#include <stdio.h>
#include <stdlib.h>

#include "cJSON.h"
#include "infra/comfyui/client.h"
#include "infra/db/repo_comfy_prompt.h"
#include "infra/exec/comfyui.h"
#include "service/comfy_pool.h"
#include "service/job_reads.h"
#include "util/log.h"

#define MAX_PROMPTS 1000

/* One prompt's DTO (caller frees); NULL when out of memory. */
static cJSON *prompt_dto(const comfy_prompt_rec *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *detail = p->detail ? cJSON_Parse(p->detail) : NULL;
    cJSON *nodes = cJSON_DetachItemFromObjectCaseSensitive(detail, "nodes");
    cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(detail, "current");
    cJSON_Delete(detail);
    if (!cJSON_IsArray(nodes)) {
        cJSON_Delete(nodes);
        nodes = cJSON_CreateArray();
    }
    if (!cJSON_IsObject(cur)) {
        cJSON_Delete(cur);
        cur = cJSON_CreateNull();
    }
    bool ok = o && nodes && cur && cJSON_AddStringToObject(o, "promptId", p->prompt_id) &&
              cJSON_AddNumberToObject(o, "attempt", p->attempt) &&
              cJSON_AddStringToObject(o, "server", p->server_id) &&
              cJSON_AddStringToObject(o, "state", p->state) &&
              (p->error ? cJSON_AddStringToObject(o, "error", p->error) != NULL
                        : cJSON_AddNullToObject(o, "error") != NULL) &&
              cJSON_AddNumberToObject(o, "createdAt", (double)p->created_at) &&
              cJSON_AddNumberToObject(o, "updatedAt", (double)p->updated_at);
    if (ok && cJSON_AddItemToObject(o, "nodes", nodes)) {
        nodes = NULL;
        ok = cJSON_AddItemToObject(o, "current", cur);
        cur = ok ? NULL : cur;
    } else {
        ok = false;
    }
    cJSON_Delete(nodes);
    cJSON_Delete(cur);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int svc_comfy_job_prompts(bb_app *app, const struct principal *who, int64_t id,
                          cJSON **out, bb_errctx *e)
{
    *out = NULL;
    if (svc_job_visible(app, who, id, e) != BB_OK)
        return e->code;
    comfy_prompt_rec *recs = NULL;
    size_t n = 0;
    int rc = repo_comfy_prompt_list(app->db, id, MAX_PROMPTS, &recs, &n);
    if (rc != BB_OK)
        return bb_fail(e, rc, "could not read the job's prompts");
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "prompts") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *p = arr ? prompt_dto(&recs[i]) : NULL;
        if (p == NULL || !cJSON_AddItemToArray(arr, p)) {
            cJSON_Delete(p);
            arr = NULL;
        }
        comfy_prompt_clear(&recs[i]);
    }
    free(recs);
    if (arr == NULL) {
        cJSON_Delete(doc);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    *out = doc;
    return BB_OK;
}

/* ---- the workflow's view of the pool -------------------------------------- */

/* A pool lease behind a cf_lease (the module's type): heap, freed on
 * release. */
static int bind_acquire(const char *id, struct cf_lease *l)
{
    struct comfy_lease *pl = calloc(1, sizeof *pl);
    if (pl == NULL)
        return -1;
    if (comfy_pool_acquire(id, pl) != 0) {
        free(pl);
        return -1;
    }
    snprintf(l->id, sizeof l->id, "%s", pl->id);
    snprintf(l->url, sizeof l->url, "%s", pl->url);
    l->ws = pl->ws;
    l->pool_ = pl;
    return 0;
}

static void bind_release(struct cf_lease *l)
{
    struct comfy_lease *pl = l->pool_;
    if (pl != NULL) {
        comfy_pool_release(pl);
        free(pl);
    }
    l->pool_ = NULL;
    l->ws = NULL;
}

static void bind_report(const char *id, enum cf_outcome o, int64_t busy_ms)
{
    comfy_pool_report(id, o == CF_DONE_OK ? COMFY_DONE_OK
                          : o == CF_SERVER_LOST ? COMFY_SERVER_LOST : COMFY_DONE_FAILED,
                      busy_ms);
}

static const struct cf_pool_ops POOL_OPS = {
    .acquire = bind_acquire,
    .release = bind_release,
    .report = bind_report,
    .choices = comfy_pool_choices,
};

void svc_comfy_workflow_bind(void)
{
    comfyui_set_pool(&POOL_OPS);
}

/* ---- prompts left behind ------------------------------------------------- */

#define MAX_ORPHANS 100

void svc_comfy_sweep_orphans(struct db *d, const char *server_id, const char *url,
                             long timeout_ms)
{
    comfy_prompt_rec *recs = NULL;
    size_t n = 0;
    if (d == NULL)
        return;
    if (repo_comfy_prompt_orphans(d, server_id, MAX_ORPHANS, &recs, &n) != BB_OK) {
        bb_warn("cannot read the ComfyUI prompts left on a server", "server", server_id);
        return;
    }
    struct comfy_opts o = {.connect_timeout_ms = timeout_ms, .timeout_ms = timeout_ms};
    for (size_t i = 0; i < n; i++) {
        const char *id = recs[i].prompt_id;
        char err[256], why[200];
        const char *how = NULL;
        if (comfy_stop_prompt(url, id, &o, &how, err, sizeof err) != COMFY_OK) {
            /* the next time it comes up tries again */
            bb_warn("cannot take a ComfyUI prompt its job left off the server", "server",
                    server_id, "prompt", id, "error", err);
            break;
        }
        snprintf(why, sizeof why, "its job no longer follows it: %s on %s when the server "
                 "came back", how ? how : "no longer queued or running", server_id);
        if (repo_comfy_prompt_update(d, id, "interrupted", why, NULL) != BB_OK)
            bb_warn("could not store a ComfyUI prompt's state", "prompt", id);
        else if (how)
            bb_info("took a prompt its job left off a ComfyUI server", "server", server_id,
                    "prompt", id, "how", how);
    }
    for (size_t i = 0; i < n; i++)
        comfy_prompt_clear(&recs[i]);
    free(recs);
}
