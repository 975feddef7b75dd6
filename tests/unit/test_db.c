/* test_db.c — unit tests for src/infra/db/db.c and the job repositories
 * (repo_job.c, repo_claim.c, repo_event.c, repo_artifact.c) on a real
 * SQLite file in a fresh temporary directory: migrations and refusal of a
 * newer schema, group commit from many threads, per-operation rollback
 * inside a batch, the commit hook's event order, claim order and filters,
 * finish/cancel/retry/recovery transitions, idempotency keys, event
 * replay and trimming, an online backup of a database being written, and
 * the statement layer (binds by name, conflicts, columns, read loops).
 * The tests' own SQL (scratch tables, probes) runs only through the
 * statement layer or sqlite3 calls on a connection the db layer hands out,
 * or on a closed file. */
#define UNIT_MAIN
#include "unit.h"

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include "domain/event.h"
#include "domain/job.h"
#include "infra/bus/bus.h"
#include "infra/db/db.h"
#include "infra/db/repo_job.h"
#include "util/assets.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

/* Info lines ("database migrated") for every fixture are noise here. */
__attribute__((constructor)) static void quiet_logs(void)
{
    bb_log_set_level(BB_LOG_WARN);
}

/* ---- fixture ----------------------------------------------------------- */

/* What the commit hook saw: every event (id, job, type) and how many
 * events each call carried. */
struct seen {
    pthread_mutex_t mu;
    int64_t *ids, *jobs;
    enum ev_type *types;
    size_t n, cap;
    size_t calls;
    size_t call_sizes[64];      /* of the first 64 calls */
    bool out_of_order;          /* an id not above the one before it */
};

struct fx {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    db *d;
    struct seen seen;
};

static void hook(void *ud, bus_event **evs, size_t n)
{
    struct seen *s = ud;
    pthread_mutex_lock(&s->mu);
    if (s->calls < 64)
        s->call_sizes[s->calls] = n;
    s->calls++;
    for (size_t i = 0; i < n; i++) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 256;
            int64_t *a = realloc(s->ids, nc * sizeof *a);
            if (a)
                s->ids = a;
            int64_t *b = realloc(s->jobs, nc * sizeof *b);
            if (b)
                s->jobs = b;
            enum ev_type *t = realloc(s->types, nc * sizeof *t);
            if (t)
                s->types = t;
            if (!a || !b || !t)
                abort();
            s->cap = nc;
        }
        if (s->n && evs[i]->id <= s->ids[s->n - 1])
            s->out_of_order = true;
        s->ids[s->n] = evs[i]->id;
        s->jobs[s->n] = evs[i]->job_id;
        s->types[s->n] = evs[i]->type;
        s->n++;
        bus_event_free(evs[i]);
    }
    pthread_mutex_unlock(&s->mu);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 ? 0 : -1;
}

static void rm_rf(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static char errbuf[1024];

/* Makes a temp dir and opens dir/batchbox.db with the hook installed. */
static bool fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->seen.mu, NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/bbdb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->path, sizeof f->path, "%s/batchbox.db", f->dir);
    errbuf[0] = '\0';
    if (db_open(f->path, NULL, &f->d, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "db_open: %s\n", errbuf);
        f->d = NULL;
        return false;
    }
    db_set_commit_hook(f->d, hook, &f->seen);
    return true;
}

static void fx_close(struct fx *f)
{
    if (f->d)
        db_close(f->d);
    f->d = NULL;
    if (f->dir[0])
        rm_rf(f->dir);
    free(f->seen.ids);
    free(f->seen.jobs);
    free(f->seen.types);
    pthread_mutex_destroy(&f->seen.mu);
    memset(f, 0, sizeof *f);
}

