/* repo_flow.c — SQL for flow control (see repo_flow.h): paused queues,
 * the waitingFor texts of held queued jobs, bulk actions in bounded
 * batches, edits of queued jobs and resource pool usage.  Static
 * statements with named binds; writes run on the db writer thread, each
 * logging job_state_changed for the jobs it changes in its transaction. */
#include "infra/db/repo_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "infra/db/repo_jobrow.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/util.h"

static void clear_nothing(void *rec) { (void)rec; }

/* ---- paused queues ------------------------------------------------------- */

static const char SQL_PAUSES[] =
    "SELECT preset, paused_at, ifnull(paused_by, 0) FROM queue_pauses ORDER BY preset";
static const char SQL_PAUSE[] =
    "INSERT OR IGNORE INTO queue_pauses (preset, paused_at, paused_by) "
    "VALUES (:preset, :now, :by)";
static const char SQL_RESUME[] = "DELETE FROM queue_pauses WHERE preset = :preset";

static void fill_pause(db_q *q, void *rec)
{
    struct queue_pause *p = rec;
    const char *s = db_col_text(q, 0);
    snprintf(p->preset, sizeof p->preset, "%s", s ? s : "");
    p->paused_at = db_col_i64(q, 1);
    p->paused_by = db_col_i64(q, 2);
}

int repo_queue_pauses(db *d, struct queue_pause **out, size_t *n)
{
    db_q q;
    void *items = NULL;
    db_prepare_read(&q, d, SQL_PAUSES);
    int rc = db_collect(&q, sizeof(struct queue_pause), 0, fill_pause, clear_nothing, &items, n);
    db_release(&q);
    *out = items;
    return rc;
}

struct pause_arg {
    const char *preset;
    int64_t by, now;
    bool removed;
};

static int op_pause(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct pause_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_PAUSE);
    db_bind_text(&q, ":preset", a->preset);
    db_bind_i64(&q, ":now", a->now);
    db_bind_id(&q, ":by", a->by);
    return db_step_done(&q);
}

int repo_queue_pause(db *d, const char *preset, int64_t by, int64_t now)
{
    struct pause_arg a = {.preset = preset, .by = by, .now = now};
    return db_write(d, op_pause, &a);
}

static int op_resume(db_conn *c, void *arg, db_outbox *out)
{
    (void)out;
    struct pause_arg *a = arg;
    db_q q;
    db_prepare(&q, c, SQL_RESUME);
    db_bind_text(&q, ":preset", a->preset);
    int rc = db_step_done(&q);
    a->removed = rc == BB_OK && db_changes(&q) > 0;
    return rc;
}

int repo_queue_resume(db *d, const char *preset, bool *removed)
{
    struct pause_arg a = {.preset = preset};
    int rc = db_write(d, op_resume, &a);
    *removed = a.removed;
    return rc;
}

/* ---- waitingFor of held jobs ------------------------------------------------ */

static const char SQL_MARK_PICK[] =
    "SELECT id FROM jobs INDEXED BY jobs_state WHERE state = 'queued' AND kind = 'job' "
    "AND (:preset IS NULL OR preset = :preset) AND waiting_for IS NOT :text "
    "ORDER BY id LIMIT :max";
static const char SQL_UNMARK_PICK[] =
    "SELECT id FROM jobs INDEXED BY jobs_state WHERE state = 'queued' AND kind = 'job' "
    "AND (waiting_for = '" WAIT_PAUSED "' OR substr(waiting_for, 1, length(:rate)) = :rate) "
    "AND (:held IS NULL OR instr(:held, ',' || preset || ',') = 0) ORDER BY id LIMIT :max";
static const char SQL_SET_WAITING[] =
    "UPDATE jobs SET waiting_for = :text, updated_at = :now WHERE id = :id AND state = 'queued'";

struct mark_arg {
    const char *preset, *text, *held;
    int max, n;
};

/* Sets waiting_for = text (NULL clears) on each listed queued job. */
static int set_waiting_all(db_conn *c, db_outbox *out, const db_ids *l,
                           const char *text, int *n)
{
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < l->n; i++) {
        db_q q;
        db_prepare(&q, c, SQL_SET_WAITING);
        db_bind_text(&q, ":text", text);
        db_bind_i64(&q, ":now", now);
        db_bind_i64(&q, ":id", l->ids[i]);
        int rc = db_step_done(&q);
        if (rc == BB_OK && db_changes(&q) == 1) {
            (*n)++;
            rc = repo_emit_job(c, out, EV_JOB_STATE_CHANGED, l->ids[i]);
        }
        if (rc != BB_OK)
            return rc;
    }
    return BB_OK;
}

