/* repo_claim.c — SQL for the workers' cycle (see repo_claim.h): claiming
 * queued jobs, recording the results of attempts with their artifacts,
 * lease renewal and expiry, and start-up recovery of attempts left
 * running.  Every function here is a write: its operation runs on the db
 * writer thread and logs job_state_changed for each job it moves, in the
 * same transaction (which also refreshes a moved child's batch parent:
 * repo_emit_job).  Batch parents (kind 'batch') are never claimed, leased
 * or recovered: their state is derived from their children. */
#include "infra/db/repo_claim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "infra/db/repo_claim_res.h"
#include "infra/db/repo_jobrow.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/log.h"
#include "util/util.h"

/* Interrupted attempts (crash, lost lease) are retried at least this many
 * times even past max_attempts: at-least-once, but a job that keeps
 * killing the server is eventually failed instead of looping forever. */
#define MAX_INTERRUPTIONS 3

/* ---- finish ------------------------------------------------------------ */

static const char SQL_FIN_SUCCEEDED[] =
    "UPDATE jobs SET state = 'succeeded', progress = 1, error = NULL, lease_until = 0, "
    "resources = NULL, "
    "page_url = :page, manifest_path = :manifest, notion_url = :notion, "
    "finished_at = :now, updated_at = :now WHERE id = :id AND state = 'running'";
static const char SQL_FIN_FAILED[] =
    "UPDATE jobs SET state = 'failed', error = :error, lease_until = 0, resources = NULL, "
    "finished_at = :now, updated_at = :now WHERE id = :id AND state = 'running'";
static const char SQL_FIN_CANCELED[] =
    "UPDATE jobs SET state = 'canceled', error = :error, lease_until = 0, resources = NULL, "
    "finished_at = :now, updated_at = :now WHERE id = :id AND state = 'running'";
static const char SQL_FIN_RETRY[] =
    "UPDATE jobs SET state = 'queued', error = :error, lease_until = 0, run_after = :after, "
    "resources = NULL, "
    "updated_at = :now WHERE id = :id AND state = 'running'";
static const char SQL_FIN_REQUEUE[] =
    "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_until = 0, "
    "resources = NULL, "
    "run_after = 0, progress = 0, updated_at = :now WHERE id = :id AND state = 'running'";

static const char SQL_PROC_FORGET[] = "DELETE FROM job_procs WHERE job_id = :id";

/* Records one result; a batch child's parent is refreshed at once without
 * t, else added to t. */
static int finish_one(db_conn *c, const struct job_finish *f, db_outbox *out,
                      struct batch_touched *t)
{
    const char *sql = NULL;
    enum job_state to = JOB_QUEUED;
    switch (f->kind) {
    case FINISH_SUCCEEDED: sql = SQL_FIN_SUCCEEDED; to = JOB_SUCCEEDED; break;
    case FINISH_FAILED: sql = SQL_FIN_FAILED; to = JOB_FAILED; break;
    case FINISH_CANCELED: sql = SQL_FIN_CANCELED; to = JOB_CANCELED; break;
    case FINISH_RETRY: sql = SQL_FIN_RETRY; break;
    case FINISH_REQUEUE: sql = SQL_FIN_REQUEUE; break;
    }
    /* every finish statement is guarded by state = 'running' */
    BB_ASSERT(job_transition_ok(JOB_RUNNING, to));
    (void)to;
    int64_t now = f->at ? f->at : bb_now_ms();
    db_q q;
    db_prepare(&q, c, sql);
    db_bind_i64(&q, ":id", f->job_id);
    db_bind_i64(&q, ":now", now);
    if (f->kind == FINISH_FAILED || f->kind == FINISH_CANCELED || f->kind == FINISH_RETRY)
        db_bind_text(&q, ":error", f->error);
    if (f->kind == FINISH_RETRY)
        db_bind_i64(&q, ":after", f->run_after);
    if (f->kind == FINISH_SUCCEEDED) {
        db_bind_text(&q, ":page", f->page_url);
        db_bind_text(&q, ":manifest", f->manifest_path);
        db_bind_text(&q, ":notion", f->notion_url);
    }
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    if (db_changes(&q) != 1)
        return BB_ESTATE;
    db_prepare(&q, c, SQL_PROC_FORGET);
    db_bind_i64(&q, ":id", f->job_id);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    if (f->kind == FINISH_SUCCEEDED && f->nartifacts &&
        (rc = repo_artifacts_replace(c, f->job_id, f->artifacts, f->nartifacts, now)) != BB_OK)
        return rc;
    return repo_emit_job_touch(c, out, EV_JOB_STATE_CHANGED, f->job_id, t);
}

