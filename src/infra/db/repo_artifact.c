/* repo_artifact.c — SQL for a job's output files (the artifacts table),
 * see repo_artifact.h: the reads, the user's picks, and the replacement
 * of a job's rows that the worker's result runs inside the transaction
 * marking it succeeded (repo_claim.c). */
#include "infra/db/repo_artifact.h"

#include <stdlib.h>
#include <string.h>

#include "infra/db/repo_jobrow.h"
#include "util/err.h"

/* The fields of the artifact SELECTs (ARTIFACT_SELECT), in their order,
 * and the parameters of its INSERT. */
static const struct db_col ARTIFACT_MAP[] = {
    DB_COL(struct artifact_rec, name, STR), DB_COL(struct artifact_rec, size, I64),
    DB_COL(struct artifact_rec, sha256, STR), DB_COL(struct artifact_rec, content_type, STR),
    DB_COL(struct artifact_rec, location, STR), DB_COL(struct artifact_rec, storage, STR),
    DB_COL(struct artifact_rec, picked, BOOL), DB_COL(struct artifact_rec, job_id, I64),
};
#define ARTIFACT_NCOLS (sizeof ARTIFACT_MAP / sizeof ARTIFACT_MAP[0])

static const char SQL_ARTIFACT_DELETE[] = "DELETE FROM artifacts WHERE job_id = :job";
static const char SQL_ARTIFACT_INSERT[] =
    "INSERT INTO artifacts (job_id, name, size, sha256, content_type, storage, location, "
    "created_at) VALUES (:job, :name, :size, :sha256, :content_type, coalesce(:storage, 'fs'), "
    ":location, :now)";

int repo_artifacts_replace(db_conn *c, int64_t job_id, const struct artifact_rec *a, size_t n,
                           int64_t now)
{
    db_q q;
    db_prepare(&q, c, SQL_ARTIFACT_DELETE);
    db_bind_i64(&q, ":job", job_id);
    int rc = db_step_done(&q);
    for (size_t i = 0; i < n && rc == BB_OK; i++) {
        db_prepare(&q, c, SQL_ARTIFACT_INSERT);
        db_row_bind(&q, &a[i], ARTIFACT_MAP, ARTIFACT_NCOLS);
        db_bind_i64(&q, ":job", job_id);
        db_bind_i64(&q, ":now", now);
        rc = db_step_done(&q);
    }
    return rc;
}

static const char SQL_ARTIFACTS[] =
    ARTIFACT_SELECT "WHERE a.job_id = :job ORDER BY a.name";
static const char SQL_ARTIFACT[] =
    ARTIFACT_SELECT "WHERE a.job_id = :job AND a.name = :name";

void repo_artifact_fill(db_q *q, void *rec)
{
    db_row_read(q, rec, ARTIFACT_MAP, ARTIFACT_NCOLS);
}

static void fill_artifact(db_q *q, void *rec)
{
    repo_artifact_fill(q, rec);
}

void repo_artifact_clear(struct artifact_rec *a)
{
    db_row_free(a, ARTIFACT_MAP, ARTIFACT_NCOLS);
    memset(a, 0, sizeof *a);
}

static void clear_artifact(void *rec) { repo_artifact_clear(rec); }

void repo_artifacts_free(struct artifact_rec *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        repo_artifact_clear(&a[i]);
    free(a);
}

int repo_artifacts_list(db *d, int64_t job_id, struct artifact_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_ARTIFACTS);
    db_bind_i64(&q, ":job", job_id);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, fill_artifact, clear_artifact, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

int repo_artifact_get(db *d, int64_t job_id, const char *name, struct artifact_rec *out)
{
    memset(out, 0, sizeof *out);
    db_q q;
    db_prepare_read(&q, d, SQL_ARTIFACT);
    db_bind_i64(&q, ":job", job_id);
    db_bind_text(&q, ":name", name);
    int rc = db_read_record(&q, out, fill_artifact, clear_artifact);
    db_release(&q);
    return rc;
}

struct pick_arg {
    int64_t job_id;
    const char *name;
    bool picked;
};

static const char SQL_ARTIFACT_PICK[] =
    "UPDATE artifacts SET picked = :picked WHERE job_id = :job AND name = :name";

static int op_pick(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct pick_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_ARTIFACT_PICK);
    db_bind_i64(&q, ":picked", a->picked ? 1 : 0);
    db_bind_i64(&q, ":job", a->job_id);
    db_bind_text(&q, ":name", a->name);
    int rc = db_step_done(&q);
    /* SQLite counts a matched row as changed even when the value stays */
    if (rc == BB_OK && db_changes(&q) == 0)
        rc = BB_ENOTFOUND;
    return rc;
}

int repo_artifact_set_picked(db *d, int64_t job_id, const char *name, bool picked)
{
    struct pick_arg a = {.job_id = job_id, .name = name, .picked = picked};
    return db_write(d, op_pick, &a);
}
