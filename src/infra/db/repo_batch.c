/* repo_batch.c — SQL for batch parents (docs/batches.md): recounting a
 * parent's children and deriving its state in the transaction that
 * changes a child, publishing the coalesced parent updates that
 * transaction held back, and the parent's actions (cancel and retry act on
 * the children).  Creating a batch is repo_batch_create in repo_job.c (it
 * shares the job INSERT).  Every write runs on the db writer thread. */
#include "infra/db/repo_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "infra/db/repo_jobrow.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/util.h"

/* ---- refresh ------------------------------------------------------------ */

/* Index-only on jobs_batch_state (batch_id, state).  Scheduled and waiting
 * children count as queued (docs/scheduling.md). */
static const char SQL_COUNT_CHILDREN[] =
    "SELECT count(*), ifnull(sum(state IN ('queued', 'scheduled', 'waiting')), 0), "
    "ifnull(sum(state = 'running'), 0), "
    "ifnull(sum(state = 'succeeded'), 0), ifnull(sum(state = 'failed'), 0), "
    "ifnull(sum(state = 'canceled'), 0) FROM jobs WHERE batch_id = :id";
static const char SQL_PARENT_OF[] =
    "SELECT state, cancel_requested, batch_event_at FROM jobs WHERE id = :id AND kind = 'batch'";
static const char SQL_PARENT_SET[] =
    "UPDATE jobs SET state = :state, progress = :progress, batch_total = :total, "
    "batch_queued = :queued, batch_running = :running, batch_succeeded = :succeeded, "
    "batch_failed = :failed, batch_canceled = :canceled, "
    "started_at = CASE WHEN :state = 'queued' THEN started_at "
    "  ELSE coalesce(started_at, :now) END, "
    "finished_at = CASE WHEN :state IN ('succeeded', 'failed', 'canceled') "
    "  THEN coalesce(finished_at, :now) ELSE NULL END, "
    "batch_event_at = CASE WHEN :emit THEN :now ELSE batch_event_at END, "
    "updated_at = :now WHERE id = :id";

int repo_batch_refresh(db_conn *c, db_outbox *out, int64_t parent_id)
{
    db_q q;
    db_prepare(&q, c, SQL_COUNT_CHILDREN);
    db_bind_i64(&q, ":id", parent_id);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc;
    struct batch_counts n = {
        .total = db_col_int(&q, 0), .queued = db_col_int(&q, 1), .running = db_col_int(&q, 2),
        .succeeded = db_col_int(&q, 3), .failed = db_col_int(&q, 4),
        .canceled = db_col_int(&q, 5)};
    db_end(&q);

    db_prepare(&q, c, SQL_PARENT_OF);
    db_bind_i64(&q, ":id", parent_id);
    if ((rc = db_step_one(&q)) != BB_OK)
        return rc;
    enum job_state was = JOB_QUEUED;
    int prc = job_state_parse(db_col_text(&q, 0), &was);
    bool user_canceled = db_col_int(&q, 1) != 0;
    int64_t emitted = db_col_i64(&q, 2);
    db_end(&q);
    if (prc != 0)
        return BB_EIO;

    enum job_state now_state = job_batch_state(&n, user_canceled);
    int64_t now = bb_now_ms();
    bool changed = now_state != was;
    bool emit = changed || now - emitted >= BATCH_COALESCE_MS;
    int finished = n.succeeded + n.failed + n.canceled;
    db_prepare(&q, c, SQL_PARENT_SET);
    db_bind_i64(&q, ":id", parent_id);
    db_bind_text(&q, ":state", job_state_name(now_state));
    db_bind_double(&q, ":progress", n.total ? (double)finished / n.total : 0);
    db_bind_i64(&q, ":total", n.total);
    db_bind_i64(&q, ":queued", n.queued);
    db_bind_i64(&q, ":running", n.running);
    db_bind_i64(&q, ":succeeded", n.succeeded);
    db_bind_i64(&q, ":failed", n.failed);
    db_bind_i64(&q, ":canceled", n.canceled);
    db_bind_i64(&q, ":emit", emit);
    db_bind_i64(&q, ":now", now);
    if ((rc = db_step_done(&q)) != BB_OK || !emit)
        return rc;
    return repo_emit_job_only(c, out, changed ? EV_JOB_STATE_CHANGED : EV_JOB_PROGRESS,
                              parent_id);
}

/* ---- flush -------------------------------------------------------------- */