static int op_finish(db_conn *c, void *arg, db_outbox *out)
{
    return finish_one(c, arg, out, NULL);
}

int repo_job_finish(db *d, const struct job_finish *f)
{
    return db_write(d, op_finish, (void *)f);
}

/* ---- claim ------------------------------------------------------------- */

/* INDEXED BY: without ANALYZE statistics SQLite 3.40 prefers jobs_state and
 * sorts every queued row (4 ms per claim at 20,000 queued instead of 60 µs);
 * the partial index is already in claim order. */
static const char SQL_CLAIM_PICK[] =
    "SELECT id, preset FROM jobs INDEXED BY jobs_claim WHERE state = 'queued' AND kind = 'job' "
    "AND run_after <= :now "
    "AND (:blocked IS NULL OR instr(:blocked, ',' || preset || ',') = 0) "
    "ORDER BY priority DESC, id LIMIT 1";
static const char SQL_CLAIM_PICK_MORE[] =
    "SELECT id FROM jobs INDEXED BY jobs_claim WHERE state = 'queued' AND kind = 'job' "
    "AND run_after <= :now AND instr(:batchable, ',' || preset || ',') > 0 "
    "ORDER BY priority DESC, id LIMIT :n";
static const char SQL_CLAIM_MARK[] =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = :lease, "
    "started_at = :now, updated_at = :now, progress = 0, cancel_requested = 0, "
    "resources = :res, waiting_for = NULL "
    "WHERE id = :id AND state = 'queued'";
/* INDEXED BY for the same reason: the planner would pick jobs_finished
 * (state, ...) and read every queued row; jobs_due answers with one step. */
static const char SQL_NEXT_DUE[] =
    "SELECT min(run_after) FROM jobs INDEXED BY jobs_due WHERE state = 'queued' "
    "AND kind = 'job' AND run_after > :now";

#define MAX_MORE 256

struct cycle_arg {
    const struct job_finish *fin;
    size_t nfin;
    const struct claim_req *req;
    job *out;
    size_t nout;
    int64_t next_due;
    struct batch_touched touched;   /* parents refreshed at the end of the cycle */
};

/* Marks queued job id running; res: the units it holds (JSON) or NULL. */
static int claim_mark(db_conn *c, struct cycle_arg *a, int64_t id, const char *res,
                      db_outbox *out)
{
    BB_ASSERT(job_transition_ok(JOB_QUEUED, JOB_RUNNING));   /* guarded by state = 'queued' */
    db_q q;
    db_prepare(&q, c, SQL_CLAIM_MARK);
    db_bind_i64(&q, ":lease", a->req->now + a->req->lease_ms);
    db_bind_i64(&q, ":now", a->req->now);
    db_bind_i64(&q, ":id", id);
    db_bind_text(&q, ":res", res);
    int rc = db_step_done(&q);
    if (rc == BB_OK)
        rc = repo_emit_job_touch(c, out, EV_JOB_STATE_CHANGED, id, &a->touched);
    if (rc == BB_OK)
        rc = repo_load_job(c, id, &a->out[a->nout]);
    if (rc == BB_OK)
        a->nout++;
    return rc;
}

/* Records the results; a job that is no longer running is skipped. */
static int finish_all(db_conn *c, struct cycle_arg *a, db_outbox *out)
{
    for (size_t i = 0; i < a->nfin; i++) {
        int rc = finish_one(c, &a->fin[i], out, &a->touched);
        if (rc == BB_ESTATE) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)a->fin[i].job_id);
            bb_warn("job was no longer running when its result arrived; result dropped",
                    "jobId", id);
            continue;
        }
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

