/* backup.c — the online backup service: a copy of the live database
 * (SQLite backup API, db_backup) into DATA/backups/batchbox-<UTC time>.db
 * while jobs keep running, then PRAGMA integrity_check on the copy.  Any
 * failure leaves no file behind.  Restore is an offline step, described in
 * docs/operations.md.  Runs on the caller's thread. */
#include "service/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int svc_backup(bb_app *app, struct backup_result *out, bb_errctx *e)
{
    char dir[4096], err[512];
    memset(out, 0, sizeof *out);
    snprintf(dir, sizeof dir, "%s/backups", app->data_dir);
    if (bb_mkdirs(dir, true) != 0) {
        bb_error("backup: cannot create the backup directory", "dir", dir, "error",
                 strerror(errno));
        return bb_fail(e, BB_EIO, "cannot create %s: %s", dir, strerror(errno));
    }
    int64_t now = bb_now_ms();
    if (create_backup_file(dir, now, out->path, sizeof out->path) != 0) {
        bb_error("backup: cannot create the backup file", "dir", dir, "error",
                 strerror(errno));
        return bb_fail(e, BB_EIO, "cannot create a backup file in %s: %s", dir,
                       strerror(errno));
    }
    if (db_backup(app->db, out->path, err, sizeof err) != 0) {
        remove_backup(out->path);
        bb_error("backup failed", "path", out->path, "error", err);
        return bb_fail(e, BB_EIO, "%s", err);
    }
    if (db_integrity_check(out->path, err, sizeof err) != 0) {
        remove_backup(out->path);
        bb_error("backup failed its integrity check", "path", out->path, "finding", err);
        return bb_fail(e, BB_EIO, "the copy failed its integrity check: %s", err);
    }
    tidy_side_files(out->path);
    struct stat st;
    if (stat(out->path, &st) != 0)
        return bb_fail(e, BB_EIO, "the backup file vanished: %s", strerror(errno));
    out->bytes = (int64_t)st.st_size;
    out->created_ms = now;
    char bytes[24];
    snprintf(bytes, sizeof bytes, "%" PRId64, out->bytes);
    bb_info("backup written", "path", out->path, "bytes", bytes);
    return BB_OK;
}