#define OPEN_FX(f)                                                            \
    struct fx f;                                                              \
    do {                                                                      \
        if (!fx_open(&f)) {                                                   \
            fx_close(&f);                                                     \
            FAIL("cannot open a test database: %s", errbuf);                 \
        }                                                                     \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Submits a job; returns its id (0 on failure). */
static int64_t submit_full(db *d, const char *preset, int priority, int max_attempts,
                           int64_t owner, const char *md)
{
    job j;
    memset(&j, 0, sizeof j);
    j.preset = strdup(preset);
    j.md = md ? strdup(md) : NULL;
    j.priority = priority;
    j.max_attempts = max_attempts;
    j.owner_id = owner;
    int rc = repo_job_submit(d, &j, NULL, NULL, NULL);
    int64_t id = rc == BB_OK ? j.id : 0;
    job_clear(&j);
    return id;
}

static int64_t submit(db *d, const char *preset, int priority)
{
    return submit_full(d, preset, priority, 3, 0, NULL);
}

/* Loads a job; state -1 if missing. */
static bool get(db *d, int64_t id, job *out)
{
    return repo_job_get(d, id, 0, out) == BB_OK;
}

static int state_of(db *d, int64_t id)
{
    job j;
    if (!get(d, id, &j))
        return -1;
    int s = (int)j.state;
    job_clear(&j);
    return s;
}

/* Claims one job at now; returns its id or 0 when none. */
static int64_t claim(db *d, int64_t now, const char *blocked, int64_t *next_due)
{
    job j;
    memset(&j, 0, sizeof j);
    bool found = false;
    int64_t nd = -1;
    int rc = repo_job_claim(d, now, 60000, blocked, &j, &found, &nd);
    if (next_due)
        *next_due = nd;
    if (rc != BB_OK || !found)
        return 0;
    int64_t id = j.id;
    job_clear(&j);
    return id;
}

static int finish(db *d, int64_t id, enum finish_kind k, const char *error, int64_t run_after)
{
    struct job_finish f = {.job_id = id, .kind = k, .error = error, .run_after = run_after};
    return repo_job_finish(d, &f);
}

/* Reads one integer with sqlite3 from a database file (closed by us). */
static int64_t file_int(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

/* Number of "-- migration N" sections in the embedded schema. */
static int migrations_in_schema(void)
{
    const struct bb_asset *a = bb_asset_find("schema.sql");
    if (!a)
        return -1;
    int n = 0;
    const char *text = (const char *)a->data;
    for (const char *l = text; l && *l;) {
        if (strncmp(l, "-- migration ", 13) == 0 && l[13] >= '1' && l[13] <= '9')
            n++;
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return n;
}

/* ---- open, migrations ---------------------------------------------------- */

TEST(open_creates_schema_and_reopen_is_idempotent)
{
    OPEN_FX(f);
    int nmig = migrations_in_schema();
    CHECK(nmig >= 1);
    int64_t id = submit(f.d, "noop", 0);
    CHECK(id > 0);
    CHECK_EQ_INT(db_ping(f.d), 0);
    db_close(f.d);
    f.d = NULL;
    CHECK_EQ_INT(file_int(f.path, "PRAGMA user_version"), nmig);
    CHECK_EQ_INT(file_int(f.path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                  "AND name IN ('jobs','job_events','job_logs','artifacts')"),
                 4);
    CHECK_EQ_INT(file_int(f.path, "SELECT count(*) FROM pragma_journal_mode "
                                  "WHERE journal_mode = 'wal'"), 1);
    /* reopen: nothing re-applied, data kept */
    for (int i = 0; i < 2; i++) {
        errbuf[0] = '\0';
        if (db_open(f.path, NULL, &f.d, errbuf, sizeof errbuf) != 0) {
            f.d = NULL;
            fx_close(&f);
            FAIL("reopen failed: %s", errbuf);
        }
        job j;
        bool ok = get(f.d, id, &j);
        if (ok)
            job_clear(&j);
        db_close(f.d);
        f.d = NULL;
        CHECK(ok);
        CHECK_EQ_INT(file_int(f.path, "PRAGMA user_version"), nmig);
    }
    CHECK_EQ_INT(file_int(f.path, "SELECT count(*) FROM jobs"), 1);
    fx_close(&f);
}

TEST(newer_schema_is_refused)
{
    OPEN_FX(f);
    db_close(f.d);
    f.d = NULL;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/newer.db", f.dir);
    sqlite3 *h = NULL;
    CHECK_EQ_INT(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                 SQLITE_OK);
    static const char mk[] = "CREATE TABLE x (a); PRAGMA user_version = 999;";
    int rc = sqlite3_exec(h, mk, NULL, NULL, NULL);
    sqlite3_close(h);
    CHECK_EQ_INT(rc, SQLITE_OK);
    db *d = NULL;
    errbuf[0] = '\0';
    int orc = db_open(path, NULL, &d, errbuf, sizeof errbuf);
    if (orc == 0)
        db_close(d);
    CHECK_EQ_INT(orc, -1);
    CHECK(strstr(errbuf, "newer") != NULL);
    /* the file was not touched */
    CHECK_EQ_INT(file_int(path, "PRAGMA user_version"), 999);
    CHECK_EQ_INT(file_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'jobs'"), 0);
    fx_close(&f);
}

TEST(open_fails_cleanly_on_missing_directory)
{
    db *d = NULL;
    errbuf[0] = '\0';
    int rc = db_open("/nonexistent-dir-bb/x/batchbox.db", NULL, &d, errbuf, sizeof errbuf);
    if (rc == 0)
        db_close(d);
    CHECK_EQ_INT(rc, -1);
    CHECK(errbuf[0] != '\0');
}

/* ---- group commit ------------------------------------------------------- */

#define NTHREADS 8
#define PER_THREAD 200

struct submitter {
    db *d;
    int idx;
    int64_t ids[PER_THREAD];
    int errors;
};

static void *submit_thread(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char md[64];
        snprintf(md, sizeof md, "t%d-%d.md", s->idx, i);
        s->ids[i] = submit_full(s->d, "noop", 0, 1, 0, md);
        if (s->ids[i] <= 0)
            s->errors++;
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(group_commit_many_threads_distinct_ids_all_committed)
{
    OPEN_FX(f);
    static struct submitter subs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        subs[i] = (struct submitter){.d = f.d, .idx = i};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, submit_thread, &subs[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    static int64_t all[NTHREADS * PER_THREAD];
    size_t n = 0;
    for (int i = 0; i < NTHREADS; i++) {
        CHECK_EQ_INT(subs[i].errors, 0);
        for (int k = 0; k < PER_THREAD; k++)
            all[n++] = subs[i].ids[k];
    }
    qsort(all, n, sizeof all[0], cmp_i64);
    for (size_t i = 1; i < n; i++)
        if (all[i] == all[i - 1])
            FAIL("id %lld given twice", (long long)all[i]);
    int64_t counts[JOB_NSTATES];
    CHECK_EQ_INT(repo_job_counts(f.d, counts), BB_OK);
    CHECK_EQ_INT(counts[JOB_QUEUED], NTHREADS * PER_THREAD);
    CHECK_EQ_INT(counts[JOB_RUNNING] + counts[JOB_SUCCEEDED] + counts[JOB_FAILED] +
                     counts[JOB_CANCELED], 0);
    /* every id is listed exactly once, newest first, via the cursor */
    size_t listed = 0;
    int64_t before = 0, prev = INT64_MAX;
    for (int page = 0; page < 20; page++) {
        struct job_filter jf = {.before_id = before, .limit = 200};
        job *items = NULL;
        size_t k = 0;
        CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &k), BB_OK);
        bool ordered = true, known = true;
        for (size_t i = 0; i < k; i++) {
            if (items[i].id >= prev)
                ordered = false;
            prev = items[i].id;
            if (!bsearch(&items[i].id, all, n, sizeof all[0], cmp_i64))
                known = false;
            job_clear(&items[i]);
        }
        free(items);
        CHECK(ordered);
        CHECK(known);
        listed += k;
        if (k < 200)
            break;
        before = prev;
    }
    CHECK_EQ_INT(listed, NTHREADS * PER_THREAD);
    /* the hook saw one job_created per job, in strictly increasing id order */
    CHECK_EQ_INT(f.seen.n, NTHREADS * PER_THREAD);
    CHECK(!f.seen.out_of_order);
    for (size_t i = 0; i < f.seen.n; i++) {
        CHECK_EQ_INT(f.seen.types[i], EV_JOB_CREATED);
        CHECK(bsearch(&f.seen.jobs[i], all, n, sizeof all[0], cmp_i64) != NULL);
    }
    fx_close(&f);
}

/* A gate: the blocking operation holds the writer until released. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, go;
};

struct batch_op {
    db *d;
    struct gate *g;     /* non-NULL: block inside the op */
    int value;          /* inserted into t */
    int fail_with;      /* returned after inserting (0 = keep) */
    atomic_int queued;  /* set just before db_write */
    int rc;
};

static const char SQL_T_CREATE[] = "CREATE TABLE t (x INTEGER NOT NULL)";
static const char SQL_T_INSERT[] = "INSERT INTO t (x) VALUES (?1)";

static int op_create_t(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    return sqlite3_exec(db_handle(c), SQL_T_CREATE, NULL, NULL, NULL) == SQLITE_OK ? BB_OK
                                                                                   : BB_EIO;
}

static int op_batch(db_conn *c, void *arg, db_outbox *out)
{
    struct batch_op *o = arg;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_handle(c), SQL_T_INSERT, -1, &st, NULL) != SQLITE_OK)
        return BB_EIO;
    sqlite3_bind_int(st, 1, o->value);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return BB_EIO;
    /* an event whose id is the value, to see what reaches the hook */
    bus_event *ev = bus_event_new(o->value, o->value, 0, EV_JOB_PROGRESS, "{}");
    if (!ev || db_outbox_add(out, ev) != 0)
        return BB_EINTERNAL;
    if (o->g) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        pthread_mutex_lock(&o->g->mu);
        o->g->started = true;
        pthread_cond_broadcast(&o->g->cv);
        while (!o->g->go)
            if (pthread_cond_timedwait(&o->g->cv, &o->g->mu, &dl) != 0)
                break;
        pthread_mutex_unlock(&o->g->mu);
    }
    return o->fail_with;
}

static void *batch_thread(void *arg)
{
    struct batch_op *o = arg;
    atomic_store(&o->queued, 1);
    o->rc = db_write(o->d, op_batch, o);
    return NULL;
}

/* Values in table t, sorted, as a string "0,1,3". */
static void t_values(db *d, char *out, size_t cap)
{
    out[0] = '\0';
    db_conn *c = db_reader_acquire(d);
    static const char sql[] = "SELECT group_concat(x, ',') FROM (SELECT x FROM t ORDER BY x)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db_handle(c), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    db_reader_release(d, c);
}

TEST(failing_operation_rolls_back_alone_within_its_batch)
{
    OPEN_FX(f);
    CHECK_EQ_INT(db_write(f.d, op_create_t, NULL), BB_OK);
    struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    static struct batch_op ops[4];
    ops[0] = (struct batch_op){.d = f.d, .g = &g, .value = 10};
    ops[1] = (struct batch_op){.d = f.d, .value = 11};
    ops[2] = (struct batch_op){.d = f.d, .value = 12, .fail_with = BB_ECONFLICT};
    ops[3] = (struct batch_op){.d = f.d, .value = 13};
    pthread_t th[4];
    CHECK_EQ_INT(pthread_create(&th[0], NULL, batch_thread, &ops[0]), 0);
    /* wait until the writer is inside op 0 */
    pthread_mutex_lock(&g.mu);
    for (int i = 0; i < 500 && !g.started; i++) {
        pthread_mutex_unlock(&g.mu);
        sleep_ms(2);
        pthread_mutex_lock(&g.mu);
    }
    bool started = g.started;
    pthread_mutex_unlock(&g.mu);
    CHECK(started);
    for (int i = 1; i < 4; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, batch_thread, &ops[i]), 0);
    for (int i = 1; i < 4; i++)
        while (!atomic_load(&ops[i].queued))
            sleep_ms(1);
    sleep_ms(100);             /* let all three reach the queue */
    pthread_mutex_lock(&g.mu);
    g.go = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(ops[0].rc, BB_OK);
    CHECK_EQ_INT(ops[1].rc, BB_OK);
    CHECK_EQ_INT(ops[2].rc, BB_ECONFLICT);
    CHECK_EQ_INT(ops[3].rc, BB_OK);
    char vals[64];
    t_values(f.d, vals, sizeof vals);
    CHECK_STR_EQ(vals, "10,11,13");
    /* the hook: op 0 alone, then ops 1 and 3 together in one commit; the
     * failed op's event never arrives */
    CHECK_EQ_INT(f.seen.calls, 2);
    CHECK_EQ_INT(f.seen.call_sizes[0], 1);
    CHECK_EQ_INT(f.seen.call_sizes[1], 2);
    CHECK_EQ_INT(f.seen.n, 3);
    CHECK_EQ_INT(f.seen.ids[0], 10);
    CHECK((f.seen.ids[1] == 11 && f.seen.ids[2] == 13) ||
          (f.seen.ids[1] == 13 && f.seen.ids[2] == 11));
    fx_close(&f);
}

