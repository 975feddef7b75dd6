/* noop.c — the `noop` workflow: an attempt that does nothing and
 * succeeds (unless canceled).  For tests and benchmarks: it measures
 * batchbox itself.  The worked example of docs/architecture.md,
 * "Workflows". */
#include "infra/exec/workflow.h"

static enum exec_result noop_run(exec_ctx *ctx)
{
    return atomic_load(ctx->cancel) ? EXEC_CANCELED : EXEC_OK;
}

static const struct workflow_key noop_keys[] = {{NULL, false}};
static const char *const noop_options[] = {NULL};

const struct workflow workflow_noop = {
    .name = "noop",
    .id = BB_WF_NOOP,
    .flags = WF_BATCHABLE | WF_NO_FILES,
    .default_timeout_sec = 0,
    .keys = noop_keys,
    .options = noop_options,
    .run = noop_run,
    .retryable = workflow_retryable_as_reported,
};
