/* backup.c — POST /admin/backup: an online copy of the live database
 * (SQLite backup API, db_backup) into DATA/backups/batchbox-<UTC time>.db
 * while jobs keep running, then PRAGMA integrity_check on the copy.
 * Answers 201 {path, bytes, integrity: "ok", createdAt}; any failure is a
 * 500 JSON error and leaves no file behind.  Restore is an offline step,
 * described in docs/operations.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "civetweb.h"
#include "cJSON.h"
#include "http/http.h"
#include "infra/db/db.h"
#include "util/log.h"
#include "util/util.h"

#define BACKUP_NAME_TRIES 10   /* same-millisecond names get -1 .. -9 */

/* Creates DIR/batchbox-YYYYMMDDTHHMMSS.mmmZ[-N].db empty with mode 0600
 * (so the copy is never world-readable: it holds password and token
 * hashes) and writes its path into out.  0, or -1 with errno set. */
static int create_backup_file(const char *dir, int64_t now_ms, char *out, size_t cap)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    char stamp[32];
    if (!gmtime_r(&secs, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm) == 0) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < BACKUP_NAME_TRIES; i++) {
        char suffix[8] = "";
        if (i > 0)
            snprintf(suffix, sizeof suffix, "-%d", i);
        int n = snprintf(out, cap, "%s/batchbox-%s.%03dZ%s.db", dir, stamp,
                         (int)(now_ms % 1000), suffix);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            return close(fd);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Removes the copy and the -wal/-shm files SQLite may have left beside it. */
static void remove_backup(const char *path)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* The integrity check opens the copy read-only; in WAL mode that can leave
 * an empty -wal and a -shm beside it.  They hold nothing (the copy is
 * complete in the main file), so they are removed; a non-empty -wal would
 * be a surprise and is kept. */
static void tidy_side_files(const char *path)
{
    char wal[4200], shm[4200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    if (stat(wal, &st) == 0 && st.st_size != 0)
        return;
    unlink(wal);
    unlink(shm);
}

void route_admin_backup(http_req *r)
{
    /* No body is expected; drain a small one so keep-alive survives. */
    if (r->ri->content_length > 0 && !http_read_body_or_reply(r, 16384))
        return;

    char dir[4096], path[4096], err[512];
    snprintf(dir, sizeof dir, "%s/backups", r->app->data_dir);
    if (bb_mkdirs(dir, true) != 0) {
        bb_error("backup: cannot create the backup directory", "dir", dir, "error",
                 strerror(errno));
        http_reply_error(r, BB_EIO, "cannot create %s: %s", dir, strerror(errno));
        return;
    }
    int64_t now = bb_now_ms();
    if (create_backup_file(dir, now, path, sizeof path) != 0) {
        bb_error("backup: cannot create the backup file", "dir", dir, "error",
                 strerror(errno));
        http_reply_error(r, BB_EIO, "cannot create a backup file in %s: %s", dir,
                         strerror(errno));
        return;
    }
    if (db_backup(r->app->db, path, err, sizeof err) != 0) {
        remove_backup(path);
        bb_error("backup failed", "path", path, "error", err);
        http_reply_error(r, BB_EIO, "%s", err);
        return;
    }
    if (db_integrity_check(path, err, sizeof err) != 0) {
        remove_backup(path);
        bb_error("backup failed its integrity check", "path", path, "finding", err);
        http_reply_error(r, BB_EIO, "the copy failed its integrity check: %s", err);
        return;
    }
    tidy_side_files(path);
    struct stat st;
    if (stat(path, &st) != 0) {
        http_reply_error(r, BB_EIO, "the backup file vanished: %s", strerror(errno));
        return;
    }

    char created[32], bytes[24];
    bb_iso8601(now, created);
    snprintf(bytes, sizeof bytes, "%" PRId64, (int64_t)st.st_size);
    bb_info("backup written", "path", path, "bytes", bytes);

    cJSON *doc = cJSON_CreateObject();
    if (!doc || !cJSON_AddStringToObject(doc, "path", path) ||
        !cJSON_AddNumberToObject(doc, "bytes", (double)st.st_size) ||
        !cJSON_AddStringToObject(doc, "integrity", "ok") ||
        !cJSON_AddStringToObject(doc, "createdAt", created)) {
        cJSON_Delete(doc);
        http_reply_error(r, BB_EINTERNAL, "out of memory");
        return;
    }
    http_reply_json(r, 201, doc);
    cJSON_Delete(doc);
}
