/* repo_user.c — SQL for users, sessions and tokens (see repo_user.h). */
#include "infra/db/repo_user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define USER_COLS "id, email, name, role, password_hash, disabled, created_at, updated_at"

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void row_to_user(sqlite3_stmt *st, user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    u->email = col_str(st, 1);
    u->name = col_str(st, 2);
    u->role = col_str(st, 3);
    u->password_hash = col_str(st, 4);
    u->disabled = sqlite3_column_int(st, 5) != 0;
    u->created_at = sqlite3_column_int64(st, 6);
    u->updated_at = sqlite3_column_int64(st, 7);
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static void bind_i64(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        sqlite3_bind_int64(st, i, v);
}

static void bind_hash(sqlite3_stmt *st, const char *name, const unsigned char *h)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        sqlite3_bind_blob(st, i, h, TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
}

static int step_done(db_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return BB_ECONFLICT;
    if (rc != SQLITE_DONE) {
        bb_error("sql step failed", "error", sqlite3_errmsg(db_handle(c)), "sql", sqlite3_sql(st));
        return BB_EIO;
    }
    return BB_OK;
}

/* Runs a one-row SELECT of USER_COLS bound by fn; BB_ENOTFOUND if none. */
static int load_user(db_conn *c, const char *sql, const char *key, int64_t id, const char *text,
                     user *out)
{
    sqlite3_stmt *st = db_stmt(c, sql);
    if (!st)
        return BB_EIO;
    if (text)
        bind_text(st, key, text);
    else
        bind_i64(st, key, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_user(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? BB_OK : rc == SQLITE_DONE ? BB_ENOTFOUND : BB_EIO;
}

static const char SQL_USER_BY_ID[] = "SELECT " USER_COLS " FROM users WHERE id = :id";
static const char SQL_USER_BY_EMAIL[] = "SELECT " USER_COLS " FROM users WHERE email = :email";
static const char SQL_USER_COUNT[] = "SELECT count(*) FROM users";
static const char SQL_USER_INSERT[] =
    "INSERT INTO users (email, name, role, password_hash, created_at, updated_at) "
    "VALUES (:email, :name, :role, :hash, :now, :now)";

struct create_arg {
    user *u;
    bool first_only;
};

static int count_users(db_conn *c, int64_t *n)
{
    sqlite3_stmt *st = db_stmt(c, SQL_USER_COUNT);
    if (!st)
        return BB_EIO;
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? BB_OK : BB_EIO;
}

static int op_create(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct create_arg *a = arg;
    if (a->first_only) {
        int64_t n;
        int rc = count_users(c, &n);
        if (rc != BB_OK)
            return rc;
        if (n > 0)
            return BB_ECONFLICT;
    }
    sqlite3_stmt *st = db_stmt(c, SQL_USER_INSERT);
    if (!st)
        return BB_EIO;
    int64_t now = bb_now_ms();
    bind_text(st, ":email", a->u->email);
    bind_text(st, ":name", a->u->name);
    bind_text(st, ":role", a->u->role);
    bind_text(st, ":hash", a->u->password_hash);
    bind_i64(st, ":now", now);
    int rc = step_done(c, st);
    if (rc != BB_OK)
        return rc;
    a->u->id = sqlite3_last_insert_rowid(db_handle(c));
    a->u->created_at = a->u->updated_at = now;
    return BB_OK;
}

int repo_user_create(db *d, user *u, bool first_only)
{
    struct create_arg a = {.u = u, .first_only = first_only};
    return db_write(d, op_create, &a);
}

int repo_user_get(db *d, int64_t id, user *out)
{
    db_conn *c = db_reader_acquire(d);
    int rc = load_user(c, SQL_USER_BY_ID, ":id", id, NULL, out);
    db_reader_release(d, c);
    return rc;
}

int repo_user_by_email(db *d, const char *email, user *out)
{
    db_conn *c = db_reader_acquire(d);
    int rc = load_user(c, SQL_USER_BY_EMAIL, ":email", 0, email, out);
    db_reader_release(d, c);
    return rc;
}

static const char SQL_USER_LIST[] = "SELECT " USER_COLS " FROM users ORDER BY id DESC";

int repo_user_list(db *d, user **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader_acquire(d);
    sqlite3_stmt *st = db_stmt(c, SQL_USER_LIST);
    int rc = st ? BB_OK : BB_EIO;
    size_t cap = 0;
    int s = SQLITE_DONE;
    while (rc == BB_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            user *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = BB_EINTERNAL;
                break;
            }
            *out = p;
        }
        row_to_user(st, &(*out)[(*n)++]);
    }
    if (st)
        sqlite3_reset(st);
    if (rc == BB_OK && s != SQLITE_DONE)
        rc = BB_EIO;
    db_reader_release(d, c);
    if (rc != BB_OK) {
        for (size_t i = 0; i < *n; i++)
            user_clear(&(*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int repo_user_count(db *d, int64_t *n)
{
    db_conn *c = db_reader_acquire(d);
    int rc = count_users(c, n);
    db_reader_release(d, c);
    return rc;
}

/* ---- update ------------------------------------------------------------ */

static const char SQL_ACTIVE_ADMINS[] =
    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> :id";
static const char SQL_USER_UPDATE[] =
    "UPDATE users SET name = CASE WHEN :name IS NULL THEN name WHEN :name = '' THEN NULL "
    "ELSE :name END, password_hash = coalesce(:hash, password_hash), "
    "role = coalesce(:role, role), disabled = CASE WHEN :disabled < 0 THEN disabled "
    "ELSE :disabled END, updated_at = :now WHERE id = :id";
static const char SQL_REVOKE_USER[] =
    "UPDATE sessions SET revoked_at = :now WHERE user_id = :user AND revoked_at IS NULL "
    "AND id <> :keep";

struct update_arg {
    int64_t id;
    const struct user_change *c;
    user *out;
};

static int op_update(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct update_arg *a = arg;
    user cur;
    int rc = load_user(c, SQL_USER_BY_ID, ":id", a->id, NULL, &cur);
    if (rc != BB_OK)
        return rc;
    bool was_active_admin = strcmp(cur.role, "admin") == 0 && !cur.disabled;
    bool demote = a->c->role && strcmp(a->c->role, "admin") != 0;
    bool disable = a->c->disabled == 1;
    user_clear(&cur);
    if (was_active_admin && (demote || disable)) {
        sqlite3_stmt *st = db_stmt(c, SQL_ACTIVE_ADMINS);
        if (!st)
            return BB_EIO;
        bind_i64(st, ":id", a->id);
        int s = sqlite3_step(st);
        int64_t others = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (s != SQLITE_ROW)
            return BB_EIO;
        if (others == 0)
            return BB_ECONFLICT;
    }
    int64_t now = bb_now_ms();
    sqlite3_stmt *st = db_stmt(c, SQL_USER_UPDATE);
    if (!st)
        return BB_EIO;
    bind_text(st, ":name", a->c->name);
    bind_text(st, ":hash", a->c->password_hash);
    bind_text(st, ":role", a->c->role);
    bind_i64(st, ":disabled", a->c->disabled);
    bind_i64(st, ":now", now);
    bind_i64(st, ":id", a->id);
    if ((rc = step_done(c, st)) != BB_OK)
        return rc;
    if (a->c->revoke_sessions || disable) {
        sqlite3_stmt *rv = db_stmt(c, SQL_REVOKE_USER);
        if (!rv)
            return BB_EIO;
        bind_i64(rv, ":now", now);
        bind_i64(rv, ":user", a->id);
        bind_i64(rv, ":keep", a->c->keep_session);
        if ((rc = step_done(c, rv)) != BB_OK)
            return rc;
    }
    return a->out ? load_user(c, SQL_USER_BY_ID, ":id", a->id, NULL, a->out) : BB_OK;
}

int repo_user_update(db *d, int64_t id, const struct user_change *c, user *out)
{
    struct update_arg a = {.id = id, .c = c, .out = out};
    return db_write(d, op_update, &a);
}

/* ---- sessions and tokens ------------------------------------------------ */

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions (user_id, created_at) VALUES (:user, :now)";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO tokens (hash, session_id, kind, expires_at) VALUES (:hash, :session, :kind, :exp)";

static int insert_token(db_conn *c, const unsigned char *hash, int64_t session, const char *kind,
                        int64_t exp)
{
    sqlite3_stmt *st = db_stmt(c, SQL_TOKEN_INSERT);
    if (!st)
        return BB_EIO;
    bind_hash(st, ":hash", hash);
    bind_i64(st, ":session", session);
    bind_text(st, ":kind", kind);
    bind_i64(st, ":exp", exp);
    return step_done(c, st);
}

struct session_arg {
    int64_t user_id;
    const unsigned char *ah, *rh;
    int64_t aexp, rexp;
    int64_t session_id;
};

static int op_session(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct session_arg *a = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_SESSION_INSERT);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":user", a->user_id);
    bind_i64(st, ":now", bb_now_ms());
    int rc = step_done(c, st);
    if (rc != BB_OK)
        return rc;
    a->session_id = sqlite3_last_insert_rowid(db_handle(c));
    if ((rc = insert_token(c, a->ah, a->session_id, "access", a->aexp)) != BB_OK)
        return rc;
    return insert_token(c, a->rh, a->session_id, "refresh", a->rexp);
}

int repo_session_create(db *d, int64_t user_id, const unsigned char *access_hash,
                        int64_t access_exp, const unsigned char *refresh_hash,
                        int64_t refresh_exp, int64_t *session_id)
{
    struct session_arg a = {.user_id = user_id, .ah = access_hash, .rh = refresh_hash,
                            .aexp = access_exp, .rexp = refresh_exp};
    int rc = db_write(d, op_session, &a);
    *session_id = a.session_id;
    return rc;
}

static const char SQL_TOKEN_CHECK[] =
    "SELECT s.id, u.id, u.role FROM tokens t JOIN sessions s ON s.id = t.session_id "
    "JOIN users u ON u.id = s.user_id WHERE t.hash = :hash AND t.kind = 'access' "
    "AND t.expires_at > :now AND s.revoked_at IS NULL AND u.disabled = 0";

int repo_token_check(db *d, const unsigned char *hash, int64_t now, struct token_info *out)
{
    db_conn *c = db_reader_acquire(d);
    sqlite3_stmt *st = db_stmt(c, SQL_TOKEN_CHECK);
    int rc = BB_EIO;
    if (st) {
        bind_hash(st, ":hash", hash);
        bind_i64(st, ":now", now);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            out->session_id = sqlite3_column_int64(st, 0);
            out->user_id = sqlite3_column_int64(st, 1);
            const char *role = (const char *)sqlite3_column_text(st, 2);
            out->admin = role && strcmp(role, "admin") == 0;
            rc = BB_OK;
        } else {
            rc = s == SQLITE_DONE ? BB_EAUTH : BB_EIO;
        }
        sqlite3_reset(st);
    }
    db_reader_release(d, c);
    return rc;
}

static const char SQL_REFRESH_FIND[] =
    "SELECT t.session_id, t.expires_at, t.spent_at, s.revoked_at, u.id, u.role, u.disabled "
    "FROM tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id "
    "WHERE t.hash = :hash AND t.kind = 'refresh'";
static const char SQL_TOKEN_SPEND[] = "UPDATE tokens SET spent_at = :now WHERE hash = :hash";
static const char SQL_SESSION_REVOKE[] =
    "UPDATE sessions SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL";

struct rotate_arg {
    const unsigned char *old, *ah, *rh;
    int64_t now, aexp, rexp;
    struct token_info *out;
    bool reused;
};

static int revoke_session(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_stmt(c, SQL_SESSION_REVOKE);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":now", now);
    bind_i64(st, ":id", id);
    return step_done(c, st);
}

static int op_rotate(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct rotate_arg *a = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_REFRESH_FIND);
    if (!st)
        return BB_EIO;
    bind_hash(st, ":hash", a->old);
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW) {
        sqlite3_reset(st);
        return s == SQLITE_DONE ? BB_EAUTH : BB_EIO;
    }
    int64_t session = sqlite3_column_int64(st, 0);
    int64_t exp = sqlite3_column_int64(st, 1);
    bool spent = sqlite3_column_type(st, 2) != SQLITE_NULL;
    bool revoked = sqlite3_column_type(st, 3) != SQLITE_NULL;
    int64_t uid = sqlite3_column_int64(st, 4);
    const char *role = (const char *)sqlite3_column_text(st, 5);
    bool admin = role && strcmp(role, "admin") == 0;
    bool disabled = sqlite3_column_int(st, 6) != 0;
    sqlite3_reset(st);
    if (spent) {
        /* reuse of a rotated token: someone else has it — end the family.
         * The revocation must survive this operation's error return, so
         * the caller commits it in a second operation (see below). */
        a->reused = !revoked;
        a->out->session_id = session;
        return BB_EAUTH;
    }
    if (revoked || disabled || exp <= a->now)
        return BB_EAUTH;
    sqlite3_stmt *sp = db_stmt(c, SQL_TOKEN_SPEND);
    if (!sp)
        return BB_EIO;
    bind_i64(sp, ":now", a->now);
    bind_hash(sp, ":hash", a->old);
    int rc = step_done(c, sp);
    if (rc != BB_OK)
        return rc;
    if ((rc = insert_token(c, a->ah, session, "access", a->aexp)) != BB_OK ||
        (rc = insert_token(c, a->rh, session, "refresh", a->rexp)) != BB_OK)
        return rc;
    a->out->session_id = session;
    a->out->user_id = uid;
    a->out->admin = admin;
    return BB_OK;
}

