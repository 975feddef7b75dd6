/* db_schema.c — what a database file must pass before the server uses it:
 * the start-up checks (a damaged file is refused) and the migrations from
 * the embedded schema.sql; also the integrity check of a backup copy.
 * Runs on the opening thread, before the writer thread starts. */
#include "infra/db/db_schema.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "infra/db/db.h"
#include "util/assets.h"
#include "util/log.h"
#include "util/text.h"

int db_exec_sql(sqlite3 *h, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Runs a one-column PRAGMA on h into out; 0 or -1 with SQLite's message. */
static int pragma_text(sqlite3 *h, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, cap, "%s", v ? v : "");
        rc = SQLITE_OK;
    } else {
        snprintf(out, cap, "%s", sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The start-up checks before any write: a damaged file is refused
 * (PRAGMA quick_check: each b-tree page well formed, every index entry
 * has its row; O(size), seconds for gigabytes). */
int db_startup_checks(sqlite3 *h, const char *path, char *err, size_t errlen)
{
    char res[256];
    if (pragma_text(h, "PRAGMA quick_check(1)", res, sizeof res) != 0 ||
        strcmp(res, "ok") != 0) {
        snprintf(err, errlen, "the database %s is damaged (its quick check found: %.160s); restore "
                 "a backup (docs/operations.md, \"Restoring\")", path, res);
        return -1;
    }
    return 0;
}

/* Runs every "-- migration N" section of schema.sql with N > user_version. */
/* Tests cap the database's size (BB_TEST_DB_SPARE_PAGES: its pages after
 * the migrations plus that many) so SQLITE_FULL happens in the real
 * writer without filling a disk. */
static int test_size_cap(sqlite3 *h, char *err, size_t errlen)
{
    char res[256];
    const char *spare = getenv("BB_TEST_DB_SPARE_PAGES");
    int64_t n = 0, pages = 0;
    if (spare && bb_parse_i64(spare, &n) == 0 && n >= 0 &&
        pragma_text(h, "PRAGMA page_count", res, sizeof res) == 0 &&
        bb_parse_i64(res, &pages) == 0) {
        char sql[64];
        /* lint-ok: two integers; PRAGMA takes no bound parameters */
        snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)(pages + n));
        if (pragma_text(h, sql, res, sizeof res) != 0) {
            snprintf(err, errlen, "BB_TEST_DB_SPARE_PAGES: %s", res);
            return -1;
        }
        bb_warn("test knob: the database may grow by only a few pages", "pages", spare);
    }
    return 0;
}

/* A migration section holding this line runs outside the transaction
 * with PRAGMA foreign_keys=OFF, and PRAGMA foreign_key_check must find
 * nothing before it commits: SQLite's procedure for rebuilding a table
 * (a DROP TABLE with foreign keys on would run the ON DELETE actions). */
#define FK_OFF_MARK "\n-- foreign_keys: off"

/* Whether the section body[0..len) holds the line `mark` (with its "\n"). */
static bool section_has(const char *body, size_t len, const char *mark)
{
    size_t m = strlen(mark);
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(body + i, mark, m) == 0 &&
            (i + m == len || body[i + m] == '\n' || body[i + m] == '\r'))
            return true;
    return false;
}

/* Inside the open transaction of a foreign_keys: off section: commits when
 * PRAGMA foreign_key_check finds no violation; -1 with the first one (the
 * caller rolls back). */
static int fk_check_commit(sqlite3 *h, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "foreign_key_check: %s", sqlite3_errmsg(h));
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(err, errlen, "a row of %s breaks a foreign key (rowid %lld)", t ? t : "?",
                 (long long)sqlite3_column_int64(st, 1));
    } else if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "foreign_key_check: %s", sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    return db_exec_sql(h, "COMMIT", err, errlen);
}

int db_migrate(sqlite3 *h, char *err, size_t errlen)
{
    const struct bb_asset *a = bb_asset_find("schema.sql");
    if (!a) {
        snprintf(err, errlen, "schema.sql is not embedded in this binary");
        return -1;
    }
    sqlite3_stmt *st = NULL;
    int current = 0;
    if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        current = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);

    /* Sections start at lines that are exactly "-- migration N". */
    const char *text = (const char *)a->data;
    const char *starts[256];
    int nums[256], nsec = 0;
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "-- migration ", 13) != 0 || line[13] < '1' || line[13] > '9')
            continue;
        const char *q = line + 13;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q != '\n' && *q != '\r' && *q != '\0')
            continue;
        if (nsec == 256)
            break;
        starts[nsec] = line;
        nums[nsec++] = (int)strtol(line + 13, NULL, 10);
    }
    int latest = 0;
    for (int i = 0; i < nsec; i++) {
        int n = nums[i];
        if (n != latest + 1) {
            snprintf(err, errlen, "schema.sql: migration %d follows %d", n, latest);
            return -1;
        }
        latest = n;
        if (n <= current)
            continue;
        const char *body = strchr(starts[i], '\n');
        const char *end = i + 1 < nsec ? starts[i + 1] : NULL;
        if (!body)
            break;
        size_t len = end ? (size_t)(end - body) : strlen(body);
        char *sql = malloc(len + 128);
        if (!sql) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* a section that rebuilds a table runs with foreign keys off */
        bool fk_off = section_has(body, len, FK_OFF_MARK);
        int off = snprintf(sql, 64, "BEGIN;\n");
        memcpy(sql + off, body, len);
        /* lint-ok: an integer from schema.sql; PRAGMA takes no bound parameters */
        snprintf(sql + off + len, 64, "\nPRAGMA user_version=%d;%s", n,
                 fk_off ? "" : "\nCOMMIT;");
        int rc = fk_off ? db_exec_sql(h, "PRAGMA foreign_keys=OFF", err, errlen) : 0;
        if (rc == 0)
            rc = db_exec_sql(h, sql, err, errlen);
        if (rc == 0 && fk_off)
            rc = fk_check_commit(h, err, errlen);
        if (fk_off) {
            char ignored[128];
            db_exec_sql(h, "PRAGMA foreign_keys=ON", ignored, sizeof ignored);
        }
        free(sql);
        if (rc != 0) {
            char inner[256];
            snprintf(inner, sizeof inner, "%s", err);
            snprintf(err, errlen, "migration %d failed: %s", n, inner);
            db_exec_sql(h, "ROLLBACK", inner, sizeof inner);
            return -1;
        }
        char num[16];
        snprintf(num, sizeof num, "%d", n);
        bb_info("database migrated", "version", num);
    }
    if (current > latest) {
        snprintf(err, errlen,
                 "the database is at schema version %d but this batchbox knows only up to %d: "
                 "it was written by a newer batchbox; upgrade the binary (or restore a backup)",
                 current, latest);
        return -1;
    }
    return test_size_cap(h, err, errlen);
}

int db_integrity_check(const char *path, char *err, size_t errlen)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return -1;
    }
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        snprintf(err, errlen, "%s", res ? res : "no result");
        ret = res && strcmp(res, "ok") == 0 ? 0 : -1;
    } else {
        snprintf(err, errlen, "integrity check failed: %s", sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ret;
}
