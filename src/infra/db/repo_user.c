/* repo_user.c — SQL for users, sessions and tokens (see repo_user.h). */
#include "infra/db/repo_user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infra/db/token_cache.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

#define USER_COLS "id, email, name, role, password_hash, disabled, created_at, updated_at"

/* The fields of USER_COLS, in its order. */
static const struct db_col USER_MAP[] = {
    DB_COL(user, id, I64), DB_COL(user, email, STR), DB_COL(user, name, STR),
    DB_COL(user, role, STR), DB_COL(user, password_hash, STR), DB_COL(user, disabled, BOOL),
    DB_COL(user, created_at, I64), DB_COL(user, updated_at, I64),
};

static void row_to_user(db_q *q, user *u)
{
    memset(u, 0, sizeof *u);
    db_row_read(q, u, USER_MAP, sizeof USER_MAP / sizeof USER_MAP[0]);
}

static void fill_user(db_q *q, void *rec) { row_to_user(q, rec); }
static void clear_user(void *rec) { user_clear(rec); }

static int bind_hash(db_q *q, const char *name, const unsigned char *h)
{
    return db_bind_blob(q, name, h, TOKEN_HASH_BYTES);
}

/* Runs a one-row SELECT of USER_COLS keyed by id (text NULL) or by text;
 * BB_ENOTFOUND if none.  Caller clears *out. */
static int load_user(db_conn *c, const char *sql, const char *key, int64_t id, const char *text,
                     user *out)
{
    db_q q;
    db_prepare(&q, c, sql);
    if (text)
        db_bind_text(&q, key, text);
    else
        db_bind_i64(&q, key, id);
    return db_read_record(&q, out, fill_user, clear_user);
}

static const char SQL_USER_BY_ID[] = "SELECT " USER_COLS " FROM users WHERE id = :id";
static const char SQL_USER_BY_EMAIL[] = "SELECT " USER_COLS " FROM users WHERE email = :email";
static const char SQL_USER_COUNT[] = "SELECT count(*) FROM users";
static const char SQL_USER_INSERT[] =
    "INSERT INTO users (email, name, role, password_hash, created_at, updated_at) "
    "VALUES (:email, :name, :role, :password_hash, :now, :now)";

struct create_arg {
    user *u;
    bool first_only;
};

static int count_users(db_conn *c, int64_t *n)
{
    db_q q;
    db_prepare(&q, c, SQL_USER_COUNT);
    *n = 0;
    int rc = db_one_i64(&q, n);
    return rc == BB_ENOTFOUND ? BB_EIO : rc;
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
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_USER_INSERT);
    db_row_bind(&q, a->u, USER_MAP, sizeof USER_MAP / sizeof USER_MAP[0]);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    a->u->id = db_last_id(&q);
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
    db_q q;
    db_prepare_read(&q, d, SQL_USER_LIST);
    void *items;
    int rc = db_collect(&q, sizeof **out, 0, fill_user, clear_user, &items, n);
    db_release(&q);
    *out = items;
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

/* BB_ECONFLICT when user id is the last enabled admin. */
static int keeps_an_admin(db_conn *c, int64_t id)
{
    db_q q;
    db_prepare(&q, c, SQL_ACTIVE_ADMINS);
    db_bind_i64(&q, ":id", id);
    int64_t others = 0;
    int rc = db_one_i64(&q, &others);
    if (rc != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EIO : rc;
    return others == 0 ? BB_ECONFLICT : BB_OK;
}

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
    if (was_active_admin && (demote || disable) && (rc = keeps_an_admin(c, a->id)) != BB_OK)
        return rc;
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_USER_UPDATE);
    db_bind_text(&q, ":name", a->c->name);
    db_bind_text(&q, ":hash", a->c->password_hash);
    db_bind_text(&q, ":role", a->c->role);
    db_bind_i64(&q, ":disabled", a->c->disabled);
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":id", a->id);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    if (a->c->revoke_sessions || disable) {
        db_prepare(&q, c, SQL_REVOKE_USER);
        db_bind_i64(&q, ":now", now);
        db_bind_i64(&q, ":user", a->id);
        db_bind_i64(&q, ":keep", a->c->keep_session);
        if ((rc = db_step_done(&q)) != BB_OK)
            return rc;
    }
    return a->out ? load_user(c, SQL_USER_BY_ID, ":id", a->id, NULL, a->out) : BB_OK;
}

int repo_user_update(db *d, int64_t id, const struct user_change *c, user *out)
{
    struct update_arg a = {.id = id, .c = c, .out = out};
    int rc = db_write(d, op_update, &a);
    token_cache_invalidate();    /* role, disable, password: after the commit */
    return rc;
}

/* ---- sessions and tokens ------------------------------------------------ */

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions (user_id, created_at) VALUES (:user, :now)";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO tokens (hash, session_id, kind, expires_at) VALUES (:hash, :session, :kind, :exp)";

static int insert_token(db_conn *c, const unsigned char *hash, int64_t session, const char *kind,
                        int64_t exp)
{
    db_q q;
    db_prepare(&q, c, SQL_TOKEN_INSERT);
    bind_hash(&q, ":hash", hash);
    db_bind_i64(&q, ":session", session);
    db_bind_text(&q, ":kind", kind);
    db_bind_i64(&q, ":exp", exp);
    return db_step_done(&q);
}

