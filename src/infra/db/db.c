/* db.c — SQLite connections, the group-committing writer and migrations.
 *
 * DESIGN
 * - One write connection, owned by the writer thread (writer_main).  Any
 *   thread that changes the database packages the change as an operation
 *   (db_op_fn + argument) and calls db_write(), which queues it and sleeps
 *   on a semaphore.  The writer takes every queued operation (up to
 *   MAX_BATCH), runs them in ONE transaction, each inside its own SAVEPOINT
 *   so a failing operation rolls back alone, commits once, hands the events
 *   of the committed operations to the commit hook (which publishes them on
 *   the bus), then wakes the callers.  This is group commit: a burst of N
 *   submits costs one commit instead of N (about 5x at NORMAL; figures in
 *   docs/architecture.md, "SQLite: one writer, group commit"), and it
 *   avoids SQLite's unfair busy handler because no second writer ever
 *   exists.  Events are published strictly in commit order, so SSE ids
 *   reach the bus in increasing order.
 * - Never db_write() on the writer thread, i.e. from inside an operation or
 *   the commit hook: the writer would wait on itself (asserted).
 * - Outbox accounting: an operation's events live in its own outbox; a
 *   failed operation (or a failed commit) discards them, a committed one
 *   hands them to the hook, so after a batch every outbox is empty and the
 *   hook got exactly the events of the committed operations (asserted).
 *   Within one operation events are added in increasing id order
 *   (asserted in db_outbox_add); across operations the writer's order is
 *   the job_events AUTOINCREMENT order.
 * - Which thread owns what: the queue (qhead/qtail/closing) is guarded by
 *   qmu; the write connection, its statement cache and the outboxes of a
 *   running batch belong to the writer thread alone (asserted in db_stmt);
 *   the free-reader list is guarded by rmu, and a borrowed reader belongs
 *   to the borrowing thread until it gives it back (asserted).
 * - Read connections: a fixed pool (default 4, cache_size capped at 1 MiB
 *   each) shared by all HTTP threads; WAL lets them read while the writer
 *   writes.  A reader is borrowed for one request and given back.
 * - Statements are prepared once per connection and cached, keyed by the
 *   address of the static SQL text in repo_*.c.  The statement layer
 *   (db_q: db_prepare*, db_bind_*, db_step*, db_col_*, the read loops
 *   db_each / db_collect / db_read_record, and record maps that read, bind
 *   and free a struct) is the only way repositories touch them: a bind by
 *   an unknown :name fails loudly (logged, BB_EINTERNAL, nothing runs), a
 *   parameter left unbound is caught before the step (asserted), and
 *   every statement maps a constraint violation to BB_ECONFLICT.
 * - synchronous=NORMAL in WAL mode: a process crash (kill -9) loses
 *   nothing committed; a power loss may lose the last transactions.  See
 *   docs/architecture.md.
 * - Writer health (docs/operations.md, "Health"): the writer remembers the
 *   last storage error (disk full, I/O error, read-only or damaged file:
 *   SQLite's code and message) and the time of the last good commit,
 *   under hmu; db_health() reads them and runs a write probe (a commit
 *   that also has to allocate pages, rolled back).  A full disk maps to
 *   BB_EFULL and sets bb_set_disk_full() until a commit succeeds.  If a
 *   failing statement made SQLite roll the whole transaction back, every
 *   operation of the batch fails (none of their changes is kept).
 * - Start-up checks in db_open (docs/operations.md, "Start-up checks"): a
 *   read-only database file, PRAGMA quick_check findings and a failing
 *   write probe stop the open with a message naming the problem; an empty
 *   (0-byte) file is used as a new database and the log says so.
 * - Shutdown: db_close() marks the queue closed (later db_write calls get
 *   BB_EUNAVAIL), lets the writer finish what is queued, joins it,
 *   checkpoints (TRUNCATE) and closes every connection.  By then the queue
 *   is empty and every reader has been given back (asserted).
 */
#include "infra/db/db.h"
#include "infra/db/db_schema.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "infra/bus/bus.h"
#include "util/assets.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/log.h"

#define STMT_SLOTS 128
#define MAX_BATCH 512
#define WAL_CHECKPOINT_PAGES 1000     /* SQLite's default auto-checkpoint */

struct db_conn {
    sqlite3 *h;
    bool writer;      /* the write connection (writer thread only) */
    bool lent;        /* a reader currently borrowed (guarded by db.rmu) */
    struct { const char *sql; sqlite3_stmt *st; } cache[STMT_SLOTS];
};

/* The write connection of the db whose writer thread this is (NULL on
 * every other thread): for the thread asserts. */
static _Thread_local const db_conn *tls_writer_conn;
/* The first storage error (SQLite code, 0 = none) a statement of the
 * running batch met, and its message: writer thread only. */
static _Thread_local int tls_batch_err;
static _Thread_local char tls_batch_msg[200];

