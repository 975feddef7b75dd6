/* repo_job.c — SQL for the job record: submit (with idempotency keys),
 * get, list, the user's actions (cancel, retry, edit) and progress, plus
 * the job row mapping the other job repositories share (repo_jobrow.h).
 * Every statement is a static string with named parameters; nothing is
 * assembled at run time.  Writes run on the db writer thread. */
#include "infra/db/repo_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/event.h"
#include "infra/db/repo_deps.h"
#include "infra/db/repo_jobrow.h"
#include "infra/db/repo_webhook.h"
#include "util/bb_assert.h"
#include "util/err.h"
#include "util/util.h"

/* The fields of JOB_COLS, in its order (state is parsed apart). */
#define C(field, kind) DB_COL(job, field, kind)
static const struct db_col JOB_MAP[] = {
    C(id, I64), C(owner_id, ID), C(state, SKIP), C(preset, STR), C(md, STR),
    C(input_path, STR), C(with_tts, BOOL), C(upload, STR), C(voice_accent, STR),
    C(force_tts, BOOL), C(notion_database, STR), C(mode, STR), C(priority, INT),
    C(params, STR), C(progress, DOUBLE), C(attempts, INT), C(max_attempts, INT),
    C(parent_job_id, ID), C(manifest_path, STR), C(notion_url, STR), C(page_url, STR),
    C(error, STR), C(cancel_requested, BOOL), C(run_after, I64), C(created_at, I64),
    C(updated_at, I64), C(started_at, I64), C(finished_at, I64), C(file_id, ID),
    C(voice_id, STR), C(kind, STR), C(batch_id, ID), C(sweep, STR), C(batch_total, INT),
    C(batch_queued, INT), C(batch_running, INT), C(batch_succeeded, INT), C(batch_failed, INT),
    C(batch_canceled, INT), C(waiting_for, STR), C(run_at, I64), C(schedule_id, ID),
    C(depends_on, STR), C(run_when, STR), C(needs, STR), C(resources, STR),
};
#undef C

void repo_row_to_job(db_q *q, job *j)
{
    memset(j, 0, sizeof *j);
    db_row_read(q, j, JOB_MAP, sizeof JOB_MAP / sizeof JOB_MAP[0]);
    enum job_state s = JOB_QUEUED;
    job_state_parse(db_col_text(q, 2), &s);
    j->state = s;
}

static void fill_job(db_q *q, void *rec) { repo_row_to_job(q, rec); }
static void clear_job(void *rec) { job_clear(rec); }

static const char SQL_GET[] = "SELECT " JOB_COLS " FROM jobs WHERE id = :id";

int repo_load_job(db_conn *c, int64_t id, job *out)
{
    db_q q;
    db_prepare(&q, c, SQL_GET);
    db_bind_i64(&q, ":id", id);
    return db_read_record(&q, out, fill_job, clear_job);
}

/* Logs the DTO of the job record j as event `type`. */
static int emit_record(db_conn *c, db_outbox *out, enum ev_type type, const job *j)
{
    char *dto = job_dto_json(j);
    int rc = dto ? repo_log_event(c, out, type, j->id, j->owner_id, dto) : BB_EINTERNAL;
    free(dto);
    return rc;
}

/* Logs job id's DTO.  A child's state change refreshes its parent when
 * refresh: at once without t, else by adding the parent to t. */
static int emit_job(db_conn *c, db_outbox *out, enum ev_type type, int64_t id, bool refresh,
                    struct batch_touched *t)
{
    job j;
    int rc = repo_load_job(c, id, &j);
    if (rc != BB_OK)
        return rc;
    rc = emit_record(c, out, type, &j);
    int64_t parent = j.batch_id;
    bool ended = type == EV_JOB_STATE_CHANGED && job_state_terminal(j.state);
    job_clear(&j);
    /* the jobs waiting for this one (docs/scheduling.md, "Dependencies") */
    if (rc == BB_OK && ended)
        rc = repo_deps_job_ended(c, out, id);
    if (rc != BB_OK || !refresh || type != EV_JOB_STATE_CHANGED || !parent)
        return rc;
    if (!t)
        return repo_batch_refresh(c, out, parent);
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] == parent)
            return BB_OK;
    if (t->n == sizeof t->ids / sizeof t->ids[0])
        return repo_batch_refresh(c, out, parent);
    t->ids[t->n++] = parent;
    return BB_OK;
}