TEST(commit_hook_gets_events_in_id_order_across_operations)
{
    OPEN_FX(f);
    int64_t a = submit(f.d, "noop", 0), b = submit(f.d, "noop", 0);
    CHECK(a > 0 && b > 0);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), a);
    CHECK_EQ_INT(repo_job_set_progress(f.d, a, 0.5), BB_OK);
    struct log_line lines[3] = {{"stdout", "one", 1}, {"stderr", "two", 2}, {"stdout", "three", 3}};
    CHECK_EQ_INT(repo_job_append_logs(f.d, a, 1, lines, 3), BB_OK);
    CHECK_EQ_INT(finish(f.d, a, FINISH_SUCCEEDED, NULL, 0), BB_OK);
    enum cancel_outcome oc;
    CHECK_EQ_INT(repo_job_cancel(f.d, b, 0, "x", &oc), BB_OK);
    static const enum ev_type want[] = {
        EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_STATE_CHANGED, EV_JOB_PROGRESS,
        EV_JOB_LOG, EV_JOB_LOG, EV_JOB_LOG, EV_JOB_STATE_CHANGED, EV_JOB_STATE_CHANGED,
    };
    static const int want_job[] = {0, 1, 0, 0, 0, 0, 0, 0, 1};
    CHECK_EQ_INT(f.seen.n, 9);
    CHECK(!f.seen.out_of_order);
    for (size_t i = 0; i < 9; i++) {
        CHECK_EQ_INT(f.seen.types[i], want[i]);
        CHECK_EQ_INT(f.seen.jobs[i], want_job[i] ? b : a);
        if (i)
            CHECK(f.seen.ids[i] > f.seen.ids[i - 1]);
    }
    fx_close(&f);
}

/* ---- claim --------------------------------------------------------------- */

TEST(claim_by_priority_then_id)
{
    OPEN_FX(f);
    int64_t a = submit(f.d, "noop", 0);
    int64_t b = submit(f.d, "noop", 5);
    int64_t c = submit(f.d, "noop", 5);
    int64_t d = submit(f.d, "noop", -1);
    int64_t e = submit(f.d, "noop", 1000);
    CHECK(a && b && c && d && e);
    int64_t now = bb_now_ms();
    int64_t order[5];
    for (int i = 0; i < 5; i++)
        order[i] = claim(f.d, now, NULL, NULL);
    CHECK_EQ_INT(order[0], e);
    CHECK_EQ_INT(order[1], b);
    CHECK_EQ_INT(order[2], c);
    CHECK_EQ_INT(order[3], a);
    CHECK_EQ_INT(order[4], d);
    int64_t nd = -1;
    CHECK_EQ_INT(claim(f.d, now, NULL, &nd), 0);
    CHECK_EQ_INT(nd, 0);
    job j;
    CHECK(get(f.d, b, &j));
    bool ok = j.state == JOB_RUNNING && j.attempts == 1 && j.started_at == now &&
              j.progress == 0 && !j.cancel_requested;
    job_clear(&j);
    CHECK(ok);
    int64_t counts[JOB_NSTATES];
    CHECK_EQ_INT(repo_job_counts(f.d, counts), BB_OK);
    CHECK_EQ_INT(counts[JOB_RUNNING], 5);
    CHECK_EQ_INT(counts[JOB_QUEUED], 0);
    fx_close(&f);
}

TEST(claim_skips_future_run_after_and_reports_next_due)
{
    OPEN_FX(f);
    int64_t a = submit(f.d, "noop", 0);
    int64_t b = submit(f.d, "noop", 0);
    int64_t now = bb_now_ms();
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), b);
    CHECK_EQ_INT(finish(f.d, a, FINISH_RETRY, "try again", now + 60000), BB_OK);
    CHECK_EQ_INT(finish(f.d, b, FINISH_RETRY, "try again", now + 30000), BB_OK);
    int64_t nd = -1;
    CHECK_EQ_INT(claim(f.d, now, NULL, &nd), 0);
    CHECK_EQ_INT(nd, now + 30000);
    CHECK_EQ_INT(claim(f.d, now + 29999, NULL, &nd), 0);
    CHECK_EQ_INT(nd, now + 30000);
    CHECK_EQ_INT(claim(f.d, now + 30000, NULL, NULL), b);
    CHECK_EQ_INT(claim(f.d, now + 30000, NULL, &nd), 0);
    CHECK_EQ_INT(nd, now + 60000);
    CHECK_EQ_INT(claim(f.d, now + 60001, NULL, NULL), a);
    job j;
    CHECK(get(f.d, a, &j));
    int attempts = j.attempts;
    job_clear(&j);
    CHECK_EQ_INT(attempts, 2);
    fx_close(&f);
}

TEST(claim_respects_blocked_presets)
{
    OPEN_FX(f);
    int64_t a1 = submit(f.d, "a", 9);
    int64_t b1 = submit(f.d, "b", 0);
    int64_t ab = submit(f.d, "ab", 5);
    int64_t a2 = submit(f.d, "a", 9);
    int64_t now = bb_now_ms();
    int64_t nd = -1;
    CHECK_EQ_INT(claim(f.d, now, ",a,b,ab,", &nd), 0);
    CHECK_EQ_INT(nd, 0);
    /* ",a," must not block "ab" nor "b" */
    CHECK_EQ_INT(claim(f.d, now, ",a,", NULL), ab);
    CHECK_EQ_INT(claim(f.d, now, ",a,", NULL), b1);
    CHECK_EQ_INT(claim(f.d, now, ",a,", NULL), 0);
    CHECK_EQ_INT(state_of(f.d, a1), JOB_QUEUED);
    CHECK_EQ_INT(claim(f.d, now, ",b,ab,", NULL), a1);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a2);
    fx_close(&f);
}

/* ---- finish ----------------------------------------------------------- */

TEST(finish_succeeded_with_artifacts)
{
    OPEN_FX(f);
    int64_t id = submit(f.d, "noop", 0);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), id);
    CHECK_EQ_INT(repo_job_set_progress(f.d, id, 0.4), BB_OK);
    struct artifact_rec arts[2] = {
        {.name = "z.txt", .sha256 = "aa", .content_type = "text/plain", .location = "/d/z", .size = 3},
        {.name = "a.json", .sha256 = "bb", .content_type = "application/json", .location = "/d/a", .size = 12},
    };
    struct job_finish fin = {.job_id = id, .kind = FINISH_SUCCEEDED, .artifacts = arts, .nartifacts = 2};
    int64_t t0 = bb_now_ms();
    CHECK_EQ_INT(repo_job_finish(f.d, &fin), BB_OK);
    job j;
    CHECK(get(f.d, id, &j));
    bool ok = j.state == JOB_SUCCEEDED && j.progress == 1.0 && j.error == NULL &&
              j.finished_at >= t0 && j.attempts == 1;
    job_clear(&j);
    CHECK(ok);
    struct artifact_rec *list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(repo_artifacts_list(f.d, id, &list, &n), BB_OK);
    CHECK_EQ_INT(n, 2);
    ok = strcmp(list[0].name, "a.json") == 0 && list[0].size == 12 &&
         strcmp(list[0].sha256, "bb") == 0 && strcmp(list[0].content_type, "application/json") == 0 &&
         strcmp(list[0].location, "/d/a") == 0 && strcmp(list[1].name, "z.txt") == 0 &&
         list[1].size == 3;
    repo_artifacts_free(list, n);
    CHECK(ok);
    struct artifact_rec one;
    CHECK_EQ_INT(repo_artifact_get(f.d, id, "z.txt", &one), BB_OK);
    ok = strcmp(one.location, "/d/z") == 0;
    repo_artifact_clear(&one);
    CHECK(ok);
    CHECK_EQ_INT(repo_artifact_get(f.d, id, "nope", &one), BB_ENOTFOUND);
    /* finishing again: no longer running */
    CHECK_EQ_INT(finish(f.d, id, FINISH_FAILED, "late", 0), BB_ESTATE);
    CHECK_EQ_INT(state_of(f.d, id), JOB_SUCCEEDED);
    fx_close(&f);
}

