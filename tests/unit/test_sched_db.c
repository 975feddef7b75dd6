/* test_sched_db.c — the scheduling migration and repositories
 * (schema.sql's jobs-table rebuild, src/infra/db/db_schema.c,
 * repo_deps.c; docs/scheduling.md): a database at the schema before the
 * rebuild keeps every job, log line, artifact and process row (the
 * rebuild runs with foreign keys off, so nothing cascades) and afterwards
 * accepts the new states; a waiting job is decided in the transaction
 * that ends what it depends on; due scheduled jobs are promoted. */
#define UNIT_MAIN
#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "infra/db/db.h"
#include "infra/db/repo_deps.h"
#include "infra/db/repo_job.h"
#include "util/assets.h"
#include "util/err.h"
#include "util/files.h"
#include "util/log.h"
#include "util/util.h"

__attribute__((constructor)) static void quiet_logs(void)
{
    bb_log_set_level(BB_LOG_ERROR);
}

static int64_t one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A database file at path holding the schema's sections before
 * "-- migration 10" with a job, its log line, artifact and process row. */
static bool make_v9(const char *path)
{
    const struct bb_asset *a = bb_asset_find("schema.sql");
    if (!a)
        return false;
    const char *text = (const char *)a->data;
    const char *cut = strstr(text, "\n-- migration 10\n");
    if (!cut)
        return false;
    size_t len = (size_t)(cut - text);
    char *sql = malloc(len + 512);
    if (!sql)
        return false;
    memcpy(sql, text, len);
    snprintf(sql + len, 512,
             "\nINSERT INTO jobs (id, state, preset, created_at, updated_at) "
             "VALUES (7, 'succeeded', 'noop', 1, 1);"
             "INSERT INTO job_logs (job_id, attempt, stream, line, ts) "
             "VALUES (7, 1, 'stdout', 'kept', 1);"
             "INSERT INTO artifacts (job_id, name, size, sha256, content_type, location, "
             "created_at) VALUES (7, 'out.txt', 1, 'x', 'text/plain', 'a', 1);"
             "INSERT INTO job_procs VALUES (7, 1, 123, 1, 'boot');"
             "PRAGMA user_version = 9;");
    sqlite3 *h = NULL;
    bool ok = sqlite3_open(path, &h) == SQLITE_OK &&
              sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(h);
    free(sql);
    return ok;
}

struct tmp {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
};

static void tmp_make(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/bb-sched-db-XXXXXX");
    if (!mkdtemp(t->dir))
        t->dir[0] = '\0';
    snprintf(t->path, sizeof t->path, "%s/batchbox.db", t->dir);
}

static void tmp_drop(struct tmp *t)
{
    if (t->dir[0])
        bb_rmtree(t->dir);
}

