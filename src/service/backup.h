/* backup.h — an online, integrity-checked copy of the live database into
 * DATA/backups/ (POST /admin/backup). */
#ifndef BB_SVC_BACKUP_H
#define BB_SVC_BACKUP_H

#include <stdint.h>

#include "service/app.h"
#include "util/err.h"

struct backup_result {
    char path[4096];         /* DATA/backups/batchbox-YYYYMMDDTHHMMSS.mmmZ[-N].db */
    int64_t bytes;
    int64_t created_ms;
};

/* Writes and checks the copy.  BB_OK with *out filled, else BB_EIO with
 * e set and no file left behind. */
int svc_backup(bb_app *app, struct backup_result *out, bb_errctx *e);

#endif