struct revoke_arg {
    int64_t id;
};

static int op_revoke(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct revoke_arg *a = arg;
    return revoke_session(c, a->id, bb_now_ms());
}

int repo_session_rotate(db *d, const unsigned char *old_hash, int64_t now,
                        const unsigned char *access_hash, int64_t access_exp,
                        const unsigned char *refresh_hash, int64_t refresh_exp,
                        struct token_info *out, bool *reused)
{
    memset(out, 0, sizeof *out);
    struct rotate_arg a = {.old = old_hash, .ah = access_hash, .rh = refresh_hash, .now = now,
                           .aexp = access_exp, .rexp = refresh_exp, .out = out};
    int rc = db_write(d, op_rotate, &a);
    *reused = a.reused;
    if (rc == BB_EAUTH && a.reused) {
        struct revoke_arg r = {.id = out->session_id};
        int rrc = db_write(d, op_revoke, &r);
        if (rrc != BB_OK)
            return rrc;
        char sid[24];
        snprintf(sid, sizeof sid, "%lld", (long long)out->session_id);
        bb_warn("a spent refresh token was presented again: session revoked", "sessionId", sid);
    }
    return rc;
}

int repo_session_revoke(db *d, int64_t session_id)
{
    struct revoke_arg r = {.id = session_id};
    return db_write(d, op_revoke, &r);
}