TEST(finish_retry_failed_canceled_requeue)
{
    OPEN_FX(f);
    int64_t now = bb_now_ms();
    int64_t r = submit(f.d, "noop", 0), x = submit(f.d, "noop", 0), c = submit(f.d, "noop", 0),
            q = submit(f.d, "noop", 0);
    for (int i = 0; i < 4; i++)
        CHECK(claim(f.d, now, NULL, NULL) > 0);
    CHECK_EQ_INT(finish(f.d, r, FINISH_RETRY, "exit 3", now + 5000), BB_OK);
    CHECK_EQ_INT(finish(f.d, x, FINISH_FAILED, "exit 4", 0), BB_OK);
    CHECK_EQ_INT(finish(f.d, c, FINISH_CANCELED, "canceled: user", 0), BB_OK);
    CHECK_EQ_INT(repo_job_set_progress(f.d, q, 0.7), BB_OK);
    CHECK_EQ_INT(finish(f.d, q, FINISH_REQUEUE, NULL, 0), BB_OK);
    job j;
    CHECK(get(f.d, r, &j));
    bool ok = j.state == JOB_QUEUED && j.error && strcmp(j.error, "exit 3") == 0 &&
              j.run_after == now + 5000 && j.attempts == 1 && j.finished_at == 0;
    job_clear(&j);
    CHECK(ok);
    CHECK(get(f.d, x, &j));
    ok = j.state == JOB_FAILED && j.error && strcmp(j.error, "exit 4") == 0 && j.finished_at > 0;
    job_clear(&j);
    CHECK(ok);
    CHECK(get(f.d, c, &j));
    ok = j.state == JOB_CANCELED && j.error && strcmp(j.error, "canceled: user") == 0 &&
         j.finished_at > 0;
    job_clear(&j);
    CHECK(ok);
    CHECK(get(f.d, q, &j));
    ok = j.state == JOB_QUEUED && j.attempts == 0 && j.run_after == 0 && j.progress == 0;
    job_clear(&j);
    CHECK(ok);
    /* the requeued job is claimable at once and its attempt counts anew */
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), q);
    CHECK(get(f.d, q, &j));
    ok = j.attempts == 1;
    job_clear(&j);
    CHECK(ok);
    /* finishing a job that is not running */
    CHECK_EQ_INT(finish(f.d, r, FINISH_SUCCEEDED, NULL, 0), BB_ESTATE);
    CHECK_EQ_INT(finish(f.d, 99999, FINISH_FAILED, "x", 0), BB_ESTATE);
    fx_close(&f);
}

TEST(progress_only_while_running)
{
    OPEN_FX(f);
    int64_t id = submit(f.d, "noop", 0);
    size_t before = f.seen.n;
    CHECK_EQ_INT(repo_job_set_progress(f.d, id, 0.5), BB_OK);   /* queued: ignored */
    CHECK_EQ_INT(f.seen.n, before);
    job j;
    CHECK(get(f.d, id, &j));
    bool ok = j.progress == 0;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), id);
    CHECK_EQ_INT(repo_job_set_progress(f.d, id, 0.25), BB_OK);
    CHECK(get(f.d, id, &j));
    ok = j.progress == 0.25;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(f.seen.types[f.seen.n - 1], EV_JOB_PROGRESS);
    fx_close(&f);
}

/* ---- cancel / retry / edit ------------------------------------------- */

TEST(cancel_queued_running_terminal)
{
    OPEN_FX(f);
    int64_t q = submit(f.d, "noop", 0), r = submit(f.d, "noop", 9);
    int64_t o = submit_full(f.d, "noop", 0, 1, 42, NULL);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), r);
    enum cancel_outcome oc = (enum cancel_outcome)-1;
    CHECK_EQ_INT(repo_job_cancel(f.d, q, 0, "no longer needed", &oc), BB_OK);
    CHECK_EQ_INT(oc, CANCEL_DONE);
    job j;
    CHECK(get(f.d, q, &j));
    bool ok = j.state == JOB_CANCELED && j.finished_at > 0 && j.error &&
              strstr(j.error, "no longer needed") != NULL;
    job_clear(&j);
    CHECK(ok);
    size_t before = f.seen.n;
    CHECK_EQ_INT(repo_job_cancel(f.d, r, 0, NULL, &oc), BB_OK);
    CHECK_EQ_INT(oc, CANCEL_REQUESTED);
    CHECK(get(f.d, r, &j));
    ok = j.state == JOB_RUNNING && j.cancel_requested;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(f.seen.n, before);          /* the worker ends it and reports */
    /* terminal */
    CHECK_EQ_INT(repo_job_cancel(f.d, q, 0, NULL, &oc), BB_ESTATE);
    CHECK_EQ_INT(finish(f.d, r, FINISH_CANCELED, "canceled", 0), BB_OK);
    CHECK_EQ_INT(repo_job_cancel(f.d, r, 0, NULL, &oc), BB_ESTATE);
    /* missing, or another owner's */
    CHECK_EQ_INT(repo_job_cancel(f.d, 424242, 0, NULL, &oc), BB_ENOTFOUND);
    CHECK_EQ_INT(repo_job_cancel(f.d, o, 7, NULL, &oc), BB_ENOTFOUND);
    CHECK_EQ_INT(state_of(f.d, o), JOB_QUEUED);
    CHECK_EQ_INT(repo_job_cancel(f.d, o, 42, NULL, &oc), BB_OK);
    CHECK_EQ_INT(state_of(f.d, o), JOB_CANCELED);
    fx_close(&f);
}

TEST(retry_failed_and_canceled_refuse_others)
{
    OPEN_FX(f);
    int64_t now = bb_now_ms();
    int64_t x = submit_full(f.d, "noop", 0, 1, 0, NULL);
    int64_t s = submit(f.d, "noop", 0);
    int64_t c = submit(f.d, "noop", 0);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), x);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), s);
    CHECK_EQ_INT(finish(f.d, x, FINISH_FAILED, "boom", 0), BB_OK);
    CHECK_EQ_INT(finish(f.d, s, FINISH_SUCCEEDED, NULL, 0), BB_OK);
    enum cancel_outcome oc;
    CHECK_EQ_INT(repo_job_cancel(f.d, c, 0, NULL, &oc), BB_OK);

    CHECK_EQ_INT(repo_job_retry(f.d, x, 0, 2), BB_OK);
    job j;
    CHECK(get(f.d, x, &j));
    bool ok = j.state == JOB_QUEUED && j.error == NULL && j.finished_at == 0 &&
              j.attempts == 1 && j.max_attempts == 3 && j.run_after == 0;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(repo_job_retry(f.d, c, 0, 1), BB_OK);
    CHECK_EQ_INT(state_of(f.d, c), JOB_QUEUED);
    /* succeeded, queued and running refuse */
    CHECK_EQ_INT(repo_job_retry(f.d, s, 0, 1), BB_ESTATE);
    CHECK_EQ_INT(state_of(f.d, s), JOB_SUCCEEDED);
    CHECK_EQ_INT(repo_job_retry(f.d, x, 0, 1), BB_ESTATE);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), x);
    CHECK_EQ_INT(repo_job_retry(f.d, x, 0, 1), BB_ESTATE);
    CHECK_EQ_INT(repo_job_retry(f.d, 77777, 0, 1), BB_ENOTFOUND);
    fx_close(&f);
}

TEST(edit_metadata)
{
    OPEN_FX(f);
    job j;
    memset(&j, 0, sizeof j);
    j.preset = strdup("noop");
    j.notion_database = strdup("db1");
    j.max_attempts = 1;
    CHECK_EQ_INT(repo_job_submit(f.d, &j, NULL, NULL, NULL), BB_OK);
    int64_t id = j.id;
    job_clear(&j);
    CHECK_EQ_INT(repo_job_edit(f.d, id, 0, "echo", 5, NULL), BB_OK);
    CHECK(get(f.d, id, &j));
    bool ok = strcmp(j.preset, "echo") == 0 && j.max_attempts == 5 && j.notion_database &&
              strcmp(j.notion_database, "db1") == 0;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(repo_job_edit(f.d, id, 0, NULL, 0, ""), BB_OK);
    CHECK(get(f.d, id, &j));
    ok = strcmp(j.preset, "echo") == 0 && j.max_attempts == 5 && j.notion_database == NULL;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), id);
    CHECK_EQ_INT(repo_job_edit(f.d, id, 0, "noop", 1, NULL), BB_ESTATE);
    fx_close(&f);
}

/* ---- recovery ------------------------------------------------------------ */

TEST(recover_running_requeues_keeping_attempts)
{
    OPEN_FX(f);
    int64_t a = submit_full(f.d, "noop", 0, 1, 0, NULL);
    int64_t b = submit_full(f.d, "noop", 0, 3, 0, NULL);
    int64_t q = submit(f.d, "noop", -5);
    int64_t now = bb_now_ms();
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), b);
    int rq = -1, fl = -1;
    CHECK_EQ_INT(repo_job_recover_running(f.d, &rq, &fl), BB_OK);
    CHECK_EQ_INT(rq, 2);
    CHECK_EQ_INT(fl, 0);
    job j;
    CHECK(get(f.d, a, &j));
    /* attempt kept; the budget grows so the interrupted attempt can rerun */
    bool ok = j.state == JOB_QUEUED && j.attempts == 1 && j.max_attempts >= 2 &&
              j.progress == 0;
    job_clear(&j);
    CHECK(ok);
    CHECK(get(f.d, b, &j));
    ok = j.state == JOB_QUEUED && j.attempts == 1 && j.max_attempts == 3;
    job_clear(&j);
    CHECK(ok);
    CHECK_EQ_INT(state_of(f.d, q), JOB_QUEUED);
    /* nothing running: nothing to do */
    CHECK_EQ_INT(repo_job_recover_running(f.d, &rq, &fl), BB_OK);
    CHECK_EQ_INT(rq + fl, 0);
    fx_close(&f);
}

