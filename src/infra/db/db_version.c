/* db_version.c — reports the linked SQLite's version (db_version.h); kept
 * apart from db.c so the CLI can ask without opening a database. */
#include "infra/db/db_version.h"

#include <sqlite3.h>

const char *db_sqlite_version(void)
{
    return sqlite3_libversion();
}