int repo_emit_job(db_conn *c, db_outbox *out, enum ev_type type, int64_t id)
{
    return emit_job(c, out, type, id, true, NULL);
}

int repo_emit_job_only(db_conn *c, db_outbox *out, enum ev_type type, int64_t id)
{
    return emit_job(c, out, type, id, false, NULL);
}

int repo_emit_job_touch(db_conn *c, db_outbox *out, enum ev_type type, int64_t id,
                        struct batch_touched *t)
{
    return emit_job(c, out, type, id, true, t);
}

int repo_batch_touched_refresh(db_conn *c, db_outbox *out, struct batch_touched *t)
{
    int rc = BB_OK;
    for (size_t i = 0; i < t->n && rc == BB_OK; i++)
        rc = repo_batch_refresh(c, out, t->ids[i]);
    t->n = 0;
    return rc;
}

/* ---- submit ------------------------------------------------------------ */

struct submit_arg {
    job *j;
    const char *idem_key, *idem_hash;
    bool existed;
};

static const char SQL_IDEM_FIND[] =
    "SELECT id, idem_hash FROM jobs WHERE ifnull(owner_id, 0) = :owner AND idem_key = :key";
/* Parameters named after the job's fields are bound from JOB_MAP. */
static const char SQL_INSERT[] =
    "INSERT INTO jobs (owner_id, state, preset, md, input_path, with_tts, upload, "
    "voice_accent, force_tts, notion_database, mode, priority, params, max_attempts, "
    "parent_job_id, idem_key, idem_hash, created_at, updated_at, file_id, voice_id, kind, "
    "batch_id, sweep, batch_total, batch_queued, run_at, schedule_id, run_when, needs) "
    "VALUES (:owner_id, :state, :preset, :md, :input_path, :with_tts, "
    "coalesce(:upload, 'auto'), :voice_accent, :force_tts, :notion_database, :mode, "
    ":priority, coalesce(:params, '{}'), :max_attempts, :parent_job_id, :key, :hash, "
    ":now, :now, :file_id, :voice_id, coalesce(:kind, 'job'), :batch_id, :sweep, "
    ":batch_total, :batch_total, nullif(:run_at, 0), :schedule_id, :run_when, :needs)";

/* The job an idempotency key already names: BB_OK with *found and j->id
 * set when its hash matches, BB_ECONFLICT when it differs. */
static int idem_find(db_conn *c, struct submit_arg *a, bool *found)
{
    db_q q;
    db_prepare(&q, c, SQL_IDEM_FIND);
    db_bind_i64(&q, ":owner", a->j->owner_id);
    db_bind_text(&q, ":key", a->idem_key);
    int rc = db_step_one(&q);
    *found = rc == BB_OK;
    if (rc == BB_ENOTFOUND)
        return BB_OK;
    if (rc != BB_OK)
        return rc;
    const char *h = db_col_text(&q, 1);
    bool same = h && a->idem_hash && strcmp(h, a->idem_hash) == 0;
    a->j->id = db_col_i64(&q, 0);
    db_end(&q);
    return same ? BB_OK : BB_ECONFLICT;
}

/* Inserts the queued job j (id and times filled in) with its idempotency
 * key and hash (NULL: none) and, with emit, logs job_created with the
 * record's DTO, built from j itself: a batch's children are many. */
