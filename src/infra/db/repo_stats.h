/* repo_stats.h — read-only aggregate queries over jobs and artifacts for
 * /metrics and the admin statistics.  Each borrows a read connection. */
#ifndef BB_REPO_STATS_H
#define BB_REPO_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "infra/db/db.h"

/* Jobs per state, indexed by enum job_state (queue depth, running, ...). */
int repo_job_counts(db *d, int64_t counts[JOB_NSTATES]);

/* Jobs created in each of the 24 hours before `now` (index 23 = the hour
 * containing now); uses jobs_created. */
int repo_stats_jobs_per_hour(db *d, int64_t now, int64_t counts[24]);
/* Durations (ms) of jobs that succeeded since `since`, grouped by preset in
 * ascending duration order: fn is called once per preset with its sorted
 * durations (borrowed for the call).  Uses jobs_finished. */
int repo_stats_durations(db *d, int64_t since,
                         void (*fn)(void *ud, const char *preset, const int64_t *ms, size_t n),
                         void *ud);
/* Bytes of the database file(s) and the sum of artifact sizes. */
int repo_stats_sizes(db *d, int64_t *db_bytes, int64_t *artifact_bytes);

#endif