TEST(rebuild_keeps_logs_artifacts_and_procs)
{
    struct tmp t;
    tmp_make(&t);
    CHECK(t.dir[0] != '\0');
    CHECK(make_v9(t.path));
    db *d = NULL;
    char err[256] = "";
    struct db_options o = {.readers = 1};
    int rc = db_open(t.path, &o, &d, err, sizeof err);
    if (rc != 0)
        FAIL("open: %s", err);
    db_close(d);
    sqlite3 *h = NULL;
    CHECK_EQ_INT(sqlite3_open(t.path, &h), SQLITE_OK);
    CHECK(one_int(h, "PRAGMA user_version") >= 10);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM jobs WHERE id = 7"), 1);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM job_logs WHERE job_id = 7"), 1);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM artifacts WHERE job_id = 7"), 1);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM job_procs WHERE job_id = 7"), 1);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
                            "AND tbl_name = 'jobs' AND name LIKE 'jobs_%'"), 14);   /* 12 + jobs_scheduled + jobs_due */
    /* the new states pass the CHECK; a made-up one still does not */
    CHECK_EQ_INT(sqlite3_exec(h, "UPDATE jobs SET state = 'waiting' WHERE id = 7", NULL, NULL,
                              NULL), SQLITE_OK);
    CHECK(sqlite3_exec(h, "UPDATE jobs SET state = 'sleeping' WHERE id = 7", NULL, NULL,
                       NULL) != SQLITE_OK);
    /* the references still cascade after the rebuild */
    CHECK_EQ_INT(sqlite3_exec(h, "PRAGMA foreign_keys = ON; DELETE FROM jobs WHERE id = 7",
                              NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(one_int(h, "SELECT count(*) FROM job_logs"), 0);
    sqlite3_close(h);
    tmp_drop(&t);
}

/* A fresh database with jobs submitted in the given states. */
static db *fresh(struct tmp *t)
{
    tmp_make(t);
    db *d = NULL;
    char err[256] = "";
    struct db_options o = {.readers = 2};
    if (db_open(t->path, &o, &d, err, sizeof err) != 0)
        return NULL;
    return d;
}

static int64_t submit(db *d, enum job_state s, const char *deps, const char *when,
                      int64_t run_at)
{
    job j;
    memset(&j, 0, sizeof j);
    j.state = s;
    j.preset = strdup("noop");
    j.max_attempts = 1;
    j.run_at = run_at;
    j.depends_on = deps ? strdup(deps) : NULL;
    j.run_when = when ? strdup(when) : NULL;
    bool existed = false;
    int rc = repo_job_submit(d, &j, NULL, NULL, &existed);
    int64_t id = rc == BB_OK ? j.id : 0;
    job_clear(&j);
    return id;
}

static enum job_state state_of(db *d, int64_t id, char *error, size_t cap)
{
    job j;
    if (repo_job_get(d, id, 0, &j) != BB_OK)
        return (enum job_state)-1;
    enum job_state s = j.state;
    if (error)
        snprintf(error, cap, "%s", j.error ? j.error : "");
    job_clear(&j);
    return s;
}

TEST(waiting_jobs_decided_when_dependencies_end)
{
    struct tmp t;
    db *d = fresh(&t);
    CHECK(d != NULL);
    int64_t a = submit(d, JOB_QUEUED, NULL, NULL, 0);
    int64_t b = submit(d, JOB_QUEUED, NULL, NULL, 0);
    char deps[64];
    snprintf(deps, sizeof deps, "%lld,%lld", (long long)a, (long long)b);
    int64_t ok = submit(d, JOB_WAITING, deps, "success", 0);
    int64_t bad = submit(d, JOB_WAITING, deps, "failure", 0);
    int64_t later = submit(d, JOB_WAITING, deps, "always", bb_now_ms() + 3600000);
    CHECK(a && b && ok && bad && later);
    CHECK_EQ_INT(state_of(d, ok, NULL, 0), JOB_WAITING);
    enum cancel_outcome oc;
    CHECK_EQ_INT(repo_job_cancel(d, a, 0, "test", &oc), BB_OK);
    char why[300];
    /* success can no longer be met: canceled in the same transaction */
    CHECK_EQ_INT(state_of(d, ok, why, sizeof why), JOB_CANCELED);
    CHECK(strstr(why, "ended canceled (runWhen success)") != NULL);
    CHECK_EQ_INT(state_of(d, bad, NULL, 0), JOB_WAITING);       /* b still queued */
    CHECK_EQ_INT(repo_job_cancel(d, b, 0, NULL, &oc), BB_OK);
    CHECK_EQ_INT(state_of(d, bad, NULL, 0), JOB_QUEUED);        /* a failure happened */
    CHECK_EQ_INT(state_of(d, later, NULL, 0), JOB_SCHEDULED);   /* runAt still ahead */
    /* dependents listing, and promotion of what is due */
    job *items = NULL;
    size_t n = 0;
    CHECK_EQ_INT(repo_deps_dependents(d, a, 0, &items, &n), BB_OK);
    CHECK_EQ_INT((int)n, 3);
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    int64_t due = submit(d, JOB_SCHEDULED, NULL, NULL, bb_now_ms() - 5);
    int64_t at = 0;
    CHECK_EQ_INT(repo_jobs_next_due(d, &at), BB_OK);
    CHECK(at > 0 && at < bb_now_ms());
    int promoted = 0;
    CHECK_EQ_INT(repo_jobs_promote_due(d, bb_now_ms(), &promoted), BB_OK);
    CHECK_EQ_INT(promoted, 1);
    CHECK_EQ_INT(state_of(d, due, NULL, 0), JOB_QUEUED);
    CHECK_EQ_INT(state_of(d, later, NULL, 0), JOB_SCHEDULED);
    db_close(d);
    tmp_drop(&t);
}