struct op {
    db_op_fn fn;
    void *arg;
    int rc;
    sem_t done;
    db_outbox out;
    struct op *next;
};

struct db {
    char *path;
    db_conn writer;
    pthread_t writer_thread;
    bool writer_started;

    pthread_mutex_t qmu;          /* guards queue head/tail, closing */
    pthread_cond_t qcond;
    struct op *qhead, *qtail;
    bool closing;

    atomic_uint_fast64_t checkpoints, checkpoint_errors;   /* db_stats */

    pthread_mutex_t hmu;          /* guards the writer's health below */
    int werr_code;                /* SQLite code of the last storage error */
    char werr_msg[200];
    int64_t werr_ms, wok_ms;      /* when it happened; the last good commit */
    uint64_t write_errors;        /* batches that met a storage error */
    int64_t probe_ms;             /* the last health probe (db_health) */
    uint64_t probe_errors;        /* write_errors when that probe ran */
    int probe_rc;                 /* and its result */

    db_commit_hook hook;          /* set before the first write */
    void *hook_ud;

    pthread_mutex_t rmu;          /* guards free readers */
    pthread_cond_t rcond;
    db_conn *readers;
    db_conn **free_readers;
    int nreaders, nfree;
};

int db_outbox_add(db_outbox *o, bus_event *ev)
{
    BB_ASSERT(ev && (o->n == 0 || ev->id > o->items[o->n - 1]->id));
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 4;
        bus_event **p = realloc(o->items, ncap * sizeof *p);
        if (!p) {
            bus_event_free(ev);
            return -1;
        }
        o->items = p;
        o->cap = ncap;
    }
    o->items[o->n++] = ev;
    return 0;
}

static void outbox_discard(db_outbox *o)
{
    for (size_t i = 0; i < o->n; i++)
        bus_event_free(o->items[i]);
    free(o->items);
    memset(o, 0, sizeof *o);
}

sqlite3_stmt *db_stmt(db_conn *c, const char *sql)
{
    BB_ASSERT(c->writer ? c == tls_writer_conn : c->lent);
    size_t h = ((uintptr_t)sql >> 3) % STMT_SLOTS;
    for (size_t i = 0; i < STMT_SLOTS; i++) {
        size_t k = (h + i) % STMT_SLOTS;
        if (c->cache[k].sql == sql) {
            sqlite3_stmt *st = c->cache[k].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
        if (!c->cache[k].sql) {
            sqlite3_stmt *st = NULL;
            int rc = sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
            if (rc != SQLITE_OK) {
                bb_error("sql prepare failed", "error", sqlite3_errmsg(c->h), "sql", sql);
                return NULL;
            }
            c->cache[k].sql = sql;
            c->cache[k].st = st;
            return st;
        }
    }
    bb_error("statement cache full", "sql", sql);
    return NULL;
}

sqlite3 *db_handle(db_conn *c) { return c->h; }
const char *db_path(const db *d) { return d->path; }

/* ---- the statement layer ------------------------------------------------ */

int db_prepare(db_q *q, db_conn *c, const char *sql)
{
    q->c = c;
    q->lender = NULL;
    return db_prepare_next(q, sql);
}

int db_prepare_read(db_q *q, db *d, const char *sql)
{
    db_prepare(q, db_reader_acquire(d), sql);
    q->lender = d;
    return q->rc;
}

int db_prepare_next(db_q *q, const char *sql)
{
    q->bound = 0;
    q->st = db_stmt(q->c, sql);
    q->rc = q->st ? BB_OK : BB_EIO;
    return q->rc;
}

int db_release(db_q *q)
{
    db_end(q);
    if (q->lender)
        db_reader_release(q->lender, q->c);
    q->lender = NULL;
    return q->rc;
}

/* The index of parameter name, or 0 after recording an error (sticky, or
 * an unknown name: a bug in the repository, so it fails loudly). */
static int param(db_q *q, const char *name)
{
    if (q->rc != BB_OK)
        return 0;
    int i = sqlite3_bind_parameter_index(q->st, name);
    if (i == 0) {
        bb_error("sql bind: the statement has no such parameter", "name", name, "sql",
                 sqlite3_sql(q->st));
        q->rc = BB_EINTERNAL;
    } else if (i <= 64) {
        q->bound |= UINT64_C(1) << (i - 1);
    }
    return i;
}

#ifdef BB_DEBUG
/* Whether every parameter of q's statement has been bound (for the
 * assert before a step; statements with over 64 are not tracked). */
static bool all_bound(const db_q *q)
{
    int n = sqlite3_bind_parameter_count(q->st);
    if (n > 64)
        return true;
    uint64_t want = n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
    return (q->bound & want) == want;
}
#endif

/* Records a failed sqlite3_bind_* (out of memory, too big). */
static int bound(db_q *q, const char *name, int rc)
{
    if (rc != SQLITE_OK && q->rc == BB_OK) {
        bb_error("sql bind failed", "name", name, "error", sqlite3_errstr(rc));
        q->rc = rc == SQLITE_NOMEM ? BB_EINTERNAL : BB_EIO;
    }
    return q->rc;
}

int db_bind_i64(db_q *q, const char *name, int64_t v)
{
    int i = param(q, name);
    return i ? bound(q, name, sqlite3_bind_int64(q->st, i, v)) : q->rc;
}

int db_bind_double(db_q *q, const char *name, double v)
{
    int i = param(q, name);
    return i ? bound(q, name, sqlite3_bind_double(q->st, i, v)) : q->rc;
}

int db_bind_text(db_q *q, const char *name, const char *v)
{
    int i = param(q, name);
    if (!i)
        return q->rc;
    return bound(q, name, v ? sqlite3_bind_text(q->st, i, v, -1, SQLITE_TRANSIENT)
                            : sqlite3_bind_null(q->st, i));
}

int db_bind_blob(db_q *q, const char *name, const void *p, size_t n)
{
    int i = param(q, name);
    return i ? bound(q, name, sqlite3_bind_blob64(q->st, i, p, n, SQLITE_TRANSIENT)) : q->rc;
}

int db_bind_id(db_q *q, const char *name, int64_t v)
{
    int i = param(q, name);
    if (!i)
        return q->rc;
    return bound(q, name, v ? sqlite3_bind_int64(q->st, i, v) : sqlite3_bind_null(q->st, i));
}

/* SQLite codes that say the database cannot be written (as opposed to a
 * statement that is wrong or conflicts). */
static bool storage_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_READONLY: case SQLITE_CORRUPT:
    case SQLITE_CANTOPEN: case SQLITE_NOTADB: case SQLITE_PERM:
        return true;
    default:
        return false;
    }
}