static int insert_job(db_conn *c, job *j, const char *key, const char *hash, int64_t now,
                      db_outbox *out)
{
    db_q q;
    db_prepare(&q, c, SQL_INSERT);
    db_row_bind(&q, j, JOB_MAP, sizeof JOB_MAP / sizeof JOB_MAP[0]);
    db_bind_text(&q, ":key", key);
    db_bind_text(&q, ":hash", hash);
    db_bind_i64(&q, ":now", now);
    /* a new job is queued, or held by its runAt or its dependencies */
    BB_ASSERT(j->state == JOB_QUEUED || j->state == JOB_SCHEDULED || j->state == JOB_WAITING);
    db_bind_text(&q, ":state", job_state_name(j->state));
    int rc = db_step_done(&q);
    if (rc != BB_OK)
        return rc;
    j->id = db_last_id(&q);
    j->created_at = j->updated_at = now;
    /* webhook targets, in the same transaction (docs/integrations.md) */
    if (j->notify && (rc = repo_job_notify_store(c, j->id, j->notify)) != BB_OK)
        return rc;
    if (!j->upload && !(j->upload = strdup("auto")))
        return BB_EINTERNAL;
    if (!j->params && !(j->params = strdup("{}")))
        return BB_EINTERNAL;
    if (j->depends_on && (rc = repo_deps_insert(c, j->id, j->depends_on)) != BB_OK)
        return rc;
    if ((rc = emit_record(c, out, EV_JOB_CREATED, j)) != BB_OK)
        return rc;
    /* dependencies that have all ended already decide at once */
    return j->state == JOB_WAITING ? repo_deps_evaluate(c, out, j->id) : BB_OK;
}

static int op_submit(db_conn *c, void *arg, db_outbox *out)
{
    struct submit_arg *a = arg;
    if (a->idem_key) {
        bool found;
        int rc = idem_find(c, a, &found);
        if (rc != BB_OK || found) {
            a->existed = rc == BB_OK;
            return rc;
        }
    }
    return insert_job(c, a->j, a->idem_key, a->idem_hash, bb_now_ms(), out);
}

int repo_job_submit(db *d, job *j, const char *idem_key, const char *idem_hash,
                    bool *existed)
{
    struct submit_arg a = {.j = j, .idem_key = idem_key, .idem_hash = idem_hash};
    int rc = db_write(d, op_submit, &a);
    if (existed)
        *existed = a.existed;
    return rc;
}

/* ---- batches ----------------------------------------------------------- */

struct batch_arg {
    struct submit_arg parent;
    job *children;
    size_t n;
};

/* The parent, then every child with batch_id = the parent, in one
 * transaction: db_write rolls all of it back when any insert fails. */
static int op_batch_create(db_conn *c, void *arg, db_outbox *out)
{
    struct batch_arg *a = arg;
    if (a->parent.idem_key) {
        bool found;
        int rc = idem_find(c, &a->parent, &found);
        if (rc != BB_OK || found) {
            a->parent.existed = rc == BB_OK;
            return rc;
        }
    }
    int64_t now = bb_now_ms();
    job *p = a->parent.j;
    BB_ASSERT(job_is_batch(p) && p->batch_total == (int)a->n);
    int rc = insert_job(c, p, a->parent.idem_key, a->parent.idem_hash, now, out);
    for (size_t i = 0; i < a->n && rc == BB_OK; i++) {
        a->children[i].batch_id = p->id;
        rc = insert_job(c, &a->children[i], NULL, NULL, now, out);
    }
    return rc;
}

int repo_batch_create(db *d, job *parent, job *children, size_t n, const char *idem_key,
                      const char *idem_hash, bool *existed)
{
    struct batch_arg a = {.parent = {.j = parent, .idem_key = idem_key, .idem_hash = idem_hash},
                          .children = children, .n = n};
    int rc = db_write(d, op_batch_create, &a);
    if (existed)
        *existed = a.parent.existed;
    return rc;
}

/* ---- actions ----------------------------------------------------------- */

static const char SQL_STATE_OF[] = "SELECT state, ifnull(owner_id, 0) FROM jobs WHERE id = :id";

/* Reads the state of job id, visible to owner_scope (0 = any), and
 * refuses with BB_ESTATE a state the action does not accept. */
