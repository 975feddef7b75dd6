/* repo_schedule.c — SQL for recurring schedules (see repo_schedule.h).
 * Static statements with named parameters; the record map serves the row
 * reader, the INSERT's binds and the record's clear. */
#include "infra/db/repo_schedule.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define C(field, kind) DB_COL(schedule_rec, field, kind)
static const struct db_col SCHEDULE_MAP[] = {
    C(id, I64), C(owner_id, ID), C(name, STR), C(cron, STR), C(timezone, STR), C(job, STR),
    C(enabled, BOOL), C(overlap, STR), C(catch_up, STR), C(next_run_at, ID),
    C(last_run_at, ID), C(last_job_id, ID), C(last_error, STR), C(created_at, I64),
    C(updated_at, I64),
};
#undef C
#define NCOLS (sizeof SCHEDULE_MAP / sizeof SCHEDULE_MAP[0])
#define COLS                                                                        \
    "id, owner_id, name, cron, timezone, job, enabled, overlap, catch_up, next_run_at, " \
    "last_run_at, last_job_id, last_error, created_at, updated_at"

void schedule_rec_clear(schedule_rec *s)
{
    db_row_free(s, SCHEDULE_MAP, NCOLS);
    memset(s, 0, sizeof *s);
}

static void fill(db_q *q, void *rec)
{
    memset(rec, 0, sizeof(schedule_rec));
    db_row_read(q, rec, SCHEDULE_MAP, NCOLS);
}

static void clear(void *rec) { schedule_rec_clear(rec); }

/* ---- writes -------------------------------------------------------------- */

static const char SQL_INSERT[] =
    "INSERT INTO schedules (owner_id, name, cron, timezone, job, enabled, overlap, catch_up, "
    "next_run_at, created_at, updated_at) VALUES (:owner_id, :name, :cron, :timezone, :job, "
    ":enabled, :overlap, :catch_up, :next_run_at, :now, :now)";

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    schedule_rec *s = arg;
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, s, SCHEDULE_MAP, NCOLS);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_done(&q);
    if (rc == BB_OK) {
        s->id = db_last_id(&q);
        s->created_at = s->updated_at = now;
    }
    return rc;
}

int repo_schedule_insert(db *d, schedule_rec *s)
{
    return db_write(d, op_insert, s);
}

static const char SQL_UPDATE[] =
    "UPDATE schedules SET name = :name, cron = :cron, timezone = :timezone, job = :job, "
    "enabled = :enabled, overlap = :overlap, catch_up = :catch_up, "
    "next_run_at = :next_run_at, updated_at = :now WHERE id = :id";

static int op_update(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    schedule_rec *s = arg;
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_UPDATE);
    db_row_bind(&q, s, SCHEDULE_MAP, NCOLS);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_done(&q);
    if (rc == BB_OK && db_changes(&q) != 1)
        return BB_ENOTFOUND;
    if (rc == BB_OK)
        s->updated_at = now;
    return rc;
}

int repo_schedule_update(db *d, schedule_rec *s)
{
    return db_write(d, op_update, s);
}

struct delete_arg {
    int64_t id, owner_scope;
};

static const char SQL_DELETE[] =
    "DELETE FROM schedules WHERE id = :id AND (:owner = 0 OR owner_id = :owner)";

static int op_delete(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct delete_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_DELETE);
    db_bind_i64(&q, ":id", a->id);
    db_bind_i64(&q, ":owner", a->owner_scope);
    int rc = db_step_done(&q);
    return rc == BB_OK && db_changes(&q) != 1 ? BB_ENOTFOUND : rc;
}

int repo_schedule_delete(db *d, int64_t id, int64_t owner_scope)
{
    struct delete_arg a = {.id = id, .owner_scope = owner_scope};
    return db_write(d, op_delete, &a);
}

struct ran_arg {
    int64_t id, was, next, ran_at, job_id;
    const char *error;
};

static const char SQL_RAN[] =
    "UPDATE schedules SET next_run_at = nullif(:next, 0), last_run_at = :ran, "
    "last_job_id = CASE WHEN :job = 0 THEN last_job_id ELSE :job END, last_error = :error, "
    "updated_at = :now WHERE id = :id AND next_run_at = :was";

static int op_ran(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct ran_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_RAN);
    db_bind_i64(&q, ":id", a->id);
    db_bind_i64(&q, ":was", a->was);
    db_bind_i64(&q, ":next", a->next);
    db_bind_i64(&q, ":ran", a->ran_at);
    db_bind_i64(&q, ":job", a->job_id);
    db_bind_text(&q, ":error", a->error);
    db_bind_i64(&q, ":now", bb_now_ms());
    int rc = db_step_done(&q);
    return rc == BB_OK && db_changes(&q) != 1 ? BB_ESTATE : rc;
}

int repo_schedule_ran(db *d, int64_t id, int64_t was, int64_t next, int64_t ran_at,
                      int64_t job_id, const char *error)
{
    struct ran_arg a = {.id = id, .was = was, .next = next, .ran_at = ran_at,
                        .job_id = job_id, .error = error};
    return db_write(d, op_ran, &a);
}

/* ---- reads --------------------------------------------------------------- */

static const char SQL_GET[] = "SELECT " COLS " FROM schedules WHERE id = :id";

int repo_schedule_get(db *d, int64_t id, int64_t owner_scope, schedule_rec *out)
{
    db_q q;
    db_prepare_read(&q, d, SQL_GET);
    db_bind_i64(&q, ":id", id);
    int rc = db_read_record(&q, out, fill, clear);
    db_release(&q);
    if (rc == BB_OK && owner_scope && out->owner_id != owner_scope) {
        schedule_rec_clear(out);
        rc = BB_ENOTFOUND;
    }
    return rc;
}

static const char SQL_LIST[] =
    "SELECT " COLS " FROM schedules WHERE (:owner = 0 OR owner_id = :owner) ORDER BY id";

static int collect(db_q *q, size_t max, schedule_rec **out, size_t *n)
{
    void *items = NULL;
    int rc = db_collect(q, sizeof(schedule_rec), max, fill, clear, &items, n);
    db_release(q);
    *out = items;
    return rc;
}

int repo_schedule_list(db *d, int64_t owner_scope, size_t max, schedule_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_i64(&q, ":owner", owner_scope);
    return collect(&q, max, out, n);
}

static const char SQL_DUE[] =
    "SELECT " COLS " FROM schedules INDEXED BY schedules_due WHERE next_run_at IS NOT NULL "
    "AND next_run_at <= :now AND enabled = 1 ORDER BY next_run_at LIMIT :max";

int repo_schedule_due(db *d, int64_t now, size_t max, schedule_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_DUE);
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":max", (int64_t)max);
    return collect(&q, max, out, n);
}

static const char SQL_NEXT_DUE[] =
    "SELECT ifnull(min(next_run_at), 0) FROM schedules WHERE next_run_at IS NOT NULL "
    "AND enabled = 1";

int repo_schedule_next_due(db *d, int64_t *at)
{
    db_q q;
    db_prepare_read(&q, d, SQL_NEXT_DUE);
    int rc = db_one_i64(&q, at);
    db_release(&q);
    if (rc == BB_ENOTFOUND) {
        *at = 0;
        rc = BB_OK;
    }
    return rc;
}
