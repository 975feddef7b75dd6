/* db.h — the SQLite connection layer: one writer thread that owns the only
 * write connection and group-commits operations queued by any thread, a
 * small pool of read connections, cached prepared statements, and
 * migrations from the embedded schema.sql.  See the DESIGN comment in db.c.
 * Only files under src/infra/db/ include sqlite3.h. */
#ifndef BB_DB_H
#define BB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
struct bus_event;

typedef struct db db;

/* One connection and its prepared-statement cache.  Owned by the db; a
 * caller borrows it between acquire/release (readers) or for the duration
 * of one operation (the writer). */
typedef struct db_conn db_conn;

/* Events an operation produces; the writer publishes them, in order, only
 * after the transaction holding them committed (outbox pattern).  Items
 * are owned by the outbox until then. */
typedef struct db_outbox {
    struct bus_event **items;
    size_t n, cap;
} db_outbox;

/* Appends ev (takes ownership; frees it on OOM).  0 or -1. */
int db_outbox_add(db_outbox *o, struct bus_event *ev);

/* A write operation: runs on the writer thread inside a transaction (its
 * own savepoint).  Returns 0 (BB_OK) to keep its changes, or an enum bb_err
 * value to roll them back; that value is returned by db_write(). */
typedef int (*db_op_fn)(db_conn *c, void *arg, db_outbox *out);

/* Called on the writer thread after each commit with the events of the
 * committed operations, in commit order.  The hook takes ownership of the
 * events (it must free or keep each one). */
typedef void (*db_commit_hook)(void *ud, struct bus_event **evs, size_t n);

struct db_options {
    int readers;             /* read connections (default 4) */
    bool synchronous_full;   /* default NORMAL; see docs/architecture.md */
    bool readonly;           /* readers only: no writer, no migrations
                                (backup of a database a server owns) */
};

/* Opens (creating if needed) the database at path, applies migrations and
 * starts the writer thread.  Returns 0, or -1 with a message in err. */
int db_open(const char *path, const struct db_options *opt, db **out,
            char *err, size_t errlen);
/* Sets the hook (before the first write). */
void db_set_commit_hook(db *d, db_commit_hook hook, void *ud);
/* Finishes queued operations, stops the writer, checkpoints and closes. */
void db_close(db *d);

/* Queues fn and waits until its transaction committed (or failed).
 * Returns fn's result, or BB_EIO if the commit failed, or BB_EUNAVAIL after
 * db_close started.  Never call from inside an operation. */
int db_write(db *d, db_op_fn fn, void *arg);

/* Borrows a read connection (waits while all are busy); give it back with
 * db_reader_release.  Reads see every committed write. */
db_conn *db_reader_acquire(db *d);
void db_reader_release(db *d, db_conn *c);

/* For repo_*.c only: the cached prepared statement for a SQL text that has
 * static storage duration (the cache is keyed by the pointer).  Reset and
 * cleared of bindings; NULL on a prepare error (logged).  Repositories use
 * the statement layer below rather than calling this directly. */
sqlite3_stmt *db_stmt(db_conn *c, const char *sql);
sqlite3 *db_handle(db_conn *c);

/* ---- the statement layer (repo_*.c only) ---------------------------------
 * One query on one connection, Fossil db.c style: prepare a cached
 * statement, bind by :name, step, read columns.  The first error met is
 * kept in q->rc (sticky): after it, binds do nothing and steps return it,
 * so a repository function binds top-down and checks once, at the step.
 * A db_q lives on the caller's stack and borrows the statement from the
 * connection's cache; db_step_done, db_end and a db_step that returns
 * false leave the statement reset. */
typedef struct db_q {
    db_conn *c;
    sqlite3_stmt *st;   /* borrowed from c's cache; NULL if prepare failed */
    int rc;             /* enum bb_err: BB_OK, or the first error met */
    db *lender;         /* c is a reader borrowed from it (db_prepare_read) */
    uint64_t bound;     /* bit i-1: parameter i was bound (asserted complete
                           before a step in debug builds) */
} db_q;

/* Prepares (or takes from the cache) sql, a static string, on c.  Returns
 * q->rc: BB_OK or BB_EIO (logged). */
