/* ops.c — operations routes: GET /health (reads, the writer's state with a
 * write probe, free disk space: docs/operations.md, "Health"), GET
 * /metrics (Prometheus text format) and GET /openapi.json (the API
 * described from the route table).
 *
 * /metrics is PERM_PUBLIC in the route table because the router only knows
 * access tokens: this handler admits an admin (Bearer token or cookie), or
 * `Authorization: Bearer <metrics.token>` when that is configured, and
 * answers 401 / 403 like the router otherwise. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "domain/job.h"
#include "http/conn_guard.h"
#include "http/http.h"
#include "http/hub.h"
#include "infra/metrics.h"
#include "service/comfy_pool.h"
#include "service/stats.h"
#include "util/buf.h"
#include "util/util.h"

#define METRICS_MAX_BYTES (4u << 20)

/* True if the request carries the configured metrics token.  Both sides are
 * hashed first so the comparison takes the same time whatever the lengths. */
static bool has_metrics_token(http_req *r)
{
    const char *want = r->app->cfg->metrics.token;
    const char *h = http_header(r, "Authorization");
    if (!want || !*want || !h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *got = h + 7;
    while (*got == ' ')
        got++;
    unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
    if (crypto_generichash(a, sizeof a, (const unsigned char *)got, strlen(got), NULL, 0) != 0 ||
        crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want), NULL, 0) != 0)
        return false;
    return sodium_memcmp(a, b, sizeof a) == 0;
}

/* Resident set size in bytes from /proc/self/statm; -1 if unreadable. */
static double process_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (double)resident * (double)page : -1;
}

/* Open file descriptors (entries of /proc/self/fd); -1 if unreadable. */
static double process_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return (double)n;
}

void route_health(http_req *r)
{
    struct health_report h;
    svc_health_report(r->app, true, &h);
    struct hub_stats hs = {0};
    if (r->app->hub)
        hub_get_stats(r->app->hub, &hs);
    bool ok = h.db_ok && h.writable;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "db", h.db_ok ? "ok" : "error");
    cJSON_AddStringToObject(o, "writes", h.writable ? "ok" : "failing");
    if (!ok)
        cJSON_AddStringToObject(o, "reason", h.reason);
    cJSON_AddBoolToObject(o, "diskFull", h.disk_full);
    if (h.disk_free_bytes >= 0)
        cJSON_AddNumberToObject(o, "diskFreeBytes", (double)h.disk_free_bytes);
    if (h.last_write_error[0]) {
        char t[32];
        cJSON *le = cJSON_AddObjectToObject(o, "lastWriteError");
        bb_iso8601(h.last_write_error_ms, t);
        cJSON_AddStringToObject(le, "message", h.last_write_error);
        cJSON_AddStringToObject(le, "at", t);
    } else {
        cJSON_AddNullToObject(o, "lastWriteError");
    }
    cJSON_AddStringToObject(o, "version", BB_VERSION);
    /* the web UI shows first-run setup instead of sign-in while this holds */
    cJSON_AddBoolToObject(o, "setupRequired", atomic_load(&r->app->setup_open));
    http_reply_doc(r, ok ? 200 : 503, o, "Cache-Control: no-store\r\n");
}

