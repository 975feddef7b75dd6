/* repo_deps.c — SQL for scheduled jobs and dependencies (see repo_deps.h
 * and docs/scheduling.md).  Dependency decisions run on the writer thread
 * inside the operation that ended a job, so a dependent's move is part of
 * the same transaction as the end it reacts to.  Each function reads every
 * row it needs before it changes anything: a decision can end a job
 * (canceled), which decides for that job's own dependents in turn, and the
 * cached statements must not be reused while still stepping. */
#include "infra/db/repo_deps.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "infra/db/repo_jobrow.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/util.h"

static _Atomic(const struct repo_deps_hook *) ready_hook;

void repo_deps_set_hook(const struct repo_deps_hook *h)
{
    atomic_store(&ready_hook, h);
}

static int op_barrier(db_conn *c, void *arg, db_outbox *out)
{
    (void)c;
    (void)arg;
    (void)out;
    return BB_OK;
}

void repo_deps_clear_hook(db *d)
{
    atomic_store(&ready_hook, NULL);
    /* an operation that read the old hook ran in this batch or an earlier one */
    int rc = db_write(d, op_barrier, NULL);
    (void)rc;   /* BB_EUNAVAIL: the writer is closing, no operation runs any more */
}

static void notify_ready(void)
{
    const struct repo_deps_hook *h = atomic_load(&ready_hook);
    if (h && h->ready)
        h->ready(h->ud);
}

/* ---- insert ------------------------------------------------------------- */

static const char SQL_DEP_INSERT[] =
    "INSERT OR IGNORE INTO job_deps (job_id, dep_id) VALUES (:job, :dep)";

int repo_deps_insert(db_conn *c, int64_t job_id, const char *ids)
{
    for (const char *p = ids; p && *p;) {
        char *end = NULL;
        long long dep = strtoll(p, &end, 10);
        if (end == p || dep < 1)
            return BB_EINTERNAL;
        db_q q;
        db_prepare(&q, c, SQL_DEP_INSERT);
        db_bind_i64(&q, ":job", job_id);
        db_bind_i64(&q, ":dep", dep);
        int rc = db_step_done(&q);
        if (rc != BB_OK)
            return rc;
        p = *end == ',' ? end + 1 : end;
    }
    return BB_OK;
}

/* ---- decide --------------------------------------------------------------- */

struct dep_row {
    int64_t id;
    enum job_state state;
};

struct dep_rows {
    struct dep_row r[DEPS_MAX];
    size_t n;
};

static int take_dep(void *ud, db_q *q)
{
    struct dep_rows *l = ud;
    enum job_state s = JOB_QUEUED;
    if (job_state_parse(db_col_text(q, 1), &s) != 0)
        return BB_EIO;
    l->r[l->n].id = db_col_i64(q, 0);
    l->r[l->n++].state = s;
    return l->n < DEPS_MAX ? BB_OK : DB_STOP;
}

static const char SQL_WAITER[] =
    "SELECT ifnull(run_when, 'success'), ifnull(run_at, 0), waiting_for FROM jobs "
    "WHERE id = :id AND state = 'waiting'";
static const char SQL_DEPS_OF[] =
    "SELECT j.id, j.state FROM job_deps d JOIN jobs j ON j.id = d.dep_id "
    "WHERE d.job_id = :id ORDER BY j.id";
static const char SQL_READY[] =
    "UPDATE jobs SET state = :state, waiting_for = NULL, updated_at = :now "
    "WHERE id = :id AND state = 'waiting'";
static const char SQL_UNMET[] =
    "UPDATE jobs SET state = 'canceled', error = :error, waiting_for = NULL, "
    "finished_at = :now, updated_at = :now WHERE id = :id AND state = 'waiting'";
static const char SQL_WAITING_FOR[] =
    "UPDATE jobs SET waiting_for = :text, updated_at = :now WHERE id = :id";

enum verdict { V_WAIT, V_READY, V_UNMET };

/* What run_when says about the dependencies in l; why into reason when
 * the condition can no longer be met. */
