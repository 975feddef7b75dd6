/* schedules.h — recurring schedules (docs/scheduling.md): create, list,
 * change, pause and delete them for their owner, and fire the due ones
 * (called by the scheduler thread, service/scheduler.c). */
#ifndef BB_SCHEDULES_H
#define BB_SCHEDULES_H

#include <stddef.h>
#include <stdint.h>

#include "infra/db/repo_schedule.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* The most schedules one owner may have. */
#define SCHEDULES_MAX 500
/* A due run later than this (schedule clock) counts as missed: it
 * happened while the server was down, and catchUp decides. */
#define SCHEDULE_MISSED_MS 60000

/* POST /schedules {name, cron, timezone?, job, enabled?, overlap?,
 * catchUp?}: validated (job like a submit body, its errors under
 * "job.FIELD"), stored with its nextRunAt.  *out: caller clears. */
int svc_schedule_create(bb_app *app, const struct principal *who, const struct cJSON *body,
                        schedule_rec *out, bb_errctx *e);
/* PATCH /schedules/:id: any of the fields above; enabled false pauses
 * (nextRunAt null), true resumes from now. */
int svc_schedule_patch(bb_app *app, const struct principal *who, int64_t id,
                       const struct cJSON *body, schedule_rec *out, bb_errctx *e);
int svc_schedule_get(bb_app *app, const struct principal *who, int64_t id, schedule_rec *out,
                     bb_errctx *e);
/* *out: caller clears each and frees the array. */
int svc_schedule_list(bb_app *app, const struct principal *who, schedule_rec **out,
                      size_t *n, bb_errctx *e);
int svc_schedule_delete(bb_app *app, const struct principal *who, int64_t id, bb_errctx *e);
/* The DTO of a schedule (caller frees); NULL on OOM. */
struct cJSON *svc_schedule_dto(const schedule_rec *s);

/* Fires every schedule due at `now` (schedule clock): per overlap and
 * catchUp a job is submitted for its owner or the run is skipped (the
 * reason in lastError), and nextRunAt moves on.  Returns how many jobs
 * were submitted. */
int svc_schedules_fire_due(bb_app *app, int64_t now);

#endif
