/* metrics.h — process-wide counters and histograms for GET /metrics: HTTP
 * requests by route template, method and status with a duration histogram
 * per route, and job attempt durations per preset and outcome.  Recording
 * is thread-safe (one mutex, held for a few increments); rendering writes
 * the Prometheus text exposition format.  Gauges read at scrape time (jobs
 * by state, workers, bus, database, process) are rendered by the /metrics
 * handler (src/http/routes/ops.c) with the helpers below. */
#ifndef BB_METRICS_H
#define BB_METRICS_H

#include <stdint.h>

struct buf;

/* Counts one HTTP request.  route: the matched route template ("/jobs/:id"
 * or the web page's catch-all), NULL when no route matched ("unmatched");
 * method is normalized to a known verb (else "OTHER"); duration_us from
 * the start of the request.  Strings are copied. */
void metrics_http_observe(const char *route, const char *method, int status,
                          int64_t duration_us);

/* Counts one finished job attempt of preset (copied) that ran duration_ms.
 * finish_kind is an enum finish_kind (infra/db/repo_job.h); FINISH_REQUEUE
 * (shutdown) is not an outcome and is not counted. */
void metrics_job_finished(const char *preset, int finish_kind, int64_t duration_ms);

/* Appends batchbox_http_requests_total, batchbox_http_request_duration_seconds
 * and batchbox_job_duration_seconds (HELP, TYPE and every series).  0, or
 * -1 when out looks full. */
int metrics_render(struct buf *out);

/* Appends one metric family with a single unlabelled sample:
 * "# HELP name help\n# TYPE name type\nname value\n".  0 or -1. */
int metrics_put_single(struct buf *out, const char *name, const char *type, const char *help,
                       double value);

/* Appends a label value escaped per the text format (backslash, double
 * quote and newline become \\, \" and \n).  0 or -1. */
int metrics_put_label_value(struct buf *out, const char *v);

/* Forgets everything recorded (unit tests). */
void metrics_reset(void);

#endif