/* On the writer thread: remembers the batch's first storage error. */
static void note_batch_error(int rc, const char *msg)
{
    if (tls_writer_conn && storage_error(rc) && !tls_batch_err) {
        tls_batch_err = rc;
        snprintf(tls_batch_msg, sizeof tls_batch_msg, "%s", msg ? msg : sqlite3_errstr(rc));
    }
}

/* Maps a failed step to the application's error and records it. */
static int step_failed(db_q *q, int rc)
{
    const char *msg = sqlite3_errmsg(db_handle(q->c));
    if (q->c->writer)
        note_batch_error(rc, msg);
    if ((rc & 0xff) == SQLITE_FULL) {
        bb_error("sql step failed: the disk is full", "error", msg, "sql", sqlite3_sql(q->st));
        q->rc = BB_EFULL;
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        if (rc != SQLITE_CONSTRAINT_UNIQUE && rc != SQLITE_CONSTRAINT_PRIMARYKEY)
            bb_warn("sql constraint violated", "error", msg, "sql", sqlite3_sql(q->st));
        q->rc = BB_ECONFLICT;
    } else {
        bb_error("sql step failed", "error", msg, "sql", sqlite3_sql(q->st));
        q->rc = BB_EIO;
    }
    return q->rc;
}

int db_step_done(db_q *q)
{
    if (q->rc != BB_OK)
        return db_end(q);
    BB_ASSERT(all_bound(q));
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW)
        bb_error("sql step returned a row where none was expected", "sql", sqlite3_sql(q->st));
    if (rc == SQLITE_ROW)
        q->rc = BB_EINTERNAL;
    else if (rc != SQLITE_DONE)
        step_failed(q, rc);
    return db_end(q);
}

bool db_step(db_q *q)
{
    if (q->rc != BB_OK) {
        db_end(q);
        return false;
    }
    BB_ASSERT(all_bound(q));
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        step_failed(q, rc);
    db_end(q);
    return false;
}

int db_step_one(db_q *q)
{
    if (db_step(q))
        return BB_OK;
    return q->rc != BB_OK ? q->rc : BB_ENOTFOUND;
}

int db_end(db_q *q)
{
    if (q->st)
        sqlite3_reset(q->st);
    return q->rc;
}

int db_ids_push(db_ids *l, int64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return BB_EINTERNAL;
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return BB_OK;
}

int db_ids_take(void *ud, db_q *q)
{
    return db_ids_push(ud, db_col_i64(q, 0));
}

int db_each(db_q *q, int (*row)(void *ud, db_q *q), void *ud)
{
    while (db_step(q)) {
        int rc = row(ud, q);
        if (rc == DB_STOP)
            return db_end(q);
        if (rc != BB_OK) {
            db_end(q);
            return q->rc != BB_OK ? q->rc : rc;
        }
        if (q->rc != BB_OK)          /* a column helper ran out of memory */
            return db_end(q);
    }
    return q->rc;
}

struct collect {
    size_t size, max, n, cap;
    char *items;
    void (*fill)(db_q *, void *);
    const struct db_col *map;   /* with fill NULL: each row read by this map */
    size_t ncols;
};

