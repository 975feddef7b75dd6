/* repo_retention.c — SQL for retention (see repo_retention.h).  Reads
 * borrow a read connection; the delete runs on the writer thread, one
 * bounded batch per transaction so other writers wait at most one batch.
 * Job lists travel as JSON arrays (json_each), never as built SQL. */
#include "infra/db/repo_retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/err.h"
#include "util/util.h"

#define FINISHED "('succeeded','failed','canceled')"

static const char SQL_DUE[] =
    "SELECT j.id, 1 + (SELECT count(*) FROM jobs c WHERE c.batch_id = j.id), "
    "j.log_bytes + (SELECT ifnull(sum(c.log_bytes), 0) FROM jobs c WHERE c.batch_id = j.id), "
    "(SELECT ifnull(sum(a.size), 0) FROM artifacts a WHERE a.job_id = j.id OR a.job_id IN "
    "  (SELECT c.id FROM jobs c WHERE c.batch_id = j.id)) "
    "FROM jobs j WHERE j.id > :after AND j.batch_id IS NULL AND j.state IN " FINISHED " "
    "AND j.finished_at IS NOT NULL "
    "AND j.finished_at < coalesce((SELECT value FROM json_each(:cutoffs) WHERE key = j.preset), "
    "  :dflt) "
    "AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.batch_id = j.id AND c.state NOT IN " FINISHED
    ") "
    "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.parent_job_id = j.id OR r.parent_job_id IN "
    "  (SELECT c.id FROM jobs c WHERE c.batch_id = j.id)) "
    /* a job that a waiting job still depends on stays until that one is
     * decided (its outcome is part of the decision: docs/scheduling.md) */
    "AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs w ON w.id = d.job_id "
    "  WHERE d.dep_id = j.id AND w.state = 'waiting') "
    "ORDER BY j.id LIMIT :limit";

static void fill_due(db_q *q, void *rec)
{
    struct retention_due *r = rec;
    r->id = db_col_i64(q, 0);
    r->jobs = db_col_i64(q, 1);
    r->log_bytes = db_col_i64(q, 2);
    r->artifact_bytes = db_col_i64(q, 3);
}

static void clear_nothing(void *rec) { (void)rec; }

int repo_retention_due(db *d, const char *cutoffs_json, int64_t dflt_cutoff, int64_t after_id,
                       int limit, struct retention_due **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_DUE);
    db_bind_i64(&q, ":after", after_id);
    db_bind_text(&q, ":cutoffs", cutoffs_json);
    db_bind_i64(&q, ":dflt", dflt_cutoff);
    db_bind_i64(&q, ":limit", limit);
    void *items;
    int rc = db_collect(&q, sizeof **out, (size_t)limit, fill_due, clear_nothing, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

/* ids as a JSON array text (caller frees); NULL on OOM. */
static char *ids_json(const int64_t *ids, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++)
        if (!cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)ids[i]))) {
            cJSON_Delete(arr);
            arr = NULL;
        }
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

static const char SQL_OBJECTS[] =
    "SELECT job_id, storage, location FROM artifacts WHERE job_id IN "
    "(SELECT value FROM json_each(:ids)) OR job_id IN "
    "(SELECT id FROM jobs WHERE batch_id IN (SELECT value FROM json_each(:ids)))";

static void fill_object(db_q *q, void *rec)
{
    struct retention_object *o = rec;
    o->job_id = db_col_i64(q, 0);
    o->storage = db_col_strdup(q, 1);
    o->location = db_col_strdup(q, 2);
}

static void clear_object(void *rec)
{
    struct retention_object *o = rec;
    free(o->storage);
    free(o->location);
}

void retention_objects_free(struct retention_object *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        clear_object(&v[i]);
    free(v);
}

/* Collects every row of sql, whose :ids is the JSON array of ids, into
 * *out (records of size bytes filled by fill).  BB_OK or an error. */
static int collect_for_ids(db *d, const char *sql, const int64_t *ids, size_t n, size_t size,
                           void (*fill)(db_q *q, void *rec), void (*clear)(void *rec),
                           void **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    char *js = ids_json(ids, n);
    if (!js)
        return BB_EINTERNAL;
    db_q q;
    db_prepare_read(&q, d, sql);
    db_bind_text(&q, ":ids", js);
    int rc = db_collect(&q, size, 0, fill, clear, out, nout);
    db_release(&q);
    free(js);
    return rc;
}

int repo_retention_objects(db *d, const int64_t *ids, size_t n, struct retention_object **out,
                           size_t *nout)
{
    void *items;
    int rc = collect_for_ids(d, SQL_OBJECTS, ids, n, sizeof **out, fill_object, clear_object,
                             &items, nout);
    *out = items;
    return rc;
}

static const char SQL_CHILDREN[] =
    "SELECT id FROM jobs WHERE batch_id IN (SELECT value FROM json_each(:ids))";

static void fill_id(db_q *q, void *rec) { *(int64_t *)rec = db_col_i64(q, 0); }

int repo_retention_children(db *d, const int64_t *ids, size_t n, int64_t **out, size_t *nout)
{
    void *items;
    int rc = collect_for_ids(d, SQL_CHILDREN, ids, n, sizeof **out, fill_id, clear_nothing,
                             &items, nout);
    *out = items;
    return rc;
}

/* The jobs of the batch: the given top-level finished jobs and their
 * children (a temporary table would need DDL; a CTE is re-evaluated per
 * statement, which is fine for a bounded batch). */
#define DOOMED                                                                             \
    "(SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(:ids)) "                \
    "AND state IN " FINISHED " "                                                           \
    " UNION ALL SELECT c.id FROM jobs c WHERE c.batch_id IN "                              \
    "(SELECT value FROM json_each(:ids)) AND c.state IN " FINISHED ")"

static const char SQL_DEL_EVENTS[] = "DELETE FROM job_events WHERE job_id IN " DOOMED;
static const char SQL_DEL_CHILDREN[] =
    "DELETE FROM jobs WHERE batch_id IN (SELECT value FROM json_each(:ids)) "
    "AND state IN " FINISHED;
static const char SQL_DEL_JOBS[] =
    "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids)) AND state IN " FINISHED
    " AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.batch_id = jobs.id)";

struct del_arg {
    const char *ids;
    int64_t jobs, events;
};

static int op_delete(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct del_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_DEL_EVENTS);
    db_bind_text(&q, ":ids", a->ids);
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    a->events = db_changes(&q);
    db_prepare(&q, c, SQL_DEL_CHILDREN);
    db_bind_text(&q, ":ids", a->ids);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    a->jobs = db_changes(&q);
    db_prepare(&q, c, SQL_DEL_JOBS);
    db_bind_text(&q, ":ids", a->ids);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    a->jobs += db_changes(&q);
    return BB_OK;
}

int repo_retention_delete(db *d, const int64_t *ids, size_t n, int64_t *jobs_deleted,
                          int64_t *events_deleted)
{
    *jobs_deleted = *events_deleted = 0;
    char *js = ids_json(ids, n);
    if (!js)
        return BB_EINTERNAL;
    struct del_arg a = {.ids = js};
    int rc = db_write(d, op_delete, &a);
    free(js);
    if (rc == BB_OK) {
        *jobs_deleted = a.jobs;
        *events_deleted = a.events;
    }
    return rc;
}