static int op_mark(db_conn *c, void *arg, db_outbox *out)
{
    struct mark_arg *a = arg;
    db_ids l = {0};
    db_q q;
    db_prepare(&q, c, a->text ? SQL_MARK_PICK : SQL_UNMARK_PICK);
    if (a->text) {
        db_bind_text(&q, ":preset", a->preset);
        db_bind_text(&q, ":text", a->text);
    } else {
        db_bind_text(&q, ":rate", WAIT_RATE_PREFIX);
        db_bind_text(&q, ":held", a->held);
    }
    db_bind_i64(&q, ":max", a->max);
    int rc = db_each(&q, db_ids_take, &l);
    if (rc == BB_OK)
        rc = set_waiting_all(c, out, &l, a->text, &a->n);
    free(l.ids);
    return rc;
}

int repo_wait_mark(db *d, const char *preset, const char *text, int max, int *n)
{
    BB_ASSERT(text != NULL);
    struct mark_arg a = {.preset = preset, .text = text, .max = max};
    int rc = db_write(d, op_mark, &a);
    *n = a.n;
    return rc;
}

int repo_wait_unmark(db *d, const char *held, int max, int *n)
{
    struct mark_arg a = {.held = held, .max = max};
    int rc = db_write(d, op_mark, &a);
    *n = a.n;
    return rc;
}

/* ---- bulk actions ------------------------------------------------------------ */

/* The filter of a job list, as in repo_job_list, plus a state set; batch
 * parents are left out (their children are matched themselves). */
#define BULK_WHERE                                                                       \
    "WHERE kind = 'job' AND instr(:states, ',' || state || ',') > 0 "                    \
    "AND (:owner = 0 OR owner_id = :owner) AND (:preset IS NULL OR preset = :preset) "   \
    "AND (:q IS NULL OR md LIKE '%' || :q || '%' ESCAPE '\\' OR (file_id IS NOT NULL "   \
    "AND EXISTS (SELECT 1 FROM files WHERE files.id = jobs.file_id "                     \
    "AND files.filename LIKE '%' || :q || '%' ESCAPE '\\'))) "                          \
    "AND (:after = 0 OR created_at >= :after) AND (:until = 0 OR created_at < :until) "  \
    "AND (:ooa = 0 OR (state = 'failed' AND attempts >= max_attempts)) "

static const char SQL_BULK_IDS[] =
    "SELECT id FROM jobs " BULK_WHERE "AND (:before = 0 OR id < :before) "
    "ORDER BY id DESC LIMIT :max";
static const char SQL_BULK_COUNT[] = "SELECT count(*) FROM jobs " BULK_WHERE;

/* ",queued,running," of the states both in set and, when f has one, equal
 * to f's state. */
