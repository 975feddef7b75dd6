/* repo_stats.c — aggregate reads over jobs and artifacts for /metrics and
 * the admin statistics (see repo_stats.h).  Each function borrows one read
 * connection for its queries. */
#include "infra/db/repo_stats.h"

#include <stdlib.h>
#include <string.h>

#include "domain/job.h"
#include "util/err.h"
#include "util/util.h"

static const char SQL_COUNTS[] = "SELECT state, count(*) FROM jobs GROUP BY state";

static int count_state(void *ud, db_q *q)
{
    int64_t *counts = ud;
    enum job_state js;
    if (job_state_parse(db_col_text(q, 0), &js) == 0)
        counts[js] = db_col_i64(q, 1);
    return BB_OK;
}

int repo_job_counts(db *d, int64_t counts[JOB_NSTATES])
{
    memset(counts, 0, JOB_NSTATES * sizeof counts[0]);
    db_q q;
    db_prepare_read(&q, d, SQL_COUNTS);
    int rc = db_each(&q, count_state, counts);
    db_release(&q);
    return rc;
}

static const char SQL_PER_HOUR[] =
    "SELECT (created_at - :start) / 3600000, count(*) FROM jobs INDEXED BY jobs_created "
    "WHERE created_at >= :start GROUP BY 1";

static int count_hour(void *ud, db_q *q)
{
    int64_t *counts = ud;
    int64_t h = db_col_i64(q, 0);
    if (h >= 0 && h < 24)
        counts[h] = db_col_i64(q, 1);
    return BB_OK;
}

int repo_stats_jobs_per_hour(db *d, int64_t now, int64_t counts[24])
{
    memset(counts, 0, 24 * sizeof counts[0]);
    db_q q;
    db_prepare_read(&q, d, SQL_PER_HOUR);
    db_bind_i64(&q, ":start", (now / 3600000 - 23) * 3600000);
    int rc = db_each(&q, count_hour, counts);
    db_release(&q);
    return rc;
}

static const char SQL_DURATIONS[] =
    "SELECT preset, finished_at - started_at AS ms FROM jobs INDEXED BY jobs_finished "
    "WHERE state = 'succeeded' AND finished_at >= :since AND started_at IS NOT NULL "
    "ORDER BY preset, ms";

/* The durations of the preset being read; handed to fn when it changes. */
struct durations {
    void (*fn)(void *, const char *, const int64_t *, size_t);
    void *ud;
    char preset[128];
    int64_t *ms;
    size_t n, cap;
};

static int add_duration(void *ud, db_q *q)
{
    struct durations *g = ud;
    const char *p = db_col_text(q, 0);
    if (!p)
        return BB_OK;
    if (g->n && strcmp(p, g->preset) != 0) {
        g->fn(g->ud, g->preset, g->ms, g->n);
        g->n = 0;
    }
    bb_strlcpy(g->preset, p, sizeof g->preset);
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        int64_t *np = realloc(g->ms, cap * sizeof *np);
        if (!np)
            return BB_EINTERNAL;
        g->ms = np;
        g->cap = cap;
    }
    g->ms[g->n++] = db_col_i64(q, 1);
    return BB_OK;
}

int repo_stats_durations(db *d, int64_t since,
                         void (*fn)(void *, const char *, const int64_t *, size_t), void *ud)
{
    struct durations g = {.fn = fn, .ud = ud};
    db_q q;
    db_prepare_read(&q, d, SQL_DURATIONS);
    db_bind_i64(&q, ":since", since);
    int rc = db_each(&q, add_duration, &g);
    db_release(&q);
    if (rc == BB_OK && g.n)
        fn(ud, g.preset, g.ms, g.n);
    free(g.ms);
    return rc;
}

static const char SQL_DB_BYTES[] =
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";
static const char SQL_ARTIFACT_BYTES[] = "SELECT ifnull(sum(size), 0) FROM artifacts";

int repo_stats_sizes(db *d, int64_t *db_bytes, int64_t *artifact_bytes)
{
    *db_bytes = *artifact_bytes = 0;
    db_q q;
    db_prepare_read(&q, d, SQL_DB_BYTES);
    int rc = db_one_i64(&q, db_bytes);
    if (rc == BB_OK) {
        db_prepare_next(&q, SQL_ARTIFACT_BYTES);
        rc = db_one_i64(&q, artifact_bytes);
    }
    db_release(&q);
    return rc == BB_ENOTFOUND ? BB_EIO : rc;
}
