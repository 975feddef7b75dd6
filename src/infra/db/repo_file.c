/* repo_file.c — SQL for uploaded files (see repo_file.h). */
#include "infra/db/repo_file.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define FILE_COLS "id, ifnull(owner_id, 0), filename, size, sha256, content_type, storage, key, created_at"

void file_rec_clear(file_rec *f)
{
    free(f->filename);
    free(f->sha256);
    free(f->content_type);
    free(f->storage);
    free(f->key);
    memset(f, 0, sizeof *f);
}

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void row_to_file(sqlite3_stmt *st, file_rec *f)
{
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    f->owner_id = sqlite3_column_int64(st, 1);
    f->filename = col_str(st, 2);
    f->size = sqlite3_column_int64(st, 3);
    f->sha256 = col_str(st, 4);
    f->content_type = col_str(st, 5);
    f->storage = col_str(st, 6);
    f->key = col_str(st, 7);
    f->created_at = sqlite3_column_int64(st, 8);
}

static void bind_i64(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        sqlite3_bind_int64(st, i, v);
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static const char SQL_INSERT[] =
    "INSERT INTO files (owner_id, filename, size, sha256, content_type, storage, key, created_at) "
    "VALUES (:owner, :name, :size, :sha, :type, :storage, :key, :now)";

static const char SQL_USAGE_W[] =
    "SELECT ifnull(sum(size), 0) FROM files WHERE ifnull(owner_id, 0) = :owner";

struct insert_arg {
    file_rec *f;
    int64_t quota;
};

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct insert_arg *a = arg;
    file_rec *f = a->f;
    sqlite3_stmt *u = db_stmt(c, SQL_USAGE_W);
    if (!u)
        return BB_EIO;
    bind_i64(u, ":owner", f->owner_id);
    int64_t used = sqlite3_step(u) == SQLITE_ROW ? sqlite3_column_int64(u, 0) : -1;
    sqlite3_reset(u);
    if (used < 0)
        return BB_EIO;
    if (used + f->size > a->quota)
        return BB_ETOOLARGE;
    sqlite3_stmt *st = db_stmt(c, SQL_INSERT);
    if (!st)
        return BB_EIO;
    f->created_at = bb_now_ms();
    if (f->owner_id)
        bind_i64(st, ":owner", f->owner_id);
    bind_text(st, ":name", f->filename);
    bind_i64(st, ":size", f->size);
    bind_text(st, ":sha", f->sha256);
    bind_text(st, ":type", f->content_type);
    bind_text(st, ":storage", f->storage);
    bind_text(st, ":key", f->key);
    bind_i64(st, ":now", f->created_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        bb_error("file insert failed", "error", sqlite3_errmsg(db_handle(c)));
        return BB_EIO;
    }
    f->id = sqlite3_last_insert_rowid(db_handle(c));
    return BB_OK;
}

int repo_file_insert(db *d, file_rec *f, int64_t quota)
{
    struct insert_arg a = {.f = f, .quota = quota};
    return db_write(d, op_insert, &a);
}

static const char SQL_GET[] = "SELECT " FILE_COLS " FROM files WHERE id = :id";

static int load(db_conn *c, int64_t id, int64_t scope, file_rec *out)
{
    sqlite3_stmt *st = db_stmt(c, SQL_GET);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":id", id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_file(st, out);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? BB_ENOTFOUND : BB_EIO;
    if (scope && out->owner_id != scope) {
        file_rec_clear(out);
        return BB_ENOTFOUND;
    }
    return BB_OK;
}

int repo_file_get(db *d, int64_t id, int64_t owner_scope, file_rec *out)
{
    db_conn *c = db_reader_acquire(d);
    int rc = load(c, id, owner_scope, out);
    db_reader_release(d, c);
    return rc;
}

static const char SQL_LIST[] =
    "SELECT " FILE_COLS " FROM files WHERE ifnull(owner_id, 0) = :owner ORDER BY id DESC LIMIT :limit";

int repo_file_list(db *d, int64_t owner_id, int limit, file_rec **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    file_rec *items = calloc((size_t)(limit > 0 ? limit : 1), sizeof *items);
    if (!items)
        return BB_EINTERNAL;
    db_conn *c = db_reader_acquire(d);
    sqlite3_stmt *st = db_stmt(c, SQL_LIST);
    int rc = BB_EIO;
    if (st) {
        bind_i64(st, ":owner", owner_id);
        bind_i64(st, ":limit", limit);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit)
            row_to_file(st, &items[(*n)++]);
        sqlite3_reset(st);
        rc = s == SQLITE_DONE || s == SQLITE_ROW ? BB_OK : BB_EIO;
    }
    db_reader_release(d, c);
    if (rc != BB_OK) {
        for (size_t i = 0; i < *n; i++)
            file_rec_clear(&items[i]);
        free(items);
        *n = 0;
        return rc;
    }
    *out = items;
    return BB_OK;
}

static const char SQL_USAGE[] = "SELECT ifnull(sum(size), 0) FROM files WHERE ifnull(owner_id, 0) = :owner";

int repo_file_usage(db *d, int64_t owner_id, int64_t *bytes)
{
    *bytes = 0;
    db_conn *c = db_reader_acquire(d);
    sqlite3_stmt *st = db_stmt(c, SQL_USAGE);
    int rc = BB_EIO;
    if (st) {
        bind_i64(st, ":owner", owner_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *bytes = sqlite3_column_int64(st, 0);
            rc = BB_OK;
        }
        sqlite3_reset(st);
    }
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
    sqlite3_stmt *st = db_stmt(c, SQL_IN_USE);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":id", a->id);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s == SQLITE_ROW)
        return BB_ECONFLICT;
    if (s != SQLITE_DONE)
        return BB_EIO;
    /* finished jobs keep their md text; only the link goes */
    const char *const sqls[] = {SQL_DETACH, SQL_DELETE};
    for (int i = 0; i < 2; i++) {
        st = db_stmt(c, sqls[i]);
        if (!st)
            return BB_EIO;
        bind_i64(st, ":id", a->id);
        s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            return BB_EIO;
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