static int action_state(db_conn *c, int64_t id, int64_t owner_scope,
                        bool (*accepts)(enum job_state), enum job_state *s)
{
    db_q q;
    db_prepare(&q, c, SQL_STATE_OF);
    db_bind_i64(&q, ":id", id);
    int rc = db_step_one(&q);
    if (rc != BB_OK)
        return rc;
    int64_t owner = db_col_i64(&q, 1);
    int prc = job_state_parse(db_col_text(&q, 0), s);
    db_end(&q);
    if (owner_scope && owner != owner_scope)
        return BB_ENOTFOUND;
    if (prc != 0)
        return BB_EIO;
    return accepts(*s) ? BB_OK : BB_ESTATE;
}

/* Prepares an UPDATE of job id's row with :id and :now bound. */
static void prepare_update(db_q *q, db_conn *c, const char *sql, int64_t id)
{
    db_prepare(q, c, sql);
    db_bind_i64(q, ":id", id);
    db_bind_i64(q, ":now", bb_now_ms());
}

/* Runs the prepared UPDATE and, when it succeeded, logs the job's new DTO
 * as event `type`. */
static int update_and_emit(db_q *q, db_outbox *out, enum ev_type type, int64_t id)
{
    int rc = db_step_done(q);
    return rc == BB_OK ? repo_emit_job(q->c, out, type, id) : rc;
}

static bool cancelable(enum job_state s) { return !job_state_terminal(s); }
static bool retryable(enum job_state s) { return s == JOB_FAILED || s == JOB_CANCELED; }
static bool editable(enum job_state s) { return s != JOB_RUNNING; }

struct cancel_arg {
    int64_t id, owner_scope;
    const char *reason;
    enum cancel_outcome outcome;
};

/* a queued, scheduled or waiting job is canceled at once */
static const char SQL_CANCEL_QUEUED[] =
    "UPDATE jobs SET state = 'canceled', error = :error, finished_at = :now, "
    "waiting_for = NULL, updated_at = :now "
    "WHERE id = :id AND state IN ('queued', 'scheduled', 'waiting')";
static const char SQL_CANCEL_RUNNING[] =
    "UPDATE jobs SET cancel_requested = 1, updated_at = :now WHERE id = :id AND state = 'running'";

static int op_cancel(db_conn *c, void *arg, db_outbox *out)
{
    struct cancel_arg *a = arg;
    enum job_state s;
    int rc = action_state(c, a->id, a->owner_scope, cancelable, &s);
    if (rc != BB_OK)
        return rc;
    char msg[300];
    snprintf(msg, sizeof msg, "canceled%s%s", a->reason && *a->reason ? ": " : "",
             a->reason ? a->reason : "");
    db_q q;
    bool at_once = s != JOB_RUNNING;
    prepare_update(&q, c, at_once ? SQL_CANCEL_QUEUED : SQL_CANCEL_RUNNING, a->id);
    if (at_once) {
        BB_ASSERT(job_transition_ok(s, JOB_CANCELED));
        db_bind_text(&q, ":error", msg);
        a->outcome = CANCEL_DONE;
        return update_and_emit(&q, out, EV_JOB_STATE_CHANGED, a->id);
    }
    a->outcome = CANCEL_REQUESTED;
    return db_step_done(&q);
}

int repo_job_cancel(db *d, int64_t id, int64_t owner_scope, const char *reason,
                    enum cancel_outcome *outcome)
{
    struct cancel_arg a = {.id = id, .owner_scope = owner_scope, .reason = reason};
    int rc = db_write(d, op_cancel, &a);
    *outcome = a.outcome;
    return rc;
}

/* A retry or an edit: an UPDATE of a job in a state the action accepts,
 * logged as job_state_changed.  bind adds the action's own parameters. */
struct action_arg {
    int64_t id, owner_scope;
    bool (*accepts)(enum job_state);
    const char *sql;
    void (*bind)(db_q *q, const struct action_arg *a);
    bool requeues;                     /* the action moves the job to queued */
    int extra, max_attempts;           /* retry; edit */
    const char *preset, *notion;       /* edit */
};

