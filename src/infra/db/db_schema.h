/* db_schema.h — start-up checks and migrations of a database file (for
 * db.c; only src/infra/db/ includes it). */
#ifndef BB_DB_SCHEMA_H
#define BB_DB_SCHEMA_H

#include <stddef.h>

typedef struct sqlite3 sqlite3;

/* Refuses a damaged database (PRAGMA quick_check) with a message naming
 * path and the finding.  0 or -1 with the message in err. */
int db_startup_checks(sqlite3 *h, const char *path, char *err, size_t errlen);
/* Runs every "-- migration N" section of schema.sql with N >
 * user_version, each in its own transaction, then applies the test-only
 * size cap (BB_TEST_DB_SPARE_PAGES).  0 or -1 with a message. */
int db_migrate(sqlite3 *h, char *err, size_t errlen);

/* Runs sql (no parameters, any number of statements) on h: 0, or -1 with
 * SQLite's message in err. */
int db_exec_sql(sqlite3 *h, const char *sql, char *err, size_t errlen);

#endif