TEST(recover_fails_a_job_after_max_interruptions)
{
    OPEN_FX(f);
    int64_t a = submit_full(f.d, "noop", 0, 1, 0, NULL);
    int64_t now = bb_now_ms();
    int rq, fl;
    /* MAX_INTERRUPTIONS = 3 interruptions are requeued */
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a);
        CHECK_EQ_INT(repo_job_recover_running(f.d, &rq, &fl), BB_OK);
        CHECK_EQ_INT(rq, 1);
        CHECK_EQ_INT(fl, 0);
        job j;
        CHECK(get(f.d, a, &j));
        bool ok = j.state == JOB_QUEUED && j.attempts == i;
        job_clear(&j);
        if (!ok)
            FAIL("interruption %d did not requeue with %d attempts", i, i);
    }
    /* the fourth one fails it */
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a);
    CHECK_EQ_INT(repo_job_recover_running(f.d, &rq, &fl), BB_OK);
    CHECK_EQ_INT(rq, 0);
    CHECK_EQ_INT(fl, 1);
    job j;
    CHECK(get(f.d, a, &j));
    bool ok = j.state == JOB_FAILED && j.error && strstr(j.error, "interrupted") &&
              j.finished_at > 0 && j.attempts == 4;
    job_clear(&j);
    CHECK(ok);
    /* a manual retry starts a fresh interruption budget */
    CHECK_EQ_INT(repo_job_retry(f.d, a, 0, 1), BB_OK);
    CHECK_EQ_INT(claim(f.d, now, NULL, NULL), a);
    CHECK_EQ_INT(repo_job_recover_running(f.d, &rq, &fl), BB_OK);
    CHECK_EQ_INT(rq, 1);
    fx_close(&f);
}

