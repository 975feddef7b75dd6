/* comfyui_job.c — GET /jobs/:id/comfyui: the ComfyUI prompts of a job,
 * which server ran each, its node timeline and live sampler progress
 * (docs/comfyui.md, "The job's prompts"; service/comfy_prompts.c builds
 * the document). */
#include "cJSON.h"
#include "http/http.h"
#include "http/http_int.h"
#include "service/comfy_prompts.h"

void route_job_comfyui(http_req *r)
{
    int64_t id;
    if (!http_job_id_or_reply(r, &id))
        return;
    r->job_id = id;
    cJSON *doc = NULL;
    if (svc_comfy_job_prompts(r->app, &r->who, id, &doc, &r->err) != BB_OK) {
        http_reply_failed(r);
        return;
    }
    http_reply_doc(r, 200, doc, NULL);
}