static int collect_row(void *ud, db_q *q)
{
    struct collect *k = ud;
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        if (k->max && ncap > k->max)
            ncap = k->max;
        char *p = realloc(k->items, ncap * k->size);
        if (!p)
            return BB_EINTERNAL;
        k->items = p;
        k->cap = ncap;
    }
    void *rec = k->items + k->n * k->size;
    memset(rec, 0, k->size);
    if (k->fill)
        k->fill(q, rec);
    else
        db_row_read(q, rec, k->map, k->ncols);
    k->n++;
    return k->max && k->n == k->max ? DB_STOP : BB_OK;
}

int db_collect(db_q *q, size_t size, size_t max, void (*fill)(db_q *q, void *rec),
               void (*clear)(void *rec), void **out, size_t *n)
{
    struct collect k = {.size = size, .max = max, .fill = fill};
    *out = NULL;
    *n = 0;
    int rc = db_each(q, collect_row, &k);
    if (rc != BB_OK) {
        for (size_t i = 0; i < k.n; i++)
            clear(k.items + i * size);
        free(k.items);
        return rc;
    }
    *out = k.items;
    *n = k.n;
    return BB_OK;
}

int db_collect_map(db_q *q, size_t size, size_t max, const struct db_col *map, size_t ncols,
                   void **out, size_t *n)
{
    struct collect k = {.size = size, .max = max, .map = map, .ncols = ncols};
    *out = NULL;
    *n = 0;
    int rc = db_each(q, collect_row, &k);
    if (rc != BB_OK) {
        for (size_t i = 0; i < k.n; i++)
            db_row_free(k.items + i * size, map, ncols);
        free(k.items);
        return rc;
    }
    *out = k.items;
    *n = k.n;
    return BB_OK;
}

int db_read_map(db_q *q, void *rec, size_t size, const struct db_col *map, size_t ncols)
{
    int rc = db_step_one(q);
    if (rc != BB_OK)
        return rc;
    memset(rec, 0, size);
    db_row_read(q, rec, map, ncols);
    if ((rc = db_end(q)) != BB_OK)
        db_row_free(rec, map, ncols);
    return rc;
}

int db_read_record(db_q *q, void *rec, void (*fill)(db_q *q, void *rec),
                   void (*clear)(void *rec))
{
    int rc = db_step_one(q);
    if (rc != BB_OK)
        return rc;
    fill(q, rec);
    if ((rc = db_end(q)) != BB_OK)
        clear(rec);
    return rc;
}

int db_one_i64(db_q *q, int64_t *out)
{
    int rc = db_step_one(q);
    if (rc == BB_OK) {
        *out = db_col_i64(q, 0);
        rc = db_end(q);
    }
    return rc;
}

void db_row_read(db_q *q, void *rec, const struct db_col *map, size_t n)
{
    BB_ASSERT(sqlite3_column_count(q->st) == (int)n);
    char *base = rec;
    for (size_t k = 0; k < n; k++) {
        void *f = base + map[k].off;
        int i = (int)k;
        switch (map[k].kind) {
        case DB_COL_SKIP: break;
        case DB_COL_I64:
        case DB_COL_ID: *(int64_t *)f = db_col_i64(q, i); break;
        case DB_COL_INT: *(int *)f = db_col_int(q, i); break;
        case DB_COL_BOOL: *(bool *)f = db_col_int(q, i) != 0; break;
        case DB_COL_DOUBLE: *(double *)f = db_col_double(q, i); break;
        case DB_COL_STR: *(char **)f = db_col_strdup(q, i); break;
        }
    }
}

int db_row_bind(db_q *q, const void *rec, const struct db_col *map, size_t n)
{
    const char *base = rec;
    for (size_t k = 0; k < n && q->rc == BB_OK; k++) {
        const void *f = base + map[k].off;
        const char *p = map[k].param;
        if (map[k].kind == DB_COL_SKIP || sqlite3_bind_parameter_index(q->st, p) == 0)
            continue;
        switch (map[k].kind) {
        case DB_COL_SKIP: break;
        case DB_COL_I64: db_bind_i64(q, p, *(const int64_t *)f); break;
        case DB_COL_ID: db_bind_id(q, p, *(const int64_t *)f); break;
        case DB_COL_INT: db_bind_i64(q, p, *(const int *)f); break;
        case DB_COL_BOOL: db_bind_i64(q, p, *(const bool *)f); break;
        case DB_COL_DOUBLE: db_bind_double(q, p, *(const double *)f); break;
        case DB_COL_STR: db_bind_text(q, p, *(char *const *)f); break;
        }
    }
    return q->rc;
}

void db_row_free(void *rec, const struct db_col *map, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (map[k].kind != DB_COL_STR)
            continue;
        char **f = (char **)((char *)rec + map[k].off);
        free(*f);
        *f = NULL;
    }
}

const char *db_col_text(db_q *q, int i)
{
    return (const char *)sqlite3_column_text(q->st, i);
}