static enum verdict decide(const char *run_when, const struct dep_rows *l, char *reason,
                           size_t cap)
{
    size_t pending = 0, bad = 0;
    const struct dep_row *first_bad = NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (!job_state_terminal(l->r[i].state))
            pending++;
        else if (l->r[i].state != JOB_SUCCEEDED && bad++ == 0)
            first_bad = &l->r[i];
    }
    if (strcmp(run_when, "success") == 0 && first_bad) {
        snprintf(reason, cap, "canceled: job %lld it depends on ended %s (runWhen success)",
                 (long long)first_bad->id, job_state_name(first_bad->state));
        return V_UNMET;
    }
    if (pending)
        return V_WAIT;
    if (strcmp(run_when, "failure") == 0 && bad == 0) {
        snprintf(reason, cap, "canceled: every job it depends on succeeded (runWhen failure)");
        return V_UNMET;
    }
    return V_READY;
}

/* "jobs 12, 14 (runWhen success)": the dependencies still running. */
static void waiting_text(const char *run_when, const struct dep_rows *l, char *out, size_t cap)
{
    size_t n = 0, shown = 0, pending = 0;
    for (size_t i = 0; i < l->n; i++)
        pending += !job_state_terminal(l->r[i].state);
    int w = snprintf(out, cap, "%s ", pending == 1 ? "job" : "jobs");
    n = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < l->n && n < cap; i++) {
        if (job_state_terminal(l->r[i].state))
            continue;
        if (shown == 8) {
            w = snprintf(out + n, cap - n, " and %zu more", pending - shown);
            n += w > 0 ? (size_t)w : 0;
            break;
        }
        w = snprintf(out + n, cap - n, "%s%lld", shown ? ", " : "", (long long)l->r[i].id);
        n += w > 0 ? (size_t)w : 0;
        shown++;
    }
    if (n < cap)
        snprintf(out + n, cap - n, " (runWhen %s)", run_when);
}

int repo_deps_evaluate(db_conn *c, db_outbox *out, int64_t job_id)
{
    db_q q;
    db_prepare(&q, c, SQL_WAITER);
    db_bind_i64(&q, ":id", job_id);
    int rc = db_step_one(&q);
    if (rc == BB_ENOTFOUND)
        return BB_OK;     /* not waiting (any more) */
    if (rc != BB_OK)
        return rc;
    char run_when[16], was[200];
    snprintf(run_when, sizeof run_when, "%s", db_col_text(&q, 0));
    int64_t run_at = db_col_i64(&q, 1);
    const char *wf = db_col_text(&q, 2);
    snprintf(was, sizeof was, "%s", wf ? wf : "");
    db_end(&q);

    struct dep_rows l = {.n = 0};
    db_prepare(&q, c, SQL_DEPS_OF);
    db_bind_i64(&q, ":id", job_id);
    if ((rc = db_each(&q, take_dep, &l)) != BB_OK)
        return rc;
    char text[200];
    int64_t now = bb_now_ms();
    switch (decide(run_when, &l, text, sizeof text)) {
    case V_WAIT:
        waiting_text(run_when, &l, text, sizeof text);
        if (strcmp(text, was) == 0)
            return BB_OK;      /* no event storm: only a changed text is written */
        db_prepare(&q, c, SQL_WAITING_FOR);
        db_bind_text(&q, ":text", text);
        db_bind_i64(&q, ":now", now);
        db_bind_i64(&q, ":id", job_id);
        rc = db_step_done(&q);
        return rc == BB_OK ? repo_emit_job(c, out, EV_JOB_PROGRESS, job_id) : rc;
    case V_UNMET:
        BB_ASSERT(job_transition_ok(JOB_WAITING, JOB_CANCELED));
        db_prepare(&q, c, SQL_UNMET);
        db_bind_text(&q, ":error", text);
        break;
    case V_READY: {
        enum job_state to = run_at > now ? JOB_SCHEDULED : JOB_QUEUED;
        BB_ASSERT(job_transition_ok(JOB_WAITING, to));
        db_prepare(&q, c, SQL_READY);
        db_bind_text(&q, ":state", job_state_name(to));
        if (to == JOB_QUEUED)
            notify_ready();
        break;
    }
    }
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":id", job_id);
    if ((rc = db_step_done(&q)) != BB_OK)
        return rc;
    return repo_emit_job(c, out, EV_JOB_STATE_CHANGED, job_id);
}

/* The waiting jobs that depend on a job, collected before any decision. */
static const char SQL_WAITERS_ON[] =
    "SELECT d.job_id FROM job_deps d JOIN jobs j ON j.id = d.job_id "
    "WHERE d.dep_id = :id AND j.state = 'waiting' ORDER BY d.job_id";