static int op_action(db_conn *c, void *arg, db_outbox *out)
{
    struct action_arg *a = arg;
    enum job_state s;
    int rc = action_state(c, a->id, a->owner_scope, a->accepts, &s);
    if (rc != BB_OK)
        return rc;
    BB_ASSERT(!a->requeues || job_transition_ok(s, JOB_QUEUED));
    db_q q;
    prepare_update(&q, c, a->sql, a->id);
    a->bind(&q, a);
    return update_and_emit(&q, out, EV_JOB_STATE_CHANGED, a->id);
}

static const char SQL_RETRY[] =
    "UPDATE jobs SET state = 'queued', max_attempts = attempts + :extra, run_after = 0, "
    "error = NULL, finished_at = NULL, progress = 0, cancel_requested = 0, interruptions = 0, "
    "updated_at = :now WHERE id = :id AND state IN ('failed', 'canceled')";

static void bind_retry(db_q *q, const struct action_arg *a)
{
    db_bind_i64(q, ":extra", a->extra < 1 ? 1 : a->extra);
}

int repo_job_retry(db *d, int64_t id, int64_t owner_scope, int extra_attempts)
{
    struct action_arg a = {.id = id, .owner_scope = owner_scope, .accepts = retryable,
                           .requeues = true,
                           .sql = SQL_RETRY, .bind = bind_retry, .extra = extra_attempts};
    return db_write(d, op_action, &a);
}

static const char SQL_EDIT[] =
    "UPDATE jobs SET preset = coalesce(:preset, preset), "
    "max_attempts = CASE WHEN :preset IS NULL THEN max_attempts "
    "  ELSE max(:max, attempts + (state = 'queued')) END, "
    "notion_database = CASE WHEN :notion IS NULL THEN notion_database "
    "  WHEN :notion = '' THEN NULL ELSE :notion END, "
    "updated_at = :now WHERE id = :id AND state <> 'running'";

static void bind_edit(db_q *q, const struct action_arg *a)
{
    db_bind_text(q, ":preset", a->preset);
    db_bind_i64(q, ":max", a->max_attempts);
    db_bind_text(q, ":notion", a->notion);
}

int repo_job_edit(db *d, int64_t id, int64_t owner_scope, const char *preset,
                  int max_attempts, const char *notion_db)
{
    struct action_arg a = {.id = id, .owner_scope = owner_scope, .accepts = editable,
                           .sql = SQL_EDIT, .bind = bind_edit, .preset = preset,
                           .notion = notion_db, .max_attempts = max_attempts};
    return db_write(d, op_action, &a);
}

struct progress_arg {
    int64_t id;
    double p;
};

static const char SQL_PROGRESS[] =
    "UPDATE jobs SET progress = :p, updated_at = :now WHERE id = :id AND state = 'running'";

static int op_progress(db_conn *c, void *arg, db_outbox *out)
{
    struct progress_arg *a = arg;
    db_q q;
    prepare_update(&q, c, SQL_PROGRESS, a->id);
    db_bind_double(&q, ":p", a->p);
    int rc = db_step_done(&q);
    if (rc != BB_OK || db_changes(&q) != 1)
        return rc;
    return repo_emit_job(c, out, EV_JOB_PROGRESS, a->id);
}

int repo_job_set_progress(db *d, int64_t id, double progress)
{
    struct progress_arg a = {.id = id, .p = progress};
    return db_write(d, op_progress, &a);
}

/* ---- reads ------------------------------------------------------------- */

int repo_job_get(db *d, int64_t id, int64_t owner_scope, job *out)
{
    db_conn *c = db_reader_acquire(d);
    int rc = repo_load_job(c, id, out);
    db_reader_release(d, c);
    if (rc == BB_OK && owner_scope && out->owner_id != owner_scope) {
        job_clear(out);
        rc = BB_ENOTFOUND;
    }
    return rc;
}