char *db_col_strdup(db_q *q, int i)
{
    const char *t = db_col_text(q, i);
    if (!t)
        return NULL;
    char *s = strdup(t);
    if (!s && q->rc == BB_OK)
        q->rc = BB_EINTERNAL;
    return s;
}

int64_t db_col_i64(db_q *q, int i) { return sqlite3_column_int64(q->st, i); }
int db_col_int(db_q *q, int i) { return sqlite3_column_int(q->st, i); }
double db_col_double(db_q *q, int i) { return sqlite3_column_double(q->st, i); }
bool db_col_null(db_q *q, int i) { return sqlite3_column_type(q->st, i) == SQLITE_NULL; }
int64_t db_changes(db_q *q) { return sqlite3_changes64(db_handle(q->c)); }
int64_t db_last_id(db_q *q) { return sqlite3_last_insert_rowid(db_handle(q->c)); }

static void conn_close(db_conn *c)
{
    for (size_t i = 0; i < STMT_SLOTS; i++)
        if (c->cache[i].st)
            sqlite3_finalize(c->cache[i].st);
    memset(c->cache, 0, sizeof c->cache);
    if (c->h)
        sqlite3_close(c->h);
    c->h = NULL;
}

static int conn_open(db_conn *c, const char *path, bool writer, bool sync_full,
                     char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->writer = writer;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &c->h, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
        conn_close(c);
        return -1;
    }
    if (writer && sqlite3_db_readonly(c->h, "main") == 1) {
        snprintf(err, errlen, "the database file %s is read-only: the server must be able to "
                 "write it (check its owner and mode)", path);
        conn_close(c);
        return -1;
    }
    /* Owner-only (it holds password and token hashes); the -wal and -shm
     * files SQLite creates take the database file's mode. */
    if (writer && chmod(path, S_IRUSR | S_IWUSR) != 0 && errno != ENOENT)
        bb_warn("cannot make the database file owner-only", "path", path);
    sqlite3_busy_timeout(c->h, 5000);
    sqlite3_extended_result_codes(c->h, 1);
    const char *pragmas = writer
        ? (sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                       " PRAGMA temp_store=MEMORY;"
                     : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                       " PRAGMA temp_store=MEMORY;")
        : "PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024; PRAGMA temp_store=MEMORY;"
          " PRAGMA query_only=ON;";
    if (db_exec_sql(c->h, pragmas, err, errlen) != 0) {
        conn_close(c);
        return -1;
    }
    return 0;
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT op";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO op";
static const char SQL_RELEASE[] = "RELEASE op";

/* Runs one of the writer's transaction-control statements (prepared once). */
static int tx(db *d, const char *sql)
{
    sqlite3_stmt *st = db_stmt(&d->writer, sql);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        note_batch_error(rc, sqlite3_errmsg(d->writer.h));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        /* after a storage error SQLite may have rolled back already: the
         * statements that follow fail for that reason, said once above */
        if (!tls_batch_err || sql == SQL_BEGIN || sql == SQL_COMMIT)
            bb_error("transaction statement failed", "sql", sql, "error",
                     sqlite3_errmsg(d->writer.h));
        return -1;
    }
    return 0;
}


/* After a batch: the writer's health (db_health) and the disk-full flag. */
static void note_batch_outcome(db *d, bool committed)
{
    int64_t now = bb_now_ms();
    pthread_mutex_lock(&d->hmu);
    if (tls_batch_err) {
        d->werr_code = tls_batch_err;
        snprintf(d->werr_msg, sizeof d->werr_msg, "%s", tls_batch_msg);
        d->werr_ms = now;
        d->write_errors++;
    }
    if (committed)
        d->wok_ms = now;
    pthread_mutex_unlock(&d->hmu);
    if ((tls_batch_err & 0xff) == SQLITE_FULL)
        bb_set_disk_full(true);
    else if (committed)
        bb_set_disk_full(false);
}