/* Nothing to claim now: a->next_due = the earliest future run_after. */
static int pick_first_due(db_conn *c, struct cycle_arg *a)
{
    db_q q;
    db_prepare(&q, c, SQL_NEXT_DUE);
    db_bind_i64(&q, ":now", a->req->now);
    return db_one_i64(&q, &a->next_due);
}

/* Whether preset is in the request's batchable list. */
static bool is_batchable(const struct claim_req *r, const char *preset)
{
    char key[80];
    snprintf(key, sizeof key, ",%s,", preset ? preset : "");
    return r->max > 1 && r->batchable && strstr(r->batchable, key);
}

/* Picks the first job to claim: BB_OK with *id and *batch (whether more of
 * its preset may follow), or BB_ENOTFOUND with a->next_due set. */
static int pick_first(db_conn *c, struct cycle_arg *a, int64_t *id, bool *batch)
{
    const struct claim_req *r = a->req;
    db_q q;
    db_prepare(&q, c, SQL_CLAIM_PICK);
    db_bind_i64(&q, ":now", r->now);
    db_bind_text(&q, ":blocked", r->blocked);
    int rc = db_step_one(&q);
    if (rc == BB_OK) {
        *id = db_col_i64(&q, 0);
        *batch = is_batchable(r, db_col_text(&q, 1));
        return db_end(&q);
    }
    if (rc != BB_ENOTFOUND)
        return rc;
    rc = pick_first_due(c, a);
    return rc == BB_OK ? BB_ENOTFOUND : rc;
}

struct more_ids {
    int64_t ids[MAX_MORE];
    size_t n;
};

static int take_id(void *ud, db_q *q)
{
    struct more_ids *m = ud;
    m->ids[m->n++] = db_col_i64(q, 0);
    return m->n < MAX_MORE ? BB_OK : DB_STOP;
}

static int cycle(db_conn *c, struct cycle_arg *a, db_outbox *out);

/* One worker cycle (results, then claims) and, once at its end, the
 * refresh of every batch parent whose children it moved. */
static int op_cycle(db_conn *c, void *arg, db_outbox *out)
{
    struct cycle_arg *a = arg;
    int rc = cycle(c, a, out);
    return rc == BB_OK ? repo_batch_touched_refresh(c, out, &a->touched) : rc;
}

/* After claiming a job of a batchable preset: up to max - 1 more queued
 * jobs of batchable presets, in claim order. */
static int claim_more(db_conn *c, struct cycle_arg *a, db_outbox *out)
{
    const struct claim_req *r = a->req;
    struct more_ids m = {.n = 0};
    db_q q;
    db_prepare(&q, c, SQL_CLAIM_PICK_MORE);
    db_bind_i64(&q, ":now", r->now);
    db_bind_text(&q, ":batchable", r->batchable);
    db_bind_i64(&q, ":n", (int64_t)(r->max - 1 < MAX_MORE ? r->max - 1 : MAX_MORE));
    int rc = db_each(&q, take_id, &m);
    for (size_t i = 0; i < m.n && rc == BB_OK; i++)
        rc = claim_mark(c, a, m.ids[i], NULL, out);
    return rc;
}

static int cycle(db_conn *c, struct cycle_arg *a, db_outbox *out)
{
    int rc = finish_all(c, a, out);
    const struct claim_req *r = a->req;
    if (rc != BB_OK || !r || r->max == 0)
        return rc;
    int64_t first;
    bool batch = false;
    if (r->npools > 0 || (r->placed && r->place)) {
        /* resource pools or placement: the first job is picked by what is
         * free; without pools, a job of a batchable preset (never placed)
         * still brings more of its kind, as below */
        char *held = NULL;
        rc = repo_claim_pick_res(c, r, out, &first, &held);
        if (rc == BB_OK && first == 0)
            rc = pick_first_due(c, a);
        else if (rc == BB_OK)
            rc = claim_mark(c, a, first, held, out);
        bool more = rc == BB_OK && first != 0 && held == NULL && r->npools == 0 &&
                    is_batchable(r, a->out[a->nout - 1].preset);
        free(held);
        return more ? claim_more(c, a, out) : rc;
    }
    rc = pick_first(c, a, &first, &batch);
    if (rc != BB_OK)
        return rc == BB_ENOTFOUND ? BB_OK : rc;
    if ((rc = claim_mark(c, a, first, NULL, out)) != BB_OK || !batch)
        return rc;
    return claim_more(c, a, out);
}