static const char SQL_SESSION_OF_REFRESH[] =
    "SELECT session_id FROM tokens WHERE hash = :hash AND kind = 'refresh'";

int repo_session_of_refresh(db *d, const unsigned char *hash, int64_t *session_id)
{
    *session_id = 0;
    db_conn *c = db_reader_acquire(d);
    sqlite3_stmt *st = db_stmt(c, SQL_SESSION_OF_REFRESH);
    int rc = BB_EIO;
    if (st) {
        bind_hash(st, ":hash", hash);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW)
            *session_id = sqlite3_column_int64(st, 0);
        rc = s == SQLITE_ROW || s == SQLITE_DONE ? BB_OK : BB_EIO;
        sqlite3_reset(st);
    }
    db_reader_release(d, c);
    return rc;
}

static const char SQL_PRUNE_TOKENS[] =
    "DELETE FROM tokens WHERE expires_at < :now - 86400000";
static const char SQL_PRUNE_SESSIONS[] =
    "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < :now - 86400000) "
    "OR NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.session_id = sessions.id)";

static int op_prune(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    int64_t now = *(int64_t *)arg;
    sqlite3_stmt *st = db_stmt(c, SQL_PRUNE_TOKENS);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":now", now);
    int rc = step_done(c, st);
    if (rc != BB_OK)
        return rc;
    st = db_stmt(c, SQL_PRUNE_SESSIONS);
    if (!st)
        return BB_EIO;
    bind_i64(st, ":now", now);
    return step_done(c, st);
}

int repo_tokens_prune(db *d, int64_t now)
{
    return db_write(d, op_prune, &now);
}