/* q also matches the original name of an uploaded input (md is "upl_N") */
#define Q_FILENAME                                                            \
    "(file_id IS NOT NULL AND EXISTS (SELECT 1 FROM files WHERE files.id = jobs.file_id " \
    "AND files.filename LIKE '%' || :q || '%' ESCAPE '\\'))"

/* created after/before (ms, 0 = any) and the dead letters: failed with
 * no attempts left */
#define LIST_MORE                                                                          \
    "AND (:after = 0 OR created_at >= :after) AND (:until = 0 OR created_at < :until) "    \
    "AND (:ooa = 0 OR (state = 'failed' AND attempts >= max_attempts)) "

static const char SQL_LIST_STATE[] =
    "SELECT " JOB_COLS " FROM jobs INDEXED BY jobs_state WHERE state = :state "
    "AND (:before = 0 OR id < :before) AND (:owner = 0 OR owner_id = :owner) "
    "AND (:children OR batch_id IS NULL) "
    "AND (:preset IS NULL OR preset = :preset) "
    "AND (:q IS NULL OR md LIKE '%' || :q || '%' ESCAPE '\\' OR " Q_FILENAME ") "
    LIST_MORE "ORDER BY id DESC LIMIT :limit";
static const char SQL_LIST_ALL[] =
    "SELECT " JOB_COLS " FROM jobs WHERE (:before = 0 OR id < :before) "
    "AND (:owner = 0 OR owner_id = :owner) AND (:preset IS NULL OR preset = :preset) "
    "AND (:children OR batch_id IS NULL) "
    "AND (:q IS NULL OR md LIKE '%' || :q || '%' ESCAPE '\\' OR " Q_FILENAME ") "
    LIST_MORE "ORDER BY id DESC LIMIT :limit";

/* One batch's children, on jobs_batch (batch_id, id). */
static const char SQL_LIST_BATCH[] =
    "SELECT " JOB_COLS " FROM jobs WHERE batch_id = :batch "
    "AND (:state IS NULL OR state = :state) AND (:before = 0 OR id < :before) "
    "AND (:owner = 0 OR owner_id = :owner) AND (:preset IS NULL OR preset = :preset) "
    "AND (:q IS NULL OR md LIKE '%' || :q || '%' ESCAPE '\\' OR " Q_FILENAME ") "
    LIST_MORE "ORDER BY id DESC LIMIT :limit";

char *repo_like_literal(const char *q)
{
    char *out = malloc(strlen(q) * 2 + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = q; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

int repo_job_list(db *d, const struct job_filter *f, job **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *q = NULL;
    if (f->q && !(q = repo_like_literal(f->q)))
        return BB_EINTERNAL;
    db_q st;
    if (f->batch_id) {
        db_prepare_read(&st, d, SQL_LIST_BATCH);
        db_bind_i64(&st, ":batch", f->batch_id);
        db_bind_text(&st, ":state", f->has_state ? job_state_name(f->state) : NULL);
    } else {
        db_prepare_read(&st, d, f->has_state ? SQL_LIST_STATE : SQL_LIST_ALL);
        db_bind_i64(&st, ":children", f->children);
        if (f->has_state)
            db_bind_text(&st, ":state", job_state_name(f->state));
    }
    db_bind_i64(&st, ":before", f->before_id);
    db_bind_i64(&st, ":owner", f->owner_scope);
    db_bind_text(&st, ":preset", f->preset);
    db_bind_text(&st, ":q", q);
    db_bind_i64(&st, ":limit", f->limit);
    db_bind_i64(&st, ":after", f->created_after);
    db_bind_i64(&st, ":until", f->created_before);
    db_bind_i64(&st, ":ooa", f->out_of_attempts);
    void *items;
    int rc = db_collect(&st, sizeof(job), f->limit > 0 ? (size_t)f->limit : 0, fill_job,
                        clear_job, &items, n);
    db_release(&st);
    free(q);
    *out = items;
    return rc;
}
