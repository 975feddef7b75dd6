/* test_metrics.c — src/infra/metrics.c: label escaping, the rendered
 * series and their values, cumulative histogram buckets, and the caps that
 * keep the series tables bounded. */
#define UNIT_MAIN
#include "unit.h"

#include "infra/db/repo_job.h"
#include "infra/metrics.h"
#include "util/buf.h"

static char *render(void)
{
    buf b;
    buf_init(&b, 8u << 20);
    if (metrics_render(&b) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* The value of the sample line starting with `series ` (NULL-safe); -1 if
 * the line is absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

TEST(label_values_are_escaped)
{
    buf b;
    buf_init(&b, 1024);
    CHECK(metrics_put_label_value(&b, "a\\b\"c\nd") == 0);
    CHECK_STR_EQ(b.data, "a\\\\b\\\"c\\nd");
    buf_free(&b);
}

TEST(http_requests_are_counted_by_route_method_and_status)
{
    metrics_reset();
    metrics_http_observe("/jobs", "POST", 202, 1500);
    metrics_http_observe("/jobs", "POST", 202, 3000);
    metrics_http_observe("/jobs", "POST", 400, 20000000);
    metrics_http_observe(NULL, "BREW", 404, 10);
    char *t = render();
    CHECK(t != NULL);
    CHECK(sample(t, "batchbox_http_requests_total{route=\"/jobs\",method=\"POST\",status=\"202\"}") == 2);
    CHECK(sample(t, "batchbox_http_requests_total{route=\"/jobs\",method=\"POST\",status=\"400\"}") == 1);
    CHECK(sample(t, "batchbox_http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"}") == 1);
    /* buckets are cumulative: 1.5 ms and 3 ms are <= 5 ms, 20 s only in +Inf */
    const char *h = "batchbox_http_request_duration_seconds";
    char name[256];
    snprintf(name, sizeof name, "%s_bucket{route=\"/jobs\",method=\"POST\",le=\"0.001\"}", h);
    CHECK(sample(t, name) == 0);
    snprintf(name, sizeof name, "%s_bucket{route=\"/jobs\",method=\"POST\",le=\"0.0025\"}", h);
    CHECK(sample(t, name) == 1);
    snprintf(name, sizeof name, "%s_bucket{route=\"/jobs\",method=\"POST\",le=\"0.005\"}", h);
    CHECK(sample(t, name) == 2);
    snprintf(name, sizeof name, "%s_bucket{route=\"/jobs\",method=\"POST\",le=\"10\"}", h);
    CHECK(sample(t, name) == 2);
    snprintf(name, sizeof name, "%s_bucket{route=\"/jobs\",method=\"POST\",le=\"+Inf\"}", h);
    CHECK(sample(t, name) == 3);
    snprintf(name, sizeof name, "%s_count{route=\"/jobs\",method=\"POST\"}", h);
    CHECK(sample(t, name) == 3);
    snprintf(name, sizeof name, "%s_sum{route=\"/jobs\",method=\"POST\"}", h);
    double sum = sample(t, name);
    CHECK(sum > 20.0044 && sum < 20.0046);
    CHECK(strstr(t, "# TYPE batchbox_http_requests_total counter\n") != NULL);
    CHECK(strstr(t, "# TYPE batchbox_http_request_duration_seconds histogram\n") != NULL);
    free(t);
}

TEST(job_durations_by_preset_and_outcome)
{
    metrics_reset();
    metrics_job_finished("noop", FINISH_SUCCEEDED, 3);
    metrics_job_finished("noop", FINISH_SUCCEEDED, 70000);
    metrics_job_finished("fail", FINISH_RETRY, 200);
    metrics_job_finished("noop", FINISH_REQUEUE, 5);   /* not an outcome */
    char *t = render();
    CHECK(t != NULL);
    CHECK(sample(t, "batchbox_job_duration_seconds_count{preset=\"noop\",outcome=\"succeeded\"}") == 2);
    CHECK(sample(t, "batchbox_job_duration_seconds_bucket{preset=\"noop\",outcome=\"succeeded\",le=\"0.01\"}") == 1);
    CHECK(sample(t, "batchbox_job_duration_seconds_bucket{preset=\"noop\",outcome=\"succeeded\",le=\"60\"}") == 1);
    CHECK(sample(t, "batchbox_job_duration_seconds_bucket{preset=\"noop\",outcome=\"succeeded\",le=\"300\"}") == 2);
    CHECK(sample(t, "batchbox_job_duration_seconds_count{preset=\"fail\",outcome=\"retry\"}") == 1);
    CHECK(strstr(t, "outcome=\"requeue\"") == NULL);
    free(t);
}

TEST(series_tables_are_bounded)
{
    metrics_reset();
    char route[32], preset[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        metrics_http_observe(route, "GET", 200 + i % 300, 1);
        snprintf(preset, sizeof preset, "p%d", i);
        metrics_job_finished(preset, FINISH_SUCCEEDED, 1);
    }
    char *t = render();
    CHECK(t != NULL);
    /* every request and job is still counted, the excess under "other" */
    CHECK(sample(t, "batchbox_http_request_duration_seconds_count{route=\"other\",method=\"OTHER\"}") > 0);
    CHECK(sample(t, "batchbox_job_duration_seconds_count{preset=\"other\",outcome=\"succeeded\"}") > 0);
    CHECK(strlen(t) < (2u << 20));
    free(t);
    metrics_reset();
}
