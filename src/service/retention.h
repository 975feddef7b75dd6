/* retention.h — deleting finished jobs after their retention time
 * (docs/operations.md, "Retention"): a collector thread that runs every
 * retention.intervalSec, POST /admin/gc and `batchbox gc`. */
#ifndef BB_RETENTION_H
#define BB_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "service/app.h"
#include "util/err.h"

/* What one pass found or did. */
struct retention_result {
    int64_t jobs;            /* jobs deleted (with dry_run: that would be) */
    int64_t events;          /* event-log rows deleted (0 with dry_run) */
    int64_t log_bytes;       /* log bytes freed */
    int64_t artifact_bytes;  /* artifact bytes freed (local files and S3 objects) */
    int64_t objects_failed;  /* artifacts whose file or object could not be removed */
};

/* Cumulative counters since start-up (GET /admin/stats, /metrics). */
struct retention_totals {
    uint64_t runs, jobs, events, bytes;
    int64_t last_run_ms;     /* 0 = never */
};

/* Starts the collector thread (app->retention).  0, or -1. */
int svc_retention_start(bb_app *app);
/* Stops and joins it (before the database closes); NULL-safe. */
void svc_retention_stop(bb_app *app);

/* One full pass now, in batches of retention.batchSize jobs per write
 * transaction.  dry_run: only counts.  Passes are serialized (the thread
 * and the route share a mutex).  BB_OK or an error. */
int svc_retention_run(bb_app *app, bool dry_run, struct retention_result *out, bb_errctx *e);

/* The counters (zeros when the collector is not running). */
void svc_retention_totals(bb_app *app, struct retention_totals *out);

#endif
