/* repo_apikey.c — SQL for API keys (see repo_apikey.h).  Writes run on
 * the db writer thread; reads borrow a read connection. */
#include "infra/db/repo_apikey.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/util.h"

#define APIKEY_COLS                                                                        \
    "id, user_id, name, scope, prefix, created_at, ifnull(expires_at, 0), "               \
    "ifnull(last_used_at, 0), ifnull(revoked_at, 0)"

static const struct db_col APIKEY_MAP[] = {
    DB_COL(apikey_rec, id, I64),           DB_COL(apikey_rec, user_id, I64),
    DB_COL(apikey_rec, name, STR),         DB_COL(apikey_rec, scope, STR),
    DB_COL(apikey_rec, prefix, STR),       DB_COL(apikey_rec, created_at, I64),
    DB_COL(apikey_rec, expires_at, ID),    DB_COL(apikey_rec, last_used_at, ID),
    DB_COL(apikey_rec, revoked_at, ID),
};
#define APIKEY_NCOLS (sizeof APIKEY_MAP / sizeof APIKEY_MAP[0])

void apikey_rec_clear(apikey_rec *k)
{
    db_row_free(k, APIKEY_MAP, APIKEY_NCOLS);
    memset(k, 0, sizeof *k);
}

static void fill_key(db_q *q, void *rec)
{
    memset(rec, 0, sizeof(apikey_rec));
    db_row_read(q, rec, APIKEY_MAP, APIKEY_NCOLS);
}

static void clear_key(void *rec) { apikey_rec_clear(rec); }

static const char SQL_COUNT[] =
    "SELECT count(*) FROM api_keys WHERE user_id = :user_id AND revoked_at IS NULL";
static const char SQL_INSERT[] =
    "INSERT INTO api_keys (user_id, name, scope, hash, prefix, created_at, expires_at) "
    "VALUES (:user_id, :name, :scope, :hash, :prefix, :created_at, :expires_at)";

struct insert_arg {
    apikey_rec *k;
    const unsigned char *hash;
    int64_t cap;
};

static int op_insert(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct insert_arg *a = arg;
    int64_t count = 0;
    db_q q;
    db_prepare(&q, c, SQL_COUNT);
    db_bind_i64(&q, ":user_id", a->k->user_id);
    int rc = db_one_i64(&q, &count);
    if (rc != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EIO : rc;
    if (count >= a->cap)
        return BB_ECONFLICT;
    a->k->created_at = bb_now_ms();
    db_prepare(&q, c, SQL_INSERT);
    db_bind_i64(&q, ":user_id", a->k->user_id);
    db_bind_text(&q, ":name", a->k->name);
    db_bind_text(&q, ":scope", a->k->scope);
    db_bind_blob(&q, ":hash", a->hash, APIKEY_HASH_BYTES);
    db_bind_text(&q, ":prefix", a->k->prefix);
    db_bind_i64(&q, ":created_at", a->k->created_at);
    db_bind_id(&q, ":expires_at", a->k->expires_at);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    a->k->id = db_last_id(&q);
    return BB_OK;
}

int repo_apikey_insert(db *d, apikey_rec *k, const unsigned char *hash, int64_t cap)
{
    struct insert_arg a = {.k = k, .hash = hash, .cap = cap};
    return db_write(d, op_insert, &a);
}

static const char SQL_LIST[] =
    "SELECT " APIKEY_COLS " FROM api_keys WHERE user_id = :user_id ORDER BY id DESC "
    "LIMIT :limit";

int repo_apikey_list(db *d, int64_t user_id, size_t max, apikey_rec **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_LIST);
    db_bind_i64(&q, ":user_id", user_id);
    db_bind_i64(&q, ":limit", (int64_t)max);
    void *items;
    int rc = db_collect(&q, sizeof **out, max, fill_key, clear_key, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static const char SQL_REVOKE[] =
    "UPDATE api_keys SET revoked_at = :now "
    "WHERE id = :id AND user_id = :user_id AND revoked_at IS NULL";

struct revoke_arg {
    int64_t id, user_id, now;
};

static int op_revoke(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct revoke_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_REVOKE);
    db_bind_i64(&q, ":now", a->now);
    db_bind_i64(&q, ":id", a->id);
    db_bind_i64(&q, ":user_id", a->user_id);
    int rc = db_step_done(&q);
    return rc != BB_OK ? rc : db_changes(&q) == 1 ? BB_OK : BB_ENOTFOUND;
}

int repo_apikey_revoke(db *d, int64_t id, int64_t user_id, int64_t now)
{
    struct revoke_arg a = {.id = id, .user_id = user_id, .now = now};
    return db_write(d, op_revoke, &a);
}

static const char SQL_CHECK[] =
    "SELECT k.id, k.user_id, u.role = 'admin', k.scope, ifnull(k.last_used_at, 0) "
    "FROM api_keys k JOIN users u ON u.id = k.user_id "
    "WHERE k.hash = :hash AND k.revoked_at IS NULL AND u.disabled = 0 "
    "AND (k.expires_at IS NULL OR k.expires_at > :now)";

int repo_apikey_check(db *d, const unsigned char *hash, int64_t now, struct apikey_auth *out)
{
    memset(out, 0, sizeof *out);
    db_q q;
    db_prepare_read(&q, d, SQL_CHECK);
    db_bind_blob(&q, ":hash", hash, APIKEY_HASH_BYTES);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        out->key_id = db_col_i64(&q, 0);
        out->user_id = db_col_i64(&q, 1);
        out->user_admin = db_col_int(&q, 2) != 0;
        bb_strlcpy(out->scope, db_col_text(&q, 3) ? db_col_text(&q, 3) : "", sizeof out->scope);
        out->last_used_at = db_col_i64(&q, 4);
        db_end(&q);
    }
    db_release(&q);
    return rc == BB_ENOTFOUND ? BB_EAUTH : rc;
}

static const char SQL_TOUCH[] =
    "UPDATE api_keys SET last_used_at = :now WHERE id = :id";

struct touch_arg {
    int64_t id, now;
};

static int op_touch(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct touch_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_TOUCH);
    db_bind_i64(&q, ":now", a->now);
    db_bind_i64(&q, ":id", a->id);
    return db_step_done(&q);
}

int repo_apikey_touch(db *d, int64_t id, int64_t now)
{
    struct touch_arg a = {.id = id, .now = now};
    return db_write(d, op_touch, &a);
}
