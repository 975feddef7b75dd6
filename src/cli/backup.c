/* backup.c — `batchbox backup FILE`: an online copy of a live database
 * (SQLite backup API; the server keeps running), then an integrity check
 * of the copy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/local.h"
#include "infra/db/db.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: batchbox backup FILE [--data DIR]\n"
                 "\n"
                 "Copies DIR/batchbox.db (default ./data) to FILE while the server may be\n"
                 "running, then checks the copy with PRAGMA integrity_check.\n"
                 "Restore: stop the server, replace DIR/batchbox.db with the copy (remove\n"
                 "batchbox.db-wal and batchbox.db-shm), start the server.\n");
}

int cli_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *data = "./data";
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *dest = argv[optind];
    if (access(dest, F_OK) == 0) {
        fprintf(stderr, "batchbox backup: %s already exists; choose a new file\n", dest);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/batchbox.db", data);
    db *d = NULL;
    char err[512];
    struct db_options o = {.readers = 1, .readonly = true};
    if (db_open(path, &o, &d, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox backup: %s\n", err);
        return 3;
    }
    int rc = db_backup(d, dest, err, sizeof err);
    db_close(d);
    if (rc != 0) {
        fprintf(stderr, "batchbox backup: %s\n", err);
        unlink(dest);
        return 3;
    }
    if (db_integrity_check(dest, err, sizeof err) != 0) {
        fprintf(stderr, "batchbox backup: the copy failed its integrity check: %s\n", err);
        return 3;
    }
    printf("backup written to %s (integrity check: ok)\n", dest);
    return 0;
}
