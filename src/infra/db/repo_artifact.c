/* repo_artifact.c — SQL for a job's output files (the artifacts table),
 * see repo_artifact.h: the reads, and the replacement of a job's rows that
 * the worker's result runs inside the transaction marking it succeeded
 * (repo_claim.c). */
#include "infra/db/repo_artifact.h"

#include <stdlib.h>
#include <string.h>

#include "infra/db/repo_jobrow.h"
#include "util/err.h"

static const char SQL_ARTIFACT_DELETE[] = "DELETE FROM artifacts WHERE job_id = :job";
static const char SQL_ARTIFACT_INSERT[] =
    "INSERT INTO artifacts (job_id, name, size, sha256, content_type, storage, location, "
    "created_at) VALUES (:job, :name, :size, :sha, :type, :storage, :loc, :now)";

int repo_artifacts_replace(db_conn *c, int64_t job_id, const struct artifact_rec *a, size_t n,
                           int64_t now)
{
    db_q q;
    db_prepare(&q, c, SQL_ARTIFACT_DELETE);
    db_bind_i64(&q, ":job", job_id);
    int rc = db_step_done(&q);
    for (size_t i = 0; i < n && rc == BB_OK; i++) {
        db_prepare(&q, c, SQL_ARTIFACT_INSERT);
        db_bind_i64(&q, ":job", job_id);
        db_bind_text(&q, ":name", a[i].name);
        db_bind_i64(&q, ":size", a[i].size);
        db_bind_text(&q, ":sha", a[i].sha256);
        db_bind_text(&q, ":type", a[i].content_type);
        db_bind_text(&q, ":loc", a[i].location);
        db_bind_text(&q, ":storage", a[i].storage ? a[i].storage : "fs");
        db_bind_i64(&q, ":now", now);
        rc = db_step_done(&q);
    }
    return rc;
}

static const char SQL_ARTIFACTS[] =
    "SELECT name, size, sha256, content_type, location, storage FROM artifacts "
    "WHERE job_id = :job ORDER BY name";
static const char SQL_ARTIFACT[] =
    "SELECT name, size, sha256, content_type, location, storage FROM artifacts "
    "WHERE job_id = :job AND name = :name";

static void fill_artifact(db_q *q, void *rec)
{
    struct artifact_rec *a = rec;
    a->name = db_col_strdup(q, 0);
    a->size = db_col_i64(q, 1);
    a->sha256 = db_col_strdup(q, 2);
    a->content_type = db_col_strdup(q, 3);
    a->location = db_col_strdup(q, 4);
    a->storage = db_col_strdup(q, 5);
}

void repo_artifact_clear(struct artifact_rec *a)
{
    char *owned[] = {a->name, a->sha256, a->content_type, a->location, a->storage};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
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
    db_conn *c = db_reader_acquire(d);
    db_q q;
    db_prepare(&q, c, SQL_ARTIFACTS);
    db_bind_i64(&q, ":job", job_id);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, fill_artifact, clear_artifact, &items, n);
    db_reader_release(d, c);
    *out = items;
    return rc;
}

int repo_artifact_get(db *d, int64_t job_id, const char *name, struct artifact_rec *out)
{
    memset(out, 0, sizeof *out);
    db_conn *c = db_reader_acquire(d);
    db_q q;
    db_prepare(&q, c, SQL_ARTIFACT);
    db_bind_i64(&q, ":job", job_id);
    db_bind_text(&q, ":name", name);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        fill_artifact(&q, out);
        if ((rc = db_end(&q)) != BB_OK)
            repo_artifact_clear(out);
    }
    db_reader_release(d, c);
    return rc;
}
