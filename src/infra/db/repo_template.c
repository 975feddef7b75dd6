/* repo_template.c — SQL for templates (see repo_template.h).  Writes run
 * on the db writer thread; reads borrow a read connection. */
#include "infra/db/repo_template.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define TEMPLATE_COLS                                                          \
    "id, ifnull(owner_id, 0), preset, name, params, sweep, shared, created_at, updated_at"

/* The fields of TEMPLATE_COLS, in its order. */
static const struct db_col TEMPLATE_MAP[] = {
    DB_COL(template_rec, id, I64),         DB_COL(template_rec, owner_id, ID),
    DB_COL(template_rec, preset, STR),     DB_COL(template_rec, name, STR),
    DB_COL(template_rec, params, STR),     DB_COL(template_rec, sweep, STR),
    DB_COL(template_rec, shared, BOOL),    DB_COL(template_rec, created_at, I64),
    DB_COL(template_rec, updated_at, I64),
};
#define TEMPLATE_NCOLS (sizeof TEMPLATE_MAP / sizeof TEMPLATE_MAP[0])

void template_rec_clear(template_rec *t)
{
    db_row_free(t, TEMPLATE_MAP, TEMPLATE_NCOLS);
    memset(t, 0, sizeof *t);
}

static void fill_template(db_q *q, void *rec)
{
    memset(rec, 0, sizeof(template_rec));
    db_row_read(q, rec, TEMPLATE_MAP, TEMPLATE_NCOLS);
}

static void clear_template(void *rec) { template_rec_clear(rec); }

static const char SQL_FIND[] =
    "SELECT id, created_at FROM templates "
    "WHERE ifnull(owner_id, 0) = :owner AND preset = :preset AND name = :name";
static const char SQL_COUNT[] =
    "SELECT count(*) FROM templates WHERE ifnull(owner_id, 0) = :owner";
static const char SQL_UPDATE[] =
    "UPDATE templates SET params = :params, sweep = :sweep, shared = :shared, "
    "updated_at = :updated_at WHERE id = :id";
static const char SQL_INSERT[] =
    "INSERT INTO templates (owner_id, preset, name, params, sweep, shared, created_at, "
    "updated_at) VALUES (:owner_id, :preset, :name, :params, :sweep, :shared, :created_at, "
    ":updated_at)";

struct save_arg {
    template_rec *t;
    int64_t cap;
    bool replaced;
};

static int op_save(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct save_arg *a = arg;
    template_rec *t = a->t;
    t->updated_at = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_FIND);
    db_bind_i64(&q, ":owner", t->owner_id);
    db_bind_text(&q, ":preset", t->preset);
    db_bind_text(&q, ":name", t->name);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        t->id = db_col_i64(&q, 0);
        t->created_at = db_col_i64(&q, 1);
        db_end(&q);
        db_prepare(&q, c, SQL_UPDATE);
        db_row_bind(&q, t, TEMPLATE_MAP, TEMPLATE_NCOLS);
        a->replaced = true;
        return db_step_done(&q);
    }
    if (rc != BB_ENOTFOUND)
        return rc;
    int64_t count = 0;
    db_prepare(&q, c, SQL_COUNT);
    db_bind_i64(&q, ":owner", t->owner_id);
    if ((rc = db_one_i64(&q, &count)) != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EIO : rc;
    if (count >= a->cap)
        return BB_ECONFLICT;
    t->created_at = t->updated_at;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, t, TEMPLATE_MAP, TEMPLATE_NCOLS);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    t->id = db_last_id(&q);
    return BB_OK;
}

int repo_template_save(db *d, template_rec *t, int64_t cap, bool *replaced)
{
    struct save_arg a = {.t = t, .cap = cap};
    int rc = db_write(d, op_save, &a);
    *replaced = rc == BB_OK && a.replaced;
    return rc;
}

static const char SQL_LIST[] =
    "SELECT " TEMPLATE_COLS " FROM templates "
    "WHERE preset = :preset AND (ifnull(owner_id, 0) = :owner OR shared = 1) "
    "ORDER BY name, id LIMIT :limit";

int repo_template_list(db *d, const char *preset, int64_t owner, size_t max,
                       template_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_text(&q, ":preset", preset);
    db_bind_i64(&q, ":owner", owner);
    db_bind_i64(&q, ":limit", (int64_t)max);
    void *items;
    int rc = db_collect(&q, sizeof **out, max, fill_template, clear_template, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static const char SQL_GET[] = "SELECT " TEMPLATE_COLS " FROM templates WHERE id = :id";

int repo_template_get(db *d, int64_t id, template_rec *out)
{
    db_q q;
    db_prepare_read(&q, d, SQL_GET);
    db_bind_i64(&q, ":id", id);
    int rc = db_read_record(&q, out, fill_template, clear_template);
    db_release(&q);
    return rc;
}

static const char SQL_DELETE[] =
    "DELETE FROM templates WHERE id = :id AND (:any OR ifnull(owner_id, 0) = :owner)";

struct del_arg {
    int64_t id, owner;
    bool any;
};

static int op_delete(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct del_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_DELETE);
    db_bind_i64(&q, ":id", a->id);
    db_bind_i64(&q, ":any", a->any ? 1 : 0);
    db_bind_i64(&q, ":owner", a->owner);
    int rc = db_step_done(&q);
    if (rc == BB_OK && db_changes(&q) == 0)
        rc = BB_ENOTFOUND;
    return rc;
}

int repo_template_delete(db *d, int64_t id, int64_t owner, bool owner_any)
{
    struct del_arg a = {.id = id, .owner = owner, .any = owner_any};
    return db_write(d, op_delete, &a);
}
