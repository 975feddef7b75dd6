/* comfy_prompts.h — the ComfyUI prompts of a job for its readers
 * (GET /jobs/:id/comfyui; docs/comfyui.md, "The job's prompts"): which
 * server ran each prompt, its state, error, node timeline and live
 * sampler value, from the rows the comfyui workflow writes
 * (infra/db/repo_comfy_prompt.h); and the glue that lets that workflow
 * use the server pool.  Safe from any thread. */
#ifndef BB_SVC_COMFY_PROMPTS_H
#define BB_SVC_COMFY_PROMPTS_H

#include <stdint.h>

#include "service/app.h"
#include "util/err.h"

struct cJSON;
struct principal;

/* {"prompts": [{promptId, attempt, server, state, error, createdAt,
 * updatedAt, nodes, current}]} of job id, oldest first, when who may see
 * it (BB_ENOTFOUND otherwise).  *out: caller frees. */
int svc_comfy_job_prompts(bb_app *app, const struct principal *who, int64_t id,
                          struct cJSON **out, bb_errctx *e);

/* Hands the comfyui workflow module (infra/exec/comfyui.c) the pool's
 * leases, reports and catalogue; called once at start-up before the
 * workers start. */
void svc_comfy_workflow_bind(void);

struct db;
/* Takes off the server that just came up (server_id at url) the prompts
 * batchbox left there and no attempt follows any more (their job ended,
 * or moved on to a newer prompt): interrupted when running, deleted when
 * queued; each row then reads 'interrupted' with the reason.  Stops at
 * the first call that fails (the next come-up tries again).  Runs on a
 * pool health thread; each call waits at most timeout_ms. */
void svc_comfy_sweep_orphans(struct db *d, const char *server_id, const char *url,
                             long timeout_ms);

#endif