TEST(expired_leases_are_requeued_and_renewal_keeps_them)
{
    OPEN_FX(f);
    int64_t a = submit(f.d, "noop", 0), b = submit(f.d, "noop", 0);
    int64_t now = bb_now_ms();
    job j;
    bool found;
    memset(&j, 0, sizeof j);
    CHECK_EQ_INT(repo_job_claim(f.d, now, 1000, NULL, &j, &found, NULL), BB_OK);
    CHECK(found && j.id == a);
    job_clear(&j);
    CHECK_EQ_INT(repo_job_claim(f.d, now, 1000, NULL, &j, &found, NULL), BB_OK);
    CHECK(found && j.id == b);
    job_clear(&j);
    int n = -1;
    CHECK_EQ_INT(repo_job_expire_leases(f.d, now + 500, &n), BB_OK);
    CHECK_EQ_INT(n, 0);
    int64_t ids[1] = {b};
    CHECK_EQ_INT(repo_job_renew_leases(f.d, ids, 1, now + 100000), BB_OK);
    CHECK_EQ_INT(repo_job_expire_leases(f.d, now + 2000, &n), BB_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(state_of(f.d, a), JOB_QUEUED);
    CHECK_EQ_INT(state_of(f.d, b), JOB_RUNNING);
    fx_close(&f);
}

/* ---- idempotency ---------------------------------------------------------- */

static int submit_idem(db *d, int64_t owner, const char *key, const char *hash, int64_t *id,
                       bool *existed)
{
    job j;
    memset(&j, 0, sizeof j);
    j.preset = strdup("noop");
    j.owner_id = owner;
    j.max_attempts = 1;
    *existed = false;
    int rc = repo_job_submit(d, &j, key, hash, existed);
    *id = j.id;
    job_clear(&j);
    return rc;
}

TEST(idempotency_key_same_hash_existed_different_hash_conflict)
{
    OPEN_FX(f);
    int64_t id1 = 0, id2 = 0, id3 = 0, id4 = 0, id5 = 0;
    bool ex = true;
    CHECK_EQ_INT(submit_idem(f.d, 0, "k1", "h1", &id1, &ex), BB_OK);
    CHECK(id1 > 0);
    CHECK(!ex);
    size_t events = f.seen.n;
    CHECK_EQ_INT(submit_idem(f.d, 0, "k1", "h1", &id2, &ex), BB_OK);
    CHECK(ex);
    CHECK_EQ_INT(id2, id1);
    CHECK_EQ_INT(f.seen.n, events);          /* a repeat logs nothing */
    CHECK_EQ_INT(submit_idem(f.d, 0, "k1", "h2", &id3, &ex), BB_ECONFLICT);
    CHECK(!ex);
    CHECK_EQ_INT(submit_idem(f.d, 0, "k2", "h1", &id4, &ex), BB_OK);
    CHECK(!ex);
    CHECK(id4 != id1);
    /* keys are per owner */
    CHECK_EQ_INT(submit_idem(f.d, 9, "k1", "h1", &id5, &ex), BB_OK);
    CHECK(!ex);
    CHECK(id5 != id1 && id5 != id4);
    int64_t counts[JOB_NSTATES];
    CHECK_EQ_INT(repo_job_counts(f.d, counts), BB_OK);
    CHECK_EQ_INT(counts[JOB_QUEUED], 3);
    fx_close(&f);
}

/* ---- events replay and trim --------------------------------------------- */

struct collected {
    int64_t ids[8192];
    char types[8192][20];
    size_t n;
    size_t stop_after;       /* 0 = never */
    bool bad_payload;
};

static int collect(void *ud, int64_t id, const char *type, const char *payload)
{
    struct collected *c = ud;
    if (c->n < 8192) {
        c->ids[c->n] = id;
        snprintf(c->types[c->n], sizeof c->types[0], "%s", type);
        c->n++;
    }
    if (!payload || payload[0] != '{')
        c->bad_payload = true;
    return c->stop_after && c->n >= c->stop_after;
}

static struct collected col;

static int replay(db *d, int64_t after, int64_t upto, int64_t owner, int64_t job_id, bool logs,
                  size_t stop_after)
{
    memset(&col, 0, sizeof col);
    col.stop_after = stop_after;
    return repo_events_replay(d, after, upto, owner, job_id, logs, collect, &col);
}

TEST(replay_returns_exactly_the_range_in_order_with_filters)
{
    OPEN_FX(f);
    int64_t jobs[10];
    for (int i = 0; i < 10; i++)
        jobs[i] = submit_full(f.d, "noop", 0, 1, i < 3 ? 5 : 0, NULL);
    CHECK_EQ_INT(f.seen.n, 10);
    int64_t ev[10];
    for (int i = 0; i < 10; i++)
        ev[i] = f.seen.ids[i];
    /* (ev[2], ev[7]] */
    CHECK_EQ_INT(replay(f.d, ev[2], ev[7], 0, 0, false, 0), BB_OK);
    CHECK_EQ_INT(col.n, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(col.ids[i], ev[3 + i]);
    CHECK(!col.bad_payload);
    CHECK_STR_EQ(col.types[0], "job_created");
    /* empty ranges */
    CHECK_EQ_INT(replay(f.d, ev[9], INT64_MAX, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 0);
    CHECK_EQ_INT(replay(f.d, ev[4], ev[4], 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 0);

    /* job filter and logs filter */
    int64_t x = jobs[4];
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), jobs[0]);
    struct log_line lines[2] = {{"stdout", "hello", 5}, {"stderr", "world", 6}};
    CHECK_EQ_INT(repo_job_append_logs(f.d, x, 1, lines, 2), BB_OK);
    enum cancel_outcome oc;
    CHECK_EQ_INT(repo_job_cancel(f.d, x, 0, NULL, &oc), BB_OK);
    int64_t last = f.seen.ids[f.seen.n - 1];
    CHECK_EQ_INT(replay(f.d, 0, last, 0, x, false, 0), BB_OK);
    CHECK_EQ_INT(col.n, 2);
    CHECK_STR_EQ(col.types[0], "job_created");
    CHECK_STR_EQ(col.types[1], "job_state_changed");
    CHECK_EQ_INT(replay(f.d, 0, last, 0, x, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 4);
    CHECK_STR_EQ(col.types[1], "job_log");
    CHECK_STR_EQ(col.types[2], "job_log");
    CHECK(col.ids[0] < col.ids[1] && col.ids[1] < col.ids[2] && col.ids[2] < col.ids[3]);
    CHECK_EQ_INT(replay(f.d, 0, last, 0, 0, false, 0), BB_OK);
    CHECK_EQ_INT(col.n, 12);                 /* 10 created, claim, cancel */
    for (size_t i = 0; i < col.n; i++)
        CHECK(strcmp(col.types[i], "job_log") != 0);
    CHECK_EQ_INT(replay(f.d, 0, last, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 14);
    /* owner scope */
    CHECK_EQ_INT(replay(f.d, 0, last, 5, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 4);                  /* 3 created + claim of jobs[0] */
    /* the callback stops the replay */
    CHECK_EQ_INT(replay(f.d, 0, last, 0, 0, true, 3), BB_OK);
    CHECK_EQ_INT(col.n, 3);
    fx_close(&f);
}

TEST(replay_pages_through_more_than_one_page)
{
    OPEN_FX(f);
    int64_t id = submit(f.d, "noop", 0);
    static struct log_line lines[1300];
    static char texts[1300][16];
    for (int i = 0; i < 1300; i++) {
        snprintf(texts[i], sizeof texts[i], "line %d", i);
        lines[i] = (struct log_line){"stdout", texts[i], i};
    }
    CHECK_EQ_INT(repo_job_append_logs(f.d, id, 1, lines, 1300), BB_OK);
    CHECK_EQ_INT(f.seen.n, 1301);
    CHECK_EQ_INT(replay(f.d, 0, INT64_MAX, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 1301);
    for (size_t i = 0; i < col.n; i++)
        if (col.ids[i] != f.seen.ids[i])
            FAIL("replay item %zu is id %lld, want %lld", i, (long long)col.ids[i],
                 (long long)f.seen.ids[i]);
    /* a range across page boundaries */
    CHECK_EQ_INT(replay(f.d, f.seen.ids[100], f.seen.ids[1200], 0, id, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 1100);
    CHECK_EQ_INT(col.ids[0], f.seen.ids[101]);
    CHECK_EQ_INT(col.ids[1099], f.seen.ids[1200]);
    /* without logs only job_created remains */
    CHECK_EQ_INT(replay(f.d, 0, INT64_MAX, 0, 0, false, 0), BB_OK);
    CHECK_EQ_INT(col.n, 1);
    fx_close(&f);
}

TEST(trim_keeps_the_newest_n)
{
    OPEN_FX(f);
    for (int i = 0; i < 20; i++)
        CHECK(submit(f.d, "noop", 0) > 0);
    CHECK_EQ_INT(f.seen.n, 20);
    int64_t del = -1;
    CHECK_EQ_INT(repo_events_trim(f.d, 5, &del), BB_OK);
    CHECK_EQ_INT(del, 15);
    CHECK_EQ_INT(replay(f.d, 0, INT64_MAX, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(col.ids[i], f.seen.ids[15 + i]);
    CHECK_EQ_INT(repo_events_trim(f.d, 5, &del), BB_OK);
    CHECK_EQ_INT(del, 0);
    CHECK_EQ_INT(repo_events_trim(f.d, 1000, &del), BB_OK);
    CHECK_EQ_INT(del, 0);
    /* ids keep growing after a trim (no reuse) */
    int64_t top = f.seen.ids[19];
    CHECK(submit(f.d, "noop", 0) > 0);
    CHECK(f.seen.ids[20] > top);
    fx_close(&f);
}

/* Ids jump at every start (event epochs): the trim still keeps the newest
 * n rows, not the ids within n of the newest. */
TEST(trim_keeps_the_newest_n_across_an_epoch_jump)
{
    OPEN_FX(f);
    for (int i = 0; i < 3; i++)
        CHECK(submit(f.d, "noop", 0) > 0);
    int64_t floor = 0;
    CHECK_EQ_INT(repo_events_new_epoch(f.d, f.seen.ids[2] + 5000000, &floor), BB_OK);
    for (int i = 0; i < 3; i++)
        CHECK(submit(f.d, "noop", 0) > 0);
    CHECK(f.seen.ids[3] > floor);
    int64_t del = -1;
    CHECK_EQ_INT(repo_events_trim(f.d, 10, &del), BB_OK);
    CHECK_EQ_INT(del, 0);
    CHECK_EQ_INT(repo_events_trim(f.d, 4, &del), BB_OK);
    CHECK_EQ_INT(del, 2);
    CHECK_EQ_INT(replay(f.d, 0, INT64_MAX, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 4);
    CHECK_EQ_INT(col.ids[0], f.seen.ids[2]);
    fx_close(&f);
}

TEST(trim_deletes_in_several_chunks)
{
    OPEN_FX(f);
    int64_t id = submit(f.d, "noop", 0);
    enum { N = 6200 };
    static struct log_line lines[N];
    for (int i = 0; i < N; i++)
        lines[i] = (struct log_line){"stdout", "x", i};
    CHECK_EQ_INT(repo_job_append_logs(f.d, id, 1, lines, N), BB_OK);
    CHECK_EQ_INT(f.seen.n, N + 1);
    int64_t del = -1;
    CHECK_EQ_INT(repo_events_trim(f.d, 10, &del), BB_OK);
    CHECK_EQ_INT(del, N + 1 - 10);
    CHECK_EQ_INT(replay(f.d, 0, INT64_MAX, 0, 0, true, 0), BB_OK);
    CHECK_EQ_INT(col.n, 10);
    CHECK_EQ_INT(col.ids[0], f.seen.ids[N + 1 - 10]);
    fx_close(&f);
}

/* ---- lists and logs ---------------------------------------------------- */

struct lines_seen {
    char text[16][32];
    int n;
};

static int on_line(void *ud, const char *stream, const char *line)
{
    struct lines_seen *l = ud;
    if (l->n < 16)
        snprintf(l->text[l->n++], sizeof l->text[0], "%s:%s", stream, line);
    return 0;
}

TEST(logs_read_back_in_order_with_cursor)
{
    OPEN_FX(f);
    int64_t id = submit(f.d, "noop", 0), other = submit(f.d, "noop", 0);
    struct log_line a[3] = {{"stdout", "one", 1}, {"stderr", "two", 2}, {"stdout", "three", 3}};
    struct log_line b[1] = {{"stdout", "other", 4}};
    CHECK_EQ_INT(repo_job_append_logs(f.d, id, 1, a, 2), BB_OK);
    CHECK_EQ_INT(repo_job_append_logs(f.d, other, 1, b, 1), BB_OK);
    CHECK_EQ_INT(repo_job_append_logs(f.d, id, 1, a + 2, 1), BB_OK);
    CHECK_EQ_INT(repo_job_append_logs(f.d, 999999, 1, b, 1), BB_ENOTFOUND);
    struct lines_seen ls = {0};
    int64_t last = -1;
    CHECK_EQ_INT(repo_job_logs(f.d, id, 0, 2, on_line, &ls, &last), BB_OK);
    CHECK_EQ_INT(ls.n, 2);
    CHECK_STR_EQ(ls.text[0], "stdout:one");
    CHECK_STR_EQ(ls.text[1], "stderr:two");
    memset(&ls, 0, sizeof ls);
    CHECK_EQ_INT(repo_job_logs(f.d, id, last, 100, on_line, &ls, &last), BB_OK);
    CHECK_EQ_INT(ls.n, 1);
    CHECK_STR_EQ(ls.text[0], "stdout:three");
    int64_t prev = last;
    memset(&ls, 0, sizeof ls);
    CHECK_EQ_INT(repo_job_logs(f.d, id, last, 100, on_line, &ls, &last), BB_OK);
    CHECK_EQ_INT(ls.n, 0);
    CHECK_EQ_INT(last, prev);
    fx_close(&f);
}

TEST(list_filters_state_preset_and_literal_q)
{
    OPEN_FX(f);
    int64_t a = submit_full(f.d, "noop", 0, 1, 0, "dir/50%_off.md");
    int64_t b = submit_full(f.d, "echo", 0, 1, 0, "dir/500 off.md");
    int64_t c = submit_full(f.d, "noop", 0, 1, 0, "other/x.md");
    CHECK(a && b && c);
    CHECK_EQ_INT(claim(f.d, bb_now_ms(), NULL, NULL), a);
    job *items = NULL;
    size_t n = 0;
    struct job_filter jf = {.q = "%", .limit = 50};
    CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &n), BB_OK);
    bool ok = n == 1 && items[0].id == a;
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    CHECK(ok);
    jf = (struct job_filter){.q = "0_", .limit = 50};
    CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &n), BB_OK);
    ok = n == 0;
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    CHECK(ok);
    jf = (struct job_filter){.q = "dir/", .limit = 50};
    CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &n), BB_OK);
    ok = n == 2 && items[0].id == b && items[1].id == a;
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    CHECK(ok);
    jf = (struct job_filter){.has_state = true, .state = JOB_QUEUED, .preset = "noop", .limit = 50};
    CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &n), BB_OK);
    ok = n == 1 && items[0].id == c;
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    CHECK(ok);
    jf = (struct job_filter){.limit = 2};
    CHECK_EQ_INT(repo_job_list(f.d, &jf, &items, &n), BB_OK);
    ok = n == 2 && items[0].id == c && items[1].id == b;
    for (size_t i = 0; i < n; i++)
        job_clear(&items[i]);
    free(items);
    CHECK(ok);
    fx_close(&f);
}

TEST(get_missing_and_owner_scope)
{
    OPEN_FX(f);
    int64_t id = submit_full(f.d, "noop", 0, 1, 42, "m.md");
    job j;
    CHECK_EQ_INT(repo_job_get(f.d, id + 1000, 0, &j), BB_ENOTFOUND);
    CHECK_EQ_INT(repo_job_get(f.d, id, 41, &j), BB_ENOTFOUND);
    CHECK_EQ_INT(repo_job_get(f.d, id, 42, &j), BB_OK);
    bool ok = j.owner_id == 42 && j.md && strcmp(j.md, "m.md") == 0 && j.params &&
              strcmp(j.params, "{}") == 0 && j.upload && strcmp(j.upload, "auto") == 0 &&
              j.created_at > 0 && j.created_at == j.updated_at;
    job_clear(&j);
    CHECK(ok);
    fx_close(&f);
}

/* ---- the statement layer (db_q) ---------------------------------------- */

/* A scratch table for the statement layer: a unique text, a nullable
 * integer, a real. */
static const char SQL_S_CREATE[] =
    "CREATE TABLE s (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER, r REAL)";
static const char SQL_S_INSERT[] = "INSERT INTO s (name, n, r) VALUES (:name, :n, :r)";
static const char SQL_S_INSERT_NOTNULL[] = "INSERT INTO t (x) VALUES (:x)";
static const char SQL_S_ALL[] = "SELECT id, name, n, r FROM s ORDER BY id";
static const char SQL_S_BY_NAME[] = "SELECT id, name, n, r FROM s WHERE name = :name";
static const char SQL_S_COUNT[] = "SELECT count(*) FROM s";

static int op_create_s(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    return sqlite3_exec(db_handle(c), SQL_S_CREATE, NULL, NULL, NULL) == SQLITE_OK ? BB_OK
                                                                                   : BB_EIO;
}

/* One row to insert into s; n == 0 stores NULL (db_bind_id). */
struct s_row {
    const char *name;
    int64_t n;
    double r;
    int bind_rc, step_rc;       /* what the layer answered */
    const char *bad_name;       /* bind this unknown parameter first */
};

static int op_insert_s(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct s_row *r = arg;
    db_q q;
    if (db_prepare(&q, c, SQL_S_INSERT) != BB_OK)
        return BB_EIO;
    if (r->bad_name)
        r->bind_rc = db_bind_text(&q, r->bad_name, "x");
    db_bind_text(&q, ":name", r->name);
    db_bind_id(&q, ":n", r->n);
    db_bind_double(&q, ":r", r->r);
    r->step_rc = db_step_done(&q);
    return r->step_rc;
}

static int64_t count_s(db *d)
{
    db_q q;
    int64_t n = -1;
    db_prepare_read(&q, d, SQL_S_COUNT);
    if (db_one_i64(&q, &n) != BB_OK)
        n = -1;
    db_release(&q);
    return n;
}

#define OPEN_S(f)                                                             \
    OPEN_FX(f);                                                               \
    CHECK_EQ_INT(db_write(f.d, op_create_s, NULL), BB_OK)

TEST(bind_of_an_unknown_name_fails_loudly_and_runs_nothing)
{
    OPEN_S(f);
    struct s_row r = {.name = "a", .n = 1, .bad_name = ":nope"};
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &r), BB_EINTERNAL);
    CHECK_EQ_INT(r.bind_rc, BB_EINTERNAL);
    CHECK_EQ_INT(r.step_rc, BB_EINTERNAL);
    CHECK_EQ_INT(count_s(f.d), 0);
    /* the same on a reader: the step yields no row and reports the error */
    db_q q;
    CHECK_EQ_INT(db_prepare_read(&q, f.d, SQL_S_BY_NAME), BB_OK);
    CHECK_EQ_INT(db_bind_i64(&q, ":id", 1), BB_EINTERNAL);
    CHECK_EQ_INT(db_bind_text(&q, ":name", "a"), BB_EINTERNAL);   /* sticky */
    bool row = db_step(&q);
    CHECK_EQ_INT(db_release(&q), BB_EINTERNAL);
    CHECK(!row);
    /* a good insert still works on the same cached statement */
    struct s_row ok = {.name = "a", .n = 1};
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &ok), BB_OK);
    CHECK_EQ_INT(count_s(f.d), 1);
    fx_close(&f);
}

