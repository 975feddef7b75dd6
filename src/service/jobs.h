/* jobs.h — job use cases: submit, read, list, actions.  One submit path
 * serves the HTTP API, the CLI `run` command and tests.  Validation
 * reports every bad field (bb_errctx.fields). */
#ifndef BB_SVC_JOBS_H
#define BB_SVC_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/repo_job.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* Builds a job from a submit body (docs/api.md), validated against the
 * configuration: fills *out (caller clears with job_clear) or records
 * field errors in e.  Resolves md inside the input root. */
int svc_job_from_request(const bb_app *app, const struct cJSON *body, job *out,
                         bb_errctx *e);

/* Checks a job's params object `in` (NULL = {}) against preset p
 * (docs/parameters.md): types, ranges, choices, patterns, required ones,
 * the dash rule, `file` values (an upload id the caller may read — who
 * NULL: not checked yet — or a file in the input root); fills defaults and
 * draws random seeds.  *out: the resolved typed values (caller frees with
 * cJSON_Delete), or NULL with field errors "params.NAME" in e.  For the
 * batch service too: call it once per child. */
int svc_params_resolve(const bb_app *app, const struct principal *who, const bb_preset *p,
                       const struct cJSON *in, struct cJSON **out, bb_errctx *e);

/* Validates and queues a job.  raw/raw_len is the request body, hashed for
 * Idempotency-Key comparison (may be NULL when idem_key is NULL).
 * *id receives the job id; *existed says an idempotent repeat matched. */
int svc_job_submit(bb_app *app, const struct principal *who, const struct cJSON *body,
                   const char *idem_key, const char *raw, size_t raw_len, int64_t *id,
                   bool *existed, bb_errctx *e);

/* BB_ETOOLARGE (413) once who's uploads, job artifacts and log bytes
 * reach limits.userQuotaBytes (docs/operations.md); BB_OK otherwise. */
int svc_job_quota_check(bb_app *app, const struct principal *who, bb_errctx *e);
/* Checks that the upload a job reads (j->file_id, if any) exists and is
 * visible to who, else a field error on `field`; and so are the uploads
 * its `file` params name (errors on params.NAME). */
int svc_job_check_upload(bb_app *app, const struct principal *who, const job *j,
                         const char *field, bb_errctx *e);
/* Maps a repository error of a submit to the caller's error (BB_ECONFLICT:
 * an Idempotency-Key reused with another body). */
int svc_store_error(bb_errctx *e, int rc);

/* Resolves md (relative to inputRoot, or absolute) to the real path of a
 * regular file inside the input root.  Returns a malloc'd path (caller
 * frees) or NULL with a field error on "md". */
char *svc_resolve_input(const bb_config *cfg, const char *md, bb_errctx *e);

int svc_job_get(bb_app *app, const struct principal *who, int64_t id, job *out,
                bb_errctx *e);

/* Parses list query values (strings may be NULL) into a filter; field
 * errors for bad state/limit/cursor. */
int svc_job_filter(const bb_app *app, const struct principal *who, const char *state,
                   const char *preset, const char *q, const char *limit,
                   const char *cursor, struct job_filter *f, bb_errctx *e);

/* Runs a job action (docs/api.md, "Actions") through its row of the action
 * table in jobs.c.  On success *reply is the response body (caller frees)
 * and *status 200 or 202; a state the action is not allowed in is
 * BB_ESTATE "action \"X\" is not allowed in state Y (only in ...)". */
int svc_job_action(bb_app *app, const struct principal *who, int64_t id,
                   const struct cJSON *body, struct cJSON **reply, int *status,
                   bb_errctx *e);

/* The action table, read-only (for tests and callers that list actions):
 * the type of the i-th action (NULL past the end); whether the action is
 * allowed in state s (false for an unknown type); the state it moves the
 * job to (-1 none, -2 unknown type). */
const char *svc_job_action_name(size_t i);
bool svc_job_action_allowed(const char *type, enum job_state s);
int svc_job_action_target(const char *type);
/* The states action `type` is allowed in (0 for an unknown action): bulk
 * actions by filter act on exactly these. */
job_state_set svc_job_action_states(const char *type);

/* The /config/job-options document (caller frees); supportedActions lists
 * the action table with each action's allowedStates. */
struct cJSON *svc_job_options(const bb_app *app);

#endif