int db_prepare(db_q *q, db_conn *c, const char *sql);
/* Borrows a read connection of d and prepares sql on it; the caller gives
 * it back with db_release once done with the rows. */
int db_prepare_read(db_q *q, db *d, const char *sql);
/* Prepares another statement on q's connection (a second query of the same
 * read or operation; the first must be finished), keeping the loan. */
int db_prepare_next(db_q *q, const char *sql);
/* Ends the query and gives back a borrowed reader.  Returns q->rc. */
int db_release(db_q *q);

/* Binds by :name.  A name the statement does not have is a bug and fails
 * loudly: logged as an error, q->rc = BB_EINTERNAL, and the step returns
 * it instead of running with the parameter left NULL.  Each returns q->rc.
 * The other way round, a parameter nobody bound is a bug too: the step
 * asserts every parameter was bound (debug and sanitizer builds). */
int db_bind_i64(db_q *q, const char *name, int64_t v);
int db_bind_double(db_q *q, const char *name, double v);
/* v is copied; NULL binds SQL NULL. */
int db_bind_text(db_q *q, const char *name, const char *v);
/* n bytes of p are copied. */
int db_bind_blob(db_q *q, const char *name, const void *p, size_t n);
/* A nullable reference: v, or SQL NULL when v is 0 (owner, parent, file). */
int db_bind_id(db_q *q, const char *name, int64_t v);

/* Steps a statement that returns no rows and resets it.  BB_OK; a
 * constraint violation (unique key, foreign key, ...) → BB_ECONFLICT;
 * anything else → BB_EIO (logged); or the sticky error. */
int db_step_done(db_q *q);
/* Steps once: true while a row is ready to read.  At the end, or on an
 * error (recorded in q->rc like db_step_done), resets and returns false. */
bool db_step(db_q *q);
/* A query that yields at most one row: BB_OK with the row ready (read it,
 * then db_end), BB_ENOTFOUND (reset), or an error (reset). */
int db_step_one(db_q *q);
/* Resets the statement (again is harmless) and returns q->rc. */
int db_end(db_q *q);
/* The read loop: calls row(ud, q) for each row.  row returns BB_OK to go
 * on, DB_STOP to end early, or an error to end with it.  Returns BB_OK
 * (also after DB_STOP), the row's error or q->rc; the statement is reset. */
#define DB_STOP (-1)
int db_each(db_q *q, int (*row)(void *ud, db_q *q), void *ud);

/* A growing list of ids (ids: malloc'd, the holder frees it). */
typedef struct db_ids {
    int64_t *ids;
    size_t n, cap;
} db_ids;
/* Appends id to l: BB_OK or BB_EINTERNAL (out of memory). */
int db_ids_push(db_ids *l, int64_t id);
/* A db_each row callback: appends column 0 of each row to the db_ids ud. */
int db_ids_take(void *ud, db_q *q);
/* Steps a one-row query whose first column is an integer (count, sum,
 * max) into *out; BB_OK, BB_ENOTFOUND when no row, or an error.  Reset. */
int db_one_i64(db_q *q, int64_t *out);

/* Collects every row (at most max; 0 = no cap) into a malloc'd array of
 * records of `size` bytes: fill(q, rec) fills one zeroed record.  On an
 * error, clear(rec) runs on each filled record and the array is freed.
 * *out (caller frees the array, and each record with its own clear) and *n
 * are set on BB_OK; NULL and 0 otherwise.  Returns BB_OK or the error. */
int db_collect(db_q *q, size_t size, size_t max, void (*fill)(db_q *q, void *rec),
               void (*clear)(void *rec), void **out, size_t *n);

/* A record's layout: column i of a row read into the record goes to the
 * field at map[i].off, of map[i].kind, and the field binds parameter
 * map[i].param (":" and the field's name).  One map per record type serves
 * the row reader, the binding of an INSERT and the record's clear. */
enum db_col_kind {
    DB_COL_SKIP,      /* read and bound apart */
    DB_COL_I64,
    DB_COL_ID,        /* int64_t; 0 binds SQL NULL (a nullable reference) */
    DB_COL_INT,
    DB_COL_BOOL,
    DB_COL_DOUBLE,
    DB_COL_STR,       /* char *, owned by the record */
};
struct db_col {
    const char *param;
    size_t off;
    enum db_col_kind kind;
};
#define DB_COL(type, field, kind) {":" #field, offsetof(type, field), DB_COL_##kind}
/* Reads the current row into rec (strings strdup'ed: the record owns
 * them).  The statement must have exactly n columns (asserted). */