int repo_job_cycle(db *d, const struct job_finish *fin, size_t nfin, const struct claim_req *req,
                   job *out, size_t *nout, int64_t *next_due)
{
    struct cycle_arg a = {.fin = fin, .nfin = nfin, .req = req, .out = out};
    int rc = db_write(d, op_cycle, &a);
    if (rc != BB_OK) {
        for (size_t i = 0; i < a.nout; i++)
            job_clear(&out[i]);
        a.nout = 0;
    }
    if (nout)
        *nout = a.nout;
    if (next_due)
        *next_due = a.next_due;
    return rc;
}

int repo_job_claim(db *d, int64_t now, int64_t lease_ms, const char *blocked, job *out,
                   bool *found, int64_t *next_due)
{
    struct claim_req q = {.now = now, .lease_ms = lease_ms, .blocked = blocked, .max = 1};
    size_t n = 0;
    int rc = repo_job_cycle(d, NULL, 0, &q, out, &n, next_due);
    *found = rc == BB_OK && n == 1;
    return rc;
}

/* ---- recovery and leases ------------------------------------------------ */

struct recover_arg {
    int64_t now;      /* 0: every running job; else leases before now */
    int requeued, failed;
};

static const char SQL_RUNNING_ALL[] =
    "SELECT id, attempts, max_attempts, interruptions FROM jobs WHERE state = 'running' "
    "AND kind = 'job'";
static const char SQL_RUNNING_EXPIRED[] =
    "SELECT id, attempts, max_attempts, interruptions FROM jobs "
    "WHERE state = 'running' AND kind = 'job' AND lease_until < :now";
static const char SQL_INTERRUPT_REQUEUE[] =
    "UPDATE jobs SET state = 'queued', lease_until = 0, run_after = 0, progress = 0, "
    "resources = NULL, "
    "interruptions = interruptions + 1, max_attempts = max(max_attempts, attempts + 1), "
    "updated_at = :now WHERE id = :id";
static const char SQL_INTERRUPT_FAIL[] =
    "UPDATE jobs SET state = 'failed', lease_until = 0, error = :error, resources = NULL, "
    "interruptions = interruptions + 1, finished_at = :now, updated_at = :now WHERE id = :id";

/* A running job found by recovery, and whether it has run out of
 * interruptions. */
struct interrupted {
    int64_t id;
    bool fail;
};

static void fill_interrupted(db_q *q, void *rec)
{
    struct interrupted *r = rec;
    r->id = db_col_i64(q, 0);
    r->fail = db_col_int(q, 3) + 1 > MAX_INTERRUPTIONS;
}

static void clear_nothing(void *rec) { (void)rec; }

static int op_recover(db_conn *c, void *arg, db_outbox *out)
{
    struct recover_arg *a = arg;
    db_q q;
    db_prepare(&q, c, a->now ? SQL_RUNNING_EXPIRED : SQL_RUNNING_ALL);
    if (a->now)
        db_bind_i64(&q, ":now", a->now);
    void *items;
    size_t n;
    int rc = db_collect(&q, sizeof(struct interrupted), 0, fill_interrupted, clear_nothing,
                        &items, &n);
    struct interrupted *run = items;
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < n && rc == BB_OK; i++) {
        /* the rows were selected with state = 'running' */
        BB_ASSERT(job_transition_ok(JOB_RUNNING, run[i].fail ? JOB_FAILED : JOB_QUEUED));
        db_prepare(&q, c, run[i].fail ? SQL_INTERRUPT_FAIL : SQL_INTERRUPT_REQUEUE);
        db_bind_i64(&q, ":id", run[i].id);
        db_bind_i64(&q, ":now", now);
        if (run[i].fail)
            db_bind_text(&q, ":error", "interrupted too many times (the server stopped or lost "
                                       "its worker while this job ran)");
        rc = db_step_done(&q);
        if (rc == BB_OK)
            rc = repo_emit_job(c, out, EV_JOB_STATE_CHANGED, run[i].id);
        if (run[i].fail)
            a->failed++;
        else
            a->requeued++;
    }
    free(run);
    return rc;
}