/* The scrape-time gauges: jobs, workers, bus, database, process. */
static int put_gauges(http_req *r, buf *b)
{
    struct ops_gauges g;
    if (svc_ops_gauges(r->app, &g, &r->err) != BB_OK)
        return -1;
    struct health_report h;
    svc_health_report(r->app, true, &h);
    struct hub_stats hs = {0};
    if (r->app->hub)
        hub_get_stats(r->app->hub, &hs);
    int rc = buf_puts(b, "# HELP batchbox_jobs Jobs in the database by state.\n"
                         "# TYPE batchbox_jobs gauge\n");
    for (int s = JOB_QUEUED; s < JOB_NSTATES; s++)
        rc |= buf_printf(b, "batchbox_jobs{state=\"%s\"} %lld\n",
                         job_state_name((enum job_state)s), (long long)g.jobs_by_state[s]);
    rc |= buf_puts(b, "# HELP batchbox_resource_units Units of each resource pool.\n"
                      "# TYPE batchbox_resource_units gauge\n");
    for (size_t i = 0; i < g.npools; i++)
        rc |= buf_printf(b, "batchbox_resource_units{pool=\"%s\",state=\"used\"} %lld\n"
                            "batchbox_resource_units{pool=\"%s\",state=\"free\"} %lld\n",
                         g.pools[i].name, (long long)g.pools[i].used, g.pools[i].name,
                         (long long)(g.pools[i].total - g.pools[i].used));
    rc |= buf_printf(b, "# HELP batchbox_worker_threads Worker threads by activity.\n"
                        "# TYPE batchbox_worker_threads gauge\n"
                        "batchbox_worker_threads{state=\"busy\"} %d\n"
                        "batchbox_worker_threads{state=\"idle\"} %d\n",
                     g.workers_busy, g.workers_total - g.workers_busy);
    /* single-valued series; a negative process figure could not be read */
    const struct {
        const char *name, *type, *help;
        double value;
    } singles[] = {
        {"batchbox_queue_depth", "gauge", "Queued jobs waiting for a worker.",
         (double)g.jobs_by_state[JOB_QUEUED]},
        /* the hub's streams: in-process bus subscribers (the webhook
         * dispatcher) are not SSE clients */
        {"batchbox_sse_subscribers", "gauge", "Open live-event and log-follow streams.",
         (double)hs.subscribers},
        {"batchbox_event_bus_drops_total", "counter",
         "Event-stream subscribers dropped for falling too far behind.",
         (double)g.event_bus_drops},
        {"batchbox_event_bus_published_total", "counter", "Events published on the event bus.",
         (double)g.events_published},
        {"batchbox_hub_subscribers", "gauge",
         "Live streams (events and log follows) held by the stream hub.",
         (double)hs.subscribers},
        {"batchbox_hub_streams_total", "counter",
         "Streams handed from civetweb to the stream hub since start.", (double)hs.adopted},
        {"batchbox_hub_drops_total", "counter",
         "Hub streams dropped for falling a whole event ring behind.", (double)hs.drops},
        {"batchbox_hub_hangups_total", "counter",
         "Hub streams closed because the client went away.", (double)hs.hangups},
        {"batchbox_hub_session_ends_total", "counter",
         "Hub streams closed because their session ended or their token expired.",
         (double)hs.ended},
        {"batchbox_sqlite_wal_bytes", "gauge", "Size of the SQLite write-ahead log file.",
         (double)g.wal_bytes},
        {"batchbox_sqlite_checkpoints_total", "counter",
         "Automatic WAL checkpoints run since start.", (double)g.checkpoints},
        {"batchbox_sqlite_checkpoint_errors_total", "counter",
         "Automatic WAL checkpoints that failed since start.", (double)g.checkpoint_errors},
        {"batchbox_db_writable", "gauge",
         "1 if the database write probe passes, 0 if writes fail (see /health).",
         h.writable ? 1.0 : 0.0},
        {"batchbox_disk_full", "gauge", "1 if the database cannot grow: the disk is full.",
         h.disk_full ? 1.0 : 0.0},
        {"batchbox_db_write_errors_total", "counter",
         "Database write batches that met a storage error (full, I/O, read-only).",
         (double)h.write_errors},
        {"batchbox_disk_free_bytes", "gauge", "Free space for the data directory's database.",
         (double)h.disk_free_bytes},
        {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         process_rss()},
        {"process_open_fds", "gauge", "Number of open file descriptors.", process_open_fds()},
        {"process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch in seconds.",
         (double)r->app->started_ms / 1000.0},
    };
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++)
        if (singles[i].value >= 0)
            rc |= metrics_put_single(b, singles[i].name, singles[i].type, singles[i].help,
                                     singles[i].value);
    rc |= http_integ_metrics(r->app, b);    /* retention, webhooks (docs/operations.md) */
    rc |= conn_guard_metrics(b);        /* slow clients, connection cap */
    rc |= buf_puts(b, "# HELP batchbox_build_info The running version (value 1).\n"
                      "# TYPE batchbox_build_info gauge\n"
                      "batchbox_build_info{version=\"");
    rc |= metrics_put_label_value(b, BB_VERSION);
    rc |= buf_puts(b, "\"} 1\n");
    return rc ? -1 : 0;
}

void route_metrics(http_req *r)
{
    if (!r->who.admin && !has_metrics_token(r)) {
        if (r->who.user_id)
            http_reply_error(r, BB_EFORBIDDEN,
                             "metrics need an admin account or the metrics token");
        else
            http_reply_error(r, BB_EAUTH,
                             "sign in as an admin, or send Authorization: Bearer <metrics.token>");
        return;
    }
    buf b;
    buf_init(&b, METRICS_MAX_BYTES);
    if (put_gauges(r, &b) != 0 || metrics_render(&b) != 0 ||
        comfy_pool_metrics(&b) != 0) {
        buf_free(&b);
        http_reply_error(r, BB_EIO, "could not collect the metrics");
        return;
    }
    http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                     b.len, "Cache-Control: no-store\r\n");
    buf_free(&b);
}

void route_openapi(http_req *r)
{
    http_reply_doc(r, 200, http_openapi_doc(), NULL);
}
