/* test_db_integrity.c — unit tests for the data-integrity parts of the
 * database layer and the process-group helpers (issue 17): a full
 * database (SQLite's own SQLITE_FULL under the test size cap) maps to
 * BB_EFULL, sets the disk-full flag, fails the write probe and recovers
 * once space is freed; start-up refuses a damaged file; event id epochs
 * only go upwards and mark their gap; a process group is ended only when
 * its leader's start time matches. */
#define UNIT_MAIN
#include "unit.h"

#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "infra/db/db.h"
#include "infra/db/repo_event.h"
#include "infra/exec/exec.h"
#include "util/err.h"
#include "util/log.h"

__attribute__((constructor)) static void quiet_logs(void)
{
    bb_log_set_level(BB_LOG_ERROR);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 ? 0 : -1;
}

/* A fresh folder; the database path in it into path. */
static bool fresh_dir(char *dir, size_t dcap, char *path, size_t pcap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, dcap, "%s/bbdbi.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return false;
    snprintf(path, pcap, "%s/batchbox.db", dir);
    return true;
}

static const char SQL_SCRATCH[] = "CREATE TABLE IF NOT EXISTS scratch (x BLOB)";
static const char SQL_FILL[] = "INSERT INTO scratch (x) VALUES (zeroblob(3000))";
static const char SQL_EMPTY[] = "DELETE FROM scratch";

static int op_sql(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    db_q q;
    db_prepare(&q, c, arg);
    return db_step_done(&q);
}

TEST(full_database_is_efull_fails_the_probe_and_recovers)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], err[512] = "";
    CHECK(fresh_dir(dir, sizeof dir, path, sizeof path));
    setenv("BB_TEST_DB_SPARE_PAGES", "12", 1);
    db *d = NULL;
    int orc = db_open(path, NULL, &d, err, sizeof err);
    unsetenv("BB_TEST_DB_SPARE_PAGES");
    CHECK_EQ_INT(orc, 0);
    CHECK_EQ_INT(db_write(d, op_sql, (void *)SQL_SCRATCH), BB_OK);
    int rc = BB_OK, n = 0;
    for (; n < 200 && rc == BB_OK; n++)
        rc = db_write(d, op_sql, (void *)SQL_FILL);
    CHECK_EQ_INT(rc, BB_EFULL);
    CHECK(n > 1);
    CHECK(bb_disk_full());
    /* a "database error" said while full becomes 507 with its message */
    bb_errctx e = {0};
    CHECK_EQ_INT(bb_fail(&e, BB_EIO, "database error"), BB_EFULL);
    CHECK(strstr(e.message, "disk is full") != NULL);
    bb_err_clear(&e);
    struct db_health h;
    db_health(d, true, &h);
    CHECK_EQ_INT(h.probe_rc, BB_EFULL);
    CHECK(h.last_error_full && h.last_error[0] && h.write_errors > 0);
    CHECK(h.disk_free_bytes > 0);
    /* freeing space needs no restart */
    CHECK_EQ_INT(db_write(d, op_sql, (void *)SQL_EMPTY), BB_OK);
    CHECK(!bb_disk_full());
    CHECK_EQ_INT(db_write_probe(d), BB_OK);
    CHECK_EQ_INT(db_write(d, op_sql, (void *)SQL_FILL), BB_OK);
    db_close(d);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(damaged_database_is_refused_at_open)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], err[512] = "";
    CHECK(fresh_dir(dir, sizeof dir, path, sizeof path));
    db *d = NULL;
    CHECK_EQ_INT(db_open(path, NULL, &d, err, sizeof err), 0);
    CHECK_EQ_INT(db_write(d, op_sql, (void *)SQL_SCRATCH), BB_OK);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(db_write(d, op_sql, (void *)SQL_FILL), BB_OK);
    db_close(d);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    for (long off = 2 * 4096; off + 4096 <= size; off += 4096) {
        CHECK(fseek(f, off, SEEK_SET) == 0);
        for (int i = 0; i < 4096; i++)
            fputc(0xa5, f);
    }
    fclose(f);
    d = NULL;
    CHECK_EQ_INT(db_open(path, NULL, &d, err, sizeof err), -1);
    CHECK(d == NULL);
    CHECK(strstr(err, "damaged") != NULL || strstr(err, "malformed") != NULL);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(event_epochs_only_go_upwards_and_mark_their_gap)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], err[512] = "";
    CHECK(fresh_dir(dir, sizeof dir, path, sizeof path));
    db *d = NULL;
    CHECK_EQ_INT(db_open(path, NULL, &d, err, sizeof err), 0);
    int64_t floor = 0;
    CHECK_EQ_INT(repo_events_new_epoch(d, 1000000, &floor), BB_OK);
    CHECK_EQ_INT(floor, 1000000);
    /* a clock behind the ids: they stay where they are */
    CHECK_EQ_INT(repo_events_new_epoch(d, 5, &floor), BB_OK);
    CHECK_EQ_INT(floor, 1000000);
    bool lost = false;
    CHECK_EQ_INT(repo_events_id_lost(d, 999999, &lost), BB_OK);
    CHECK(lost);
    CHECK_EQ_INT(repo_events_id_lost(d, 0, &lost), BB_OK);
    CHECK(!lost);
    CHECK_EQ_INT(repo_events_id_lost(d, 1000001, &lost), BB_OK);
    CHECK(!lost);
    db_close(d);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(orphan_group_is_ended_only_when_it_is_really_ours)
{
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    CHECK(pid > 0);
    setpgid(pid, pid);   /* either side may win the race; both ask the same */
    int64_t started = 0;
    char boot[40];
    CHECK_EQ_INT(exec_proc_started(pid, &started), 0);
    CHECK(started > 0);
    CHECK_EQ_INT(exec_boot_id(boot, sizeof boot), 0);
    /* not ours: another start time, or another boot */
    CHECK_EQ_INT(exec_end_orphan_group(pid, started + 1, boot), 0);
    CHECK_EQ_INT(exec_end_orphan_group(pid, started, "another-boot"), 0);
    CHECK_EQ_INT(kill(pid, 0), 0);
    CHECK_EQ_INT(exec_end_orphan_group(pid, started, boot), 1);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_EQ_INT(exec_proc_started(pid, &started), -1);
}
