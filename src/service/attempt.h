/* attempt.h — one attempt of a claimed job, the same for every workflow:
 * stage the input, call the preset's workflow (infra/exec/workflow.h),
 * batch its log lines and progress into the database, scan and store the
 * files it left as artifacts, copy them to S3, keep what it records, and
 * apply the retry policy.  The worker pool (infra/workers/pool.c) calls it
 * through its `run` hook and knows nothing of this.  Runs on worker
 * threads; each call owns only its own state.  See docs/architecture.md,
 * "Workflows". */
#ifndef BB_SVC_ATTEMPT_H
#define BB_SVC_ATTEMPT_H

#include <stdatomic.h>

#include "infra/workers/pool.h"
#include "service/app.h"

/* Starts app's worker pool (n workers) with the attempt service as its
 * run hook; NULL on failure.  Stop it with pool_stop. */
pool *svc_workers_start(bb_app *app, int n);

/* The pool's run hook (ud is the bb_app): runs one attempt of j and fills
 * *out; out->owned is freed by svc_attempt_result_free. */
void svc_attempt_run(void *ud, const job *j, atomic_bool *cancel, const atomic_bool *shutdown,
                     struct pool_result *out);
void svc_attempt_result_free(void *owned);

/* Start-up, before interrupted jobs are requeued: ends the process groups
 * of attempts the previous server left running (exec_end_orphan_group)
 * and removes their attempt folders.  BB_OK or a database error. */
int svc_attempt_end_orphans(bb_app *app);

#endif