/* Open parents changed since their last published update (jobs_batch_open). */
static const char SQL_HELD_BACK[] =
    "SELECT id FROM jobs WHERE kind = 'batch' AND state IN ('queued', 'running') "
    "AND updated_at <= :quiet AND batch_event_at < updated_at LIMIT 256";
static const char SQL_MARK_EMITTED[] =
    "UPDATE jobs SET batch_event_at = :now WHERE id = :id";

struct flush_arg {
    int64_t now;
    int n;
};

static int take_id(void *ud, db_q *q)
{
    struct { int64_t ids[256]; size_t n; } *l = ud;
    l->ids[l->n++] = db_col_i64(q, 0);
    return l->n < 256 ? BB_OK : DB_STOP;
}

static int op_flush(db_conn *c, void *arg, db_outbox *out)
{
    struct flush_arg *a = arg;
    struct { int64_t ids[256]; size_t n; } l = {.n = 0};
    db_q q;
    db_prepare(&q, c, SQL_HELD_BACK);
    db_bind_i64(&q, ":quiet", a->now - BATCH_COALESCE_MS);
    int rc = db_each(&q, take_id, &l);
    for (size_t i = 0; i < l.n && rc == BB_OK; i++) {
        db_prepare(&q, c, SQL_MARK_EMITTED);
        db_bind_i64(&q, ":id", l.ids[i]);
        db_bind_i64(&q, ":now", a->now);
        rc = db_step_done(&q);
        if (rc == BB_OK)
            rc = repo_emit_job_only(c, out, EV_JOB_PROGRESS, l.ids[i]);
        a->n++;
    }
    return rc;
}

int repo_batch_flush(db *d, int64_t now, int *n)
{
    struct flush_arg a = {.now = now};
    int rc = db_write(d, op_flush, &a);
    if (n)
        *n = a.n;
    return rc;
}

/* ---- actions ------------------------------------------------------------ */

static const char SQL_BATCH_OF[] =
    "SELECT state, ifnull(owner_id, 0) FROM jobs WHERE id = :id AND kind = 'batch'";

/* The state of batch parent id visible to owner_scope (0 = any). */
static int batch_state(db_conn *c, int64_t id, int64_t owner_scope, enum job_state *s)
{
    db_q q;
    db_prepare(&q, c, SQL_BATCH_OF);
    db_bind_i64(&q, ":id", id);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc;
    int prc = job_state_parse(db_col_text(&q, 0), s);
    int64_t owner = db_col_i64(&q, 1);
    db_end(&q);
    if (owner_scope && owner != owner_scope)
        return BB_ENOTFOUND;
    return prc == 0 ? BB_OK : BB_EIO;
}

static const char SQL_CHILDREN_IN[] =
    "SELECT id FROM jobs WHERE batch_id = :id AND state = :state ORDER BY id";

static int children_in(db_conn *c, int64_t id, enum job_state s, db_ids *l)
{
    db_q q;
    db_prepare(&q, c, SQL_CHILDREN_IN);
    db_bind_i64(&q, ":id", id);
    db_bind_text(&q, ":state", job_state_name(s));
    return db_each(&q, db_ids_take, l);
}

/* Runs sql (binding :id, :now and, when it has it, :error / :extra) on
 * each child in l and logs its job_state_changed without refreshing the
 * parent (the caller does that once). */
