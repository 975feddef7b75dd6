/* scheduler.h — delayed jobs, dependencies and recurring schedules
 * (docs/scheduling.md): the submit fields runAt / delaySec / dependsOn /
 * runWhen, and the scheduler thread that promotes due scheduled jobs,
 * fires due schedules and wakes the workers when dependencies released a
 * job.  The schedules' API is service/schedules.h. */
#ifndef BB_SCHEDULER_H
#define BB_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/repo_deps.h"
#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* The furthest ahead a job may be scheduled (runAt, delaySec): 366 days. */
#define SCHED_MAX_DELAY_SEC (366LL * 24 * 3600)

/* Room for DEPS_MAX ids joined by commas. */
#define DEPS_TEXT_MAX (DEPS_MAX * 21)

/* The scheduling fields of a submit body, parsed and checked. */
struct sched_submit {
    int64_t run_at;              /* ms; 0 = none */
    char depends_on[DEPS_TEXT_MAX];   /* "12,14", "" = none */
    const char *run_when;        /* static string, NULL = none */
};

/* Parses runAt (ISO-8601 with an offset or Z) or delaySec (seconds, not
 * both), dependsOn (ids of jobs `who` can see) and runWhen from body into
 * *out; field errors in e (runAt, delaySec, dependsOn, runWhen). */
int svc_sched_fields(bb_app *app, const struct principal *who, const struct cJSON *body,
                     struct sched_submit *out, bb_errctx *e);
/* Sets the state (waiting, scheduled or queued), run_at, depends_on and
 * run_when of a new job from s.  BB_OK or BB_EINTERNAL (OOM). */
int svc_sched_apply(const struct sched_submit *s, job *j);

/* The jobs that depend on job id (GET /jobs/:id/dependents): id must be
 * visible to who (else BB_ENOTFOUND), and so is each job listed.  *out:
 * caller clears each and frees the array. */
int svc_job_dependents(bb_app *app, const struct principal *who, int64_t id, job **out,
                       size_t *n, bb_errctx *e);

/* Parses "2026-12-04T10:00:00+01:00" (or Z, fraction of a second
 * allowed) into ms since the epoch; -1 when it is not such a time. */
int bb_parse_iso8601(const char *s, int64_t *ms);

/* The clock schedules run by: the wall clock, or under the test knob
 * BB_TEST_CLOCK="ANCHOR_MS:RATE[:OFFSET_MS]" one that runs RATE times
 * faster from ANCHOR_MS (a schedule firing every minute fires every second
 * at 60), shifted by OFFSET_MS (a restart "hours later"). */
int64_t sched_now(void);

typedef struct sched sched;
/* Starts the scheduler thread for app (after the database and the pool).
 * NULL on failure.  Stop with sched_stop before the pool and the db. */
sched *sched_start(bb_app *app);
/* Makes the thread look again now (a schedule changed). */
void sched_wake(sched *s);
void sched_stop(sched *s);

#endif
