/* repo_file.c — SQL for uploaded files (see repo_file.h).  Writes run on
 * the db writer thread; reads borrow a read connection. */
#include "infra/db/repo_file.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define FILE_COLS                                                              \
    "id, ifnull(owner_id, 0), filename, size, sha256, content_type, storage, key, created_at"

/* The fields of FILE_COLS, in its order. */
static const struct db_col FILE_MAP[] = {
    DB_COL(file_rec, id, I64), DB_COL(file_rec, owner_id, ID),
    DB_COL(file_rec, filename, STR), DB_COL(file_rec, size, I64),
    DB_COL(file_rec, sha256, STR), DB_COL(file_rec, content_type, STR),
    DB_COL(file_rec, storage, STR), DB_COL(file_rec, key, STR),
    DB_COL(file_rec, created_at, I64),
};
#define FILE_NCOLS (sizeof FILE_MAP / sizeof FILE_MAP[0])

void file_rec_clear(file_rec *f)
{
    db_row_free(f, FILE_MAP, FILE_NCOLS);
    memset(f, 0, sizeof *f);
}

static void row_to_file(db_q *q, file_rec *f)
{
    memset(f, 0, sizeof *f);
    db_row_read(q, f, FILE_MAP, FILE_NCOLS);
}

static void fill_file(db_q *q, void *rec) { row_to_file(q, rec); }
static void clear_file(void *rec) { file_rec_clear(rec); }

static const char SQL_INSERT[] =
    "INSERT INTO files (owner_id, filename, size, sha256, content_type, storage, key, created_at) "
    "VALUES (:owner_id, :filename, :size, :sha256, :content_type, :storage, :key, :created_at)";

/* What counts against a user's quota (docs/operations.md): uploads, the
 * artifacts of their jobs and their jobs' log bytes, kept per owner by the
 * triggers of schema.sql (user_usage, migration 14); owner 0 = none. */
static const char SQL_USAGE[] =
    "SELECT ifnull((SELECT bytes FROM user_usage WHERE owner_key = :owner), 0)";

/* Bytes stored for owner, on connection c. */
static int usage(db_conn *c, int64_t owner, int64_t *bytes)
{
    db_q q;
    db_prepare(&q, c, SQL_USAGE);
    db_bind_i64(&q, ":owner", owner);
    int rc = db_one_i64(&q, bytes);
    return rc == BB_ENOTFOUND ? BB_EIO : rc;
}

struct insert_arg {
    file_rec *f;
    int64_t quota;
};

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct insert_arg *a = arg;
    file_rec *f = a->f;
    int64_t used = 0;
    int rc = usage(c, f->owner_id, &used);
    if (rc != BB_OK)
        return rc;
    if (used + f->size > a->quota)
        return BB_ETOOLARGE;
    f->created_at = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, f, FILE_MAP, FILE_NCOLS);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    f->id = db_last_id(&q);
    return BB_OK;
}

int repo_file_insert(db *d, file_rec *f, int64_t quota)
{
    struct insert_arg a = {.f = f, .quota = quota};
    return db_write(d, op_insert, &a);
}

static const char SQL_GET[] = "SELECT " FILE_COLS " FROM files WHERE id = :id";

/* Loads file id if owner_scope (0 = any) may see it (caller clears *out). */
static int load(db_conn *c, int64_t id, int64_t scope, file_rec *out)
{
    db_q q;
    db_prepare(&q, c, SQL_GET);
    db_bind_i64(&q, ":id", id);
    int rc = db_read_record(&q, out, fill_file, clear_file);
    if (rc == BB_OK && scope && out->owner_id != scope) {
        file_rec_clear(out);
        rc = BB_ENOTFOUND;
    }
    return rc;
}

int repo_file_get(db *d, int64_t id, int64_t owner_scope, file_rec *out)
{
    db_conn *c = db_reader_acquire(d);
    int rc = load(c, id, owner_scope, out);
    db_reader_release(d, c);
    return rc;
}

static const char SQL_LIST[] =
    "SELECT " FILE_COLS " FROM files WHERE ifnull(owner_id, 0) = :owner "
    "ORDER BY id DESC LIMIT :limit";

int repo_file_list(db *d, int64_t owner_id, int limit, file_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_i64(&q, ":owner", owner_id);
    db_bind_i64(&q, ":limit", limit);
    void *items;
    int rc = db_collect(&q, sizeof **out, limit > 0 ? (size_t)limit : 0, fill_file, clear_file,
                        &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

int repo_file_usage(db *d, int64_t owner_id, int64_t *bytes)
{
    *bytes = 0;
    db_conn *c = db_reader_acquire(d);
    int rc = usage(c, owner_id, bytes);
    db_reader_release(d, c);
    return rc;
}

static const char SQL_IN_USE[] =
    "SELECT 1 FROM jobs WHERE file_id = :id AND state IN ('queued', 'running') LIMIT 1";
static const char SQL_DETACH[] = "UPDATE jobs SET file_id = NULL WHERE file_id = :id";
static const char SQL_DELETE[] = "DELETE FROM files WHERE id = :id";

struct del_arg {
    int64_t id, scope;
    file_rec *out;
};

static int op_delete(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct del_arg *a = arg;
    int rc = load(c, a->id, a->scope, a->out);
    if (rc != BB_OK)
        return rc;
    db_q q;
    db_prepare(&q, c, SQL_IN_USE);
    db_bind_i64(&q, ":id", a->id);
    rc = db_step_one(&q);
    db_end(&q);
    if (rc != BB_ENOTFOUND)
        return rc == BB_OK ? BB_ECONFLICT : rc;
    /* finished jobs keep their md text; only the link goes */
    const char *const sqls[] = {SQL_DETACH, SQL_DELETE};
    for (int i = 0; i < 2; i++) {
        db_prepare(&q, c, sqls[i]);
        db_bind_i64(&q, ":id", a->id);
        if ((rc = db_step_done(&q)) != BB_OK)
            return rc;
    }
    return BB_OK;
}

int repo_file_delete(db *d, int64_t id, int64_t owner_scope, file_rec *out)
{
    memset(out, 0, sizeof *out);
    struct del_arg a = {.id = id, .scope = owner_scope, .out = out};
    int rc = db_write(d, op_delete, &a);
    if (rc != BB_OK)
        file_rec_clear(out);
    return rc;
}