static int update_children(db_conn *c, db_outbox *out, const char *sql, const db_ids *l,
                           const char *error, int extra)
{
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < l->n; i++) {
        db_q q;
        db_prepare(&q, c, sql);
        db_bind_i64(&q, ":id", l->ids[i]);
        db_bind_i64(&q, ":now", now);
        if (error)
            db_bind_text(&q, ":error", error);
        if (extra)
            db_bind_i64(&q, ":extra", extra);
        int rc = db_step_done(&q);
        if (rc == BB_OK)
            rc = repo_emit_job_only(c, out, EV_JOB_STATE_CHANGED, l->ids[i]);
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

struct batch_action_arg {
    int64_t id, owner_scope;
    const char *reason;
    int extra;
    db_ids running;      /* cancel: children still running (caller frees) */
    int changed;
};

static const char SQL_PARENT_CANCEL[] =
    "UPDATE jobs SET cancel_requested = 1, error = :error, updated_at = :now WHERE id = :id";
static const char SQL_CHILD_CANCEL_QUEUED[] =
    "UPDATE jobs SET state = 'canceled', error = :error, finished_at = :now, "
    "waiting_for = NULL, updated_at = :now "
    "WHERE id = :id AND state IN ('queued', 'scheduled', 'waiting')";
static const char SQL_CHILD_CANCEL_RUNNING[] =
    "UPDATE jobs SET cancel_requested = 1, updated_at = :now WHERE id = :id "
    "AND state = 'running'";

static int op_batch_cancel(db_conn *c, void *arg, db_outbox *out)
{
    struct batch_action_arg *a = arg;
    enum job_state s;
    int rc = batch_state(c, a->id, a->owner_scope, &s);
    if (rc != BB_OK)
        return rc;
    if (job_state_terminal(s))
        return BB_ESTATE;
    char msg[300];
    snprintf(msg, sizeof msg, "canceled with its batch%s%s", a->reason && *a->reason ? ": " : "",
             a->reason ? a->reason : "");
    db_ids queued = {0};
    rc = children_in(c, a->id, JOB_QUEUED, &queued);
    if (rc == BB_OK)
        rc = children_in(c, a->id, JOB_SCHEDULED, &queued);
    if (rc == BB_OK)
        rc = children_in(c, a->id, JOB_WAITING, &queued);
    if (rc == BB_OK)
        rc = update_children(c, out, SQL_CHILD_CANCEL_QUEUED, &queued, msg, 0);
    a->changed = (int)queued.n;
    free(queued.ids);
    if (rc == BB_OK)
        rc = children_in(c, a->id, JOB_RUNNING, &a->running);
    for (size_t i = 0; i < a->running.n && rc == BB_OK; i++) {
        db_q q;
        db_prepare(&q, c, SQL_CHILD_CANCEL_RUNNING);
        db_bind_i64(&q, ":id", a->running.ids[i]);
        db_bind_i64(&q, ":now", bb_now_ms());
        rc = db_step_done(&q);
    }
    if (rc != BB_OK)
        return rc;
    db_q q;
    db_prepare(&q, c, SQL_PARENT_CANCEL);
    db_bind_i64(&q, ":id", a->id);
    db_bind_text(&q, ":error", msg);
    db_bind_i64(&q, ":now", bb_now_ms());
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    return repo_batch_refresh(c, out, a->id);
}

int repo_batch_cancel(db *d, int64_t id, int64_t owner_scope, const char *reason,
                      int *canceled, int64_t **running, size_t *nrunning)
{
    struct batch_action_arg a = {.id = id, .owner_scope = owner_scope, .reason = reason};
    int rc = db_write(d, op_batch_cancel, &a);
    *canceled = a.changed;
    if (rc != BB_OK) {
        free(a.running.ids);
        a.running.ids = NULL;
        a.running.n = 0;
    }
    *running = a.running.ids;
    *nrunning = a.running.n;
    return rc;
}

static const char SQL_PARENT_RETRY[] =
    "UPDATE jobs SET cancel_requested = 0, error = NULL, updated_at = :now WHERE id = :id";
static const char SQL_CHILD_RETRY[] =
    "UPDATE jobs SET state = 'queued', max_attempts = attempts + :extra, run_after = 0, "
    "error = NULL, finished_at = NULL, progress = 0, cancel_requested = 0, interruptions = 0, "
    "updated_at = :now WHERE id = :id AND state IN ('failed', 'canceled')";

static int op_batch_retry(db_conn *c, void *arg, db_outbox *out)
{
    struct batch_action_arg *a = arg;
    enum job_state s;
    int rc = batch_state(c, a->id, a->owner_scope, &s);
    if (rc != BB_OK)
        return rc;
    if (s != JOB_FAILED && s != JOB_CANCELED)
        return BB_ESTATE;
    db_ids l = {0};
    rc = children_in(c, a->id, JOB_FAILED, &l);
    if (rc == BB_OK)
        rc = children_in(c, a->id, JOB_CANCELED, &l);
    if (rc == BB_OK)
        rc = update_children(c, out, SQL_CHILD_RETRY, &l, NULL, a->extra < 1 ? 1 : a->extra);
    a->changed = (int)l.n;
    free(l.ids);
    if (rc != BB_OK)
        return rc;
    db_q q;
    db_prepare(&q, c, SQL_PARENT_RETRY);
    db_bind_i64(&q, ":id", a->id);
    db_bind_i64(&q, ":now", bb_now_ms());
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    return repo_batch_refresh(c, out, a->id);
}

int repo_batch_retry(db *d, int64_t id, int64_t owner_scope, int extra_attempts, int *requeued)
{
    struct batch_action_arg a = {.id = id, .owner_scope = owner_scope, .extra = extra_attempts};
    int rc = db_write(d, op_batch_retry, &a);
    *requeued = a.changed;
    return rc;
}
