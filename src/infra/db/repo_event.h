/* repo_event.h — SQL for the two append-only logs of a job: the event log
 * (job_events: what SSE clients replay with Last-Event-ID, trimmed to the
 * newest N) and the output lines (job_logs).  Appends are writes on the db
 * writer thread; reads borrow a read connection. */
#ifndef BB_REPO_EVENT_H
#define BB_REPO_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

struct log_line {
    const char *stream;
    const char *text;
    int64_t ts;
};
/* Appends log lines of one attempt and logs a job_log event per line. */
int repo_job_append_logs(db *d, int64_t id, int attempt,
                         const struct log_line *lines, size_t n);
/* The same with the job's log capped at cap bytes of line text over all
 * its attempts (0 = no cap; jobs.log_bytes counts them): the first line
 * that does not fit is replaced by one system line saying the log was
 * truncated, and every later line is dropped. */
int repo_job_append_logs_capped(db *d, int64_t id, int attempt,
                                const struct log_line *lines, size_t n, int64_t cap);

/* Deletes events older than the newest `retain`. */
int repo_events_trim(db *d, int64_t retain, int64_t *deleted);

/* Calls fn for each logged event with after_id < id <= upto_id that
 * matches (owner_scope 0 = all; job_id 0 = all; logs = include job_log),
 * in id order.  fn returns non-zero to stop.  type and payload are
 * borrowed for the call. */
int repo_events_replay(db *d, int64_t after_id, int64_t upto_id,
                       int64_t owner_scope, int64_t job_id, bool logs,
                       int (*fn)(void *ud, int64_t id, const char *type,
                                 const char *payload),
                       void *ud);

/* Calls fn for each log line of job id with log id > after, up to limit
 * lines; *last receives the id of the last line given (or after). */
int repo_job_logs(db *d, int64_t id, int64_t after, int limit,
                  int (*fn)(void *ud, const char *stream, const char *line),
                  void *ud, int64_t *last);

/* Id of the newest event in the log (0 when empty). */
int repo_events_max_id(db *d, int64_t *id);

/* Starts an event id epoch (start-up, before the first event): raises the
 * job_events id sequence to hint (the clock in microseconds) when it is
 * below, remembering the gap (the newest id then, hint], so ids never go
 * backwards even on a restored backup.  *floor: the sequence now.
 * docs/operations.md, "Event ids across restores". */
int repo_events_new_epoch(db *d, int64_t hint, int64_t *floor);
/* Whether id lies in an epoch's gap: an id no event of this database has,
 * handed out by a timeline a restore replaced. */
int repo_events_id_lost(db *d, int64_t id, bool *lost);

#endif