int repo_deps_job_ended(db_conn *c, db_outbox *out, int64_t dep_id)
{
    db_ids l = {0};
    db_q q;
    db_prepare(&q, c, SQL_WAITERS_ON);
    db_bind_i64(&q, ":id", dep_id);
    int rc = db_each(&q, db_ids_take, &l);
    for (size_t i = 0; i < l.n && rc == BB_OK; i++)
        rc = repo_deps_evaluate(c, out, l.ids[i]);
    free(l.ids);
    return rc;
}

/* ---- scheduled jobs --------------------------------------------------------- */

static const char SQL_DUE[] =
    "SELECT id FROM jobs INDEXED BY jobs_scheduled WHERE state = 'scheduled' "
    "AND run_at <= :now ORDER BY run_at LIMIT 256";
static const char SQL_PROMOTE[] =
    "UPDATE jobs SET state = 'queued', updated_at = :now WHERE id = :id AND state = 'scheduled'";
static const char SQL_NEXT_DUE[] =
    "SELECT ifnull(min(run_at), 0) FROM jobs WHERE state = 'scheduled'";

struct promote_arg {
    int64_t now;
    int n;
};

static int op_promote(db_conn *c, void *arg, db_outbox *out)
{
    struct promote_arg *a = arg;
    db_ids l = {0};
    db_q q;
    db_prepare(&q, c, SQL_DUE);
    db_bind_i64(&q, ":now", a->now);
    int rc = db_each(&q, db_ids_take, &l);
    for (size_t i = 0; i < l.n && rc == BB_OK; i++) {
        BB_ASSERT(job_transition_ok(JOB_SCHEDULED, JOB_QUEUED));
        db_prepare(&q, c, SQL_PROMOTE);
        db_bind_i64(&q, ":now", a->now);
        db_bind_i64(&q, ":id", l.ids[i]);
        rc = db_step_done(&q);
        if (rc == BB_OK && db_changes(&q) == 1) {
            a->n++;
            rc = repo_emit_job(c, out, EV_JOB_STATE_CHANGED, l.ids[i]);
        }
    }
    free(l.ids);
    return rc;
}

int repo_jobs_promote_due(db *d, int64_t now, int *n)
{
    struct promote_arg a = {.now = now};
    int rc = db_write(d, op_promote, &a);
    *n = rc == BB_OK ? a.n : 0;
    return rc;
}

int repo_jobs_next_due(db *d, int64_t *at)
{
    db_q q;
    db_prepare_read(&q, d, SQL_NEXT_DUE);
    int rc = db_one_i64(&q, at);
    db_release(&q);
    if (rc == BB_ENOTFOUND) {
        *at = 0;
        rc = BB_OK;
    }
    return rc;
}

/* ---- reads ------------------------------------------------------------------ */

static const char SQL_VISIBLE[] = "SELECT ifnull(owner_id, 0) FROM jobs WHERE id = :id";

int repo_job_visible(db *d, int64_t id, int64_t owner_scope)
{
    db_q q;
    db_prepare_read(&q, d, SQL_VISIBLE);
    db_bind_i64(&q, ":id", id);
    int64_t owner = 0;
    int rc = db_one_i64(&q, &owner);
    db_release(&q);
    if (rc == BB_OK && owner_scope && owner != owner_scope)
        rc = BB_ENOTFOUND;
    return rc;
}

static const char SQL_DEPENDENTS[] =
    "SELECT " JOB_COLS " FROM jobs WHERE id IN (SELECT job_id FROM job_deps WHERE dep_id = :id) "
    "AND (:owner = 0 OR owner_id = :owner) ORDER BY id LIMIT 200";

static void fill_job(db_q *q, void *rec) { repo_row_to_job(q, rec); }
static void clear_job(void *rec) { job_clear(rec); }

int repo_deps_dependents(db *d, int64_t id, int64_t owner_scope, job **out, size_t *n)
{
    db_q q;
    db_prepare_read(&q, d, SQL_DEPENDENTS);
    db_bind_i64(&q, ":id", id);
    db_bind_i64(&q, ":owner", owner_scope);
    void *items = NULL;
    int rc = db_collect(&q, sizeof(job), 200, fill_job, clear_job, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}
