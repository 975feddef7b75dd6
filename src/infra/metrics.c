/* metrics.c — the counters behind GET /metrics (see metrics.h).
 *
 * Two fixed tables guarded by one mutex: HTTP series keyed by (route
 * template, method), each with counts per status and a duration histogram,
 * and job series keyed by (preset, outcome), each a duration histogram.
 * The key sets are bounded (the route table, the configured presets, the
 * HTTP verbs); past the caps a request or job lands in a series labelled
 * "other" instead of growing memory.  Histograms keep per-bucket counts and
 * are made cumulative when rendered, so a scrape never sees a bucket
 * smaller than the one before it. */
#include "infra/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "infra/db/repo_job.h"
#include "util/buf.h"

#define HTTP_SERIES_MAX 160
#define STATUS_SLOTS 24
#define JOB_SERIES_MAX 256
#define LABEL_MAX 96

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double HTTP_BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25,  0.5,    1,     2.5,  5,     10};
static const char *const HTTP_LE[] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                      "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                      "2.5",   "5",      "10"};
#define HTTP_NB (sizeof HTTP_BOUNDS / sizeof HTTP_BOUNDS[0])

static const double JOB_BOUNDS[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
static const char *const JOB_LE[] = {"0.01", "0.05", "0.1", "0.5", "1",   "5",
                                     "10",   "30",   "60",  "300", "900", "3600"};
#define JOB_NB (sizeof JOB_BOUNDS / sizeof JOB_BOUNDS[0])

static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

struct status_count {
    int status;          /* 0 = "other" (the slots ran out) */
    uint64_t n;
};

struct http_series {
    char route[LABEL_MAX];
    const char *method;  /* one of METHODS or "OTHER" */
    struct status_count st[STATUS_SLOTS];
    int nst;
    uint64_t bucket[HTTP_NB + 1];
    double sum_s;
};

struct job_series {
    char preset[LABEL_MAX];
    const char *outcome;
    uint64_t bucket[JOB_NB + 1];
    double sum_s;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct http_series http_tab[HTTP_SERIES_MAX];
static size_t http_n;
static struct job_series job_tab[JOB_SERIES_MAX];
static size_t job_n;

static const char *norm_method(const char *m)
{
    for (size_t i = 0; m && i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (strcmp(m, METHODS[i]) == 0)
            return METHODS[i];
    return "OTHER";
}

static size_t bucket_of(const double *bounds, size_t nb, double v)
{
    size_t i = 0;
    while (i < nb && v > bounds[i])
        i++;
    return i;
}

/* Finds or adds the series (under mu).  The last slot is kept for "other". */
static struct http_series *http_series_for(const char *route, const char *method)
{
    for (size_t i = 0; i < http_n; i++)
        if (http_tab[i].method == method && strcmp(http_tab[i].route, route) == 0)
            return &http_tab[i];
    if (http_n >= HTTP_SERIES_MAX - 1 || strlen(route) >= LABEL_MAX) {
        route = "other";
        method = "OTHER";
        for (size_t i = 0; i < http_n; i++)
            if (http_tab[i].method == method && strcmp(http_tab[i].route, route) == 0)
                return &http_tab[i];
    }
    struct http_series *s = &http_tab[http_n++];
    memset(s, 0, sizeof *s);
    snprintf(s->route, sizeof s->route, "%s", route);
    s->method = method;
    return s;
}

void metrics_http_observe(const char *route, const char *method, int status,
                          int64_t duration_us)
{
    const char *m = norm_method(method);
    double secs = duration_us > 0 ? (double)duration_us / 1e6 : 0.0;
    pthread_mutex_lock(&mu);
    struct http_series *s = http_series_for(route ? route : "unmatched", m);
    int i = 0;
    while (i < s->nst && s->st[i].status != status && s->st[i].status != 0)
        i++;
    if (i == s->nst) {
        if (s->nst == STATUS_SLOTS - 1)
            status = 0;          /* fold further statuses into "other" */
        s->st[i].status = status;
        s->nst++;
    }
    s->st[i].n++;
    s->bucket[bucket_of(HTTP_BOUNDS, HTTP_NB, secs)]++;
    s->sum_s += secs;
    pthread_mutex_unlock(&mu);
}

static const char *outcome_name(int k)
{
    switch ((enum finish_kind)k) {
    case FINISH_SUCCEEDED: return "succeeded";
    case FINISH_FAILED: return "failed";
    case FINISH_RETRY: return "retry";
    case FINISH_CANCELED: return "canceled";
    case FINISH_REQUEUE: return NULL;
    }
    return NULL;
}

void metrics_job_finished(const char *preset, int finish_kind, int64_t duration_ms)
{
    const char *outcome = outcome_name(finish_kind);
    if (!outcome)
        return;
    if (!preset || strlen(preset) >= LABEL_MAX)
        preset = "other";
    double secs = duration_ms > 0 ? (double)duration_ms / 1e3 : 0.0;
    pthread_mutex_lock(&mu);
    struct job_series *s = NULL;
    for (size_t i = 0; i < job_n && !s; i++)
        if (job_tab[i].outcome == outcome && strcmp(job_tab[i].preset, preset) == 0)
            s = &job_tab[i];
    if (!s && job_n >= JOB_SERIES_MAX - 4) {
        /* the last slots are kept for "other" (one per outcome) */
        preset = "other";
        for (size_t i = 0; i < job_n && !s; i++)
            if (job_tab[i].outcome == outcome && strcmp(job_tab[i].preset, preset) == 0)
                s = &job_tab[i];
    }
    if (!s) {
        s = &job_tab[job_n++];
        memset(s, 0, sizeof *s);
        snprintf(s->preset, sizeof s->preset, "%s", preset);
        s->outcome = outcome;
    }
    s->bucket[bucket_of(JOB_BOUNDS, JOB_NB, secs)]++;
    s->sum_s += secs;
    pthread_mutex_unlock(&mu);
}

int metrics_put_label_value(buf *out, const char *v)
{
    int rc = 0;
    for (const char *p = v; *p && rc == 0; p++) {
        if (*p == '\\')
            rc = buf_puts(out, "\\\\");
        else if (*p == '"')
            rc = buf_puts(out, "\\\"");
        else if (*p == '\n')
            rc = buf_puts(out, "\\n");
        else
            rc = buf_append(out, p, 1);
    }
    return rc;
}

int metrics_put_single(buf *out, const char *name, const char *type, const char *help,
                       double value)
{
    return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                      name, value);
}

/* {route="...",method="..." — the common label prefix of an HTTP series
 * (without the closing brace). */
static int put_http_labels(buf *out, const char *name, const void *series)
{
    const struct http_series *s = series;
    int rc = buf_printf(out, "%s{route=\"", name);
    rc |= metrics_put_label_value(out, s->route);
    rc |= buf_printf(out, "\",method=\"%s\"", s->method);
    return rc;
}

static int put_job_labels(buf *out, const char *name, const void *series)
{
    const struct job_series *s = series;
    int rc = buf_printf(out, "%s{preset=\"", name);
    rc |= metrics_put_label_value(out, s->preset);
    rc |= buf_printf(out, "\",outcome=\"%s\"", s->outcome);
    return rc;
}

/* One series of histogram name: name_bucket (cumulative, one line per
 * bound in le[0..nb) and +Inf), name_sum (sum_digits decimals) and
 * name_count, each with the labels that labels() writes for series. */
static int put_histogram(buf *out, const char *name,
                         int (*labels)(buf *, const char *, const void *), const void *series,
                         const uint64_t *bucket, size_t nb, const char *const *le,
                         int sum_digits, double sum)
{
    char metric[128];
    uint64_t cum = 0;
    int rc = 0;

    snprintf(metric, sizeof metric, "%s_bucket", name);
    for (size_t b = 0; b <= nb; b++) {
        cum += bucket[b];
        rc |= labels(out, metric, series);
        rc |= buf_printf(out, ",le=\"%s\"} %llu\n", b < nb ? le[b] : "+Inf",
                         (unsigned long long)cum);
    }
    snprintf(metric, sizeof metric, "%s_sum", name);
    rc |= labels(out, metric, series);
    rc |= buf_printf(out, "} %.*f\n", sum_digits, sum);
    snprintf(metric, sizeof metric, "%s_count", name);
    rc |= labels(out, metric, series);
    rc |= buf_printf(out, "} %llu\n", (unsigned long long)cum);
    return rc;
}

static int render_http(buf *out)
{
    int rc = buf_puts(out, "# HELP batchbox_http_requests_total HTTP requests answered, by route "
                           "template, method and status.\n"
                           "# TYPE batchbox_http_requests_total counter\n");
    for (size_t i = 0; i < http_n && rc == 0; i++) {
        const struct http_series *s = &http_tab[i];
        for (int k = 0; k < s->nst; k++) {
            rc |= put_http_labels(out, "batchbox_http_requests_total", s);
            if (s->st[k].status)
                rc |= buf_printf(out, ",status=\"%d\"} %llu\n", s->st[k].status,
                                 (unsigned long long)s->st[k].n);
            else
                rc |= buf_printf(out, ",status=\"other\"} %llu\n", (unsigned long long)s->st[k].n);
        }
    }
    rc |= buf_puts(out, "# HELP batchbox_http_request_duration_seconds Time from the start of a "
                        "request to the end of its answer, by route template and method.\n"
                        "# TYPE batchbox_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < http_n && rc == 0; i++)
        rc |= put_histogram(out, "batchbox_http_request_duration_seconds", put_http_labels,
                            &http_tab[i], http_tab[i].bucket, HTTP_NB, HTTP_LE, 9,
                            http_tab[i].sum_s);
    return rc;
}

static int render_jobs(buf *out)
{
    int rc = buf_puts(out, "# HELP batchbox_job_duration_seconds Run time of finished job "
                           "attempts, by preset and outcome (retry = failed, queued again).\n"
                           "# TYPE batchbox_job_duration_seconds histogram\n");
    for (size_t i = 0; i < job_n && rc == 0; i++)
        rc |= put_histogram(out, "batchbox_job_duration_seconds", put_job_labels, &job_tab[i],
                            job_tab[i].bucket, JOB_NB, JOB_LE, 6, job_tab[i].sum_s);
    return rc;
}

int metrics_render(buf *out)
{
    pthread_mutex_lock(&mu);
    int rc = render_http(out);
    rc |= render_jobs(out);
    pthread_mutex_unlock(&mu);
    return rc ? -1 : 0;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    http_n = 0;
    job_n = 0;
    pthread_mutex_unlock(&mu);
}
