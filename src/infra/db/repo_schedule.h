/* repo_schedule.h — SQL for recurring schedules (docs/scheduling.md): a
 * cron expression in a time zone that submits a stored job body.  Writes
 * are operations on the db writer thread; reads borrow a reader. */
#ifndef BB_REPO_SCHEDULE_H
#define BB_REPO_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* One schedule.  Strings owned by the record (schedule_rec_clear).  Times
 * are ms since the epoch; 0 = none. */
typedef struct schedule_rec {
    int64_t id, owner_id;          /* owner 0 = none (no accounts) */
    char *name, *cron, *timezone;
    char *job;                     /* the submit body, JSON object text */
    bool enabled;
    char *overlap;                 /* "skip" | "queue" */
    char *catch_up;                /* "none" | "one" */
    int64_t next_run_at;           /* 0 while paused */
    int64_t last_run_at, last_job_id;
    char *last_error;              /* why the last due run made no job, or NULL */
    int64_t created_at, updated_at;
} schedule_rec;

void schedule_rec_clear(schedule_rec *s);

/* Inserts s (s->id and times are filled in). */
int repo_schedule_insert(db *d, schedule_rec *s);
/* Writes every field of s but id, owner, created_at and the last_* ones,
 * if the schedule is still there: BB_ENOTFOUND otherwise. */
int repo_schedule_update(db *d, schedule_rec *s);
/* Deletes schedule id visible to owner_scope (0 = any); BB_ENOTFOUND. */
int repo_schedule_delete(db *d, int64_t id, int64_t owner_scope);
/* What a due run did: next_run_at moves from `was` to `next` (if no
 * PATCH moved it meanwhile: then nothing changes and BB_ESTATE), and
 * last_run_at / last_job_id (when job_id is not 0) / last_error are set. */
int repo_schedule_ran(db *d, int64_t id, int64_t was, int64_t next, int64_t ran_at,
                      int64_t job_id, const char *error);

/* One schedule visible to owner_scope (caller clears *out); BB_ENOTFOUND. */
int repo_schedule_get(db *d, int64_t id, int64_t owner_scope, schedule_rec *out);
/* The schedules visible to owner_scope by id, at most max (caller clears
 * each and frees the array). */
int repo_schedule_list(db *d, int64_t owner_scope, size_t max, schedule_rec **out,
                       size_t *n);
/* Enabled schedules with next_run_at <= now, earliest first, at most max. */
int repo_schedule_due(db *d, int64_t now, size_t max, schedule_rec **out, size_t *n);
/* The earliest next_run_at of an enabled schedule into *at (0 = none). */
int repo_schedule_next_due(db *d, int64_t *at);

#endif