static void run_batch(db *d, struct op *batch)
{
    tls_batch_err = 0;
    tls_batch_msg[0] = '\0';
    bool began = tx(d, SQL_BEGIN) == 0;
    bool single = batch->next == NULL;
    bool lost = false;   /* SQLite rolled the transaction back by itself */
    for (struct op *o = batch; o; o = o->next) {
        BB_ASSERT(o->out.n == 0 && o->out.items == NULL);
        if (!began || lost) {
            o->rc = BB_EIO;
            continue;
        }
        /* A batch of one needs no savepoint: its rollback is the
         * transaction's. */
        if (!single && tx(d, SQL_SAVEPOINT) != 0) {
            o->rc = BB_EIO;
            continue;
        }
        o->rc = o->fn(&d->writer, o->arg, &o->out);
        if (o->rc != BB_OK) {
            if (sqlite3_get_autocommit(d->writer.h)) {
                lost = true;
                break;
            }
            if (!single)
                tx(d, SQL_ROLLBACK_TO);
            outbox_discard(&o->out);
        }
        if (!single)
            tx(d, SQL_RELEASE);
    }
    bool committed = false;
    if (lost) {
        for (struct op *o = batch; o; o = o->next) {
            if (o->rc == BB_OK)
                o->rc = (tls_batch_err & 0xff) == SQLITE_FULL ? BB_EFULL : BB_EIO;
            outbox_discard(&o->out);
        }
    } else if (began && single && batch->rc != BB_OK) {
        tx(d, SQL_ROLLBACK);
    } else if (began && tx(d, SQL_COMMIT) != 0) {
        tx(d, SQL_ROLLBACK);
        for (struct op *o = batch; o; o = o->next) {
            o->rc = (tls_batch_err & 0xff) == SQLITE_FULL ? BB_EFULL : BB_EIO;
            outbox_discard(&o->out);
        }
    } else if (began) {
        committed = true;
    }
    note_batch_outcome(d, committed);
    /* Publish in commit order, then wake the callers.  Only committed
     * operations still hold events. */
    size_t total = 0;
    for (struct op *o = batch; o; o = o->next) {
        BB_ASSERT(o->rc == BB_OK || o->out.n == 0);
        total += o->out.n;
    }
    if (total && d->hook) {
        bus_event **all = malloc(total * sizeof *all);
        if (all) {
            size_t k = 0;
            for (struct op *o = batch; o; o = o->next) {
                if (o->out.n)
                    memcpy(all + k, o->out.items, o->out.n * sizeof *all);
                k += o->out.n;
                free(o->out.items);
                memset(&o->out, 0, sizeof o->out);
            }
            BB_ASSERT(k == total);
            d->hook(d->hook_ud, all, total);
            free(all);
        } else {
            bb_error("out of memory publishing events");
        }
    }
    for (struct op *o = batch, *next; o; o = next) {
        next = o->next;
        outbox_discard(&o->out);
        sem_post(&o->done);
    }
}

static void *writer_main(void *arg)
{
    db *d = arg;
    tls_writer_conn = &d->writer;
    for (;;) {
        pthread_mutex_lock(&d->qmu);
        while (!d->qhead && !d->closing)
            pthread_cond_wait(&d->qcond, &d->qmu);
        if (!d->qhead && d->closing) {
            pthread_mutex_unlock(&d->qmu);
            break;
        }
        struct op *batch = d->qhead, *last = batch;
        int n = 1;
        while (last->next && n < MAX_BATCH) {
            last = last->next;
            n++;
        }
        d->qhead = last->next;
        if (!d->qhead)
            d->qtail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&d->qmu);
        run_batch(d, batch);
    }
    return NULL;
}

int db_write(db *d, db_op_fn fn, void *arg)
{
    /* On the writer thread this would wait for itself forever. */
    BB_ASSERT(tls_writer_conn == NULL || tls_writer_conn != &d->writer);
    struct op o;
    memset(&o, 0, sizeof o);
    o.fn = fn;
    o.arg = arg;
    if (sem_init(&o.done, 0, 0) != 0)
        return BB_EINTERNAL;
    pthread_mutex_lock(&d->qmu);
    if (d->closing) {
        pthread_mutex_unlock(&d->qmu);
        sem_destroy(&o.done);
        return BB_EUNAVAIL;
    }
    if (d->qtail)
        d->qtail->next = &o;
    else
        d->qhead = &o;
    d->qtail = &o;
    pthread_cond_signal(&d->qcond);
    pthread_mutex_unlock(&d->qmu);
    while (sem_wait(&o.done) != 0 && errno == EINTR)
        ;
    sem_destroy(&o.done);
    return o.rc;
}

void db_set_commit_hook(db *d, db_commit_hook hook, void *ud)
{
    d->hook = hook;
    d->hook_ud = ud;
}

db_conn *db_reader_acquire(db *d)
{
    pthread_mutex_lock(&d->rmu);
    while (d->nfree == 0)
        pthread_cond_wait(&d->rcond, &d->rmu);
    db_conn *c = d->free_readers[--d->nfree];
    BB_ASSERT(!c->lent && !c->writer);
    c->lent = true;
    pthread_mutex_unlock(&d->rmu);
    return c;
}

void db_reader_release(db *d, db_conn *c)
{
    /* End any statement the caller left mid-step so the WAL snapshot is
     * released. */
    for (size_t i = 0; i < STMT_SLOTS; i++)
        if (c->cache[i].st)
            sqlite3_reset(c->cache[i].st);
    pthread_mutex_lock(&d->rmu);
    BB_ASSERT(c->lent && c >= d->readers && c < d->readers + d->nreaders);
    BB_ASSERT(d->nfree < d->nreaders);
    c->lent = false;
    d->free_readers[d->nfree++] = c;
    pthread_cond_signal(&d->rcond);
    pthread_mutex_unlock(&d->rmu);
}

