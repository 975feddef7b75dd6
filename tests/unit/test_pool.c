/* test_pool.c — unit tests for the worker pool (src/infra/workers/pool.c)
 * with a fake run hook, so no workflow is involved: batched claims whose
 * results ride with the next claim, every result handed back to
 * result_free, cancel reaching the running attempt, and shutdown. */
#define UNIT_MAIN
#include "unit.h"

#include <ftw.h>
#include <stdatomic.h>
#include <time.h>

#include "infra/config.h"
#include "infra/db/db.h"
#include "infra/db/repo_job.h"
#include "infra/workers/pool.h"
#include "util/err.h"

struct fx {
    char dir[256];
    db *d;
    bb_config cfg;
};

static atomic_int runs, freed;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static bool fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    char err[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/bbpool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return false;
    char path[300];
    snprintf(path, sizeof path, "%s/batchbox.db", f->dir);
    return db_open(path, NULL, &f->d, err, sizeof err) == 0 &&
           config_load_text(NULL, f->dir, &f->cfg, err, sizeof err) == 0;
}

static void fx_close(struct fx *f)
{
    if (f->d)
        db_close(f->d);
    config_free(&f->cfg);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t submit(db *d, const char *preset)
{
    job j;
    memset(&j, 0, sizeof j);
    j.preset = strdup(preset);
    j.max_attempts = 1;
    int rc = repo_job_submit(d, &j, NULL, NULL, NULL);
    int64_t id = rc == BB_OK ? j.id : 0;
    job_clear(&j);
    return id;
}

static enum job_state state_of(db *d, int64_t id)
{
    job j;
    if (repo_job_get(d, id, 0, &j) != BB_OK)
        return JOB_QUEUED;
    enum job_state s = j.state;
    job_clear(&j);
    return s;
}

/* Waits up to 5 s for job id to reach state s. */
static bool wait_state(db *d, int64_t id, enum job_state s)
{
    for (int i = 0; i < 500; i++) {
        if (state_of(d, id) == s)
            return true;
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void result_free(void *owned)
{
    if (owned) {
        atomic_fetch_add(&freed, 1);
        free(owned);
    }
}

/* Succeeds at once; the result owns a marker the pool must hand back. */
static void run_ok(void *ud, const job *j, atomic_bool *cancel, const atomic_bool *shutdown,
                   struct pool_result *out)
{
    atomic_fetch_add(&runs, 1);
    out->f.job_id = j->id;
    out->f.kind = FINISH_SUCCEEDED;
    out->owned = malloc(1);
}

/* Waits (at most 5 s) for the cancel flag, then ends canceled. */
static void run_until_canceled(void *ud, const job *j, atomic_bool *cancel,
                               const atomic_bool *shutdown, struct pool_result *out)
{
    atomic_fetch_add(&runs, 1);
    for (int i = 0; i < 500 && !atomic_load(cancel); i++) {
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    out->f.job_id = j->id;
    out->f.kind = atomic_load(cancel) ? FINISH_CANCELED : FINISH_FAILED;
    out->f.error = "canceled";
}

TEST(batched_results_ride_with_the_next_claim_and_are_freed)
{
    struct fx f;
    if (!fx_open(&f)) {
        fx_close(&f);
        FAIL("cannot open a test database or load the defaults");
    }
    int64_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = submit(f.d, "noop");
    struct pool_opts o = {.db = f.d, .cfg = &f.cfg, .workers = 2, .batchable = ",noop,",
                          .hooks = {.run = run_ok, .result_free = result_free}};
    pool *p = pool_start(&o);
    CHECK(p != NULL);
    pool_wake(p);
    bool all = true;
    for (int i = 0; i < 40; i++)
        all = all && wait_state(f.d, ids[i], JOB_SUCCEEDED);
    int busy = -1, total = 0;
    pool_stats(p, &busy, &total);
    CHECK_EQ_INT(total, 2);
    pool_stop(p, 1000);
    CHECK(all);
    CHECK_EQ_INT(atomic_load(&runs), 40);
    CHECK_EQ_INT(atomic_load(&freed), 40);
    fx_close(&f);
}

TEST(cancel_reaches_the_running_attempt)
{
    struct fx f;
    if (!fx_open(&f)) {
        fx_close(&f);
        FAIL("cannot open a test database or load the defaults");
    }
    int64_t id = submit(f.d, "wordcount");
    struct pool_opts o = {.db = f.d, .cfg = &f.cfg, .workers = 1,
                          .hooks = {.run = run_until_canceled, .result_free = result_free}};
    pool *p = pool_start(&o);
    CHECK(p != NULL);
    pool_wake(p);
    CHECK(wait_state(f.d, id, JOB_RUNNING));
    pool_cancel(p, id);
    CHECK(wait_state(f.d, id, JOB_CANCELED));
    pool_stop(p, 1000);
    CHECK_EQ_INT(atomic_load(&runs), 1);
    fx_close(&f);
}
