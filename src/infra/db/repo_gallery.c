/* repo_gallery.c — SQL for the gallery of a batch or a job (see
 * repo_gallery.h).  The children are found through jobs.batch_id (index
 * jobs_batch), their artifacts through a join on it, so a gallery of a
 * 1,000-child batch is three queries, not a thousand. */
#include "infra/db/repo_gallery.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static const struct db_col JOB_MAP[] = {
    DB_COL(struct gallery_job_rec, id, I64), DB_COL(struct gallery_job_rec, state, STR),
    DB_COL(struct gallery_job_rec, params, STR), DB_COL(struct gallery_job_rec, md, STR),
    DB_COL(struct gallery_job_rec, error, STR), DB_COL(struct gallery_job_rec, finished_at, I64),
    DB_COL(struct gallery_job_rec, waiting_for, STR),
    DB_COL(struct gallery_job_rec, preset, STR),
};
#define JOB_NCOLS (sizeof JOB_MAP / sizeof JOB_MAP[0])

static const char SQL_HEAD[] = "SELECT kind, sweep FROM jobs WHERE id = :id";

static const char SQL_CHILDREN[] =
    "SELECT id, state, params, md, error, finished_at, waiting_for, preset FROM jobs "
    "WHERE batch_id = :id ORDER BY id";
static const char SQL_ONE[] =
    "SELECT id, state, params, md, error, finished_at, waiting_for, preset FROM jobs "
    "WHERE id = :id";

static const char SQL_ARTS_BATCH[] =
    ARTIFACT_SELECT "JOIN jobs j ON j.id = a.job_id WHERE j.batch_id = :id "
    "AND (:picked = 0 OR a.picked = 1) ORDER BY a.job_id, a.name";
static const char SQL_ARTS_ONE[] =
    ARTIFACT_SELECT "WHERE a.job_id = :id AND (:picked = 0 OR a.picked = 1) ORDER BY a.name";

int repo_gallery_head(db *d, int64_t id, bool *is_batch, char **sweep)
{
    *is_batch = false;
    *sweep = NULL;
    db_q q;
    db_prepare_read(&q, d, SQL_HEAD);
    db_bind_i64(&q, ":id", id);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        const char *kind = db_col_text(&q, 0);
        *is_batch = kind && strcmp(kind, "batch") == 0;
        *sweep = db_col_strdup(&q, 1);
        rc = db_end(&q);
        if (rc != BB_OK) {
            free(*sweep);
            *sweep = NULL;
        }
    }
    db_release(&q);
    return rc;
}

static void fill_job(db_q *q, void *rec)
{
    db_row_read(q, rec, JOB_MAP, JOB_NCOLS);
}

static void clear_job(void *rec)
{
    db_row_free(rec, JOB_MAP, JOB_NCOLS);
}

void repo_gallery_jobs_free(struct gallery_job_rec *j, size_t n)
{
    for (size_t i = 0; j && i < n; i++)
        clear_job(&j[i]);
    free(j);
}

int repo_gallery_jobs(db *d, int64_t id, bool is_batch, struct gallery_job_rec **out,
                      size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, is_batch ? SQL_CHILDREN : SQL_ONE);
    db_bind_i64(&q, ":id", id);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, fill_job, clear_job, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static void clear_art(void *rec)
{
    repo_artifact_clear(rec);
}

int repo_gallery_artifacts(db *d, int64_t id, bool is_batch, bool picked_only,
                           struct artifact_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, is_batch ? SQL_ARTS_BATCH : SQL_ARTS_ONE);
    db_bind_i64(&q, ":id", id);
    db_bind_i64(&q, ":picked", picked_only ? 1 : 0);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, repo_artifact_fill, clear_art, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}