static int op_insert_t_null(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    db_q q;
    db_prepare(&q, c, SQL_S_INSERT_NOTNULL);
    db_bind_text(&q, ":x", NULL);
    return db_step_done(&q);
}

TEST(constraint_violations_map_to_conflict)
{
    OPEN_S(f);
    struct s_row a = {.name = "dup", .n = 1};
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &a), BB_OK);
    struct s_row b = {.name = "dup", .n = 2};
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &b), BB_ECONFLICT);      /* UNIQUE */
    CHECK_EQ_INT(b.step_rc, BB_ECONFLICT);
    CHECK_EQ_INT(db_write(f.d, op_create_t, NULL), BB_OK);
    CHECK_EQ_INT(db_write(f.d, op_insert_t_null, NULL), BB_ECONFLICT); /* NOT NULL */
    CHECK_EQ_INT(count_s(f.d), 1);
    fx_close(&f);
}

TEST(column_helpers_read_null_and_values)
{
    OPEN_S(f);
    struct s_row a = {.name = NULL, .n = 0, .r = 0};
    struct s_row b = {.name = "bee", .n = 7, .r = 1.5};
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &a), BB_OK);
    CHECK_EQ_INT(db_write(f.d, op_insert_s, &b), BB_OK);
    db_q q;
    CHECK_EQ_INT(db_prepare_read(&q, f.d, SQL_S_ALL), BB_OK);
    CHECK(db_step(&q));
    bool null_ok = db_col_text(&q, 1) == NULL && db_col_strdup(&q, 1) == NULL &&
                   db_col_null(&q, 1) && db_col_null(&q, 2) && db_col_i64(&q, 2) == 0 &&
                   db_col_int(&q, 2) == 0 && !db_col_null(&q, 0);
    bool second = db_step(&q);
    char *name = second ? db_col_strdup(&q, 1) : NULL;
    bool val_ok = second && db_col_i64(&q, 2) == 7 && db_col_int(&q, 2) == 7 &&
                  db_col_double(&q, 3) == 1.5 && !db_col_null(&q, 2) &&
                  strcmp(db_col_text(&q, 1), "bee") == 0;
    bool third = db_step(&q);
    CHECK_EQ_INT(db_release(&q), BB_OK);
    CHECK(null_ok);
    CHECK(val_ok);
    CHECK(!third);
    CHECK_STR_EQ(name, "bee");
    free(name);
    fx_close(&f);
}

struct sum {
    int64_t total;
    int rows, stop_at, fail_at;
};

static int sum_row(void *ud, db_q *q)
{
    struct sum *s = ud;
    s->rows++;
    s->total += db_col_i64(q, 2);
    if (s->rows == s->stop_at)
        return DB_STOP;
    if (s->rows == s->fail_at)
        return BB_ESTATE;
    return BB_OK;
}

/* A test record and its map for db_row_read / db_row_bind / db_row_free. */
struct srec {
    int64_t id;
    char *name;
    int64_t n;
    double r;
};
static const struct db_col SREC_MAP[] = {
    DB_COL(struct srec, id, I64), DB_COL(struct srec, name, STR),
    DB_COL(struct srec, n, ID), DB_COL(struct srec, r, DOUBLE),
};
static void fill_srec(db_q *q, void *rec) { db_row_read(q, rec, SREC_MAP, 4); }
static void clear_srec(void *rec) { db_row_free(rec, SREC_MAP, 4); }

static int each_s(db *d, struct sum *s)
{
    db_q q;
    db_prepare_read(&q, d, SQL_S_ALL);
    int rc = db_each(&q, sum_row, s);
    db_release(&q);
    return rc;
}

/* Inserts rows r0..r4 with n = 1..5 (names: their text); BB_OK or the
 * first error. */
