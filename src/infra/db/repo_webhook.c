/* repo_webhook.c — SQL for webhook deliveries and per-job targets (see
 * repo_webhook.h).  Writes run on the db writer thread; reads borrow a
 * read connection. */
#include "infra/db/repo_webhook.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define DELIVERY_COLS                                                                      \
    "id, job_id, event_id, event, url, state, attempts, ifnull(last_status, 0), last_error, " \
    "created_at, updated_at"

static const struct db_col DELIVERY_MAP[] = {
    DB_COL(delivery_rec, id, I64),          DB_COL(delivery_rec, job_id, I64),
    DB_COL(delivery_rec, event_id, I64),    DB_COL(delivery_rec, event, STR),
    DB_COL(delivery_rec, url, STR),         DB_COL(delivery_rec, state, STR),
    DB_COL(delivery_rec, attempts, INT),    DB_COL(delivery_rec, last_status, INT),
    DB_COL(delivery_rec, last_error, STR),  DB_COL(delivery_rec, created_at, I64),
    DB_COL(delivery_rec, updated_at, I64),
};
#define DELIVERY_NCOLS (sizeof DELIVERY_MAP / sizeof DELIVERY_MAP[0])

void delivery_rec_clear(delivery_rec *d)
{
    db_row_free(d, DELIVERY_MAP, DELIVERY_NCOLS);
    memset(d, 0, sizeof *d);
}

static const char SQL_INSERT[] =
    "INSERT INTO webhook_deliveries (job_id, event_id, event, url, state, last_error, "
    "created_at, updated_at) SELECT id, :event_id, :event, :url, :state, :error, :now, :now "
    "FROM jobs WHERE id = :job_id";

struct insert_arg {
    int64_t job_id, event_id, id;
    const char *event, *url, *state, *error;
};

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct insert_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_INSERT);
    db_bind_i64(&q, ":job_id", a->job_id);
    db_bind_i64(&q, ":event_id", a->event_id);
    db_bind_text(&q, ":event", a->event);
    db_bind_text(&q, ":url", a->url);
    db_bind_text(&q, ":state", a->state);
    db_bind_text(&q, ":error", a->error);
    db_bind_i64(&q, ":now", bb_now_ms());
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    if (db_changes(&q) != 1)
        return BB_ENOTFOUND;
    a->id = db_last_id(&q);
    return BB_OK;
}

int repo_delivery_insert(db *d, int64_t job_id, int64_t event_id, const char *event,
                         const char *url, const char *state, const char *error, int64_t *id)
{
    struct insert_arg a = {.job_id = job_id, .event_id = event_id, .event = event, .url = url,
                           .state = state, .error = error};
    int rc = db_write(d, op_insert, &a);
    *id = rc == BB_OK ? a.id : 0;
    return rc;
}

static const char SQL_UPDATE[] =
    "UPDATE webhook_deliveries SET state = :state, attempts = :attempts, "
    "last_status = nullif(:status, 0), last_error = :error, updated_at = :now WHERE id = :id";

struct update_arg {
    int64_t id;
    const char *state, *error;
    int attempts, status;
};

static int op_update(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct update_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_UPDATE);
    db_bind_text(&q, ":state", a->state);
    db_bind_i64(&q, ":attempts", a->attempts);
    db_bind_i64(&q, ":status", a->status);
    db_bind_text(&q, ":error", a->error);
    db_bind_i64(&q, ":now", bb_now_ms());
    db_bind_i64(&q, ":id", a->id);
    return db_step_done(&q);
}

int repo_delivery_update(db *d, int64_t id, const char *state, int attempts, int status,
                         const char *error)
{
    struct update_arg a = {.id = id, .state = state, .error = error, .attempts = attempts,
                           .status = status};
    return db_write(d, op_update, &a);
}

static const char SQL_LIST[] =
    "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE job_id = :job_id "
    "ORDER BY id DESC LIMIT :limit";

int repo_delivery_list(db *d, int64_t job_id, size_t max, delivery_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_i64(&q, ":job_id", job_id);
    db_bind_i64(&q, ":limit", (int64_t)max);
    void *items;
    int rc = db_collect_map(&q, sizeof **out, max, DELIVERY_MAP, DELIVERY_NCOLS, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static const char SQL_NOTIFY_GET[] = "SELECT notify FROM jobs WHERE id = :id";

int repo_job_notify_get(db *d, int64_t job_id, char **json)
{
    *json = NULL;
    db_q q;
    db_prepare_read(&q, d, SQL_NOTIFY_GET);
    db_bind_i64(&q, ":id", job_id);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        *json = db_col_strdup(&q, 0);
        db_end(&q);
    }
    db_release(&q);
    return rc;
}

static const char SQL_NOTIFY_SET[] = "UPDATE jobs SET notify = :notify WHERE id = :id";

struct notify_arg {
    int64_t id;
    const char *json;
};

int repo_job_notify_store(db_conn *c, int64_t job_id, const char *json)
{
    db_q q;
    db_prepare(&q, c, SQL_NOTIFY_SET);
    db_bind_text(&q, ":notify", json);
    db_bind_i64(&q, ":id", job_id);
    int rc = db_step_done(&q);
    return rc != BB_OK ? rc : db_changes(&q) == 1 ? BB_OK : BB_ENOTFOUND;
}

static int op_notify_set(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct notify_arg *a = arg;
    return repo_job_notify_store(c, a->id, a->json);
}

int repo_job_notify_set(db *d, int64_t job_id, const char *json)
{
    struct notify_arg a = {.id = job_id, .json = json};
    return db_write(d, op_notify_set, &a);
}