/* Issues an access and a refresh token in session. */
static int insert_pair(db_conn *c, int64_t session, const unsigned char *ah, int64_t aexp,
                       const unsigned char *rh, int64_t rexp)
{
    int rc = insert_token(c, ah, session, "access", aexp);
    return rc == BB_OK ? insert_token(c, rh, session, "refresh", rexp) : rc;
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
    db_q q;
    db_prepare(&q, c, SQL_SESSION_INSERT);
    db_bind_i64(&q, ":user", a->user_id);
    db_bind_i64(&q, ":now", bb_now_ms());
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    a->session_id = db_last_id(&q);
    return insert_pair(c, a->session_id, a->ah, a->aexp, a->rh, a->rexp);
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
    "SELECT s.id, u.id, u.role, t.expires_at FROM tokens t "
    "JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id "
    "WHERE t.hash = :hash AND t.kind = 'access' "
    "AND t.expires_at > :now AND s.revoked_at IS NULL AND u.disabled = 0";

static bool is_admin(db_q *q, int i)
{
    const char *role = db_col_text(q, i);
    return role && strcmp(role, "admin") == 0;
}

/* Answers from this thread's token cache when it can (token_cache.c says
 * why that never outlives a revocation made by this process). */
int repo_token_check(db *d, const unsigned char *hash, int64_t now, struct token_info *out)
{
    if (token_cache_get(hash, now, out))
        return BB_OK;
    uint64_t gen = token_cache_generation();
    int64_t expires_at = 0;
    db_q q;
    db_prepare_read(&q, d, SQL_TOKEN_CHECK);
    bind_hash(&q, ":hash", hash);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        out->session_id = db_col_i64(&q, 0);
        out->user_id = db_col_i64(&q, 1);
        out->admin = is_admin(&q, 2);
        out->expires_at = expires_at = db_col_i64(&q, 3);
        rc = db_end(&q);
    }
    db_release(&q);
    if (rc == BB_OK)
        token_cache_put(hash, gen, now, expires_at, out);
    return rc == BB_ENOTFOUND ? BB_EAUTH : rc;
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
    db_q q;
    db_prepare(&q, c, SQL_SESSION_REVOKE);
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":id", id);
    return db_step_done(&q);
}

/* What the refresh token being rotated says. */
struct refresh_row {
    int64_t session, exp, uid;
    bool spent, revoked, admin, disabled;
};

static int find_refresh(db_conn *c, const unsigned char *hash, struct refresh_row *r)
{
    db_q q;
    db_prepare(&q, c, SQL_REFRESH_FIND);
    bind_hash(&q, ":hash", hash);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc == BB_ENOTFOUND ? BB_EAUTH : rc;
    r->session = db_col_i64(&q, 0);
    r->exp = db_col_i64(&q, 1);
    r->spent = !db_col_null(&q, 2);
    r->revoked = !db_col_null(&q, 3);
    r->uid = db_col_i64(&q, 4);
    r->admin = is_admin(&q, 5);
    r->disabled = db_col_int(&q, 6) != 0;
    return db_end(&q);
}

static int op_rotate(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct rotate_arg *a = arg;
    struct refresh_row r;
    int rc = find_refresh(c, a->old, &r);
    if (rc != BB_OK)
        return rc;
    if (r.spent) {
        /* reuse of a rotated token: someone else has it — end the family.
         * The revocation must survive this operation's error return, so
         * the caller commits it in a second operation (see below). */
        a->reused = !r.revoked;
        a->out->session_id = r.session;
        return BB_EAUTH;
    }
    if (r.revoked || r.disabled || r.exp <= a->now)
        return BB_EAUTH;
    db_q q;
    db_prepare(&q, c, SQL_TOKEN_SPEND);
    db_bind_i64(&q, ":now", a->now);
    bind_hash(&q, ":hash", a->old);
    if ((rc = db_step_done(&q)) != BB_OK ||
        (rc = insert_pair(c, r.session, a->ah, a->aexp, a->rh, a->rexp)) != BB_OK)
        return rc;
    a->out->session_id = r.session;
    a->out->user_id = r.uid;
    a->out->admin = r.admin;
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
        token_cache_invalidate();
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
    int rc = db_write(d, op_revoke, &r);
    token_cache_invalidate();    /* after the commit: see token_cache.c */
    return rc;
}

static const char SQL_SESSION_OF_REFRESH[] =
    "SELECT session_id FROM tokens WHERE hash = :hash AND kind = 'refresh'";

int repo_session_of_refresh(db *d, const unsigned char *hash, int64_t *session_id)
{
    *session_id = 0;
    db_q q;
    db_prepare_read(&q, d, SQL_SESSION_OF_REFRESH);
    bind_hash(&q, ":hash", hash);
    int rc = db_one_i64(&q, session_id);
    db_release(&q);
    return rc == BB_ENOTFOUND ? BB_OK : rc;
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
    const char *const sqls[] = {SQL_PRUNE_TOKENS, SQL_PRUNE_SESSIONS};
    int rc = BB_OK;
    for (size_t i = 0; i < 2 && rc == BB_OK; i++) {
        db_q q;
        db_prepare(&q, c, sqls[i]);
        db_bind_i64(&q, ":now", now);
        rc = db_step_done(&q);
    }
    return rc;
}

int repo_tokens_prune(db *d, int64_t now)
{
    return db_write(d, op_prune, &now);
}