void db_row_read(db_q *q, void *rec, const struct db_col *map, size_t n);
/* Binds each field of rec whose parameter the statement has (an INSERT
 * names its parameters after the fields); the others it leaves to the
 * caller.  Returns q->rc. */
int db_row_bind(db_q *q, const void *rec, const struct db_col *map, size_t n);
/* Frees the DB_COL_STR fields of rec and sets them to NULL. */
void db_row_free(void *rec, const struct db_col *map, size_t n);
/* db_collect for records read by a map alone: each row read into a zeroed
 * record with db_row_read, freed with db_row_free on an error.  *out:
 * caller frees the array and each record's map fields (db_row_free). */
int db_collect_map(db_q *q, size_t size, size_t max, const struct db_col *map, size_t ncols,
                   void **out, size_t *n);
/* db_read_record for a record read by a map alone: rec (size bytes) is
 * zeroed and read with db_row_read; its map fields are the caller's to free
 * (db_row_free) on BB_OK, freed here otherwise. */
int db_read_map(db_q *q, void *rec, size_t size, const struct db_col *map, size_t ncols);

/* A query for one record: BB_OK with rec filled by fill(q, rec) (caller
 * clears it), BB_ENOTFOUND, or an error (rec cleared with clear).  The
 * statement is reset. */
int db_read_record(db_q *q, void *rec, void (*fill)(db_q *q, void *rec),
                   void (*clear)(void *rec));

/* Columns of the current row (index from 0). */
/* Borrowed until the next step or reset; NULL for SQL NULL. */
const char *db_col_text(db_q *q, int i);
/* Caller frees; NULL for SQL NULL (and on OOM, which sets q->rc). */
char *db_col_strdup(db_q *q, int i);
int64_t db_col_i64(db_q *q, int i);       /* SQL NULL reads as 0 */
int db_col_int(db_q *q, int i);
double db_col_double(db_q *q, int i);
bool db_col_null(db_q *q, int i);
/* Rows changed by the last db_step_done, and the rowid it inserted. */
int64_t db_changes(db_q *q);
int64_t db_last_id(db_q *q);

/* Path of the database file (borrowed). */
const char *db_path(const db *d);
/* Online backup of the live database into dest (SQLite backup API).
 * 0 or -1 with a message. */
int db_backup(db *d, const char *dest, char *err, size_t errlen);
/* Quick health probe on a reader: 0 if the database answers. */
int db_ping(db *d);
/* Opens the database file at path read-only and runs PRAGMA
 * integrity_check; 0 if it says "ok", else -1 with the finding in err. */
int db_integrity_check(const char *path, char *err, size_t errlen);

/* The writer's health (docs/operations.md, "Health").  With probe, first
 * runs db_write_probe.  Any thread. */
struct db_health {
    int probe_rc;              /* the probe's result (BB_OK, BB_EFULL, BB_EIO...);
                                  BB_OK when not probed */
    char last_error[200];      /* SQLite's message of the last storage error, "" = none */
    bool last_error_full;      /* that error was "disk full" */
    int64_t last_error_ms;     /* when (0 = never) */
    int64_t last_ok_ms;        /* the last commit that succeeded (0 = none yet) */
    uint64_t write_errors;     /* write batches that met a storage error since db_open */
    int64_t disk_free_bytes;   /* free space for the database's folder; -1 unknown */
};
void db_health(db *d, bool probe, struct db_health *out);
/* A cheap write that reaches the disk and has to grow the database (the
 * growth is rolled back): BB_OK, BB_EFULL, BB_EIO... */
int db_write_probe(db *d);

/* Counters for /metrics: automatic WAL checkpoints run by the writer (and
 * those that failed) since db_open, and the current size of the -wal file
 * (0 when it does not exist). */
struct db_stats {
    uint64_t checkpoints, checkpoint_errors;
    int64_t wal_bytes;
};
void db_stats(db *d, struct db_stats *out);

#endif