static void state_list(const struct job_filter *f, job_state_set set, char *out, size_t cap)
{
    size_t n = 0;
    out[n++] = ',';
    out[n] = '\0';
    for (unsigned s = 0; s < 32; s++) {
        if (!(JOB_STATES_ALL & (1u << s)) || !job_state_in(set, (enum job_state)s) ||
            (f->has_state && (unsigned)f->state != s))
            continue;
        const char *name = job_state_name((enum job_state)s);
        int w = snprintf(out + n, cap - n, "%s,", name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

static int bind_bulk(db_q *q, const struct job_filter *f, const char *states, const char *like)
{
    db_bind_text(q, ":states", states);
    db_bind_i64(q, ":owner", f->owner_scope);
    db_bind_text(q, ":preset", f->preset);
    db_bind_text(q, ":q", like);
    db_bind_i64(q, ":after", f->created_after);
    db_bind_i64(q, ":until", f->created_before);
    return db_bind_i64(q, ":ooa", f->out_of_attempts);
}

int repo_job_ids(db *d, const struct job_filter *f, job_state_set states, int64_t before_id,
                 int max, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    char st[160];
    state_list(f, states, st, sizeof st);
    char *like = NULL;
    if (f->q && !(like = repo_like_literal(f->q)))
        return BB_EINTERNAL;
    db_ids l = {0};
    db_q q;
    db_prepare_read(&q, d, SQL_BULK_IDS);
    bind_bulk(&q, f, st, like);
    db_bind_i64(&q, ":before", before_id);
    db_bind_i64(&q, ":max", max);
    int rc = db_each(&q, db_ids_take, &l);
    db_release(&q);
    free(like);
    if (rc != BB_OK) {
        free(l.ids);
        return rc;
    }
    *ids = l.ids;
    *n = l.n;
    return BB_OK;
}

int repo_job_count(db *d, const struct job_filter *f, job_state_set states, int64_t *n)
{
    char st[160];
    state_list(f, states, st, sizeof st);
    char *like = NULL;
    if (f->q && !(like = repo_like_literal(f->q)))
        return BB_EINTERNAL;
    db_q q;
    db_prepare_read(&q, d, SQL_BULK_COUNT);
    bind_bulk(&q, f, st, like);
    int rc = db_one_i64(&q, n);
    db_release(&q);
    free(like);
    return rc;
}

static const char SQL_STATE_ONLY[] = "SELECT state FROM jobs WHERE id = :id AND kind = 'job'";
static const char SQL_BULK_CANCEL[] =
    "UPDATE jobs SET state = 'canceled', error = :error, finished_at = :now, "
    "waiting_for = NULL, updated_at = :now WHERE id = :id AND state = :state";
static const char SQL_BULK_STOP[] =
    "UPDATE jobs SET cancel_requested = 1, updated_at = :now WHERE id = :id "
    "AND state = 'running'";
static const char SQL_BULK_RETRY[] =
    "UPDATE jobs SET state = 'queued', max_attempts = attempts + :extra, run_after = 0, "
    "error = NULL, finished_at = NULL, progress = 0, cancel_requested = 0, interruptions = 0, "
    "updated_at = :now WHERE id = :id AND state IN ('failed', 'canceled')";

struct many_arg {
    const int64_t *ids;
    const int *extra;
    size_t n;
    job_state_set cancelable;
    const char *reason;
    int done;
    db_ids running;
};

/* The state of job id now; BB_ENOTFOUND when gone. */
static int state_now(db_conn *c, int64_t id, enum job_state *s)
{
    db_q q;
    db_prepare(&q, c, SQL_STATE_ONLY);
    db_bind_i64(&q, ":id", id);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc;
    int prc = job_state_parse(db_col_text(&q, 0), s);
    db_end(&q);
    return prc == 0 ? BB_OK : BB_ENOTFOUND;
}

static int op_cancel_many(db_conn *c, void *arg, db_outbox *out)
{
    struct many_arg *a = arg;
    struct batch_touched t = {.n = 0};
    char msg[300];
    snprintf(msg, sizeof msg, "canceled%s%s", a->reason && *a->reason ? ": " : "",
             a->reason ? a->reason : "");
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < a->n; i++) {
        enum job_state s;
        int rc = state_now(c, a->ids[i], &s);
        if (rc == BB_ENOTFOUND || (rc == BB_OK && !job_state_in(a->cancelable, s)))
            continue;
        if (rc != BB_OK)
            return rc;
        db_q q;
        if (s == JOB_RUNNING) {
            db_prepare(&q, c, SQL_BULK_STOP);
            db_bind_i64(&q, ":id", a->ids[i]);
            db_bind_i64(&q, ":now", now);
            if ((rc = db_step_done(&q)) != BB_OK)
                return rc;
            if ((rc = db_ids_push(&a->running, a->ids[i])) != BB_OK)
                return rc;
            a->done++;
            continue;
        }
        BB_ASSERT(job_transition_ok(s, JOB_CANCELED));
        db_prepare(&q, c, SQL_BULK_CANCEL);
        db_bind_text(&q, ":error", msg);
        db_bind_i64(&q, ":now", now);
        db_bind_i64(&q, ":id", a->ids[i]);
        db_bind_text(&q, ":state", job_state_name(s));
        if ((rc = db_step_done(&q)) != BB_OK)
            return rc;
        if (db_changes(&q) != 1)
            continue;
        a->done++;
        if ((rc = repo_emit_job_touch(c, out, EV_JOB_STATE_CHANGED, a->ids[i], &t)) != BB_OK)
            return rc;
    }
    return repo_batch_touched_refresh(c, out, &t);
}

int repo_jobs_cancel_many(db *d, const int64_t *ids, size_t n, job_state_set cancelable,
                          const char *reason, int *done, int64_t **running, size_t *nrunning)
{
    struct many_arg a = {.ids = ids, .n = n, .cancelable = cancelable, .reason = reason};
    int rc = db_write(d, op_cancel_many, &a);
    *done = rc == BB_OK ? a.done : 0;
    if (rc != BB_OK) {
        free(a.running.ids);
        a.running.ids = NULL;
        a.running.n = 0;
    }
    *running = a.running.ids;
    *nrunning = a.running.n;
    return rc;
}

static int op_retry_many(db_conn *c, void *arg, db_outbox *out)
{
    struct many_arg *a = arg;
    struct batch_touched t = {.n = 0};
    int64_t now = bb_now_ms();
    for (size_t i = 0; i < a->n; i++) {
        db_q q;
        db_prepare(&q, c, SQL_BULK_RETRY);
        db_bind_i64(&q, ":extra", a->extra[i] < 1 ? 1 : a->extra[i]);
        db_bind_i64(&q, ":now", now);
        db_bind_i64(&q, ":id", a->ids[i]);
        int rc = db_step_done(&q);
        if (rc != BB_OK)
            return rc;
        if (db_changes(&q) != 1)
            continue;
        a->done++;
        if ((rc = repo_emit_job_touch(c, out, EV_JOB_STATE_CHANGED, a->ids[i], &t)) != BB_OK)
            return rc;
    }
    return repo_batch_touched_refresh(c, out, &t);
}

int repo_jobs_retry_many(db *d, const int64_t *ids, const int *extra, size_t n, int *done)
{
    struct many_arg a = {.ids = ids, .extra = extra, .n = n};
    int rc = db_write(d, op_retry_many, &a);
    *done = rc == BB_OK ? a.done : 0;
    return rc;
}

/* ---- queue edits ------------------------------------------------------------- */

static const char SQL_OWNER_STATE[] =
    "SELECT state, ifnull(owner_id, 0) FROM jobs WHERE id = :id AND kind = 'job'";
static const char SQL_EDIT_QUEUED[] =
    "UPDATE jobs SET priority = CASE WHEN :setp THEN :priority ELSE priority END, "
    "params = coalesce(:params, params), "
    "needs = CASE WHEN :setn THEN :needs ELSE needs END, "
    "updated_at = :now WHERE id = :id AND state = 'queued'";
static const char SQL_TOP_PRIORITY[] =
    "SELECT ifnull(max(priority), 0) FROM jobs INDEXED BY jobs_claim "
    "WHERE state = 'queued' AND kind = 'job' AND id <> :id";
static const char SQL_MOVE_FRONT[] =
    "UPDATE jobs SET priority = :priority, run_after = 0, updated_at = :now "
    "WHERE id = :id AND state = 'queued'";

struct edit_arg {
    int64_t id, owner_scope;
    bool set_priority, set_needs, front;
    int priority;
    const char *params, *needs;
};

/* BB_OK when job id is queued and visible to owner_scope. */
static int queued_visible(db_conn *c, int64_t id, int64_t owner_scope)
{
    db_q q;
    db_prepare(&q, c, SQL_OWNER_STATE);
    db_bind_i64(&q, ":id", id);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc;
    const char *st = db_col_text(&q, 0);
    bool queued = st && strcmp(st, "queued") == 0;
    int64_t owner = db_col_i64(&q, 1);
    db_end(&q);
    if (owner_scope && owner != owner_scope)
        return BB_ENOTFOUND;
    return queued ? BB_OK : BB_ESTATE;
}

static int op_edit_queued(db_conn *c, void *arg, db_outbox *out)
{
    struct edit_arg *a = arg;
    int rc = queued_visible(c, a->id, a->owner_scope);
    if (rc != BB_OK)
        return rc;
    db_q q;
    int64_t now = bb_now_ms();
    if (a->front) {
        int64_t top = 0;
        db_prepare(&q, c, SQL_TOP_PRIORITY);
        db_bind_i64(&q, ":id", a->id);
        if ((rc = db_one_i64(&q, &top)) != BB_OK)
            return rc;
        a->priority = top >= 1000 ? 1000 : (int)top + 1;
        db_prepare(&q, c, SQL_MOVE_FRONT);
        db_bind_i64(&q, ":priority", a->priority);
    } else {
        db_prepare(&q, c, SQL_EDIT_QUEUED);
        db_bind_i64(&q, ":setp", a->set_priority);
        db_bind_i64(&q, ":priority", a->priority);
        db_bind_text(&q, ":params", a->params);
        db_bind_i64(&q, ":setn", a->set_needs);
        db_bind_text(&q, ":needs", a->needs);
    }
    db_bind_i64(&q, ":now", now);
    db_bind_i64(&q, ":id", a->id);
    rc = db_step_done(&q);
    if (rc == BB_OK && db_changes(&q) != 1)
        rc = BB_ESTATE;
    return rc == BB_OK ? repo_emit_job(c, out, EV_JOB_STATE_CHANGED, a->id) : rc;
}

int repo_job_edit_queued(db *d, int64_t id, int64_t owner_scope, bool set_priority,
                         int priority, const char *params, bool set_needs, const char *needs)
{
    struct edit_arg a = {.id = id, .owner_scope = owner_scope, .set_priority = set_priority,
                         .priority = priority, .params = params, .set_needs = set_needs,
                         .needs = needs};
    return db_write(d, op_edit_queued, &a);
}

int repo_job_move_to_front(db *d, int64_t id, int64_t owner_scope, int *priority)
{
    struct edit_arg a = {.id = id, .owner_scope = owner_scope, .front = true};
    int rc = db_write(d, op_edit_queued, &a);
    *priority = a.priority;
    return rc;
}