int repo_job_recover_running(db *d, int *requeued, int *failed)
{
    struct recover_arg a = {0};
    int rc = db_write(d, op_recover, &a);
    *requeued = a.requeued;
    *failed = a.failed;
    return rc;
}

int repo_job_expire_leases(db *d, int64_t now, int *n)
{
    struct recover_arg a = {.now = now};
    int rc = db_write(d, op_recover, &a);
    *n = a.requeued + a.failed;
    return rc;
}

struct renew_arg {
    const int64_t *ids;
    size_t n;
    int64_t until;
};

static const char SQL_RENEW[] =
    "UPDATE jobs SET lease_until = :until WHERE id = :id AND state = 'running'";

static int op_renew(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct renew_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        db_q q;
        db_prepare(&q, c, SQL_RENEW);
        db_bind_i64(&q, ":until", a->until);
        db_bind_i64(&q, ":id", a->ids[i]);
        int rc = db_step_done(&q);
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

int repo_job_renew_leases(db *d, const int64_t *ids, size_t n, int64_t until)
{
    struct renew_arg a = {.ids = ids, .n = n, .until = until};
    return n ? db_write(d, op_renew, &a) : BB_OK;
}

/* ---- process groups of running attempts ----------------------------------- */

static const char SQL_PROC_SET[] =
    "INSERT OR REPLACE INTO job_procs (job_id, attempt, pgid, started, boot_id) "
    "VALUES (:job_id, :attempt, :pgid, :started, :boot_id)";
static const char SQL_PROC_LIST[] =
    "SELECT job_id, attempt, pgid, started, boot_id FROM job_procs ORDER BY job_id";
static const char SQL_PROC_CLEAR[] = "DELETE FROM job_procs";
static const char SQL_ATTEMPT_CURRENT[] =
    "SELECT attempts FROM jobs WHERE id = :id AND state = 'running'";

static int op_proc_set(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    const struct job_proc *p = arg;
    db_q q;
    db_prepare(&q, c, SQL_PROC_SET);
    db_bind_i64(&q, ":job_id", p->job_id);
    db_bind_i64(&q, ":attempt", p->attempt);
    db_bind_i64(&q, ":pgid", p->pgid);
    db_bind_i64(&q, ":started", p->started);
    db_bind_text(&q, ":boot_id", p->boot_id);
    return db_step_done(&q);
}

int repo_job_proc_set(db *d, const struct job_proc *p)
{
    return db_write(d, op_proc_set, (void *)p);
}

static void fill_proc(db_q *q, void *rec)
{
    struct job_proc *p = rec;
    p->job_id = db_col_i64(q, 0);
    p->attempt = db_col_int(q, 1);
    p->pgid = db_col_i64(q, 2);
    p->started = db_col_i64(q, 3);
    const char *b = db_col_text(q, 4);
    snprintf(p->boot_id, sizeof p->boot_id, "%s", b ? b : "");
}

int repo_job_procs_list(db *d, struct job_proc **out, size_t *n)
{
    db_q q;
    void *items = NULL;
    db_prepare_read(&q, d, SQL_PROC_LIST);
    int rc = db_collect(&q, sizeof(struct job_proc), 0, fill_proc, clear_nothing, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

static int op_proc_clear(db_conn *c, void *arg, db_outbox *out)
{
    (void)arg;
    (void)out;
    db_q q;
    db_prepare(&q, c, SQL_PROC_CLEAR);
    return db_step_done(&q);
}

int repo_job_procs_clear(db *d)
{
    return db_write(d, op_proc_clear, NULL);
}

int repo_job_attempt_current(db *d, int64_t id, int attempt)
{
    db_q q;
    int64_t n = 0;
    db_prepare_read(&q, d, SQL_ATTEMPT_CURRENT);
    db_bind_i64(&q, ":id", id);
    int rc = db_one_i64(&q, &n);
    db_release(&q);
    if (rc == BB_ENOTFOUND)
        return BB_ESTATE;
    return rc != BB_OK ? rc : n == attempt ? BB_OK : BB_ESTATE;
}
