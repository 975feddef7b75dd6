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
 * cleared of bindings; NULL on a prepare error (logged). */
sqlite3_stmt *db_stmt(db_conn *c, const char *sql);
sqlite3 *db_handle(db_conn *c);

/* Path of the database file (borrowed). */
const char *db_path(const db *d);
/* Online backup of the live database into dest (SQLite backup API).
 * 0 or -1 with a message. */
int db_backup(db *d, const char *dest, char *err, size_t errlen);
/* Quick health probe on a reader: 0 if the database answers. */
int db_ping(db *d);

/* Counters for /metrics: automatic WAL checkpoints run by the writer (and
 * those that failed) since db_open, and the current size of the -wal file
 * (0 when it does not exist). */
struct db_stats {
    uint64_t checkpoints, checkpoint_errors;
    int64_t wal_bytes;
};
void db_stats(db *d, struct db_stats *out);

#endif

#ifndef BB_DB_H_CHECK
#define BB_DB_H_CHECK
/* Opens the database file at path read-only and runs PRAGMA
 * integrity_check; 0 if it says "ok", else -1 with the finding in err. */
int db_integrity_check(const char *path, char *err, size_t errlen);
#endif