static int insert_five_s(db *d, char names[5][8])
{
    for (int i = 0; i < 5; i++) {
        snprintf(names[i], 8, "r%d", i);
        struct s_row r = {.name = names[i], .n = i + 1};
        int rc = db_write(d, op_insert_s, &r);
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

TEST(read_loop_each_collect_and_one_record)
{
    OPEN_S(f);
    char names[5][8];
    CHECK_EQ_INT(insert_five_s(f.d, names), BB_OK);
    struct sum all = {0}, stopped = {.stop_at = 3}, failed = {.fail_at = 2};
    CHECK_EQ_INT(each_s(f.d, &all), BB_OK);
    CHECK_EQ_INT(all.rows, 5);
    CHECK_EQ_INT(all.total, 15);
    CHECK_EQ_INT(each_s(f.d, &stopped), BB_OK);
    CHECK_EQ_INT(stopped.rows, 3);
    CHECK_EQ_INT(each_s(f.d, &failed), BB_ESTATE);
    CHECK_EQ_INT(failed.rows, 2);

    /* db_collect with a cap of 2 */
    db_q q;
    void *items = NULL;
    size_t n = 0;
    db_prepare_read(&q, f.d, SQL_S_ALL);
    int rc = db_collect(&q, sizeof(struct srec), 2, fill_srec, clear_srec, &items, &n);
    db_release(&q);
    CHECK_EQ_INT(rc, BB_OK);
    CHECK_EQ_INT(n, 2);
    struct srec *recs = items;
    bool rec_ok = strcmp(recs[0].name, "r0") == 0 && recs[1].n == 2 && recs[1].id > recs[0].id;
    for (size_t i = 0; i < n; i++)
        clear_srec(&recs[i]);
    free(items);
    CHECK(rec_ok);

    /* one record by name, and a miss */
    struct srec one = {0};
    db_prepare_read(&q, f.d, SQL_S_BY_NAME);
    db_bind_text(&q, ":name", "r3");
    rc = db_read_record(&q, &one, fill_srec, clear_srec);
    db_release(&q);
    CHECK_EQ_INT(rc, BB_OK);
    CHECK_STR_EQ(one.name, "r3");
    CHECK_EQ_INT(one.n, 4);
    clear_srec(&one);
    CHECK(one.name == NULL);
    db_prepare_read(&q, f.d, SQL_S_BY_NAME);
    db_bind_text(&q, ":name", "none");
    CHECK_EQ_INT(db_read_record(&q, &one, fill_srec, clear_srec), BB_ENOTFOUND);
    db_release(&q);
    CHECK_EQ_INT(count_s(f.d), 5);
    fx_close(&f);
}

TEST(collect_by_map_reads_every_row_or_up_to_the_cap)
{
    OPEN_S(f);
    char names[5][8];
    CHECK_EQ_INT(insert_five_s(f.d, names), BB_OK);
    size_t caps[] = {0, 3};
    size_t want[] = {5, 3};
    for (size_t c = 0; c < 2; c++) {
        db_q q;
        void *items = NULL;
        size_t n = 0;
        db_prepare_read(&q, f.d, SQL_S_ALL);
        int rc = db_collect_map(&q, sizeof(struct srec), caps[c], SREC_MAP, 4, &items, &n);
        db_release(&q);
        CHECK_EQ_INT(rc, BB_OK);
        CHECK_EQ_INT(n, want[c]);
        struct srec *recs = items;
        bool rec_ok = true;
        for (size_t i = 0; i < n; i++) {
            rec_ok = rec_ok && strcmp(recs[i].name, names[i]) == 0 && recs[i].n == (int)i + 1;
            db_row_free(&recs[i], SREC_MAP, 4);
        }
        free(items);
        CHECK(rec_ok);
    }

    /* one record by the map, and a miss */
    struct srec one = {.name = NULL, .r = 9.5};
    db_q q;
    db_prepare_read(&q, f.d, SQL_S_BY_NAME);
    db_bind_text(&q, ":name", "r3");
    int rc = db_read_map(&q, &one, sizeof one, SREC_MAP, 4);
    db_release(&q);
    CHECK_EQ_INT(rc, BB_OK);
    CHECK_STR_EQ(one.name, "r3");
    CHECK_EQ_INT(one.n, 4);
    db_row_free(&one, SREC_MAP, 4);
    db_prepare_read(&q, f.d, SQL_S_BY_NAME);
    db_bind_text(&q, ":name", "none");
    CHECK_EQ_INT(db_read_map(&q, &one, sizeof one, SREC_MAP, 4), BB_ENOTFOUND);
    db_release(&q);
    fx_close(&f);
}

static int op_insert_srec(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    db_q q;
    db_prepare(&q, c, SQL_S_INSERT);
    db_row_bind(&q, arg, SREC_MAP, 4);
    return db_step_done(&q);
}

TEST(row_map_binds_by_field_name_and_zero_id_is_null)
{
    OPEN_S(f);
    struct srec a = {.id = 99, .name = "m", .n = 0, .r = 2.5};
    CHECK_EQ_INT(db_write(f.d, op_insert_srec, &a), BB_OK);   /* :id is not a parameter */
    db_q q;
    db_prepare_read(&q, f.d, SQL_S_BY_NAME);
    db_bind_text(&q, ":name", "m");
    CHECK_EQ_INT(db_step_one(&q), BB_OK);
    bool ok = db_col_null(&q, 2) && db_col_double(&q, 3) == 2.5 && db_col_i64(&q, 0) != 99;
    CHECK_EQ_INT(db_release(&q), BB_OK);
    CHECK(ok);
    fx_close(&f);
}

static int op_insert_s_unbound(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    db_q q;
    db_prepare(&q, c, SQL_S_INSERT);
    db_bind_text(&q, ":name", "half");      /* :n and :r forgotten */
    return db_step_done(&q);
}

TEST(a_parameter_left_unbound_is_caught_in_debug_builds)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* the child has its own database and writer thread */
        struct fx f;
        if (!fx_open(&f) || db_write(f.d, op_create_s, NULL) != BB_OK)
            _exit(3);
        int rc = db_write(f.d, op_insert_s_unbound, NULL);
        fx_close(&f);
        _exit(rc == BB_OK ? 0 : 4);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
#ifdef BB_DEBUG
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#else
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);   /* release: NULL, as SQLite does */
#endif
}

/* ---- backup ------------------------------------------------------------ */

struct bg_writer {
    db *d;
    atomic_bool stop;
    atomic_int done;
    int errors;
};

static void *bg_write(void *arg)
{
    struct bg_writer *w = arg;
    for (int i = 0; i < 20000 && !atomic_load(&w->stop); i++) {
        if (submit(w->d, "noop", i % 7) <= 0)
            w->errors++;
        else
            atomic_fetch_add(&w->done, 1);
    }
    return NULL;
}

TEST(backup_of_a_live_database_passes_integrity_check)
{
    OPEN_FX(f);
    struct bg_writer w = {.d = f.d};
    atomic_init(&w.stop, false);
    atomic_init(&w.done, 0);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, bg_write, &w), 0);
    for (int i = 0; i < 1000 && atomic_load(&w.done) < 100; i++)
        sleep_ms(2);
    char dest[PATH_MAX + 32];
    snprintf(dest, sizeof dest, "%s/backup.db", f.dir);
    errbuf[0] = '\0';
    int rc = db_backup(f.d, dest, errbuf, sizeof errbuf);
    int during = atomic_load(&w.done);
    sleep_ms(20);
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    if (rc != 0)
        FAIL("db_backup: %s", errbuf);
    CHECK_EQ_INT(w.errors, 0);
    CHECK(during >= 100);
    CHECK(atomic_load(&w.done) > during);    /* writes went on during/after */
    errbuf[0] = '\0';
    CHECK_EQ_INT(db_integrity_check(dest, errbuf, sizeof errbuf), 0);
    CHECK_STR_EQ(errbuf, "ok");
    int64_t in_backup = file_int(dest, "SELECT count(*) FROM jobs");
    CHECK(in_backup >= 100);
    CHECK(in_backup <= atomic_load(&w.done));
    CHECK_EQ_INT(file_int(dest, "PRAGMA user_version"), migrations_in_schema());
    /* the copy is a consistent snapshot: one job_created per job */
    CHECK_EQ_INT(file_int(dest, "SELECT count(*) FROM job_events"), in_backup);
    /* and it opens as a batchbox database */
    db *d2 = NULL;
    CHECK_EQ_INT(db_open(dest, NULL, &d2, errbuf, sizeof errbuf), 0);
    int64_t counts[JOB_NSTATES];
    rc = repo_job_counts(d2, counts);
    db_close(d2);
    CHECK_EQ_INT(rc, BB_OK);
    CHECK_EQ_INT(counts[JOB_QUEUED], in_backup);
    fx_close(&f);
}

TEST(integrity_check_rejects_garbage)
{
    OPEN_FX(f);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/garbage.db", f.dir);
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    for (int i = 0; i < 4096; i++)
        fputc(i * 7 & 0xff, fp);
    fclose(fp);
    errbuf[0] = '\0';
    CHECK_EQ_INT(db_integrity_check(path, errbuf, sizeof errbuf), -1);
    CHECK(errbuf[0] != '\0');
    char missing[PATH_MAX + 32];
    snprintf(missing, sizeof missing, "%s/none.db", f.dir);
    CHECK_EQ_INT(db_integrity_check(missing, errbuf, sizeof errbuf), -1);
    fx_close(&f);
}
