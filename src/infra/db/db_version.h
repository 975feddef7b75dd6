/* db_version.h — the version of the SQLite library linked in, for
 * `batchbox version --verbose` (only src/infra/db/ includes sqlite3.h). */
#ifndef BB_DB_VERSION_H
#define BB_DB_VERSION_H

/* "3.40.1": the running library's version (static string, borrowed). */
const char *db_sqlite_version(void);

#endif