/* The writer's WAL hook: SQLite's auto-checkpoint (a PASSIVE checkpoint once
 * the WAL holds WAL_CHECKPOINT_PAGES pages), done here so it can be counted
 * for /metrics.  Installing a hook replaces the built-in one. */
static int wal_hook(void *ud, sqlite3 *h, const char *dbname, int pages)
{
    db *d = ud;
    if (pages < WAL_CHECKPOINT_PAGES)
        return SQLITE_OK;
    if (sqlite3_wal_checkpoint_v2(h, dbname, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
        atomic_fetch_add(&d->checkpoints, 1);
    else
        atomic_fetch_add(&d->checkpoint_errors, 1);
    return SQLITE_OK;   /* the commit itself succeeded either way */
}

void db_stats(db *d, struct db_stats *out)
{
    memset(out, 0, sizeof *out);
    out->checkpoints = atomic_load(&d->checkpoints);
    out->checkpoint_errors = atomic_load(&d->checkpoint_errors);
    char wal[4096];
    struct stat st;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", d->path) < sizeof wal && stat(wal, &st) == 0)
        out->wal_bytes = (int64_t)st.st_size;
}


/* ---- health: the write probe, start-up checks ------------------------------ */

static const char SQL_PROBE_MARK[] =
    "INSERT OR REPLACE INTO write_probe (id, at, pad) VALUES (1, :now, NULL)";
static const char SQL_PROBE_SAVE[] = "SAVEPOINT probe";
static const char SQL_PROBE_GROW[] =
    "INSERT INTO write_probe (id, at, pad) VALUES (2, :now, zeroblob(:bytes))";
static const char SQL_PROBE_UNDO[] = "ROLLBACK TO probe";
static const char SQL_PROBE_RELEASE[] = "RELEASE probe";
#define PROBE_GROW_BYTES 8192    /* two pages: the database has to grow */
#define PROBE_EVERY_MS 1000

/* The write probe: rewrites the one row (a commit reaches the disk) and
 * allocates a few pages in a savepoint it rolls back (fails when the
 * database cannot grow: a full disk or its size limit). */
static int op_probe(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    int64_t now = bb_now_ms();
    db_q q;
    db_prepare(&q, c, SQL_PROBE_MARK);
    db_bind_i64(&q, ":now", now);
    int rc = db_step_done(&q);
    if (rc == BB_OK && db_prepare(&q, c, SQL_PROBE_SAVE) == BB_OK)
        rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    db_prepare(&q, c, SQL_PROBE_GROW);
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":bytes", PROBE_GROW_BYTES);
    rc = db_step_done(&q);
    if (sqlite3_get_autocommit(c->h))
        return rc != BB_OK ? rc : BB_EIO;   /* SQLite rolled everything back */
    int undo = db_prepare(&q, c, SQL_PROBE_UNDO);
    if (undo == BB_OK)
        undo = db_step_done(&q);
    if (undo == BB_OK && db_prepare(&q, c, SQL_PROBE_RELEASE) == BB_OK)
        undo = db_step_done(&q);
    return rc != BB_OK ? rc : undo;
}

int db_write_probe(db *d)
{
    return db_write(d, op_probe, NULL);
}

void db_health(db *d, bool probe, struct db_health *out)
{
    memset(out, 0, sizeof *out);
    /* at most one probe a second, however often /health is asked */
    int64_t now = bb_mono_us() / 1000;
    pthread_mutex_lock(&d->hmu);
    /* a write that failed since the last probe makes its answer stale */
    bool fresh = d->probe_ms && now - d->probe_ms < PROBE_EVERY_MS &&
                 d->probe_errors == (uint64_t)d->write_errors;
    out->probe_rc = fresh ? d->probe_rc : BB_OK;
    pthread_mutex_unlock(&d->hmu);
    if (probe && !fresh) {
        out->probe_rc = db_write_probe(d);
        pthread_mutex_lock(&d->hmu);
        d->probe_ms = now;
        d->probe_rc = out->probe_rc;
        d->probe_errors = (uint64_t)d->write_errors;
        pthread_mutex_unlock(&d->hmu);
    }
    pthread_mutex_lock(&d->hmu);
    out->last_error_ms = d->werr_ms;
    out->last_ok_ms = d->wok_ms;
    out->write_errors = d->write_errors;
    out->last_error_full = (d->werr_code & 0xff) == SQLITE_FULL;
    snprintf(out->last_error, sizeof out->last_error, "%s", d->werr_msg);
    pthread_mutex_unlock(&d->hmu);
    out->disk_free_bytes = -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", d->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct statvfs vs;
    if (statvfs(dir, &vs) == 0)
        out->disk_free_bytes = (int64_t)vs.f_bavail * (int64_t)vs.f_frsize;
}

int db_open(const char *path, const struct db_options *opt, db **out, char *err,
            size_t errlen)
{
    struct db_options o = {.readers = 4};
    if (opt)
        o = *opt;
    if (o.readers < 1)
        o.readers = 4;
    if (sqlite3_threadsafe() == 0) {
        snprintf(err, errlen, "SQLite was built without thread support");
        return -1;
    }
    db *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&d->qmu, NULL);
    pthread_cond_init(&d->qcond, NULL);
    pthread_mutex_init(&d->rmu, NULL);
    pthread_cond_init(&d->rcond, NULL);
    pthread_mutex_init(&d->hmu, NULL);
    struct stat fst;
    if (!o.readonly && stat(path, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size == 0)
        bb_warn("the database file is empty (0 bytes): starting it as a new database",
                "path", path);
    if (o.readonly) {
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "cannot open database %s: %s", path, strerror(errno));
            goto fail;
        }
    } else if (conn_open(&d->writer, path, true, o.synchronous_full, err, errlen) != 0 ||
               db_startup_checks(d->writer.h, path, err, errlen) != 0 ||
               db_migrate(d->writer.h, err, errlen) != 0) {
        goto fail;
    } else {
        sqlite3_wal_hook(d->writer.h, wal_hook, d);
    }
    d->readers = calloc((size_t)o.readers, sizeof *d->readers);
    d->free_readers = calloc((size_t)o.readers, sizeof *d->free_readers);
    if (!d->readers || !d->free_readers) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < o.readers; i++) {
        if (conn_open(&d->readers[i], path, false, false, err, errlen) != 0)
            goto fail;
        d->nreaders++;
        d->free_readers[d->nfree++] = &d->readers[i];
    }
    if (o.readonly) {
        d->closing = true;       /* db_write answers BB_EUNAVAIL */
    } else if (pthread_create(&d->writer_thread, NULL, writer_main, d) != 0) {
        snprintf(err, errlen, "cannot start the database writer thread");
        goto fail;
    } else {
        d->writer_started = true;
        int prc = db_write_probe(d);
        if (prc != BB_OK) {
            char why[200];
            pthread_mutex_lock(&d->hmu);
            snprintf(why, sizeof why, "%s", d->werr_msg[0] ? d->werr_msg : bb_err_code(prc));
            pthread_mutex_unlock(&d->hmu);
            snprintf(err, errlen, "cannot write the database %s: %s", path, why);
            goto fail;
        }
    }
    *out = d;
    return 0;
