/* stats.h — figures about the running appliance: the admin statistics
 * (GET /admin/stats), the scrape-time gauges of GET /metrics and the
 * health check.  Plain values; the HTTP routes render them. */
#ifndef BB_STATS_H
#define BB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/job.h"
#include "service/app.h"
#include "service/flow.h"
#include "util/err.h"

/* Duration percentiles of one preset's jobs that succeeded in the last 24 h. */
struct preset_durations {
    char *preset;            /* owned */
    size_t count;
    int64_t p50_ms, p95_ms;
};

struct admin_stats {
    int64_t jobs_by_state[JOB_NSTATES];        /* indexed by enum job_state */
    int64_t hour_start_ms;           /* start of the first of the 24 hours */
    int64_t jobs_per_hour[24];
    struct preset_durations *durations;   /* owned (admin_stats_clear) */
    size_t ndurations;
    int workers_busy, workers_total;
    size_t event_subscribers;
    uint64_t event_bus_drops;
    int64_t uptime_sec, database_bytes, artifacts_bytes, users;
    struct pool_use pools[BB_MAX_POOLS];  /* resource pools in use (docs/scheduling.md) */
    size_t npools;
};

/* Collects the admin statistics.  BB_OK, or BB_EIO with e set; clear *out
 * with admin_stats_clear either way. */
int svc_admin_stats(bb_app *app, struct admin_stats *out, bb_errctx *e);
void admin_stats_clear(struct admin_stats *s);

/* The gauges read at each metrics scrape. */
struct ops_gauges {
    int64_t jobs_by_state[JOB_NSTATES];
    int workers_busy, workers_total;
    size_t event_subscribers;
    uint64_t event_bus_drops, events_published;
    int64_t wal_bytes;
    uint64_t checkpoints, checkpoint_errors;
    struct pool_use pools[BB_MAX_POOLS];
    size_t npools;
};
/* BB_OK, or BB_EIO with e set. */
int svc_ops_gauges(bb_app *app, struct ops_gauges *out, bb_errctx *e);

/* Whether the database answers (GET /health). */
bool svc_health(bb_app *app);

/* The health report of GET /health and GET /metrics (docs/operations.md,
 * "Health"): reads, the writer's state and a write probe, free space. */
struct health_report {
    bool db_ok;                   /* the database answers reads */
    bool writable;                /* the write probe passed (or was not run) */
    bool disk_full;               /* the probe or the last write error said "full" */
    char reason[256];             /* why not healthy; "" when healthy */
    char last_write_error[200];   /* the last storage error, "" = none since start */
    int64_t last_write_error_ms;  /* 0 = none */
    int64_t last_write_ok_ms;     /* the last commit that succeeded */
    uint64_t write_errors;        /* write batches that met a storage error */
    int64_t disk_free_bytes;      /* -1 = unknown */
};
/* Fills *out; with probe, runs the write probe first. */
void svc_health_report(bb_app *app, bool probe, struct health_report *out);

#endif
