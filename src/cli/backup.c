/* backup.c — `batchbox backup FILE`: an online copy of a live database
 * (SQLite backup API; the server keeps running), then an integrity check
 * of the copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/verbs.h"
#include "infra/db/db.h"

int cli_backup(const struct cli_call *a)
{
    const char *data = cli_str(a, "data") ? cli_str(a, "data") : "./data";
    const char *dest = cli_pos(a, 0);

    /* Created here, owner-only (the copy holds password and token hashes),
     * and never over an existing file. */
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        if (errno == EEXIST)
            cli_errorf(a, "%s already exists; choose a new file", dest);
        else
            cli_errorf(a, "cannot create %s: %s", dest, strerror(errno));
        return 2;
    }
    if (close(fd) != 0) {
        cli_errorf(a, "cannot create %s: %s", dest, strerror(errno));
        unlink(dest);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/batchbox.db", data);
    db *d = NULL;
    char err[512];
    struct db_options o = {.readers = 1, .readonly = true};
    if (db_open(path, &o, &d, err, sizeof err) != 0) {
        cli_errorf(a, "%s", err);
        unlink(dest);
        return 3;
    }
    int rc = db_backup(d, dest, err, sizeof err);
    db_close(d);
    if (rc != 0) {
        cli_errorf(a, "%s", err);
        unlink(dest);
        return 3;
    }
    if (db_integrity_check(dest, err, sizeof err) != 0) {
        cli_errorf(a, "the copy failed its integrity check: %s", err);
        return 3;
    }
    printf("backup written to %s (integrity check: ok)\n", dest);
    return 0;
}