fail:
    db_close(d);
    return -1;
}

void db_close(db *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->qmu);
    d->closing = true;
    pthread_cond_broadcast(&d->qcond);
    pthread_mutex_unlock(&d->qmu);
    if (d->writer_started)
        pthread_join(d->writer_thread, NULL);
    /* The writer drained the queue; every reader is back (closing one a
     * thread still holds would free it under that thread). */
    BB_ASSERT(d->qhead == NULL);
    BB_ASSERT(d->nfree == d->nreaders);
    for (int i = 0; i < d->nreaders; i++)
        conn_close(&d->readers[i]);
    if (d->writer.h) {
        char err[128];
        if (db_exec_sql(d->writer.h, "PRAGMA wal_checkpoint(TRUNCATE)", err, sizeof err) != 0)
            bb_warn("checkpoint at close failed", "error", err);
    }
    conn_close(&d->writer);
    free(d->readers);
    free(d->free_readers);
    pthread_mutex_destroy(&d->qmu);
    pthread_cond_destroy(&d->qcond);
    pthread_mutex_destroy(&d->rmu);
    pthread_cond_destroy(&d->rcond);
    pthread_mutex_destroy(&d->hmu);
    free(d->path);
    free(d);
}

int db_ping(db *d)
{
    db_conn *c = db_reader_acquire(d);
    static const char sql[] = "SELECT count(*) FROM sqlite_schema";
    sqlite3_stmt *st = db_stmt(c, sql);
    int rc = st && sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    db_reader_release(d, c);
    return rc;
}

int db_backup(db *d, const char *dest, char *err, size_t errlen)
{
    sqlite3 *to = NULL;
    int rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot create %s: %s", dest,
                 to ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
        sqlite3_close(to);
        return -1;
    }
    db_conn *c = db_reader_acquire(d);
    /* The source is a read connection: query_only does not stop the backup
     * API from reading, and WAL keeps the writer going meanwhile. */
    sqlite3_backup *bk = sqlite3_backup_init(to, "main", c->h, "main");
    if (!bk) {
        snprintf(err, errlen, "backup failed: %s", sqlite3_errmsg(to));
        db_reader_release(d, c);
        sqlite3_close(to);
        return -1;
    }
    /* One step copies every page from one read snapshot: in WAL mode the
     * writer keeps committing meanwhile, and a copy made in smaller steps
     * would restart each time the source changed. */
    for (int tries = 0; tries < 100; tries++) {
        rc = sqlite3_backup_step(bk, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(10);
    }
    sqlite3_backup_finish(bk);
    db_reader_release(d, c);
    int ret = 0;
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "backup failed: %s", sqlite3_errstr(rc));
        ret = -1;
    }
    sqlite3_close(to);
    return ret;
}
